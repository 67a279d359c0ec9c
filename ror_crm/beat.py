"""Celery beat's scheduler: django-celery-beat's, outliving a database outage."""

import logging
import time

from django.db import DatabaseError, InterfaceError, close_old_connections
from django_celery_beat import schedulers

logger = logging.getLogger(__name__)

SETUP_RETRY_SECONDS = 15  # a beat that started during an outage tries its start-up again this often


class DatabaseScheduler(schedulers.DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler, which catches the database's errors where it writes
    the schedule and checks it for changes, but not where it reads it again (every five minutes,
    and when it changed): with PostgreSQL down then, beat exited. Here it keeps the entries it has
    and reads them again on its next sync, once the database is back.

    A beat started during the outage has no entries at all (neither read nor installed): it does
    its start-up again every SETUP_RETRY_SECONDS until the database answers, instead of running an
    empty schedule until the next full sync (five minutes on) or, for entries never installed,
    until it is restarted."""

    _set_up = True
    _setup_tried_at = 0.0

    def setup_schedule(self):
        self._setup_tried_at = time.monotonic()
        super().setup_schedule()
        self._set_up = bool(self._schedule)  # empty: the database could not be reached

    def set_up_if_missed(self) -> None:
        """Run the start-up again if it found the database down (called on each tick)."""
        if not self._set_up and time.monotonic() - self._setup_tried_at >= SETUP_RETRY_SECONDS:
            self.setup_schedule()

    def tick(self, *args, **kwargs):
        self.set_up_if_missed()
        return super().tick(*args, **kwargs)

    def all_as_schedule(self):
        try:
            return super().all_as_schedule()
        except (DatabaseError, InterfaceError) as error:
            logger.warning("Could not read the beat schedule (%s); keeping the entries it had.", error)
            close_old_connections()  # a broken connection is replaced on the next read
            return self._schedule if self._schedule is not None else {}
