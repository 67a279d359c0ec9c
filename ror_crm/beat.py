"""Celery beat's scheduler: django-celery-beat's, outliving a database outage."""

import logging

from django.db import DatabaseError, InterfaceError, close_old_connections
from django_celery_beat import schedulers

logger = logging.getLogger(__name__)


class DatabaseScheduler(schedulers.DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler, which catches the database's errors where it writes
    the schedule and checks it for changes, but not where it reads it again (every five minutes,
    and when it changed): with PostgreSQL down then, beat exited. Here it keeps the entries it has
    and reads them again on its next sync, once the database is back."""

    def all_as_schedule(self):
        try:
            return super().all_as_schedule()
        except (DatabaseError, InterfaceError) as error:
            logger.warning("Could not read the beat schedule (%s); keeping the entries it had.", error)
            close_old_connections()  # a broken connection is replaced on the next read
            return self._schedule if self._schedule is not None else {}
