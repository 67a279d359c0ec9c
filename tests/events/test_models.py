"""Database rules of the events app: EventSeries, Event, Attendance, Interaction, Feedback."""

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from tests.model_rules import Rule, all_messages, assert_db_rejects, assert_rule_holds, constraint_names

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) - timedelta(days=30)


def event_fields(**fields) -> dict:
    return {"name": "Hamburg Summit 2025", "starts_at": START, "ends_at": START + timedelta(hours=8), **fields}


def an_event() -> Event:
    return Event.objects.create(**event_fields())


def a_contact(email: str = "anna@example.com") -> Contact:
    return Contact.objects.create(email=email)


def attendance(**fields) -> Attendance:
    return Attendance(event=an_event(), contact=a_contact(), **fields)


def duplicate_attendance() -> Attendance:
    original = Attendance.objects.create(event=an_event(), contact=a_contact())
    return Attendance(event=original.event, contact=original.contact, role="speaker")


def duplicate_external_id() -> Attendance:
    event = an_event()
    Attendance.objects.create(event=event, contact=a_contact("a@example.com"), source="ticketing", external_id="T-1")
    return Attendance(event=event, contact=a_contact("b@example.com"), source="ticketing", external_id="T-1")


def interaction(**fields) -> Interaction:
    return Interaction(event=an_event(), contact=a_contact(), **fields)


def self_interaction() -> Interaction:
    contact = a_contact()
    return Interaction(event=an_event(), contact=contact, counterpart=contact)


def duplicate_interaction_external_id() -> Interaction:
    event = an_event()
    Interaction.objects.create(event=event, contact=a_contact("a@example.com"), source="badge-scanner", external_id="S-9")
    return Interaction(event=event, contact=a_contact("b@example.com"), source="badge-scanner", external_id="S-9")


def feedback(**fields) -> Feedback:
    return Feedback(event=an_event(), contact=a_contact(), **fields)


def duplicate_feedback() -> Feedback:
    original = Feedback.objects.create(event=an_event(), contact=a_contact(), nps=9)
    return Feedback(event=original.event, contact=original.contact, nps=3)


RULES = [
    Rule("series_name_not_blank", lambda: EventSeries(name=""), "This field cannot be blank."),
    Rule("event_ends_after_start", lambda: Event(**event_fields(ends_at=START - timedelta(minutes=1))),
         "The event cannot end before it starts."),
    Rule("event_status_valid", lambda: Event(**event_fields(status="postponed")), "Value 'postponed' is not a valid choice."),
    Rule("event_kind_valid", lambda: Event(**event_fields(kind="rave")), "Value 'rave' is not a valid choice."),
    Rule("event_format_valid", lambda: Event(**event_fields(format="telepathic")), "Value 'telepathic' is not a valid choice."),
    Rule("event_cost_not_negative", lambda: Event(**event_fields(cost=Decimal("-0.01"))), "The cost cannot be negative."),
    Rule("event_completed_has_completed_at", lambda: Event(**event_fields(status=EventStatus.COMPLETED)),
         "Complete the event with the “complete” action."),
    Rule("event_name_not_blank", lambda: Event(**event_fields(name="")), "This field cannot be blank."),
    Rule("event_follow_up_deadline_positive", lambda: Event(**event_fields(follow_up_deadline_minutes=0)),
         "A follow-up deadline is at least one minute."),
    Rule("attendance_event_contact_unique", duplicate_attendance,
         "This contact already has an attendance for this event."),
    Rule("attendance_source_external_id_unique", duplicate_external_id,
         "This external id is already used by another attendance from this source."),
    Rule("attendance_role_valid", lambda: attendance(role="keynote"), "Value 'keynote' is not a valid choice."),
    Rule("attendance_status_valid", lambda: attendance(status="maybe"), "Value 'maybe' is not a valid choice."),
    Rule("attendance_checked_in_attended", lambda: attendance(status="no_show", checked_in_at=START),
         "Only someone who attended has a check-in time: clear it for a no-show, a cancellation or a place on the "
         "waiting list."),
    Rule("interaction_quality_range", lambda: interaction(quality=6), "Quality is rated from 1 to 5."),
    Rule("interaction_duration_not_negative", lambda: interaction(duration_minutes=-5),
         "Ensure this value is greater than or equal to 0.", also_enforced_by="duration_minutes"),
    Rule("interaction_counterpart_not_self", self_interaction, "A contact cannot interact with themselves."),
    Rule("interaction_kind_valid", lambda: interaction(kind="telepathy"), "Value 'telepathy' is not a valid choice."),
    Rule("interaction_source_external_id_unique", duplicate_interaction_external_id,
         "This external id is already used by another interaction from this source."),
    Rule("feedback_event_contact_unique", duplicate_feedback, "This contact already gave feedback for this event."),
    Rule("feedback_nps_range", lambda: feedback(nps=11), "NPS is answered from 0 to 10."),
    Rule("feedback_satisfaction_range", lambda: feedback(satisfaction=11), "Satisfaction is rated from 1 to 10."),
]


