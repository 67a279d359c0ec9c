"""Follow-up deadlines in the admin: the event page's panel, the dashboard's rep table and the
"Missed deadline" filter of the attendance list (docs/follow-up-deadlines.md).

A hot-leads dinner ended 3 hours ago with a 60-minute deadline. Rita's three attendees were
called after 30 and 90 minutes and not at all: 1 in time (33 %), 2 missed, median 1.0 h.
Sam's one attendee was not called: 0 in time, 1 missed. Both uncalled ones are still waiting.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone, translation

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from events.admin_panels import deadline_text, follow_up_deadline_panel
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event

pytestmark = pytest.mark.django_db


def rep(name: str) -> User:
    return User.objects.create_user(name, f"{name}@agency.example", "pw", first_name=name.title(), last_name="Rep")


def attendee(event: Event, email: str, owner: User, **fields) -> Contact:
    contact = Contact.objects.create(email=email, first_name=email.split("@")[0].title(), owner=owner, **fields)
    Attendance.objects.create(event=event, contact=contact, status=AttendanceStatus.ATTENDED)
    return contact


def called(contact: Contact, event: Event, after: timedelta) -> None:
    FollowUp.objects.create(contact=contact, event=event, owner=contact.owner, status=FollowUpStatus.DONE,
                            completed_at=event.ends_at + after)


@pytest.fixture
def dinner() -> Event:
    ends_at = timezone.now() - timedelta(hours=3)
    event = Event.objects.create(name="Hot leads dinner", starts_at=ends_at - timedelta(hours=3), ends_at=ends_at,
                                 status=EventStatus.COMPLETED, completed_at=ends_at, follow_up_deadline_minutes=60)
    rita, sam = rep("rita"), rep("sam")
    called(attendee(event, "fast@client.example", rita), event, timedelta(minutes=30))
    called(attendee(event, "late@client.example", rita), event, timedelta(minutes=90))
    attendee(event, "never@client.example", rita)
    attendee(event, "waiting@client.example", sam)
    attendee(event, "quiet@client.example", sam, do_not_contact=True)
    Contact.objects.filter(email="quiet@client.example").update(owner=None)  # not assigned: no owner
    return event


class TestEventPanel:
    def test_the_event_page_shows_the_deadline_and_each_reps_figures(self, admin_client, dinner):
        response = admin_client.get(reverse("admin:events_event_change", args=[dinner.pk]))

        assert response.status_code == 200
        panel = response.context["follow_up_deadline"]
        assert panel["deadline"] == "1 hour"
        assert panel["is_default"] is False
        assert panel["passed"] is True
        rows = {row["owner"]: row for row in panel["rows"]}
        assert rows["Rita Rep"] == {"owner": "Rita Rep", "assigned": "3", "in_time": "1 (33 %)", "median_hours": "1.0 h",
                                    "missed": "2", "pending": "0"}
        assert rows["Sam Rep"] == {"owner": "Sam Rep", "assigned": "1", "in_time": "0 (0 %)", "median_hours": "—",
                                   "missed": "1", "pending": "0"}
        assert panel["total"] == {"assigned": "4", "in_time": "1 (25 %)", "median_hours": "1.0 h", "missed": "3",
                                  "pending": "0"}
        page = response.content.decode()
        assert 'id="ror-event-follow-up-deadline"' in page
        assert "1 hour after the end of the event: by" in page
        assert "Rita Rep" in page
        assert "1 (33 %)" in page
        assert f"?event={dinner.pk}&amp;deadline=missed" in page

    def test_an_event_with_the_default_deadline_says_so(self, admin_client):
        ends_at = timezone.now() + timedelta(days=10)
        event = Event.objects.create(name="Conference", starts_at=ends_at - timedelta(hours=8), ends_at=ends_at)

        page = admin_client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()

        assert "48 hours after the end of the event (the default)" in page
        assert "The deadline has not passed yet." in page
        assert "The figures come once the event is over" in page  # not "no attendee": it has not happened
        Event.objects.filter(pk=event.pk).update(starts_at=timezone.now() - timedelta(days=2),
                                                 ends_at=timezone.now() - timedelta(days=1))
        page = admin_client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()
        assert "No attendee with an owner yet" in page
        Event.objects.filter(pk=event.pk).update(status="cancelled")
        page = admin_client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()
        assert "The event was cancelled: nobody is followed up for it." in page

    def test_figures_are_written_as_the_language_writes_numbers(self, dinner):
        with translation.override("de"):
            panel = follow_up_deadline_panel(dinner)
        assert panel["follow_up_deadline"]["total"]["median_hours"] == "1,0 h"
        assert deadline_text(90) == "90 minutes"

    def test_the_deadline_is_a_field_of_the_event_form(self, admin_client, dinner):
        page = admin_client.get(reverse("admin:events_event_change", args=[dinner.pk])).content.decode()
        assert 'name="follow_up_deadline_minutes"' in page


class TestMissedFilter:
    def test_the_attendance_list_shows_who_was_not_followed_up_within_the_deadline(self, admin_client, dinner):
        url = reverse("admin:events_attendance_changelist")

        response = admin_client.get(url, {"deadline": "missed"})

        assert response.status_code == 200
        assert {attendance.contact.email for attendance in response.context["cl"].result_list} == {
            "late@client.example", "never@client.example", "waiting@client.example"}
        assert "follow-up deadline" in response.content.decode()
        by_event = admin_client.get(url, {"deadline": "missed", "event": dinner.pk})
        assert by_event.context["cl"].result_count == 3


class TestDashboard:
    def test_the_dashboard_has_a_rep_table(self, staff_client, dinner):
        response = staff_client.get("/admin/ror/dashboard/")

        assert response.status_code == 200
        rows = {row["owner"]: row for row in response.context["rep_rows"]}
        assert rows["Rita Rep"] == {"owner": "Rita Rep", "assigned": "3", "in_time": "1", "in_time_share": "33 %",
                                    "median_hours": "1.0", "missed": "2", "pending": "0"}
        assert rows["Sam Rep"]["median_hours"] == "–"
        page = response.content.decode()
        assert 'id="ror-follow-up-reps"' in page
        assert "Follow-up deadlines by rep" in page

    def test_a_period_without_events_says_so(self, staff_client, dinner):
        response = staff_client.get("/admin/ror/dashboard/", {"date_from": "2020-01-01", "date_to": "2020-12-31"})
        assert response.context["rep_rows"] == []
        assert "No attendee with an owner at the events that ended in this period." in response.content.decode()
