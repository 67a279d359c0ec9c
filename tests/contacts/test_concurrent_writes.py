"""Writes racing other writes: an update applies its fields to the row as stored now (not
to the copy a request read before), and a duplicate committed by a concurrent request
is the documented 409, not a 400."""

from datetime import timedelta

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from contacts import services
from contacts.exceptions import ContactErased, DuplicateContact, DuplicateOrganization
from contacts.models import Contact, Organization
from events.choices import AttendanceStatus, EventStatus
from events.exceptions import DuplicateFeedback, EventCancelled
from events.models import Attendance, Event, Feedback
from events.services import (
    bulk_upsert_attendances,
    check_in,
    check_in_attendances,
    complete_event,
    create_attendance,
    create_event,
    record_feedback,
    update_attendance,
    update_event,
)
from ror_crm.db import share_locked

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna() -> Contact:
    return services.create_contact(email="anna@example.com", first_name="Anna", phone="+49 40 123")


@pytest.fixture
def event() -> Event:
    now = timezone.now()
    return create_event(name="Summit", starts_at=now - timedelta(hours=8), ends_at=now - timedelta(hours=1))


def stale(instance):
    """The row as a request read it, before a concurrent request changed it."""
    return type(instance).objects.get(pk=instance.pk)


class TestUpdatesKeepConcurrentChanges:
    def test_an_update_keeps_the_fields_another_request_changed_meanwhile(self, anna):
        read_by_first_request = stale(anna)
        services.update_contact(stale(anna), do_not_contact=True, marketing_consent=False)

        services.update_contact(read_by_first_request, job_title="CTO")

        anna.refresh_from_db()
        assert (anna.job_title, anna.do_not_contact) == ("CTO", True)

    def test_an_update_read_before_an_erasure_cannot_write_the_personal_data_back(self, anna):
        read_before = stale(anna)
        services.erase_contact(anna)

        with pytest.raises(ContactErased):
            services.update_contact(read_before, job_title="CFO")

        anna.refresh_from_db()
        assert anna.is_erased
        assert (anna.email, anna.first_name, anna.phone, anna.job_title) == (None, "", "", "")

    def test_an_event_update_read_before_completion_keeps_it_completed(self, event):
        read_before = stale(event)
        completed = complete_event(event)

        update_event(read_before, venue="Elbphilharmonie")

        event.refresh_from_db()
        assert (event.status, event.completed_at, event.venue) == (
            EventStatus.COMPLETED, completed.completed_at, "Elbphilharmonie")

    def test_an_attendance_update_read_before_a_check_in_keeps_the_check_in(self, event, anna):
        attendance = Attendance.objects.create(event=event, contact=anna)
        read_before = stale(attendance)
        check_in(event, emails=[anna.email])

        update_attendance(read_before, role="speaker")

        attendance.refresh_from_db()
        assert (attendance.role, attendance.status) == ("speaker", AttendanceStatus.ATTENDED)
        assert attendance.checked_in_at is not None

    def test_an_update_of_a_row_deleted_meanwhile_is_not_found(self, anna):
        read_before = stale(anna)
        services.delete_contact(anna)
        with pytest.raises(Contact.DoesNotExist):
            services.update_contact(read_before, job_title="CTO")


