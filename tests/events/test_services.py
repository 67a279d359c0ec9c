from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import services as contact_services
from contacts.exceptions import ContactErased
from contacts.models import Contact, Organization
from contacts.services import create_contact, erase_contact
from events import services
from events.choices import AttendanceRole, AttendanceStatus, EventStatus
from events.exceptions import DuplicateAttendance, DuplicateFeedback, EventCancelled, EventCompleted, EventNotEnded
from events.models import Attendance, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> Event:
    now = timezone.now()
    return services.create_event(name="Hamburg Summit 2026", starts_at=now - timedelta(hours=8), ends_at=now)


def attendee_rows(count: int, *, offset: int = 0) -> list[dict]:
    return [
        {"email": f"Person{i}@Example.com ", "first_name": f"Person{i}", "last_name": "Muster",
         "organization": f"Org {offset}-{i % 4}", "role": "attendee"}
        for i in range(offset, offset + count)
    ]


class TestBulkUpsertAttendances:
    def test_creates_contacts_organizations_and_attendances(self, event):
        result = services.bulk_upsert_attendances(event, attendee_rows(10))

        assert (result.created, result.updated, result.unchanged, result.errors) == (10, 0, 0, [])
        assert Attendance.objects.filter(event=event, status=AttendanceStatus.REGISTERED).count() == 10
        assert Contact.objects.filter(email="person3@example.com").exists()  # trimmed, lower-cased
        assert Organization.objects.count() == 4

    def test_replaying_the_same_rows_changes_nothing(self, event):
        rows = attendee_rows(10)
        services.bulk_upsert_attendances(event, rows)
        before = list(Attendance.objects.order_by("pk").values_list("pk", "updated_at"))

        result = services.bulk_upsert_attendances(event, rows)

        assert (result.created, result.updated, result.unchanged) == (0, 0, 10)
        assert list(Attendance.objects.order_by("pk").values_list("pk", "updated_at")) == before

    def test_partial_success_reports_bad_rows_by_position_and_applies_the_rest(self, event):
        rows = [*attendee_rows(2), {"email": "not-an-email"}, "a string", {"email": "x@y.de", "role": "king"},
                {"email": "z@y.de", "checked_in_at": "yesterday"}, {"email": "n@y.de", "first_name": 42}]

        result = services.bulk_upsert_attendances(event, rows)

        assert result.created == 2
        assert [error["row"] for error in result.errors] == [2, 3, 4, 5, 6]
        assert set(result.errors[0]["errors"]) == {"email"}
        assert set(result.errors[2]["errors"]) == {"role"}
        assert set(result.errors[3]["errors"]) == {"checked_in_at"}
        assert set(result.errors[4]["errors"]) == {"first_name"}
        assert not Contact.objects.filter(email__in=["x@y.de", "z@y.de", "n@y.de"]).exists()

    def test_changed_rows_count_as_updated_and_blank_values_keep_stored_ones(self, event):
        services.bulk_upsert_attendances(event, attendee_rows(3))
        rows = attendee_rows(3)
        rows[0]["role"] = "speaker"
        rows[1]["first_name"] = ""  # blank: keep
        rows[2]["checked_in_at"] = (event.starts_at + timedelta(hours=1)).isoformat()

        result = services.bulk_upsert_attendances(event, rows)

        assert (result.created, result.updated, result.unchanged) == (0, 2, 1)
        assert Attendance.objects.get(contact__email="person0@example.com").role == AttendanceRole.SPEAKER
        assert Contact.objects.get(email="person1@example.com").first_name == "Person1"
        checked_in = Attendance.objects.get(contact__email="person2@example.com")
        assert checked_in.status == AttendanceStatus.ATTENDED  # a check-in time means they came

    def test_duplicate_rows_in_one_request_create_one_attendance(self, event):
        rows = attendee_rows(1) + attendee_rows(1)

        result = services.bulk_upsert_attendances(event, rows)

        assert (result.created, result.unchanged) == (1, 0)
        assert [error["row"] for error in result.errors] == [1]
        assert Attendance.objects.count() == 1

    def test_an_external_id_of_another_attendance_is_a_row_error(self, event):
        services.bulk_upsert_attendances(event, [{"email": "a@x.de", "external_id": "T-1", "source": "tix"}])

        result = services.bulk_upsert_attendances(
            event, [{"email": "b@x.de", "external_id": "T-1", "source": "tix"}, {"email": "c@x.de"}]
        )

        assert result.created == 1
        assert result.errors == [{"row": 0, "errors": {"external_id": ["This external id belongs to another attendance."]}}]

    def test_more_than_the_maximum_rows_is_refused(self, event):
        with pytest.raises(ValueError, match="1000"):
            services.bulk_upsert_attendances(event, attendee_rows(1001))
        assert not Attendance.objects.exists()

    def test_runs_a_fixed_number_of_queries_whatever_the_row_count(self, event):
        def queries_for(rows):
            with CaptureQueriesContext(connection) as context:
                services.bulk_upsert_attendances(event, rows)
            return len(context.captured_queries)

        # SQLite caps the parameters of one statement, so Django splits big inserts there;
        # PostgreSQL takes the whole request in one statement per table.
        large = 40 if connection.vendor == "sqlite" else 1000
        # First import (new contacts + organizations), then a changed re-import, at two sizes.
        small_create, large_create = queries_for(attendee_rows(5)), queries_for(attendee_rows(large, offset=100))
        changed_small = [dict(row, job_title="CTO") for row in attendee_rows(5)]
        changed_large = [dict(row, job_title="CTO") for row in attendee_rows(large, offset=100)]
        small_update, large_update = queries_for(changed_small), queries_for(changed_large)

        assert small_create == large_create
        assert small_update == large_update


