"""`manage.py seed_demo`: a realistic, deterministic, idempotent demo agency."""

import os
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db.models import Count, F, Q
from django.utils import timezone

from contacts.choices import DealStatus, FollowUpChannel, FollowUpOutcome, FollowUpStatus
from contacts.models import Contact, FollowUp, Organization, Referral
from events.choices import AttendanceRole, AttendanceStatus, EventFormat, EventKind, EventStatus, InteractionKind
from events.demo import delete_demo_data
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from scoring.models import ContactScore, EventMetrics, ScoreSnapshot

pytestmark = pytest.mark.django_db

TODAY = "2025-03-31"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODELS = [Organization, Contact, EventSeries, Event, Attendance, Interaction, FollowUp, Feedback, Referral]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def anchor(day: str = TODAY) -> datetime:
    """Midnight at the start of the reference day: the demo's "now"."""
    return datetime.combine(date.fromisoformat(day), time(0), tzinfo=timezone.get_default_timezone())


def in_office_hours(moment: datetime) -> bool:
    """Monday to Friday, 08:00 to 18:00 in the site's time zone."""
    local = timezone.localtime(moment)
    return local.weekday() < 5 and time(8) <= local.time() < time(18)


def fingerprint() -> list:
    """What a user would recognise as "the same data": people, events and who came to what."""
    return [
        sorted(Contact.objects.values_list("email", "first_name", "last_name", "organization__name", "owner__username")),
        sorted(Event.objects.values_list("name", "status", "starts_at", "capacity", "cost")),
        sorted(Attendance.objects.values_list("event__name", "contact__email", "role", "status", "external_id")),
        sorted(FollowUp.objects.values_list("contact__email", "status", "due_at", "outcome", "deal_status")),
        row_counts(),
    ]


@pytest.fixture(scope="class")
def default_demo(django_db_setup, django_db_blocker):
    """The default-size demo, loaded once for the read-only tests of a class (with scores, if available)."""
    with django_db_blocker.unblock():
        output = seed("--today", TODAY)
        yield output
        # Class-scoped data lives outside the per-test transactions: remove it before the next tests.
        delete_demo_data()
        get_user_model().objects.filter(username__startswith="sales.").delete()
        # The role groups stay: migrations made them, and later tests' users join them.


