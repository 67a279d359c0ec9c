"""Contact fatigue (contacts.fatigue, docs/contact-fatigue.md): the agency's own touches of a
contact over rolling windows, and planning a follow-up for a fatigued contact refused unless
overridden."""

from datetime import timedelta

import psycopg
import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import fatigue, services
from contacts.choices import FollowUpStatus
from contacts.exceptions import ContactFatigue
from contacts.fatigue import agency_touch_counts, check_fatigue, fatigued_contact_ids, is_fatigued
from contacts.models import Contact, FollowUp
from events.choices import AttendanceStatus
from events.models import Attendance, Event, Interaction

pytestmark = pytest.mark.django_db

T = timezone.now().replace(microsecond=0) - timedelta(days=1)  # as of: a fixed moment in the past


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("stella", "stella@agency.example", "pw-stella-123", is_staff=True)


@pytest.fixture
def contacts() -> list[Contact]:
    return Contact.objects.bulk_create(Contact(email=f"person{index}@client.example") for index in range(3))


def event(name: str = "Summit") -> Event:
    return Event.objects.create(name=name, starts_at=T - timedelta(days=60), ends_at=T - timedelta(days=60, hours=-8))


def done(contact: Contact, at) -> FollowUp:
    return FollowUp.objects.create(contact=contact, status=FollowUpStatus.DONE, completed_at=at, due_at=at)


def planned(contact: Contact, due_at=None, *, created_at=None) -> FollowUp:
    return FollowUp.objects.create(contact=contact, status=FollowUpStatus.PLANNED, due_at=due_at,
                                   created_at=created_at or T - timedelta(days=1))


def invited(contact: Contact, at, *, name: str = "Roadshow") -> Attendance:
    return Attendance.objects.create(event=event(name), contact=contact, status=AttendanceStatus.INVITED, created_at=at)


def met(contact: Contact, at, *, staff_user=None, counterpart=None) -> Interaction:
    return Interaction.objects.create(event=event(), contact=contact, counterpart=counterpart, staff_user=staff_user,
                                      occurred_at=at)


class TestWhatCounts:
    def test_done_follow_ups_by_completion(self, contacts):
        done(contacts[0], T - timedelta(days=2))
        done(contacts[0], T - timedelta(days=20))
        assert agency_touch_counts([contacts[0].pk], T) == {contacts[0].pk: {7: 1, 30: 2}}

    def test_planned_follow_ups_by_due_time_also_ahead(self, contacts):
        planned(contacts[0], T - timedelta(days=3))  # overdue
        planned(contacts[0], T + timedelta(days=5))  # already scheduled: within both windows ahead
        planned(contacts[0], T + timedelta(days=20))  # within 30 days ahead only
        planned(contacts[0], T + timedelta(days=31))  # beyond every window
        assert agency_touch_counts([contacts[0].pk], T) == {contacts[0].pk: {7: 2, 30: 3}}

    def test_a_planned_follow_up_without_due_time_counts_when_it_was_created(self, contacts):
        planned(contacts[0], None, created_at=T - timedelta(days=10))
        planned(contacts[0], None, created_at=T + timedelta(hours=1))  # after T: not known as of T
        assert agency_touch_counts([contacts[0].pk], T) == {contacts[0].pk: {7: 0, 30: 1}}

    def test_cancelled_follow_ups_never_count(self, contacts):
        FollowUp.objects.create(contact=contacts[0], status=FollowUpStatus.CANCELLED, due_at=T - timedelta(days=1))
        FollowUp.objects.create(contact=contacts[0], status=FollowUpStatus.CANCELLED, due_at=None,
                                created_at=T - timedelta(days=1))
        assert agency_touch_counts([contacts[0].pk], T) == {}

    def test_invitations_count_other_attendances_do_not(self, contacts):
        invited(contacts[0], T - timedelta(days=1))
        Attendance.objects.create(event=event("Dinner"), contact=contacts[0], status=AttendanceStatus.REGISTERED,
                                  created_at=T - timedelta(days=1))
        assert agency_touch_counts([contacts[0].pk], T) == {contacts[0].pk: {7: 1, 30: 1}}

    def test_interactions_with_a_staff_member_count_on_either_side(self, contacts, staff):
        anna, ben, carl = contacts
        met(anna, T - timedelta(days=1), staff_user=staff, counterpart=ben)
        met(carl, T - timedelta(days=1), counterpart=anna)  # no agency staff: two guests talking
        assert agency_touch_counts([anna.pk, ben.pk, carl.pk], T) == {anna.pk: {7: 1, 30: 1}, ben.pk: {7: 1, 30: 1}}

    def test_window_boundaries_are_open_below_and_closed_at_t(self, contacts):
        anna, ben, carl = contacts
        done(anna, T - timedelta(days=7))  # exactly 7 days before: out of the 7-day window
        done(anna, T - timedelta(days=7) + timedelta(microseconds=1))
        done(anna, T)  # at T: in
        done(anna, T + timedelta(seconds=1))  # after T: not yet done as of T
        done(anna, T - timedelta(days=30))  # out of every window
        planned(ben, T + timedelta(days=7))  # ahead: closed at T + 7 days
        planned(ben, T + timedelta(days=7, seconds=1))
        planned(carl, T - timedelta(days=30))
        assert agency_touch_counts([anna.pk, ben.pk, carl.pk], T) == {
            anna.pk: {7: 2, 30: 3},
            ben.pk: {7: 1, 30: 2},
        }

    def test_only_contacts_asked_for_and_touched(self, contacts, staff):
        anna, ben, carl = contacts
        done(anna, T - timedelta(days=1))
        done(ben, T - timedelta(days=1))
        met(carl, T - timedelta(days=40), staff_user=staff)  # older than the longest window
        assert agency_touch_counts([anna.pk, carl.pk], T) == {anna.pk: {7: 1, 30: 1}}
        assert agency_touch_counts([], T) == {}
        assert agency_touch_counts(range(0), T) == {}

    def test_the_windows_come_from_the_setting(self, contacts, settings):
        settings.CONTACT_FATIGUE_CAPS = [(90, 10), (2, 1)]
        done(contacts[0], T - timedelta(days=1))
        done(contacts[0], T - timedelta(days=60))
        assert agency_touch_counts([contacts[0].pk], T) == {contacts[0].pk: {2: 1, 90: 2}}
        assert fatigue.fatigue_caps() == [(2, 1), (90, 10)]