class TestCheckInsReadTheEventAsStoredNow:
    """A check-in or a row saying someone came, sent with the event as read before a cancellation
    committed, is judged by the cancelled event."""

    @pytest.fixture
    def read_before_cancelling(self, event, anna):
        Attendance.objects.create(event=event, contact=anna)
        read_before = stale(event)
        update_event(event, status=EventStatus.CANCELLED)
        return read_before

    def test_check_in(self, read_before_cancelling, anna):
        with pytest.raises(EventCancelled):
            check_in(read_before_cancelling, emails=[anna.email])
        assert Attendance.objects.get().checked_in_at is None

    def test_the_admins_check_in_of_selected_rows(self, read_before_cancelling):
        result = check_in_attendances(Attendance.objects.select_related("event"))
        assert (result.checked_in, len(result.unknown)) == (0, 1)
        assert Attendance.objects.get().checked_in_at is None

    def test_bulk_rows(self, read_before_cancelling, anna):
        result = bulk_upsert_attendances(read_before_cancelling, [{"email": anna.email, "status": "attended"}])
        assert list(result.errors[0]["errors"]) == ["status"]
        assert Attendance.objects.get().status == AttendanceStatus.REGISTERED

    def test_a_new_attendance(self, read_before_cancelling):
        bert = services.create_contact(email="bert@example.com")
        with pytest.raises(ValidationError) as error:
            create_attendance(event=read_before_cancelling, contact=bert, status=AttendanceStatus.ATTENDED)
        assert "status" in error.value.message_dict


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_an_event_read_for_check_ins_is_kept_from_a_cancellation_until_they_commit(event):
    """check_in() and the bulk paths hold the event FOR SHARE: a cancellation (an UPDATE of the
    row) from another connection waits instead of committing between their read and their write."""
    other = connections.create_connection("default")  # another request's connection
    try:
        with transaction.atomic():
            share_locked(event)
            with other.cursor() as cursor:
                cursor.execute("SET lock_timeout = '200ms'")
                with pytest.raises(OperationalError) as error:
                    cursor.execute(f"UPDATE {Event._meta.db_table} SET status = 'cancelled' WHERE id = %s", [event.pk])
                assert isinstance(error.value.__cause__, psycopg.errors.LockNotAvailable)
                # Readers that lock the same way are not held up (concurrent check-ins of one event).
                cursor.execute(f"SELECT 1 FROM {Event._meta.db_table} WHERE id = %s FOR SHARE", [event.pk])
                assert cursor.fetchone() == (1,)
    finally:
        other.close()


class TestChecksInAfterTheEventAtItsStart:
    """A check-in without a time for an event that has ended says the person came, not when:
    it is dated at the event's start, not after the event."""

    def test_by_e_mail(self, event, anna):
        Attendance.objects.create(event=event, contact=anna)
        check_in(event, emails=[anna.email])
        assert Attendance.objects.get().checked_in_at == event.starts_at

    def test_selected_rows_of_several_events(self, event, anna):
        now = timezone.now()
        running = create_event(name="Running", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=3))
        Attendance.objects.create(event=event, contact=anna)
        Attendance.objects.create(event=running, contact=anna)
        check_in_attendances(Attendance.objects.all())
        times = dict(Attendance.objects.values_list("event_id", "checked_in_at"))
        assert times[event.pk] == event.starts_at
        assert now <= times[running.pk] <= timezone.now()

    def test_a_time_given_is_kept(self, event, anna):
        Attendance.objects.create(event=event, contact=anna)
        at = event.starts_at + timedelta(hours=2)
        check_in(event, emails=[anna.email], at=at)
        assert Attendance.objects.get().checked_in_at == at


class TestDuplicatesCommittedMeanwhileAre409:
    """A concurrent request commits the same row between our check and our validation."""

    @pytest.fixture
    def concurrent(self, monkeypatch):
        def commit_before_validation(model, create_the_duplicate):
            original = model.full_clean

            def full_clean(instance, *args, **kwargs):
                if instance.pk is None and not model.objects.exists():
                    create_the_duplicate()
                return original(instance, *args, **kwargs)

            monkeypatch.setattr(model, "full_clean", full_clean)

        return commit_before_validation

    # (The duplicate is made inside the service's transaction here, and goes with its rollback:
    # the error names the row as it was when the service looked.)
    def test_contacts(self, concurrent):
        made = []
        concurrent(Contact, lambda: made.append(Contact.objects.create(email="dup@example.com").pk))
        with pytest.raises(DuplicateContact) as error:
            services.create_contact(email=" DUP@example.com")
        assert error.value.existing_id == made[0]

    def test_organizations(self, concurrent):
        made = []
        concurrent(Organization, lambda: made.append(Organization.objects.create(name="Hanse Events").pk))
        with pytest.raises(DuplicateOrganization) as error:
            services.create_organization(name="hanse events")
        assert error.value.existing_id == made[0]

    def test_feedback(self, concurrent, event, anna):
        made = []
        concurrent(Feedback, lambda: made.append(Feedback.objects.create(event=event, contact=anna, nps=9).pk))
        with pytest.raises(DuplicateFeedback) as error:
            record_feedback(event=event, contact=anna, nps=5)
        assert error.value.existing_id == made[0]