class TestDefaultDataset:
    def test_has_500_plus_contacts_in_60_plus_organizations(self, default_demo):
        assert Contact.objects.count() == 600
        assert Organization.objects.annotate(people=Count("contacts")).filter(people__gt=0).count() >= 60
        last_names = set(Contact.objects.values_list("last_name", flat=True))
        assert {"Müller", "Schmidt", "Öztürk", "Nguyen", "García", "O'Brien"} <= last_names
        assert Contact.objects.filter(first_name="Łukasz").exists()
        assert "600 contacts" in default_demo
        assert "34 events" in default_demo

    def test_contacts_look_like_a_crm(self, default_demo):
        contacts = Contact.objects.all()
        assert contacts.exclude(job_title="").count() > 500
        assert contacts.exclude(phone="").count() > 500
        assert contacts.exclude(tags=[]).count() > 300
        assert contacts.filter(do_not_contact=True).exists()
        consenting = contacts.filter(marketing_consent=True)
        assert consenting.count() > 300
        assert not consenting.filter(marketing_consent_at__isnull=True).exists()
        assert not contacts.filter(do_not_contact=True, marketing_consent=True).exists()
        owners = set(contacts.exclude(owner=None).values_list("owner__username", flat=True))
        assert owners == {"sales.anna", "sales.ben", "sales.clara", "sales.david"}
        # Addresses can never reach a real inbox.
        assert all(email.endswith(".example") for email in contacts.values_list("email", flat=True))

    def test_sales_users_are_staff_in_the_sales_group(self, default_demo):
        users = get_user_model().objects.filter(username__startswith="sales.")
        assert users.count() == 4
        for user in users:
            assert user.is_staff
            assert not user.is_superuser
            assert user.check_password("demo-sales")
            assert user.groups.filter(name="Sales").exists()

    def test_series_have_past_and_upcoming_editions(self, default_demo):
        now = anchor()
        series_with_editions = EventSeries.objects.annotate(editions=Count("events")).filter(editions__gte=4)
        assert series_with_editions.count() >= 3
        for series in series_with_editions:
            completed = series.events.filter(status=EventStatus.COMPLETED)
            assert completed.count() >= 3
            assert not completed.filter(Q(completed_at__isnull=True) | Q(ends_at__gte=now)).exists()
            assert series.events.filter(status__in=[EventStatus.PLANNED, EventStatus.LIVE], ends_at__gt=now).exists()
        assert Event.objects.filter(series__isnull=True).count() >= 2
        live = Event.objects.get(status=EventStatus.LIVE)
        assert live.starts_at < now < live.ends_at
        assert Event.objects.filter(status=EventStatus.CANCELLED).exists()
        assert not Event.objects.filter(status=EventStatus.PLANNED, starts_at__lt=now).exists()

    def test_every_kind_and_format_is_used_and_costs_are_in_euro(self, default_demo):
        assert set(Event.objects.values_list("kind", flat=True)) == set(EventKind.values)
        assert set(Event.objects.values_list("format", flat=True)) == set(EventFormat.values)
        assert set(Event.objects.values_list("currency", flat=True)) == {"EUR"}
        assert not Event.objects.filter(cost__isnull=True).exists()
        assert Event.objects.filter(capacity__isnull=False).count() >= 30

    def test_attendances_cover_every_role_and_status(self, default_demo):
        attendances = Attendance.objects.all()
        assert set(attendances.values_list("role", flat=True)) == set(AttendanceRole.values)
        assert set(attendances.values_list("status", flat=True)) == set(AttendanceStatus.values)
        assert attendances.filter(status=AttendanceStatus.NO_SHOW).count() > 100
        attended = attendances.filter(status=AttendanceStatus.ATTENDED)
        assert not attended.filter(checked_in_at__isnull=True).exists()
        assert not attendances.exclude(status=AttendanceStatus.ATTENDED).filter(checked_in_at__isnull=False).exists()
        assert not attended.filter(checked_in_at__gte=anchor()).exists()
        ticketed = attendances.exclude(external_id=None)
        assert ticketed.count() > 1000
        assert set(ticketed.values_list("source", flat=True)) >= {"pretix", "eventbrite", "zoom"}
        # Nothing the partner API would reject: no status of a finished event on an upcoming one, and vice versa.
        assert not attendances.filter(event__status=EventStatus.PLANNED, status=AttendanceStatus.ATTENDED).exists()
        assert not attendances.filter(event__status=EventStatus.COMPLETED, status=AttendanceStatus.REGISTERED).exists()

    def test_a_core_of_people_returns_across_editions(self, default_demo):
        attended_counts = Contact.objects.annotate(
            attended=Count("attendances", filter=Q(attendances__status=AttendanceStatus.ATTENDED))
        )
        assert attended_counts.filter(attended__gte=2).count() > 200
        assert attended_counts.filter(attended__gte=5).count() > 50
        summit = EventSeries.objects.get(name="Hamburg Marketing Summit")
        editions = list(summit.events.filter(status=EventStatus.COMPLETED).order_by("starts_at"))
        for previous, current in zip(editions, editions[1:], strict=False):
            came_before = set(previous.attendances.filter(status="attended").values_list("contact", flat=True))
            came_now = set(current.attendances.filter(status="attended").values_list("contact", flat=True))
            assert len(came_before & came_now) / len(came_now) > 0.25

    def test_timeline_is_consistent(self, default_demo):
        assert not Attendance.objects.filter(created_at__lt=F("contact__created_at")).exists()
        assert not Contact.objects.filter(created_at__lt=F("organization__created_at")).exists()
        assert not Attendance.objects.filter(checked_in_at__lt=F("registered_at")).exists()
        assert not Attendance.objects.filter(registered_at__gte=anchor()).exists()
        assert not Feedback.objects.filter(submitted_at__lt=F("event__ends_at")).exists()
        assert not Referral.objects.filter(created_at__lt=F("event__ends_at")).exists()
        assert not Event.objects.filter(completed_at__lt=F("ends_at")).exists()

    def test_networking_interactions(self, default_demo):
        interactions = Interaction.objects.all()
        assert set(interactions.values_list("kind", flat=True)) == set(InteractionKind.values)
        assert set(interactions.exclude(quality=None).values_list("quality", flat=True)) == {1, 2, 3, 4, 5}
        assert interactions.filter(quality=None).exists()
        assert interactions.filter(duration_minutes__gt=0).count() > 1000
        assert interactions.exclude(counterpart=None).count() > 500
        assert not interactions.exclude(event__status__in=[EventStatus.COMPLETED, EventStatus.LIVE]).exists()
        assert not interactions.filter(occurred_at__gte=anchor()).exists()
        # Counterparts met the contact at that event.
        sample = interactions.exclude(counterpart=None)[:50]
        for interaction in sample:
            assert Attendance.objects.filter(
                event=interaction.event_id, contact=interaction.counterpart_id, status=AttendanceStatus.ATTENDED
            ).exists()

    def test_follow_ups_after_events(self, default_demo):
        now = anchor()
        follow_ups = FollowUp.objects.all()
        assert set(follow_ups.values_list("channel", flat=True)) == set(FollowUpChannel.values)
        assert set(follow_ups.values_list("status", flat=True)) == set(FollowUpStatus.values)
        assert set(follow_ups.values_list("deal_status", flat=True)) == set(DealStatus.values)
        assert not follow_ups.filter(owner=None).exists()
        done = follow_ups.filter(status=FollowUpStatus.DONE)
        assert set(done.values_list("outcome", flat=True)) >= set(FollowUpOutcome.values)
        assert not done.filter(Q(completed_at=None) | Q(completed_at__gte=now)).exists()
        assert not done.filter(event__isnull=False, completed_at__lt=F("event__ends_at")).exists()
        planned = follow_ups.filter(status=FollowUpStatus.PLANNED)
        assert planned.filter(due_at__lt=now).exists(), "some follow-ups are overdue"
        assert planned.filter(due_at__gte=now, due_at__lt=now + timedelta(days=7)).exists(), "some are due this week"
        # Nobody calls people who asked not to be contacted.
        assert not follow_ups.filter(contact__do_not_contact=True).exists()
        deals = follow_ups.exclude(deal_status=DealStatus.NONE)
        assert not deals.filter(deal_value=None).exists()

    def test_feedback_and_referrals(self, default_demo):
        feedback = Feedback.objects.all()
        assert set(feedback.exclude(nps=None).values_list("nps", flat=True)) == set(range(11))
        assert feedback.exclude(satisfaction=None).count() > 300
        assert not feedback.exclude(event__status=EventStatus.COMPLETED).exists()
        attended = set(Attendance.objects.filter(status=AttendanceStatus.ATTENDED).values_list("event", "contact"))
        assert set(feedback.values_list("event", "contact")) <= attended
        referrals = Referral.objects.all()
        assert referrals.exclude(referred=None).exists()
        assert referrals.filter(referred=None).exclude(referred_email="").exists()
        known = set(Contact.objects.values_list("email", flat=True))
        assert not set(referrals.filter(referred=None).values_list("referred_email", flat=True)) & known

    def test_the_attendee_list_of_the_latest_edition_is_imported_again_and_changes_nothing(self, default_demo):
        from events.models import AttendeeImport

        attendee_import = AttendeeImport.objects.get()
        attendances = Attendance.objects.filter(event=attendee_import.event).count()
        assert (attendee_import.status, attendee_import.filename) == ("done", "ticketing-export.csv")
        assert attendee_import.event.status == EventStatus.COMPLETED
        assert (attendee_import.rows_done, attendee_import.unchanged) == (attendances, attendances)
        assert (attendee_import.created, attendee_import.updated, attendee_import.error_count) == (0, 0, 0)
        assert "Imported the attendee list of" in default_demo

    def test_scores_are_computed_when_the_scoring_command_exists(self, default_demo):
        if "recompute_scores" in get_commands():
            assert ContactScore.objects.count() == Contact.objects.count()
        else:
            assert "scores and event metrics were not computed" in default_demo
            assert not ContactScore.objects.exists()


    def test_the_replayed_history_scores_no_one_before_their_first_touchpoint(self, default_demo):
        """Each event is replayed as of its completion, which knows nothing of later data."""
        first_touch = {}
        touchpoints = [
            Attendance.objects.filter(status=AttendanceStatus.ATTENDED).values_list("contact_id", "event__ends_at"),
            Interaction.objects.values_list("contact_id", "occurred_at"),
            Interaction.objects.exclude(counterpart=None).values_list("counterpart_id", "occurred_at"),
            FollowUp.objects.filter(status=FollowUpStatus.DONE).values_list("contact_id", "completed_at"),
            Feedback.objects.values_list("contact_id", "submitted_at"),
            Referral.objects.values_list("referrer_id", "created_at"),
        ]
        for rows in touchpoints:
            for contact_id, at in rows:
                first_touch[contact_id] = min(at, first_touch.get(contact_id, at))
        snapshots = list(ScoreSnapshot.objects.values_list("contact_id", "computed_at", "score"))
        assert len({contact_id for contact_id, _, _ in snapshots}) > 100  # a history to check
        early = [(contact_id, at, score) for contact_id, at, score in snapshots
                 if score > 0 and (contact_id not in first_touch or at < first_touch[contact_id])]
        assert early == []
        replayed = EventMetrics.objects.filter(event__series__isnull=False).exclude(relationship_lift=None)
        assert replayed.exists()
        lifts = list(replayed.values_list("relationship_lift", flat=True))
        assert sum(lifts) / len(lifts) > 0  # coming to an event mostly adds to a relationship

    def test_planned_follow_ups_are_due_around_now(self, default_demo):
        now = anchor()
        follow_ups = FollowUp.objects.all()
        planned = follow_ups.filter(status=FollowUpStatus.PLANNED)
        assert not planned.filter(due_at__lt=now - timedelta(days=30)).exists(), "overdue by days, not years"
        overdue, upcoming = planned.filter(due_at__lt=now).count(), planned.filter(due_at__gte=now).count()
        assert 0 < overdue < upcoming, "a few are late, most are due in the coming days and weeks"
        assert planned.filter(due_at__gte=now, due_at__lt=now + timedelta(days=14)).count() > overdue
        assert not follow_ups.filter(due_at=None).exists()
        assert not follow_ups.filter(status=FollowUpStatus.DONE, completed_at__gte=now).exists()

    def test_follow_ups_are_due_and_done_in_office_hours(self, default_demo):
        for field in ("due_at", "completed_at", "created_at"):
            for moment in FollowUp.objects.exclude(**{field: None}).values_list(field, flat=True):
                assert in_office_hours(moment), f"{field} {timezone.localtime(moment):%a %H:%M}"

    def test_every_follow_up_has_a_written_next_step(self, default_demo):
        follow_ups = FollowUp.objects.all()
        assert not follow_ups.filter(next_step="").exists()
        assert not follow_ups.filter(summary="").exists()
        steps = set(follow_ups.values_list("next_step", flat=True))
        assert len(steps) >= 25
        assert {"Send the sponsorship deck", "Book a call about the Q3 roadshow"} <= steps

    def test_events_and_networking_happen_at_plausible_times(self, default_demo):
        for event in Event.objects.exclude(status=EventStatus.LIVE):
            starts, ends = timezone.localtime(event.starts_at), timezone.localtime(event.ends_at)
            assert max(starts.weekday(), ends.weekday()) < 5, event.name
            assert time(9) <= starts.time() <= time(19), event.name
            assert ends.time() <= time(23), event.name
        outside = Interaction.objects.filter(Q(occurred_at__lt=F("event__starts_at")) | Q(occurred_at__gt=F("event__ends_at")))
        assert not outside.exists()
        for moment in Interaction.objects.values_list("occurred_at", flat=True):
            assert 9 <= timezone.localtime(moment).hour <= 23

    def test_the_flagship_paid_off_and_the_stuttgart_forum_did_not(self, default_demo):
        summit = EventSeries.objects.get(name="Hamburg Marketing Summit")
        latest = summit.events.filter(status=EventStatus.COMPLETED).order_by("-starts_at").first()
        flagship = EventMetrics.objects.get(event=latest)
        assert flagship.won_value > flagship.cost
        assert flagship.ror_percent > 50
        assert flagship.relationship_lift > 0
        assert anchor() - timedelta(days=120) < latest.starts_at < anchor() - timedelta(days=60), "recent, deals closed"
        flop = EventMetrics.objects.get(event__name="Future of Mobility Forum · Stuttgart")
        assert -95 < flop.ror_percent < -50, "a costly edition with a few small deals"
        assert flop.won_value > 0
        assert EventMetrics.objects.filter(event__status=EventStatus.COMPLETED, ror_percent__lt=0).exists()

    def test_each_sales_user_has_a_believable_worklist(self, default_demo):
        from contacts.worklist import ACTIONS, FOLLOW_UPS, LOSING_TOUCH, MISSED, TEAM, worklist_for

        now = anchor()  # a Monday: the whole working week is ahead
        assert worklist_for(TEAM, now=now, view=MISSED).missed, "attendees not followed up in time"
        for user in get_user_model().objects.filter(username__startswith="sales.").order_by("username"):
            assert worklist_for(user, now=now, view=ACTIONS).contacts, user.username
            assert worklist_for(user, now=now, view=LOSING_TOUCH).contacts, user.username
            worklist = worklist_for(user, now=now, view=FOLLOW_UPS)
            assert 1 <= len(worklist.overdue) <= 15, user.username
            assert all(follow_up.days_overdue <= 30 for follow_up in worklist.overdue), user.username
            assert len(worklist.due_soon) >= 1, user.username
            assert len(worklist.due_soon) + len(worklist.overdue) < FollowUp.objects.filter(owner=user).count()


    def test_every_next_action_rule_and_cadence_source_occurs(self, default_demo):
        from scoring.choices import CadenceSource, NextAction

        actions = set(ContactScore.objects.values_list("next_action", flat=True))
        assert actions == set(NextAction.values)
        sources = set(ContactScore.objects.values_list("cadence_source", flat=True))
        assert sources == set(CadenceSource.values)


