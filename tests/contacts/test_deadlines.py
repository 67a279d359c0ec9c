"""Follow-up deadlines (contacts.deadlines): hand-built events whose figures are known exactly.

The hot-leads dinner ended 3 hours ago with a 60-minute deadline (seed 004), so its deadline
passed 2 hours ago. Three reps own its attendees:
- Rita: followed up after 30, 60 (the deadline itself) and 90 minutes → 2 in time, 1 missed;
  hours to the first follow-up 0.5, 1.0, 1.5 → median 1.0.
- Sam: one never followed up, one only for another event, one with a follow-up merely planned
  (3 missed, all still open), one called half an hour before the end (in time, 0 hours).
- Tom: a do-not-contact attendee never followed up (missed, but not queued: nobody should call
  them), an erased one (not counted anywhere), a no-show (not an attendee).
"""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.deadlines import (
    TEAM,
    follow_up_deadline,
    follow_up_deadline_at,
    follow_up_performance,
    missed_deadline_queue,
)
from contacts.models import Contact, FollowUp, Organization
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def make_event(name: str, *, ended_ago: timedelta, minutes: int | None = 60, status=EventStatus.COMPLETED) -> Event:
    ends_at = NOW - ended_ago
    return Event.objects.create(
        name=name, starts_at=ends_at - timedelta(hours=4), ends_at=ends_at, status=status,
        completed_at=ends_at if status == EventStatus.COMPLETED else None, follow_up_deadline_minutes=minutes,
    )


def attendee(event: Event, email: str, owner: User | None, *, status=AttendanceStatus.ATTENDED, **contact_fields) -> Contact:
    contact = Contact.objects.filter(email=email).first() or Contact.objects.create(
        email=email, first_name=email.split("@")[0].title(), owner=owner, **contact_fields
    )
    Attendance.objects.create(event=event, contact=contact, status=status)
    return contact


def done(contact: Contact, event: Event | None, after: timedelta, *, of: Event) -> FollowUp:
    """A done follow-up of the contact for `event`, completed `after` the end of `of`."""
    return FollowUp.objects.create(contact=contact, event=event, owner=contact.owner, status=FollowUpStatus.DONE,
                                   completed_at=of.ends_at + after)


def planned(contact: Contact, event: Event, due_in: timedelta) -> FollowUp:
    return FollowUp.objects.create(contact=contact, event=event, owner=contact.owner, status=FollowUpStatus.PLANNED,
                                   due_at=NOW + due_in)


@pytest.fixture
def reps():
    return {name: User.objects.create_user(name, f"{name}@agency.example", "pw", first_name=name.title(),
                                           last_name="Rep", is_staff=True)
            for name in ("rita", "sam", "tom")}


@pytest.fixture
def dinner(reps):
    """The hot-leads dinner of the module docstring, with its contacts by name."""
    event = make_event("Hot leads dinner", ended_ago=timedelta(hours=3), minutes=60)
    other = make_event("Roadshow", ended_ago=timedelta(days=5), minutes=None)
    rita, sam, tom = reps["rita"], reps["sam"], reps["tom"]
    acme = Organization.objects.create(name="Acme")
    people = {
        "r30": attendee(event, "r30@client.example", rita, organization=acme),
        "r60": attendee(event, "r60@client.example", rita),
        "r90": attendee(event, "r90@client.example", rita),
        "s_none": attendee(event, "s_none@client.example", sam),
        "s_other": attendee(event, "s_other@client.example", sam),
        "s_planned": attendee(event, "s_planned@client.example", sam),
        "s_early": attendee(event, "s_early@client.example", sam),
        "t_dnc": attendee(event, "t_dnc@client.example", tom, do_not_contact=True),
        "t_erased": attendee(event, "t_erased@client.example", tom),
        "t_no_show": attendee(event, "t_no_show@client.example", tom, status=AttendanceStatus.NO_SHOW),
        "nobody": attendee(event, "nobody@client.example", None),
    }
    done(people["r30"], event, timedelta(minutes=30), of=event)
    done(people["r30"], event, timedelta(hours=2), of=event)  # a second one: the first counts
    done(people["r60"], event, timedelta(minutes=60), of=event)
    done(people["r90"], event, timedelta(minutes=90), of=event)
    done(people["s_other"], other, timedelta(minutes=10), of=event)  # for another event: does not count
    done(people["s_other"], None, timedelta(minutes=10), of=event)  # for no event: does not count either
    people["s_planned_follow_up"] = planned(people["s_planned"], event, timedelta(days=1))
    done(people["s_early"], event, timedelta(minutes=-30), of=event)
    done(people["t_no_show"], event, timedelta(minutes=5), of=event)
    Contact.objects.filter(pk=people["t_erased"].pk).update(erased_at=NOW, email=None, first_name="")
    return event, other, people


