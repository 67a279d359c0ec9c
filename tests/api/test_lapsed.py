"""GET events/{id}/lapsed/: who attended the previous edition and not this one."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from contacts.services import erase_contact
from events import selectors
from events.models import Attendance, Event, EventSeries
from scoring.services import recompute_contacts

pytestmark = pytest.mark.django_db


def two_editions(lapsed: int, returning: int = 1) -> tuple[Event, Event, list[Contact]]:
    now = timezone.now()
    series = EventSeries.objects.create(name=f"Summit {lapsed}")
    first = Event.objects.create(name="Summit 1", series=series, starts_at=now - timedelta(days=200),
                                 ends_at=now - timedelta(days=200), status="completed", completed_at=now - timedelta(days=199))
    second = Event.objects.create(name="Summit 2", series=series, starts_at=now - timedelta(days=2),
                                  ends_at=now - timedelta(days=2), status="completed", completed_at=now - timedelta(days=1))
    people = Contact.objects.bulk_create(Contact(email=f"p{lapsed}-{n}@example.com") for n in range(lapsed + returning))
    Attendance.objects.bulk_create(Attendance(event=first, contact=person, status="attended") for person in people)
    Attendance.objects.bulk_create(
        Attendance(event=second, contact=person, status="attended") for person in people[lapsed:]
    )
    # registered for the second but did not come: still lapsed
    Attendance.objects.create(event=second, contact=people[0], status="no_show")
    return first, second, people[:lapsed]


def test_lists_who_did_not_come_back_highest_score_first(read_client, staff_user):
    _, second, lapsed = two_editions(lapsed=3)
    Contact.objects.filter(pk=lapsed[2].pk).update(owner=staff_user)
    Event.objects.create(name="Dinner", starts_at=timezone.now() - timedelta(days=30),
                         ends_at=timezone.now() - timedelta(days=30))
    Attendance.objects.create(event=Event.objects.get(name="Dinner"), contact=lapsed[1], status="attended")
    recompute_contacts(Contact.objects.values_list("pk", flat=True))

    response = read_client.get(f"/api/v1/events/{second.pk}/lapsed/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows][0] == lapsed[1].pk  # the one who came to a dinner since scores highest
    assert {row["id"] for row in rows} == {person.pk for person in lapsed}
    assert {"email", "owner", "score", "last_touch_at", "last_attended_at"} <= set(rows[0])
    assert rows[0]["score"]["stage"] == "growth"
    owned = read_client.get(f"/api/v1/events/{second.pk}/lapsed/?owner={staff_user.pk}").json()["results"]
    assert [row["id"] for row in owned] == [lapsed[2].pk]


def test_pages_by_cursor_and_refuses_a_bad_owner(read_client):
    _, second, lapsed = two_editions(lapsed=5)
    seen, url = [], f"/api/v1/events/{second.pk}/lapsed/?page_size=2"
    while url:
        page = read_client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(person.pk for person in lapsed)
    assert read_client.get(f"/api/v1/events/{second.pk}/lapsed/?owner=abc").json() == {
        "owner": ["A user id (a whole number)."]
    }
    # empty: no filter, as on the contact list
    assert len(read_client.get(f"/api/v1/events/{second.pk}/lapsed/?owner=&page_size=500").json()["results"]) == 5


def test_empty_without_a_previous_edition(read_client):
    first, _, _ = two_editions(lapsed=2)
    assert read_client.get(f"/api/v1/events/{first.pk}/lapsed/").json()["results"] == []


def test_a_fixed_number_of_queries_whatever_the_number_of_people(read_client):
    def queries(lapsed: int) -> int:
        _, second, _ = two_editions(lapsed=lapsed)
        recompute_contacts(Contact.objects.values_list("pk", flat=True))
        with CaptureQueriesContext(connection) as captured:
            response = read_client.get(f"/api/v1/events/{second.pk}/lapsed/?page_size=500")
        assert len(response.json()["results"]) == lapsed
        return len(captured)

    assert queries(3) == queries(40)


def test_updated_since_keeps_the_contacts_changed_since_then(read_client):
    _, second, lapsed = two_editions(lapsed=3)
    now = timezone.now()
    Contact.objects.filter(pk__in=[person.pk for person in lapsed]).update(updated_at=now - timedelta(days=5))
    Attendance.objects.filter(event=second).update(updated_at=now - timedelta(days=5))
    Contact.objects.filter(pk=lapsed[1].pk).update(updated_at=now)
    url = f"/api/v1/events/{second.pk}/lapsed/"

    since = (now - timedelta(days=1)).isoformat()
    assert [row["id"] for row in read_client.get(url, {"updated_since": since}).json()["results"]] == [lapsed[1].pk]
    assert len(read_client.get(url, {"updated_since": ""}).json()["results"]) == 3  # empty: no filter
    Attendance.objects.create(event=second, contact=lapsed[2], status="cancelled")  # a change of its attendance here
    rows = read_client.get(url, {"updated_since": since}).json()["results"]
    assert sorted(row["id"] for row in rows) == sorted([lapsed[1].pk, lapsed[2].pk])
    assert {row["id"]: row["attendance_status"] for row in rows}[lapsed[2].pk] == "cancelled"
    refused = read_client.get(url, {"updated_since": "yesterday"})
    assert refused.status_code == 400
    assert list(refused.json()) == ["updated_since"]


def test_erased_and_do_not_contact_people_are_listed_the_event_pages_list_leaves_them_out(read_client):
    _, second, lapsed = two_editions(lapsed=3)
    erase_contact(lapsed[0])
    Contact.objects.filter(pk=lapsed[1].pk).update(do_not_contact=True)
    rows = {row["id"]: row for row in read_client.get(f"/api/v1/events/{second.pk}/lapsed/").json()["results"]}
    assert set(rows) == {person.pk for person in lapsed}
    assert (rows[lapsed[0].pk]["email"], rows[lapsed[1].pk]["do_not_contact"]) == (None, True)
    assert list(selectors.lapsed_attendees(second, to_win_back=True)) == [lapsed[2]]
    won_back = read_client.get(f"/api/v1/events/{second.pk}/lapsed/?to_win_back=true").json()["results"]
    assert [row["id"] for row in won_back] == [lapsed[2].pk]


def test_before_the_event_the_event_pages_list_is_of_who_is_not_coming_so_far(read_client):
    first, second, earlier = two_editions(lapsed=1, returning=0)
    now = timezone.now()
    upcoming = Event.objects.create(name="Summit 3", series=first.series, starts_at=now + timedelta(days=30),
                                    ends_at=now + timedelta(days=31))
    people = {status: Contact.objects.create(email=f"{status}@example.com")
              for status in ("registered", "waitlisted", "invited", "cancelled", "none")}
    for status, person in people.items():
        Attendance.objects.create(event=second, contact=person, status="attended")
        if status != "none":
            Attendance.objects.create(event=upcoming, contact=person, status=status)
    # API.md: who attended the previous edition and not this one (nobody has attended it yet)
    rows = read_client.get(f"/api/v1/events/{upcoming.pk}/lapsed/").json()["results"]
    assert {row["email"] for row in rows} == {f"{status}@example.com" for status in people}
    assert earlier[0].pk not in {row["id"] for row in rows}  # of the edition before the previous one
    assert {row["email"]: row["attendance_status"] for row in rows} == {
        f"{status}@example.com": None if status == "none" else status for status in people}
    to_call = selectors.lapsed_attendees(upcoming, to_win_back=True)
    assert {person.email for person in to_call} == {"invited@example.com", "cancelled@example.com", "none@example.com"}
    # the same list through the API, for a partner's win-back campaign
    url = f"/api/v1/events/{upcoming.pk}/lapsed/"
    rows = read_client.get(url, {"to_win_back": "true"}).json()["results"]
    assert {row["email"] for row in rows} == {"invited@example.com", "cancelled@example.com", "none@example.com"}
    assert len(read_client.get(url, {"to_win_back": "false"}).json()["results"]) == len(people)
    assert read_client.get(url, {"to_win_back": "maybe"}).json() == {"to_win_back": ["Give true or false."]}