class TestSmallDataset:
    def test_minimum_size_still_covers_every_choice(self):
        seed("--contacts", "20", "--today", TODAY, "--skip-scores")

        assert Contact.objects.count() == 20
        assert set(Attendance.objects.values_list("role", flat=True)) == set(AttendanceRole.values)
        assert set(Attendance.objects.values_list("status", flat=True)) == set(AttendanceStatus.values)
        assert set(Interaction.objects.values_list("kind", flat=True)) == set(InteractionKind.values)
        assert set(FollowUp.objects.values_list("status", flat=True)) == set(FollowUpStatus.values)
        assert set(FollowUp.objects.values_list("channel", flat=True)) == set(FollowUpChannel.values)
        assert set(FollowUp.objects.values_list("deal_status", flat=True)) == set(DealStatus.values)
        outcomes = FollowUp.objects.filter(status=FollowUpStatus.DONE).values_list("outcome", flat=True)
        assert set(outcomes) >= set(FollowUpOutcome.values)
        assert set(Event.objects.values_list("kind", flat=True)) == set(EventKind.values)
        assert Referral.objects.exists()
        assert Feedback.objects.exists()

    def test_each_contact_and_follow_up_starts_its_history_so_a_first_change_shows_what_changed(self):
        seed("--contacts", "20", "--today", TODAY, "--skip-scores")

        assert Contact.history.filter(history_type="+").count() == Contact.objects.count()
        assert FollowUp.history.filter(history_type="+").count() == FollowUp.objects.count()
        contact = Contact.objects.exclude(job_title="VP Nordics").first()
        contact.job_title = "VP Nordics"
        contact.save()
        changed = contact.history.first()
        assert [change.field for change in changed.diff_against(changed.prev_record).changes] == ["job_title"]

    def test_reference_date_anchors_the_timeline(self):
        seed("--contacts", "40", "--today", "2024-07-01", "--skip-scores")

        now = anchor("2024-07-01")
        assert not Event.objects.filter(status=EventStatus.COMPLETED, ends_at__gte=now).exists()
        assert not Event.objects.filter(status=EventStatus.PLANNED, starts_at__lt=now).exists()
        assert Event.objects.filter(status=EventStatus.COMPLETED, ends_at__gte=now - timedelta(days=7)).exists()
        # The latest summit was a quarter ago (day −80, a Friday: moved back to Thursday so that it ends on a weekday).
        assert timezone.localdate(Event.objects.get(name="Hamburg Marketing Summit 2024").starts_at) == date(2024, 4, 11)
        for model, field in [(Attendance, "checked_in_at"), (FollowUp, "completed_at"), (Feedback, "submitted_at"),
                             (Interaction, "occurred_at"), (Referral, "created_at"), (Contact, "created_at")]:
            assert not model.objects.filter(**{f"{field}__gte": now}).exists(), f"{model.__name__}.{field} in the future"