class TestCheckIn:
    def test_marks_known_attendees_attended_and_reports_unknown_ones(self, event):
        services.bulk_upsert_attendances(event, [*attendee_rows(3), {"email": "t@x.de", "external_id": "E-7"}])

        by_email = services.check_in(event, emails=["PERSON0@example.com", "nobody@example.com"])
        by_external_id = services.check_in(event, external_ids=["E-7", "E-404"])

        assert (by_email.checked_in, by_email.unknown) == (1, ["nobody@example.com"])
        assert (by_external_id.checked_in, by_external_id.unknown) == (1, ["E-404"])
        attended = Attendance.objects.filter(status=AttendanceStatus.ATTENDED, checked_in_at__isnull=False)
        assert set(attended.values_list("contact__email", flat=True)) == {"person0@example.com", "t@x.de"}
        assert not Contact.objects.filter(email="nobody@example.com").exists()

    def test_checking_in_twice_keeps_the_first_time(self, event):
        services.bulk_upsert_attendances(event, attendee_rows(1))
        first = timezone.now() - timedelta(hours=1)
        services.check_in(event, emails=["person0@example.com"], at=first)

        again = services.check_in(event, emails=["person0@example.com"])

        assert (again.checked_in, again.already_checked_in) == (0, 1)
        assert Attendance.objects.get().checked_in_at == first