class TestTheDeadline:
    def test_an_event_without_its_own_deadline_gets_the_default_of_48_hours(self, settings):
        event = make_event("Conference", ended_ago=timedelta(days=1), minutes=None)
        assert follow_up_deadline(event) == timedelta(hours=48)
        assert follow_up_deadline_at(event) == event.ends_at + timedelta(hours=48)
        settings.FOLLOW_UP_DEADLINE_MINUTES = 24 * 60
        assert follow_up_deadline(event) == timedelta(hours=24)

    def test_hot_leads_get_60_minutes(self):
        event = make_event("Hot leads", ended_ago=timedelta(days=1), minutes=60)
        assert follow_up_deadline_at(event) == event.ends_at + timedelta(minutes=60)


class TestPerformance:
    def test_per_rep_at_the_event(self, dinner, reps):
        event, _, _ = dinner

        report = follow_up_performance(event_id=event.pk, now=NOW)

        rows = {row.owner_name: row for row in report.rows}
        assert set(rows) == {"Rita Rep", "Sam Rep", "Tom Rep"}
        rita, sam, tom = rows["Rita Rep"], rows["Sam Rep"], rows["Tom Rep"]
        assert (rita.assigned, rita.followed_up_in_time, rita.missed, rita.pending) == (3, 2, 1, 0)
        assert rita.in_time_share == 0.6667  # 2 / 3, to 4 decimals
        assert rita.median_hours_to_first_follow_up == 1.0
        assert (sam.assigned, sam.followed_up_in_time, sam.missed, sam.pending) == (4, 1, 3, 0)
        assert sam.median_hours_to_first_follow_up == 0.0  # before the end counts as 0 hours
        # Tom's do-not-contact attendee is assigned and missed; the erased one and the no-show are not his.
        assert (tom.assigned, tom.followed_up_in_time, tom.missed, tom.in_time_share) == (1, 0, 1, 0.0)
        assert tom.median_hours_to_first_follow_up is None
        assert rita.deadline_minutes == 60
        assert rita.deadline_at == event.ends_at + timedelta(minutes=60)
        assert (rita.event_id, rita.event_name, rita.owner_id) == (event.pk, "Hot leads dinner", reps["rita"].pk)

    def test_totals_per_rep_and_overall(self, dinner):
        event, _, _ = dinner

        report = follow_up_performance(event_id=event.pk, now=NOW)

        assert [owner.owner_name for owner in report.owners] == ["Rita Rep", "Sam Rep", "Tom Rep"]
        overall = report.overall
        assert (overall.assigned, overall.followed_up_in_time, overall.missed, overall.pending) == (8, 3, 5, 0)
        assert overall.in_time_share == pytest.approx(3 / 8)
        assert overall.median_hours_to_first_follow_up == 0.75  # median of 0, 0.5, 1.0, 1.5

    def test_pending_until_the_deadline_passes_then_missed(self, reps):
        event = make_event("Just ended", ended_ago=timedelta(minutes=10), minutes=60, status=EventStatus.LIVE)
        waiting = attendee(event, "waiting@client.example", reps["rita"])
        called = attendee(event, "called@client.example", reps["rita"])
        done(called, event, timedelta(minutes=5), of=event)

        before = follow_up_performance(event_id=event.pk, now=NOW).overall
        after = follow_up_performance(event_id=event.pk, now=event.ends_at + timedelta(minutes=60)).overall

        assert (before.assigned, before.followed_up_in_time, before.missed, before.pending) == (2, 1, 0, 1)
        assert (after.followed_up_in_time, after.missed, after.pending) == (1, 1, 0)  # at the deadline: passed
        assert missed_deadline_queue(now=NOW).filter(contact=waiting).exists() is False

    def test_events_not_over_and_cancelled_events_do_not_count(self, reps):
        upcoming = make_event("Upcoming", ended_ago=timedelta(days=-3), status=EventStatus.PLANNED)
        cancelled = make_event("Cancelled", ended_ago=timedelta(days=3), status=EventStatus.CANCELLED)
        for event in (upcoming, cancelled):
            attendee(event, f"{event.name.lower()}@client.example", reps["rita"])

        assert follow_up_performance(now=NOW).overall.assigned == 0
        assert not missed_deadline_queue(now=NOW).exists()

    def test_filters_by_rep_and_by_the_day_the_event_ended(self, dinner, reps):
        event, other, people = dinner
        attendee(other, "late@client.example", reps["sam"])

        by_sam = follow_up_performance(owner_id=reps["sam"].pk, now=NOW)
        assert {(row.event_id, row.owner_id) for row in by_sam.rows} == {(event.pk, reps["sam"].pk),
                                                                          (other.pk, reps["sam"].pk)}
        assert [row.event_id for row in by_sam.rows] == [event.pk, other.pk]  # newest event first
        dinner_day = timezone.localdate(event.ends_at)
        only_dinner = follow_up_performance(date_from=dinner_day, date_to=dinner_day, now=NOW)
        assert {row.event_id for row in only_dinner.rows} == {event.pk}
        before = follow_up_performance(date_to=dinner_day - timedelta(days=1), now=NOW)
        assert {row.event_id for row in before.rows} == {other.pk}
        assert follow_up_performance(date_from=date(2199, 1, 1), now=NOW).overall.assigned == 0

    def test_without_data_the_figures_are_empty_not_zero(self):
        overall = follow_up_performance(now=NOW).overall
        assert (overall.assigned, overall.in_time_share, overall.median_hours_to_first_follow_up) == (0, None, None)

    def test_one_query_whatever_the_number_of_attendees(self, dinner, reps, django_assert_num_queries):
        event, _, _ = dinner
        for index in range(30):
            contact = attendee(event, f"more{index}@client.example", reps["tom"])
            done(contact, event, timedelta(minutes=index), of=event)

        with django_assert_num_queries(1):  # the assigned attendances with their first follow-up
            report = follow_up_performance(now=NOW)
        assert report.overall.assigned == 38


