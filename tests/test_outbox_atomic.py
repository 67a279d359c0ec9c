"""A write and the rescoring it asks for (the outbox's rows: PendingRecompute, RecomputeRequest)
commit together: a failure between them leaves neither, so a client told to try again finds
nothing half-written, and no saved row goes without its recompute."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Contact, FollowUp, Referral
from events import services as event_services
from events.models import Attendance, Event, Feedback, Interaction
from scoring import triggers

pytestmark = pytest.mark.django_db


@pytest.fixture
def completed_event() -> Event:
    now = timezone.now()
    event = event_services.create_event(name="Summit", starts_at=now - timedelta(hours=8), ends_at=now - timedelta(hours=1))
    return event_services.complete_event(event)


@pytest.fixture
def outbox_down(monkeypatch):
    """The outbox write fails (the database went away between the two statements)."""
    def fail(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(triggers, "data_changed", fail)
    monkeypatch.setattr(triggers, "schedule_contacts_recompute", fail)


WRITES = {
    "attendance": lambda event, anna, bert: event_services.create_attendance(event=event, contact=anna),
    "bulk rows": lambda event, anna, bert: event_services.bulk_upsert_attendances(event, [{"email": "new@x.de"}]),
    "interaction": lambda event, anna, bert: event_services.record_interaction(
        event=event, contact=anna, counterpart=bert, kind="meeting", occurred_at=event.starts_at),
    "feedback": lambda event, anna, bert: event_services.record_feedback(event=event, contact=anna, nps=9),
    "follow-up": lambda event, anna, bert: contact_services.create_follow_up(
        contact=anna, event=event, channel="email", status="done", completed_at=event.ends_at),
    "planned follow-up": lambda event, anna, bert: contact_services.create_follow_up(
        contact=anna, channel="email", status="planned", due_at=timezone.now() + timedelta(days=1)),
    "referral": lambda event, anna, bert: contact_services.create_referral(
        referrer=anna, event=event, referred_email="new@x.de"),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_whose_outbox_row_fails_is_not_saved(completed_event, outbox_down, write):
    anna, bert = Contact.objects.create(email="anna@x.de"), Contact.objects.create(email="bert@x.de")

    with pytest.raises(OperationalError):
        write(completed_event, anna, bert)

    for model in (Attendance, Interaction, Feedback, FollowUp, Referral):
        assert not model.objects.exists(), model
    assert Contact.objects.count() == 2


@pytest.mark.parametrize("kind", ["interaction", "feedback", "follow-up"])
def test_a_delete_whose_outbox_row_fails_keeps_the_row(completed_event, monkeypatch, kind):
    anna, bert = Contact.objects.create(email="anna@x.de"), Contact.objects.create(email="bert@x.de")
    row = WRITES[kind](completed_event, anna, bert)
    model, pk = type(row), row.pk
    delete = {"interaction": event_services.delete_interaction, "feedback": event_services.delete_feedback,
              "follow-up": contact_services.delete_follow_up}[kind]

    monkeypatch.setattr(triggers, "data_changed", lambda *a, **k: (_ for _ in ()).throw(OperationalError("gone")))
    with pytest.raises(OperationalError):
        delete(row)

    assert model.objects.filter(pk=pk).exists()
