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


def test_a_beat_started_during_an_outage_sets_its_schedule_up_once_the_database_is_back(monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(DatabaseScheduler, "enabled_models", database_down)
    monkeypatch.setattr(DatabaseScheduler.Entry, "from_entry", database_down)  # its start-up writes fail too
    scheduler = DatabaseScheduler(app=app)
    assert scheduler.schedule == {}
    monkeypatch.setattr("ror_crm.beat.SETUP_RETRY_SECONDS", 0)
    scheduler.set_up_if_missed()  # still down: nothing yet
    assert scheduler.schedule == {}

    monkeypatch.undo()
    monkeypatch.setattr("ror_crm.beat.SETUP_RETRY_SECONDS", 0)
    scheduler.set_up_if_missed()  # the next tick, without waiting for the five-minute sync
    assert {"nightly-score-recompute", "scoring-outbox-sweep"} <= set(scheduler.schedule)
