"""GET events/{id}/meeting-suggestions/: who should meet at a planned or live event, and why."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp, Organization
from events.api.serializers import MeetingSuggestionsSerializer
from events.choices import EventStatus
from events.meeting_suggestions import meeting_suggestions
from events.models import Attendance, Event
from scoring.models import ContactScore

pytestmark = pytest.mark.django_db


def planned_event(attendees: int, *, owner=None, name: str = "Summit") -> Event:
    """`attendees` people in two industries, every third owned and followed up by `owner`."""
    now = timezone.now()
    event = Event.objects.create(name=name, starts_at=now + timedelta(days=10), ends_at=now + timedelta(days=10, hours=6))
    industries = ["Logistics", "Finance"]
    people = Contact.objects.bulk_create(
        Contact(email=f"{name.lower()}-{i}@example.com", first_name=f"Person{i}", last_name="Muster",
                tags=[f"t{i % 4}"], owner=owner if i % 3 == 0 else None,
                organization=Organization.objects.create(name=f"{name} Org {i}", industry=industries[i % 2]))
        for i in range(attendees)
    )
    ContactScore.objects.bulk_create(
        ContactScore(contact=person, score=40 + i % 40, components={}, stage="growth", churn_risk="low",
                     computed_at=now, profile_version=1)
        for i, person in enumerate(people)
    )
    Attendance.objects.bulk_create(Attendance(event=event, contact=person, status="registered") for person in people)
    if owner is not None:
        FollowUp.objects.bulk_create(
            FollowUp(contact=person, owner=owner, status=FollowUpStatus.PLANNED) for person in people[1::3]
        )
    return event


def url(event: Event, query: str = "") -> str:
    return f"/api/v1/events/{event.pk}/meeting-suggestions/{query}"


def test_lists_pairs_with_their_reasons(read_client, staff_user):
    event = planned_event(6, owner=staff_user)

    response = read_client.get(url(event))

    assert response.status_code == 200
    body = response.json()
    assert (body["event"], body["per_attendee"], body["count"]) == (event.pk, 5, len(body["results"]))
    assert body["count"] > 0
    first = body["results"][0]
    assert set(first) == {"contact", "counterpart", "value", "reasons", "reason"}
    assert set(first["contact"]) == {"id", "name", "organization"}
    assert first["contact"]["id"] < first["counterpart"]["id"]
    assert first["contact"]["name"].startswith("Person")
    assert first["contact"]["organization"].startswith("Summit Org")
    assert first["reasons"][0] == "followup_pending"
    assert "has a follow-up planned with" in first["reason"]
    values = [row["value"] for row in body["results"]]
    assert values == sorted(values, reverse=True)


def test_the_body_is_what_the_documented_serializer_gives(read_client, staff_user):
    event = planned_event(9, owner=staff_user)
    suggestions = meeting_suggestions(event, per_attendee=2)
    documented = MeetingSuggestionsSerializer(
        {"event": event.pk, "per_attendee": 2, "count": len(suggestions), "next": None, "previous": None,
         "results": suggestions}
    ).data

    assert read_client.get(url(event, "?per_attendee=2")).json() == documented


def test_per_attendee_caps_the_suggestions_naming_one_attendee(read_client):
    event = planned_event(12)

    body = read_client.get(url(event, "?per_attendee=1")).json()

    named = [row["contact"]["id"] for row in body["results"]] + [row["counterpart"]["id"] for row in body["results"]]
    assert body["per_attendee"] == 1
    assert len(named) == len(set(named))
    assert read_client.get(url(event, "?per_attendee=")).json()["per_attendee"] == 5  # empty: the default


@pytest.mark.parametrize("value", ["0", "51", "-1", "abc", "2.5", "1e3", "99999999999999999999999"])
def test_a_bad_per_attendee_is_a_400_naming_it(read_client, value):
    event = planned_event(2)

    response = read_client.get(url(event, f"?per_attendee={value}"))

    assert response.status_code == 400
    assert list(response.json()) == ["per_attendee"]


@pytest.mark.parametrize("status", [EventStatus.COMPLETED, EventStatus.CANCELLED])
def test_a_completed_or_cancelled_event_is_a_409(read_client, status):
    event = planned_event(3)
    Event.objects.filter(pk=event.pk).update(status=status, completed_at=timezone.now())

    response = read_client.get(url(event))

    assert response.status_code == 409
    assert response.json()["code"] == "event_closed"
    assert status in response.json()["detail"]


def test_a_live_event_answers_unknown_ones_404_and_anonymous_401(read_client, api_client):
    event = planned_event(3)
    Event.objects.filter(pk=event.pk).update(status=EventStatus.LIVE)

    assert read_client.get(url(event)).status_code == 200
    assert read_client.get("/api/v1/events/999999/meeting-suggestions/").status_code == 404
    assert api_client.get(url(event)).status_code == 401


def test_a_fixed_number_of_queries_whatever_the_number_of_attendees(read_client, staff_user, django_assert_num_queries):
    small, larger = planned_event(4, owner=staff_user, name="Small"), planned_event(80, owner=staff_user, name="Larger")
    read_client.get(url(small))  # the key's first use writes its last-used time

    def queries(event: Event) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = read_client.get(url(event))
        assert response.status_code == 200
        return len(captured)

    assert queries(small) == queries(larger)
    # the API key; the event; the attendees; the interactions among them; their planned follow-ups
    with django_assert_num_queries(5):
        assert read_client.get(url(larger)).json()["count"] > 80


def test_the_schema_documents_the_parameter_the_errors_and_an_example(read_client):
    schema = read_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/events/{id}/meeting-suggestions/"]["get"]

    assert [parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"] == [
        "cursor", "page_size", "per_attendee", "updated_since"]
    assert "cursor pages" in operation["description"]
    assert "event_closed" in operation["responses"]["409"]["description"]
    assert {"200", "400", "404", "409"} <= set(operation["responses"])
    example = next(iter(operation["responses"]["200"]["content"]["application/json"]["examples"].values()))
    assert example["value"]["results"][0]["reasons"] == ["followup_pending", "same_industry", "shared_tags"]
    result = schema["components"]["schemas"]["MeetingSuggestion"]["properties"]
    assert set(result) == {"contact", "counterpart", "value", "reasons", "reason"}


def test_the_list_comes_in_cursor_pages_like_every_list(read_client, staff_user):
    """API.md: cursor pages on every list (`next`, `previous`, `page_size`); `count` is the whole list."""
    event = planned_event(30, owner=staff_user)
    whole = [(suggestion.contact_a, suggestion.contact_b) for suggestion in meeting_suggestions(event, per_attendee=5)]
    assert len(whole) > 20

    pages, link = [], url(event, "?page_size=7")
    while link:
        body = read_client.get(link).json()
        assert body["count"] == len(whole)
        assert len(body["results"]) <= 7
        pages.append(body)
        link = body["next"]
    assert [(row["contact"]["id"], row["counterpart"]["id"]) for page in pages for row in page["results"]] == whole
    assert pages[0]["previous"] is None
    assert len(pages) == -(-len(whole) // 7)

    back = read_client.get(pages[2]["previous"]).json()
    assert back["results"] == pages[1]["results"]
    assert read_client.get(url(event)).json()["results"] == [
        row for page in pages for row in page["results"]][:50]  # the default page size


@pytest.mark.parametrize("cursor", ["nonsense", "bz0tMQ==", "eD0x", "%%%"])  # o=-1, x=1
def test_an_invalid_cursor_is_a_400(read_client, staff_user, cursor):
    event = planned_event(6, owner=staff_user)
    response = read_client.get(url(event, f"?cursor={cursor}"))
    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}


def test_updated_since_keeps_the_suggestions_naming_someone_changed_since(read_client, staff_user):
    event = planned_event(9, owner=staff_user)
    long_ago = timezone.now() - timedelta(days=5)
    Contact.objects.update(updated_at=long_ago)
    ContactScore.objects.update(updated_at=long_ago)
    Attendance.objects.update(updated_at=long_ago)
    everything = read_client.get(url(event, "?page_size=500")).json()["results"]
    since = (timezone.now() - timedelta(days=1)).isoformat()

    assert read_client.get(url(event), {"updated_since": since}).json()["results"] == []
    changed = everything[0]["counterpart"]["id"]
    Attendance.objects.filter(event=event, contact_id=changed).update(updated_at=timezone.now())
    body = read_client.get(url(event), {"updated_since": since, "page_size": 500}).json()

    naming = [row for row in everything if changed in (row["contact"]["id"], row["counterpart"]["id"])]
    assert body["results"] == naming  # those of the whole list, in its order
    assert body["count"] == len(naming)
    refused = read_client.get(url(event), {"updated_since": "garbage"})
    assert (refused.status_code, list(refused.json())) == (400, ["updated_since"])
