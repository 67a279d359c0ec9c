"""Backfilling past events through the API: completions dated when they happened.

An event's relationship lift is a figure as of its completion (DOMAIN.md). A partner loading
years of history completes each past event as it loads it; completed "now", the lift of an early
edition would read the later editions loaded after it as history before its completion.
"""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from contacts.services import create_contact
from events.models import Event
from events.services import create_attendance, create_event
from scoring.models import EventMetrics
from scoring.services import compute_event_metrics


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def past_event(db) -> Event:
    ends = timezone.now().replace(microsecond=0) - timedelta(days=700)
    return create_event(name="Summit 2024", starts_at=ends - timedelta(hours=8), ends_at=ends)


def test_complete_dates_the_completion_it_is_given(write_client, past_event):
    completed_at = past_event.ends_at + timedelta(hours=2)
    url = f"/api/v1/events/{past_event.pk}/complete/"
    response = write_client.post(url, {"completed_at": iso(completed_at)}, format="json")

    assert response.status_code == 200, response.json()
    assert datetime.fromisoformat(response.json()["completed_at"]) == completed_at
    again = write_client.post(url, {"completed_at": iso(completed_at + timedelta(days=1))}, format="json")
    assert datetime.fromisoformat(again.json()["completed_at"]) == completed_at  # repeating changes nothing


@pytest.mark.parametrize(("body", "why"), [
    ({"completed_at": "ends - 1h"}, "before it ended"),
    ({"completed_at": "starts - 1h", "force": True}, "before it started"),
    ({"completed_at": "now + 1d"}, "in the future"),
])
def test_a_completion_time_before_the_event_or_ahead_is_a_400(write_client, past_event, body, why):
    moments = {"ends - 1h": past_event.ends_at - timedelta(hours=1),
               "starts - 1h": past_event.starts_at - timedelta(hours=1),
               "now + 1d": timezone.now() + timedelta(days=1)}
    body = {**body, "completed_at": iso(moments[body["completed_at"]])}
    response = write_client.post(f"/api/v1/events/{past_event.pk}/complete/", body, format="json")

    assert (response.status_code, list(response.json())) == (400, ["completed_at"]), why
    assert Event.objects.get(pk=past_event.pk).status == "planned"


def test_an_event_created_or_patched_as_completed_takes_its_completion_time(write_client, past_event):
    ends = past_event.ends_at
    created = write_client.post("/api/v1/events/", {
        "name": "Dinner 2024", "starts_at": iso(ends - timedelta(hours=3)), "ends_at": iso(ends),
        "status": "completed", "completed_at": iso(ends + timedelta(hours=1)),
    }, format="json")
    assert created.status_code == 201, created.json()
    assert datetime.fromisoformat(created.json()["completed_at"]) == ends + timedelta(hours=1)

    url = f"/api/v1/events/{past_event.pk}/"
    alone = write_client.patch(url, {"completed_at": iso(ends)}, format="json")  # without completing it
    assert (alone.status_code, list(alone.json())) == (400, ["completed_at"])
    assert write_client.patch(url, {"completed_at": None, "city": "Hamburg"}, format="json").status_code == 200
    completing = write_client.patch(url, {"status": "completed", "completed_at": iso(ends)}, format="json")
    assert datetime.fromisoformat(completing.json()["completed_at"]) == ends

    same = write_client.patch(url, {"completed_at": iso(ends), "city": "Berlin"}, format="json")
    assert same.status_code == 200  # the stored value again: a body read and sent back
    moved = write_client.patch(url, {"completed_at": iso(ends + timedelta(days=1))}, format="json")
    assert (moved.status_code, list(moved.json())) == (400, ["completed_at"])
    assert Event.objects.get(pk=past_event.pk).completed_at == ends


def test_a_backfilled_edition_keeps_its_lift_when_later_history_arrives(
    write_client, past_event, django_capture_on_commit_callbacks,
):
    """Completed as of its end, the first edition's lift reads nothing loaded later; a fresh
    computation of its metrics after the second edition arrives gives the same figures."""
    anna, ben = create_contact(email="anna@example.com"), create_contact(email="ben@example.com")
    for person in (anna, ben):
        create_attendance(event=past_event, contact=person, status="attended")
    with django_capture_on_commit_callbacks(execute=True):  # the recompute, run in-process after commit
        write_client.post(f"/api/v1/events/{past_event.pk}/complete/",
                          {"completed_at": iso(past_event.ends_at + timedelta(hours=1))}, format="json")
    stored = EventMetrics.objects.get(event=past_event)
    assert stored.relationship_lift is not None

    later_end = past_event.ends_at + timedelta(days=300)
    later = create_event(name="Summit 2025", starts_at=later_end - timedelta(hours=8), ends_at=later_end)
    create_attendance(event=later, contact=anna, status="attended")
    with django_capture_on_commit_callbacks(execute=True):
        write_client.post(f"/api/v1/events/{later.pk}/complete/",
                          {"completed_at": iso(later_end + timedelta(hours=1))}, format="json")

    fresh = compute_event_metrics(past_event.pk)
    assert (fresh.relationship_lift, fresh.relationship_lift_median) == (
        stored.relationship_lift, stored.relationship_lift_median)


def test_a_completion_time_a_clock_puts_a_little_ahead_is_now(past_event):
    """validate_not_future() allows for clocks that differ by minutes; the completion is then now, so
    metrics computed right after it carry a computed_at at or after it."""
    from events.services import complete_event

    before = timezone.now()
    completed = complete_event(past_event, completed_at=before + timedelta(minutes=2))

    assert before <= completed.completed_at <= timezone.now()