class TestCompleteEvent:
    def test_sets_status_and_completion_time_once(self, event, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            completed = services.complete_event(event)
        completed_at = completed.completed_at
        assert completed.status == EventStatus.COMPLETED
        assert completed_at is not None
        assert callbacks, "completing must queue scoring after commit"

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            again = services.complete_event(event)
        assert again.completed_at == completed_at
        assert callbacks == []  # harmless: nothing queued again

    def test_a_cancelled_event_cannot_be_completed(self, event):
        Event.objects.filter(pk=event.pk).update(status=EventStatus.CANCELLED)

        with pytest.raises(EventCancelled):
            services.complete_event(event)
        assert Event.objects.get(pk=event.pk).completed_at is None

    def test_updating_status_to_completed_goes_through_completion(self, event):
        updated = services.update_event(event, status=EventStatus.COMPLETED)
        assert updated.completed_at is not None


@pytest.fixture
def upcoming() -> Event:
    now = timezone.now()
    return services.create_event(name="Winter Gala", starts_at=now + timedelta(days=9), ends_at=now + timedelta(days=9, hours=5))


def statuses(event: Event) -> dict[str, str]:
    return dict(Attendance.objects.filter(event=event).values_list("external_id", "status"))


class TestCompletionMeansTheEventHappened:
    """DOMAIN.md "When scores are recomputed": not before the end unless forced; registrations
    without check-in become no-shows when the event used check-in; no way back."""

    def test_an_event_that_has_not_ended_is_refused_unless_forced(self, upcoming, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks, pytest.raises(EventNotEnded) as refused:
            services.complete_event(upcoming)

        assert refused.value.code == "event_not_ended"
        assert callbacks == []  # nothing scored
        assert Event.objects.filter(pk=upcoming.pk, status=EventStatus.PLANNED, completed_at=None).exists()

        completed = services.complete_event(upcoming, force=True)

        assert (completed.status, completed.completed_at is not None) == (EventStatus.COMPLETED, True)

    def test_updating_or_creating_as_completed_before_the_end_is_refused_and_writes_nothing(self, upcoming):
        with pytest.raises(EventNotEnded):
            services.update_event(upcoming, status=EventStatus.COMPLETED, venue="Halle 3")
        with pytest.raises(EventNotEnded):
            services.create_event(name="Spring Gala", starts_at=upcoming.starts_at, ends_at=upcoming.ends_at,
                                  status=EventStatus.COMPLETED)

        assert Event.objects.get(pk=upcoming.pk).venue == ""  # the whole update rolled back
        assert not Event.objects.filter(name="Spring Gala").exists()

    def test_registrations_without_check_in_become_no_shows_when_the_event_used_check_in(self, event):
        people = {key: create_contact(email=f"{key}@x.de") for key in ("came", "absent", "invited", "cancelled", "erased")}
        for key, status in [("came", "registered"), ("absent", "registered"), ("invited", "invited"),
                            ("cancelled", "cancelled"), ("erased", "registered")]:
            services.create_attendance(event=event, contact=people[key], status=status, external_id=key)
        services.check_in(event, emails=["came@x.de"])
        erase_contact(people["erased"])
        absent_before = Attendance.objects.get(external_id="absent").updated_at

        with CaptureQueriesContext(connection) as queries:
            services.complete_event(event)

        assert statuses(event) == {"came": AttendanceStatus.ATTENDED, "absent": AttendanceStatus.NO_SHOW,
                                   "invited": AttendanceStatus.INVITED, "cancelled": AttendanceStatus.CANCELLED,
                                   "erased": AttendanceStatus.REGISTERED}  # an erased contact's rows take no writes
        assert Attendance.objects.get(external_id="absent").updated_at > absent_before  # incremental sync sees it
        updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "events_attendance"')]
        assert len(updates) == 1  # set-based: one statement, whatever the number of rows

    def test_without_any_check_in_the_statuses_stay(self, event):
        for key in ("a", "b"):
            services.create_attendance(event=event, contact=create_contact(email=f"{key}@x.de"), external_id=key)

        services.complete_event(event)

        assert statuses(event) == {"a": AttendanceStatus.REGISTERED, "b": AttendanceStatus.REGISTERED}

    @pytest.mark.parametrize(("status", "checked_in"), [("attended", False), ("no_show", False), ("registered", True)])
    def test_an_event_people_attended_or_missed_is_not_cancelled(self, event, status, checked_in):
        services.create_attendance(event=event, contact=create_contact(email="a@x.de"), status=status,
                                   checked_in_at=event.starts_at if checked_in else None)

        with pytest.raises(ValidationError) as refused:
            services.update_event(event, status=EventStatus.CANCELLED)

        assert "cannot be cancelled" in refused.value.message_dict["status"][0]
        assert Event.objects.get(pk=event.pk).status == EventStatus.PLANNED

    def test_an_event_with_registrations_only_is_cancelled(self, event):
        services.create_attendance(event=event, contact=create_contact(email="a@x.de"))
        assert services.update_event(event, status=EventStatus.CANCELLED).status == EventStatus.CANCELLED

    @pytest.mark.parametrize("status", [EventStatus.PLANNED, EventStatus.LIVE, EventStatus.CANCELLED])
    def test_a_completed_event_is_not_moved_back_but_stays_editable(self, event, status):
        completed = services.complete_event(event)

        with pytest.raises(EventCompleted) as refused:
            services.update_event(completed, status=status, venue="Halle 3")

        assert refused.value.code == "event_completed"
        stored = Event.objects.get(pk=event.pk)
        assert (stored.status, stored.completed_at, stored.venue) == (EventStatus.COMPLETED, completed.completed_at, "")
        updated = services.update_event(stored, status=EventStatus.COMPLETED, venue="Halle 3")
        assert (updated.status, updated.completed_at, updated.venue) == (
            EventStatus.COMPLETED, completed.completed_at, "Halle 3")


@pytest.mark.parametrize("kind", ["attendance", "interaction", "feedback", "follow_up", "referral"])
def test_deleting_a_row_whose_event_a_concurrent_request_just_deleted_is_no_error(kind):
    # The row was read (as the API's DELETE reads it), then its event went with everything in it.
    ends_at = timezone.now() - timedelta(days=1)
    event = services.create_event(name="Gone", starts_at=ends_at - timedelta(hours=8), ends_at=ends_at)
    services.complete_event(event)
    anna, ben = create_contact(email="anna@x.de"), create_contact(email="ben@x.de")
    row, delete = {
        "attendance": lambda: (services.create_attendance(event=event, contact=anna), services.delete_attendance),
        "interaction": lambda: (services.record_interaction(event=event, contact=anna, counterpart=ben, kind="meeting",
                                                            occurred_at=ends_at), services.delete_interaction),
        "feedback": lambda: (services.record_feedback(event=event, contact=anna, nps=9), services.delete_feedback),
        "follow_up": lambda: (contact_services.create_follow_up(contact=anna, event=event),
                              contact_services.delete_follow_up),
        "referral": lambda: (contact_services.create_referral(referrer=anna, referred_email="c@x.de", event=event),
                             contact_services.delete_referral),
    }[kind]()
    row = type(row).objects.get(pk=row.pk)  # fresh, its event not loaded yet
    Event.objects.filter(pk=event.pk).delete()

    delete(row)

    assert not type(row).objects.filter(pk=row.pk).exists()


class TestSingleWrites:
    def test_event_cannot_end_before_it_starts(self):
        now = timezone.now()
        with pytest.raises(ValidationError) as error:
            services.create_event(name="Backwards", starts_at=now, ends_at=now - timedelta(hours=1))
        assert "ends_at" in error.value.message_dict
        assert not Event.objects.exists()

    def test_second_attendance_for_the_same_contact_names_the_existing_one(self, event):
        contact = create_contact(email="a@x.de")
        first = services.create_attendance(event=event, contact=contact)
        with pytest.raises(DuplicateAttendance) as error:
            services.create_attendance(event=event, contact=contact)
        assert error.value.existing_id == first.pk

    def test_second_feedback_for_the_same_contact_names_the_existing_one(self, event):
        contact = create_contact(email="a@x.de")
        first = services.record_feedback(event=event, contact=contact, nps=9)
        with pytest.raises(DuplicateFeedback) as error:
            services.record_feedback(event=event, contact=contact, nps=3)
        assert error.value.existing_id == first.pk

    @pytest.mark.parametrize(("fields", "bad_field"), [({"nps": 11}, "nps"), ({"satisfaction": 0}, "satisfaction")])
    def test_feedback_ranges(self, event, fields, bad_field):
        contact = create_contact(email="a@x.de")
        with pytest.raises(ValidationError) as error:
            services.record_feedback(event=event, contact=contact, **fields)
        assert bad_field in error.value.message_dict

    def test_interaction_quality_range_and_no_self_interaction(self, event):
        contact = create_contact(email="a@x.de")
        with pytest.raises(ValidationError) as error:
            services.record_interaction(event=event, contact=contact, quality=6)
        assert "quality" in error.value.message_dict
        with pytest.raises(ValidationError) as error:
            services.record_interaction(event=event, contact=contact, counterpart=contact)
        assert "counterpart" in error.value.message_dict

    def test_erased_contacts_take_no_new_data(self, event):
        contact = erase_contact(create_contact(email="a@x.de"))
        with pytest.raises(ContactErased):
            services.create_attendance(event=event, contact=contact)


class TestCheckInTimeAndStatus:
    """A check-in time given without a status says the person came; a status given is what it says."""

    def test_a_check_in_time_alone_makes_a_registration_attended(self, event):
        row = services.create_attendance(event=event, contact=create_contact(email="a@x.de"))
        assert services.update_attendance(row, checked_in_at=event.starts_at).status == AttendanceStatus.ATTENDED

    def test_a_check_in_is_undone_by_a_status_and_no_time(self, event):
        row = services.create_attendance(event=event, contact=create_contact(email="a@x.de"),
                                         checked_in_at=event.starts_at)
        assert row.status == AttendanceStatus.ATTENDED
        undone = services.update_attendance(row, status=AttendanceStatus.REGISTERED, checked_in_at=None)
        assert (undone.status, undone.checked_in_at) == (AttendanceStatus.REGISTERED, None)

    def test_a_check_in_time_alone_makes_a_no_show_attended(self, event):
        row = services.create_attendance(event=event, contact=create_contact(email="a@x.de"),
                                         status=AttendanceStatus.NO_SHOW)
        assert services.update_attendance(row, checked_in_at=event.starts_at).status == AttendanceStatus.ATTENDED

    def test_a_registration_given_with_a_check_in_time_is_attended(self, event):
        row = services.create_attendance(event=event, contact=create_contact(email="a@x.de"),
                                         status=AttendanceStatus.REGISTERED, checked_in_at=event.starts_at)
        assert row.status == AttendanceStatus.ATTENDED

    @pytest.mark.parametrize("status", [AttendanceStatus.NO_SHOW, AttendanceStatus.CANCELLED, AttendanceStatus.WAITLISTED])
    def test_a_status_that_says_the_person_did_not_come_with_a_check_in_time_is_refused(self, event, status):
        with pytest.raises(ValidationError) as refused:
            services.create_attendance(event=event, contact=create_contact(email="a@x.de"), status=status,
                                       checked_in_at=event.starts_at)

        assert list(refused.value.message_dict) == ["checked_in_at"]
        assert not Attendance.objects.exists()

    def test_a_checked_in_row_made_a_no_show_without_clearing_the_time_is_refused_at_the_status(self, event):
        row = services.create_attendance(event=event, contact=create_contact(email="a@x.de"),
                                         checked_in_at=event.starts_at)

        with pytest.raises(ValidationError) as refused:
            services.update_attendance(row, status=AttendanceStatus.NO_SHOW)

        assert list(refused.value.message_dict) == ["status"]
        assert Attendance.objects.get().status == AttendanceStatus.ATTENDED
        made_a_no_show = services.update_attendance(row, status=AttendanceStatus.NO_SHOW, checked_in_at=None)
        assert (made_a_no_show.status, made_a_no_show.checked_in_at) == (AttendanceStatus.NO_SHOW, None)