class TestMissedDeadlineQueue:
    def test_who_is_still_waiting_for_a_follow_up(self, dinner):
        event, _, people = dinner

        queue = list(missed_deadline_queue(now=NOW))

        # Rita's r90 was followed up late: missed all the same, with when; Tom's do-not-contact and
        # erased attendees are not queued.
        assert {attendance.contact_id for attendance in queue} == {
            people["r90"].pk, people["s_none"].pk, people["s_other"].pk, people["s_planned"].pk}
        followed_up = {attendance.contact_id: attendance.followed_up_at for attendance in queue}
        assert followed_up[people["r90"].pk] == event.ends_at + timedelta(minutes=90)
        assert followed_up[people["s_none"].pk] is None
        assert followed_up[people["s_other"].pk] is None  # a follow-up for another event does not count
        first = queue[0]
        assert first.deadline_at == event.ends_at + timedelta(minutes=60)
        planned_ids = {attendance.contact_id: attendance.planned_follow_up_id for attendance in queue}
        assert planned_ids[people["s_planned"].pk] == people["s_planned_follow_up"].pk
        assert planned_ids[people["s_none"].pk] is None
        assert {attendance.contact_id for attendance in queue if attendance.planned_follow_up} == {people["s_planned"].pk}

    def test_by_owner_and_event(self, dinner, reps):
        event, other, people = dinner
        assert missed_deadline_queue(owner=reps["rita"], now=NOW).count() == 1  # followed up late
        assert missed_deadline_queue(owner=reps["sam"], now=NOW).count() == 3
        assert missed_deadline_queue(owner=reps["sam"].pk, now=NOW).count() == 3
        assert missed_deadline_queue(owner=TEAM, now=NOW).count() == 4
        assert missed_deadline_queue(event_id=other.pk, now=NOW).count() == 0
        assert missed_deadline_queue(event_id=event.pk, now=NOW).count() == 4

    def test_oldest_deadline_first_and_only_within_the_window(self, reps, settings):
        settings.MISSED_DEADLINE_WINDOW_DAYS = 30
        recent = make_event("Recent", ended_ago=timedelta(days=1), minutes=60)
        older = make_event("Older", ended_ago=timedelta(days=5), minutes=None)  # deadline 3 days ago
        ancient = make_event("Ancient", ended_ago=timedelta(days=40), minutes=60)
        for event in (recent, older, ancient):
            attendee(event, f"{event.name.lower()}@client.example", reps["rita"])

        queue = list(missed_deadline_queue(now=NOW))

        assert [attendance.event.name for attendance in queue] == ["Older", "Recent"]
        assert [attendance.deadline_at for attendance in queue] == [
            older.ends_at + timedelta(hours=48), recent.ends_at + timedelta(hours=1)]
        # The ancient one is still a miss in the figures.
        assert follow_up_performance(event_id=ancient.pk, now=NOW).overall.missed == 1

    def test_one_query_for_a_page_with_contact_owner_organization_and_event(self, dinner, reps,
                                                                            django_assert_num_queries):
        event, _, _ = dinner
        for index in range(20):
            attendee(event, f"waiting{index}@client.example", reps["tom"])

        with django_assert_num_queries(1):
            page = list(missed_deadline_queue(now=NOW)[:50])
            shown = [(a.contact.full_name, a.contact.owner.username, a.contact.organization, a.event.name)
                     for a in page]
        assert len(shown) == 24
