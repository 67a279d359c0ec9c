"""The meeting suggestions page of an event (link on the event page, table, CSV for the matchmaking tool)."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp, Organization
from events.choices import EventStatus
from events.models import Attendance, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(staff_user) -> Event:
    """A planned event: Anna and Jan share logistics and a tag; Anna's owner follows up Eva."""
    now = timezone.now()
    event = Event.objects.create(name="Hamburg Summit 2026", starts_at=now + timedelta(days=30),
                                 ends_at=now + timedelta(days=30, hours=8))
    people = [
        Contact.objects.create(email="anna@example.com", first_name="Anna", last_name="Müller", tags=["cold chain"],
                               owner=staff_user,
                               organization=Organization.objects.create(name="Nordhafen", industry="Logistics")),
        Contact.objects.create(email="jan@example.com", first_name="Jan", last_name="Berg", tags=["Cold Chain"],
                               organization=Organization.objects.create(name="Elbe Cargo", industry="logistics")),
        Contact.objects.create(email="eva@example.com", first_name="Eva", last_name="Lind"),
    ]
    Attendance.objects.bulk_create(Attendance(event=event, contact=person, status="registered") for person in people)
    FollowUp.objects.create(contact=people[2], owner=staff_user, status=FollowUpStatus.PLANNED)
    return event


def page_url(event: Event, query: str = "") -> str:
    return reverse("admin:events_event_meeting_suggestions", args=[event.pk]) + query


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def test_the_event_page_links_to_the_suggestions_of_a_planned_or_live_event(staff_client, event):
    change = staff_client.get(reverse("admin:events_event_change", args=[event.pk]))
    assert page_url(event) in change.content.decode()

    for status in (EventStatus.COMPLETED, EventStatus.CANCELLED):
        Event.objects.filter(pk=event.pk).update(status=status, completed_at=timezone.now())
        change = staff_client.get(reverse("admin:events_event_change", args=[event.pk]))
        assert page_url(event) not in change.content.decode()


def test_the_page_lists_pairs_with_their_reason(staff_client, event):
    response = staff_client.get(page_url(event))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Meeting suggestions: Hamburg Summit 2026" in page
    for name in ("Anna Müller", "Jan Berg", "Eva Lind"):
        assert name in page
    assert "Same industry (Logistics); shared tag: cold chain" in page
    assert "Anna Agency" not in page  # the staff persona has no name: the follow-up says its username
    assert "anna, owner of Anna Müller, has a follow-up planned with Eva Lind" in page
    assert "2 suggestions, at most 5 per attendee." in page
    assert reverse("admin:events_event_meeting_suggestions_csv", args=[event.pk]) + "?per_attendee=5" in page
    assert reverse("admin:contacts_contact_change", args=[Contact.objects.get(first_name="Jan").pk]) in page


def test_per_attendee_narrows_the_list_and_a_bad_value_is_said(staff_client, event):
    page = staff_client.get(page_url(event, "?per_attendee=1")).content.decode()
    assert "1 suggestion, at most 1 per attendee." in page  # Anna meets Jan; then she has her one

    page = staff_client.get(page_url(event, "?per_attendee=99")).content.decode()
    assert "less than or equal to 50" in page
    assert "2 suggestions, at most 5 per attendee." in page


def test_the_csv_has_ids_names_e_mails_organizations_and_the_reason(staff_client, event):
    response = staff_client.get(reverse("admin:events_event_meeting_suggestions_csv", args=[event.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"meeting-suggestions-event-{event.pk}.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    anna, jan, eva = (Contact.objects.get(first_name=name) for name in ("Anna", "Jan", "Eva"))
    # both pairs are worth 3; without scores the lower ids go first
    assert [(row["contact_id"], row["counterpart_id"]) for row in rows] == [
        (str(anna.pk), str(jan.pk)), (str(anna.pk), str(eva.pk)),
    ]
    assert rows[0] == {
        "contact_id": str(anna.pk), "contact_name": "Anna Müller", "contact_email": "anna@example.com",
        "contact_organization": "Nordhafen", "counterpart_id": str(jan.pk), "counterpart_name": "Jan Berg",
        "counterpart_email": "jan@example.com", "counterpart_organization": "Elbe Cargo", "value": "3",
        "reasons": "same_industry shared_tags", "reason": "Same industry (Logistics); shared tag: cold chain",
    }
    assert rows[1]["reasons"] == "followup_pending"
    assert rows[1]["counterpart_organization"] == ""


def test_the_csv_is_safe_to_open_in_a_spreadsheet(staff_client, event):
    Contact.objects.filter(first_name="Jan").update(email="=1+1@example.com", first_name="=HYPERLINK(\"x\")")
    Organization.objects.filter(name="Elbe Cargo").update(name="@SUM(A1)")

    [row, _] = csv_rows(staff_client.get(reverse("admin:events_event_meeting_suggestions_csv", args=[event.pk])))

    assert row["counterpart_email"] == "'=1+1@example.com"
    assert row["counterpart_name"].startswith("'=HYPERLINK")
    assert row["counterpart_organization"] == "'@SUM(A1)"


def test_a_completed_event_sends_back_to_its_page_with_a_message(staff_client, event):
    Event.objects.filter(pk=event.pk).update(status=EventStatus.COMPLETED, completed_at=timezone.now())

    response = staff_client.get(page_url(event), follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:events_event_change", args=[event.pk])
    assert "Meeting suggestions are made for planned and live events" in response.content.decode()
    csv_response = staff_client.get(reverse("admin:events_event_meeting_suggestions_csv", args=[event.pk]))
    assert csv_response.status_code == 302


def test_it_takes_seeing_events_and_contacts(client, django_user_model, event, sales_client):
    assert sales_client.get(page_url(event)).status_code == 200  # sales view events and contacts

    clerk = django_user_model.objects.create_user("clerk", "clerk@agency.example", "pw-clerk-123", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(clerk)
    assert client.get(page_url(event)).status_code == 403
    assert client.get(reverse("admin:events_event_meeting_suggestions_csv", args=[event.pk])).status_code == 403
    assert page_url(event) not in client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()

    assert client.get(reverse("admin:events_event_meeting_suggestions", args=[999999])).status_code in (302, 404)
