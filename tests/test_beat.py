"""Celery beat keeps running through a database outage (ror_crm.beat.DatabaseScheduler)."""

import pytest
from django.db import OperationalError

from ror_crm.beat import DatabaseScheduler
from ror_crm.celery import app

# The scheduler closes old connections as beat does (each read may reconnect): not inside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_schedule_read_during_an_outage_keeps_the_entries_it_had(monkeypatch):
    scheduler = DatabaseScheduler(app=app)
    before = dict(scheduler.schedule)  # the first read
    assert "nightly-score-recompute" in before

    def database_down(self):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(DatabaseScheduler, "enabled_models", database_down)
    monkeypatch.setattr(scheduler, "schedule_changed", lambda: True)  # a re-read is due
    assert set(scheduler.schedule) == set(before)  # django-celery-beat's own raised out of beat here

    monkeypatch.undo()
    monkeypatch.setattr(scheduler, "schedule_changed", lambda: True)
    assert set(scheduler.schedule) == set(scheduler.all_as_schedule())  # back: read from the database again