class TestQueries:
    def test_one_query_whatever_the_number_of_contacts(self, staff, django_assert_num_queries):
        many = Contact.objects.bulk_create(Contact(email=f"bulk{index}@client.example") for index in range(60))
        past = event()
        FollowUp.objects.bulk_create(
            FollowUp(contact=contact, status=FollowUpStatus.DONE, completed_at=T - timedelta(days=1)) for contact in many)
        Interaction.objects.bulk_create(
            Interaction(event=past, contact=contact, staff_user=staff, occurred_at=T - timedelta(days=2)) for contact in many)
        for chunk in ([many[0].pk], [contact.pk for contact in many]):
            with django_assert_num_queries(1):  # the touches of the chunk, counted per window
                counts = agency_touch_counts(chunk, T)
            assert len(counts) == len(chunk)
            assert all(value == {7: 2, 30: 2} for value in counts.values())

    def test_a_range_is_read_with_between_and_gives_what_the_list_gives(self, contacts, staff):
        anna, ben, carl = contacts
        done(anna, T - timedelta(days=1))
        met(ben, T - timedelta(days=3), staff_user=staff, counterpart=carl)
        planned(carl, T + timedelta(days=3))
        ids = sorted(contact.pk for contact in contacts)
        with CaptureQueriesContext(connection) as by_range:
            from_range = agency_touch_counts(range(ids[0], ids[-1] + 1), T)
        with CaptureQueriesContext(connection) as by_list:
            from_list = agency_touch_counts(ids, T)
        assert from_range == from_list == {anna.pk: {7: 1, 30: 1}, ben.pk: {7: 1, 30: 1}, carl.pk: {7: 2, 30: 2}}
        assert "BETWEEN" in by_range[0]["sql"]
        assert "BETWEEN" not in by_list[0]["sql"]
        assert ("ANY(" if connection.vendor == "postgresql" else "json_each") in by_list[0]["sql"]


class TestFatigued:
    def test_at_a_cap_of_any_window(self):
        assert not is_fatigued({})
        assert not is_fatigued({7: 2, 30: 5})
        assert is_fatigued({7: 3, 30: 3})
        assert is_fatigued({7: 0, 30: 6})

    def test_fatigued_contact_ids(self, contacts):
        anna, ben, carl = contacts
        for days in (1, 2, 3):
            done(anna, T - timedelta(days=days))
        for days in (1, 2):
            done(ben, T - timedelta(days=days))
        for days in (10, 12, 14, 16, 18, 20):
            done(carl, T - timedelta(days=days))
        assert fatigued_contact_ids([anna.pk, ben.pk, carl.pk], T) == {anna.pk, carl.pk}

    def test_check_names_the_window_and_the_count(self, contacts):
        for days in (10, 12, 14, 16, 18, 20):
            done(contacts[0], T - timedelta(days=days))
        with pytest.raises(ContactFatigue) as refusal:
            check_fatigue(contacts[0].pk, override=False, as_of=T)
        assert refusal.value.code == "contact_fatigue"
        assert (refusal.value.days, refusal.value.touches, refusal.value.cap) == (30, 6, 6)
        assert "6 agency touches in the last 30 days" in str(refusal.value)
        assert "(cap 6)" in str(refusal.value)

    def test_check_passes_below_the_caps_and_with_override(self, contacts, django_assert_num_queries):
        for days in (1, 2, 3):
            done(contacts[0], T - timedelta(days=days))
        check_fatigue(contacts[1].pk, override=False, as_of=T)
        with django_assert_num_queries(0):  # an override reads nothing
            check_fatigue(contacts[0].pk, override=True, as_of=T)
        check_fatigue(contacts[0].pk, override=False, as_of=T + timedelta(days=7))  # rested a week