class TestOfficeHours:
    @pytest.mark.parametrize("today", ["2025-03-29", "2025-04-04"])  # a Saturday, a Friday
    def test_any_reference_date_keeps_follow_ups_in_office_hours_and_recent(self, today):
        seed("--contacts", "60", "--today", today, "--skip-scores")

        now = anchor(today)
        for due_at, completed_at in FollowUp.objects.values_list("due_at", "completed_at"):
            for moment in filter(None, (due_at, completed_at)):
                assert in_office_hours(moment), f"{timezone.localtime(moment):%a %H:%M}"
        planned = FollowUp.objects.filter(status=FollowUpStatus.PLANNED)
        assert not planned.filter(due_at__lt=now - timedelta(days=30)).exists()
        assert planned.filter(due_at__gte=now).exists()
        assert not FollowUp.objects.filter(next_step="").exists()
        # Friday: the check-ins due this week are due today.
        if date.fromisoformat(today).weekday() == 4:
            assert planned.filter(due_at__gte=now, due_at__lt=now + timedelta(days=1)).exists()


class TestIdempotence:
    def test_second_run_changes_nothing(self):
        seed("--contacts", "60", "--today", TODAY, "--skip-scores")
        before = row_counts()
        users_before = get_user_model().objects.count()

        output = seed("--contacts", "60", "--today", TODAY)

        assert "Demo data already present" in output
        assert row_counts() == before
        assert get_user_model().objects.count() == users_before

    def test_force_reset_recreates_the_same_data_and_leaves_no_history(self):
        seed("--contacts", "60", "--today", TODAY, "--skip-scores")
        first = fingerprint()

        output = seed("--contacts", "60", "--today", TODAY, "--skip-scores", "--force-reset")

        assert "Deleted the existing demo data (60 contacts)" in output
        assert fingerprint() == first
        # Deleting contacts writes "-" history rows full of personal data; the reset removes them.
        assert not Contact.history.filter(history_type="-").exists()
        assert not FollowUp.history.filter(history_type="-").exists()

    def test_force_reset_keeps_other_data(self):
        own = Contact.objects.create(email="kundin@real-customer.de", first_name="Real")
        own_event = Event.objects.create(name="Our own event", starts_at=anchor(), ends_at=anchor())
        seed("--contacts", "20", "--today", TODAY, "--skip-scores")

        seed("--contacts", "20", "--today", TODAY, "--skip-scores", "--force-reset")

        assert Contact.objects.filter(pk=own.pk).exists()
        assert Event.objects.filter(pk=own_event.pk).exists()
        assert Contact.objects.count() == 21

    def test_existing_sales_user_keeps_password(self):
        user = get_user_model().objects.create_user("sales.anna", password="my-own-secret")

        output = seed("--contacts", "20", "--today", TODAY, "--skip-scores")

        user.refresh_from_db()
        assert user.check_password("my-own-secret")
        assert user.groups.filter(name="Sales").exists()
        assert "4 sales users (3 new)" in output

    def test_existing_organization_is_reused(self):
        existing = Organization.objects.create(name="elbwerk maschinenbau ag", industry="Manufacturing")

        seed("--contacts", "100", "--today", TODAY, "--skip-scores")

        assert Organization.objects.filter(name__iexact="Elbwerk Maschinenbau AG").count() == 1
        assert existing.contacts.exists()

    def test_leftover_demo_contacts_give_a_clear_error(self):
        Contact.objects.create(email="anna.mueller@elbwerk.example")

        with pytest.raises(CommandError, match="demo e-mail addresses.*--force-reset"):
            seed("--contacts", "20", "--today", TODAY, "--skip-scores")
        assert not EventSeries.objects.exists()