def test_every_database_rule_of_the_app_is_tested():
    assert constraint_names(EventSeries, Event, Attendance, Interaction, Feedback) == {rule.constraint for rule in RULES}


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_database_rule(rule):
    assert_rule_holds(rule)


class TestEventTimes:
    def test_an_event_may_start_and_end_at_the_same_moment(self):
        Event.objects.create(**event_fields(ends_at=START))

        assert Event.objects.filter(starts_at=START, ends_at=START).exists()

    def test_moving_the_end_before_the_start_by_update_is_rejected(self):
        event = an_event()

        assert_db_rejects(lambda: Event.objects.filter(pk=event.pk).update(ends_at=START - timedelta(hours=1)),
                          "event_ends_after_start")

    def test_completing_by_update_without_a_completion_time_is_rejected(self):
        event = an_event()

        assert_db_rejects(lambda: Event.objects.filter(pk=event.pk).update(status=EventStatus.COMPLETED),
                          "event_completed_has_completed_at")


class TestRanges:
    @pytest.mark.parametrize("quality", [0, 6])
    def test_interaction_quality_outside_1_to_5(self, quality):
        assert_db_rejects(lambda: Interaction.objects.bulk_create([interaction(quality=quality)]),
                          "interaction_quality_range")

    @pytest.mark.parametrize("quality", [None, 1, 5])
    def test_interaction_quality_inside_1_to_5_or_unset(self, quality):
        item = interaction(quality=quality)

        item.full_clean()
        item.save()

    @pytest.mark.parametrize("nps", [11, 100])
    def test_nps_above_10(self, nps):
        assert_db_rejects(lambda: Feedback.objects.bulk_create([feedback(nps=nps)]), "feedback_nps_range")

    @pytest.mark.parametrize("satisfaction", [0, 11])
    def test_satisfaction_outside_1_to_10(self, satisfaction):
        answer = feedback(satisfaction=satisfaction)

        assert_db_rejects(lambda: Feedback.objects.bulk_create([answer]), "feedback_satisfaction_range")
        with pytest.raises(ValidationError) as caught:
            answer.full_clean()
        assert "Satisfaction is rated from 1 to 10." in all_messages(caught.value)

    @pytest.mark.parametrize(("nps", "satisfaction"), [(0, 1), (10, 10), (None, None)])
    def test_answers_at_the_edges_are_valid(self, nps, satisfaction):
        answer = feedback(nps=nps, satisfaction=satisfaction)

        answer.full_clean()
        answer.save()


def test_attendances_without_external_id_do_not_collide():
    event = an_event()
    Attendance.objects.bulk_create([
        Attendance(event=event, contact=a_contact(f"p{i}@example.com"), source="ticketing", external_id=None)
        for i in range(2)
    ])

    assert Attendance.objects.filter(source="ticketing", external_id__isnull=True).count() == 2


@contextmanager
def check_constraint_lifted(model, name: str):
    """The table takes rows that break one of its check constraints, as it did before the constraint
    came: PostgreSQL drops it inside the test's transaction (rolled back with it); SQLite, which
    cannot drop one, ignores check constraints meanwhile."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = 1")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = 0")
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks: ALTER TABLE refuses them
    with connection.schema_editor() as editor:
        editor.remove_constraint(model, next(rule for rule in model._meta.constraints if rule.name == name))
    yield


def test_the_migration_leaves_a_check_in_time_on_attended_rows_only():
    migration = import_module("events.migrations.0014_attendance_checked_in_attended")
    event = an_event()
    for status in AttendanceStatus.values:
        Attendance.objects.create(event=event, contact=a_contact(f"{status}@x.de"), status=status)
    with check_constraint_lifted(Attendance, "attendance_checked_in_attended"):
        Attendance.objects.update(checked_in_at=START)  # as rows stored before the rule could be
        migration.keep_check_ins_on_attended_rows(apps, SimpleNamespace(connection=connection))

    assert dict(Attendance.objects.values_list("contact__email", "status")) == {
        "invited@x.de": "attended", "registered@x.de": "attended", "attended@x.de": "attended",
        "no_show@x.de": "no_show", "cancelled@x.de": "cancelled", "waitlisted@x.de": "waitlisted"}
    assert set(Attendance.objects.filter(checked_in_at=START).values_list("status", flat=True)) == {"attended"}
    assert Attendance.objects.filter(checked_in_at__isnull=True).count() == 3