@pytest.fixture
def tired(contacts) -> Contact:
    """Three agency touches this week: at the 7-day cap."""
    for days in (1, 2, 3):
        done(contacts[0], timezone.now() - timedelta(days=days))
    return contacts[0]


class TestPlanningAFollowUp:
    def test_planning_for_a_fatigued_contact_is_refused_unless_overridden(self, tired):
        due_at = timezone.now() + timedelta(days=2)
        with pytest.raises(ContactFatigue):
            services.create_follow_up(contact=tired, status=FollowUpStatus.PLANNED, due_at=due_at)
        assert not FollowUp.objects.filter(contact=tired, status=FollowUpStatus.PLANNED).exists()
        follow_up = services.create_follow_up(contact=tired, status=FollowUpStatus.PLANNED, due_at=due_at, override=True)
        assert follow_up.status == FollowUpStatus.PLANNED

    def test_a_conversation_that_happened_is_never_refused(self, tired):
        follow_up = services.create_follow_up(contact=tired, status=FollowUpStatus.DONE)
        assert follow_up.completed_at is not None

    def test_others_are_not_held_back(self, contacts, tired):
        services.create_follow_up(contact=contacts[1], status=FollowUpStatus.PLANNED, due_at=timezone.now())

    def test_turning_one_into_planned_again_is_checked(self, tired):
        cancelled = FollowUp.objects.create(contact=tired, status=FollowUpStatus.CANCELLED)
        with pytest.raises(ContactFatigue):
            services.update_follow_up(cancelled, status=FollowUpStatus.PLANNED)
        assert FollowUp.objects.get(pk=cancelled.pk).status == FollowUpStatus.CANCELLED
        services.update_follow_up(cancelled, status=FollowUpStatus.PLANNED, override=True)
        assert FollowUp.objects.get(pk=cancelled.pk).status == FollowUpStatus.PLANNED

    def test_changing_or_completing_a_planned_one_is_not_checked(self, tired):
        follow_up = FollowUp.objects.create(contact=tired, status=FollowUpStatus.PLANNED, due_at=timezone.now())
        services.update_follow_up(follow_up, summary="Bring the brochure", due_at=timezone.now() + timedelta(days=1))
        services.mark_follow_up_done(follow_up)
        assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUpStatus.DONE

    def test_the_bulk_plan_leaves_fatigued_contacts_out_unless_overridden(self, contacts, tired, staff):
        selection = Contact.objects.filter(pk__in=[contact.pk for contact in contacts])
        due_at = timezone.now() + timedelta(days=1)
        result = services.plan_follow_ups(selection, owner=staff, due_at=due_at, channel="email")
        assert result.changed == 2
        assert result.skipped == {"fatigued": 1}
        assert not FollowUp.objects.filter(contact=tired, status=FollowUpStatus.PLANNED).exists()
        result = services.plan_follow_ups(selection.filter(pk=tired.pk), owner=staff, due_at=due_at, channel="email",
                                          override=True)
        assert result.changed == 1
        assert FollowUp.objects.filter(contact=tired, status=FollowUpStatus.PLANNED).exists()

    def test_the_bulk_plan_runs_a_fixed_number_of_queries(self, staff, django_assert_max_num_queries):
        due_at = timezone.now() + timedelta(days=1)
        for size in (3, 30):
            chosen = Contact.objects.bulk_create(Contact(email=f"plan{size}-{index}@client.example") for index in range(size))
            FollowUp.objects.bulk_create(
                FollowUp(contact=contact, status=FollowUpStatus.DONE, completed_at=timezone.now() - timedelta(days=days))
                for contact in chosen[: size // 3] for days in (1, 2, 3))
            with django_assert_max_num_queries(13):  # the recompute request of the planned contacts included
                result = services.plan_follow_ups(Contact.objects.filter(pk__in=[c.pk for c in chosen]),
                                                  owner=staff, due_at=due_at, channel="email")
            assert (result.changed, result.skipped) == (size - size // 3, {"fatigued": size // 3})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_plans_for_one_contact_wait_for_each_other():
    """Two plans at once would each count the touches without the other and both pass the cap:
    a plan holds the contact's row until it commits, and the next one waits for it."""
    anna = Contact.objects.create(email="anna@example.com")
    other = connections.create_connection("default")  # another request, planning for Anna
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(f"SELECT 1 FROM {Contact._meta.db_table} WHERE id = %s FOR NO KEY UPDATE", [anna.pk])
            with transaction.atomic():
                with connection.cursor() as ours:
                    ours.execute("SET LOCAL lock_timeout = '200ms'")
                with pytest.raises(OperationalError) as waited:
                    services.create_follow_up(contact=anna, channel="email", status=FollowUpStatus.PLANNED,
                                              due_at=timezone.now() + timedelta(days=1))
            assert isinstance(waited.value.__cause__, psycopg.errors.LockNotAvailable)
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert not FollowUp.objects.exists()