class TestArguments:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--contacts", "0"], r"--contacts must be between 20 and 100000 \(got 0\)"),
            (["--contacts", "-5"], r"--contacts must be between 20 and 100000 \(got -5\)"),
            (["--contacts", "100001"], r"--contacts must be between 20 and 100000 \(got 100001\)"),
            (["--contacts", "many"], r"argument --contacts: invalid int value"),
            (["--today", "2025-02-30"], r"--today must be a date as YYYY-MM-DD"),
            (["--today", "31.03.2025"], r"--today must be a date as YYYY-MM-DD"),
            (["--today", "20250331"], r"--today must be a date as YYYY-MM-DD"),
            (["--today", "2199-01-01"], r"--today cannot be later than today \(got 2199-01-01\)"),
        ],
    )
    def test_bad_arguments_raise_a_clear_error(self, args, message):
        with pytest.raises(CommandError, match=message):
            seed(*args)
        assert row_counts() == dict.fromkeys(row_counts(), 0)


class TestDeterminism:
    def test_two_fresh_databases_get_the_same_data(self):
        seed("--contacts", "80", "--today", TODAY, "--skip-scores")
        first = fingerprint()
        for model in reversed(MODELS):
            model.objects.all().delete()
        get_user_model().objects.all().delete()
        Group.objects.all().delete()

        seed("--contacts", "80", "--today", TODAY, "--skip-scores")

        assert fingerprint() == first

    def test_other_seed_gives_other_people(self):
        seed("--contacts", "80", "--today", TODAY, "--skip-scores", "--seed", "1")
        emails = set(Contact.objects.values_list("email", flat=True))
        call_command("seed_demo", "--contacts", "80", "--today", TODAY, "--skip-scores", "--seed", "2",
                     "--force-reset", stdout=StringIO())
        assert set(Contact.objects.values_list("email", flat=True)) != emails

    def test_generation_does_not_depend_on_the_process(self):
        """String hashing is randomised per process; the generator must not depend on set or dict order."""
        script = (
            "import django, hashlib, json; django.setup()\n"
            "from datetime import date\n"
            "from django.contrib.auth.models import User\n"
            "from events.demo import build_plan\n"
            "users = [User(username=f'sales.{n}') for n in ('anna', 'ben', 'clara', 'david')]\n"
            "plan = build_plan(contact_count=120, today=date(2025, 3, 31), users=users)\n"
            "rows = [[c.email, c.owner.username if c.owner else None, c.tags] for c in plan.contacts]\n"
            "rows += [[a.contact.email, a.event.name, a.role, a.status, str(a.checked_in_at)] for a in plan.attendances]\n"
            "rows += [[f.contact.email, f.status, str(f.due_at), f.outcome] for f in plan.follow_ups]\n"
            "rows += [[i.contact.email, i.kind, i.quality] for i in plan.interactions]\n"
            "print(hashlib.sha256(json.dumps(rows).encode()).hexdigest())\n"
        )
        digests = set()
        for hash_seed in ("1", "2"):
            env = {**os.environ, "PYTHONHASHSEED": hash_seed, "DJANGO_SETTINGS_MODULE": "tests.settings"}
            result = subprocess.run(
                [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
            )
            digests.add(result.stdout.strip())
        assert len(digests) == 1, digests


def test_fingerprint_helpers_are_sensitive():
    """The determinism tests compare fingerprints; make sure a changed row changes the fingerprint."""
    seed("--contacts", "20", "--today", TODAY, "--skip-scores")
    before = fingerprint()
    Contact.objects.filter(pk=Contact.objects.first().pk).update(first_name="Changed")
    assert fingerprint() != before
