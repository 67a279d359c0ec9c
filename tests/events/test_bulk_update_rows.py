"""ror_crm.bulk.bulk_update_rows(): bulk_update()'s result without its CASE statement, and the
attendee upsert and check-in that write through it.

On PostgreSQL it writes `UPDATE … FROM (VALUES …)`, one statement per batch; elsewhere it is
bulk_update(). Either way the stored values are the ones bulk_update() stores.
"""

from datetime import timedelta

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact, Organization
from events import services
from events.choices import AttendanceRole, AttendanceStatus
from events.models import Attendance, Event
from ror_crm.bulk import bulk_update_rows

pytestmark = pytest.mark.django_db

CONTACT_FIELDS = [
    "first_name", "last_name", "job_title", "organization", "tags", "marketing_consent", "marketing_consent_at",
    "cadence_days", "updated_at",
]
ATTENDANCE_FIELDS = ["role", "status", "checked_in_at", "external_id", "source", "updated_at"]
AWKWARD_TEXTS = ["O'Brien", 'say "hi"', "back\\slash", "Ümlaut ✓", "", "NULL", "{a,b}", "(1, 2)", "%s %(x)s"]


@pytest.fixture
def event() -> Event:
    now = timezone.now()
    return services.create_event(name="Hamburg Summit 2026", starts_at=now - timedelta(hours=8), ends_at=now)


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"] for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
    ]


def twin_contacts(count: int) -> tuple[list[Contact], list[Contact]]:
    """Two lists of equal contacts (one for bulk_update(), one for bulk_update_rows())."""
    organization = Organization.objects.create(name="Nordlicht GmbH")
    made = [
        [Contact.objects.create(email=f"{side}{i}@x.de", first_name=f"F{i}", organization=organization, tags=["old"])
         for i in range(count)]
        for side in ("a", "b")
    ]
    return made[0], made[1]


def change_contacts(contacts: list[Contact], organization: Organization, now) -> None:
    for i, contact in enumerate(contacts):
        contact.first_name = AWKWARD_TEXTS[i % len(AWKWARD_TEXTS)]
        contact.last_name = f"L{i}"
        contact.job_title = "CTO" if i % 2 else ""
        contact.organization = organization if i % 3 else None  # an FK, to a row or to nothing
        contact.tags = [["vip", f"t{i}"], [], ["quote\"d", "ä"], {"k": [1, 2.5, None]}][i % 4]
        contact.marketing_consent = bool(i % 2)
        contact.marketing_consent_at = now - timedelta(days=i, microseconds=i) if i % 2 else None
        contact.cadence_days = 30 + i if i % 2 else None
        contact.updated_at = now


def stored_contacts(contacts: list[Contact]) -> list[tuple]:
    values = Contact.objects.in_bulk([contact.pk for contact in contacts])
    return [tuple(getattr(values[contact.pk], name) for name in CONTACT_FIELDS) for contact in contacts]


class TestSameValuesAsBulkUpdate:
    def test_text_foreign_key_json_boolean_integer_and_nullable_datetime(self):
        by_orm, by_helper = twin_contacts(12)
        other = Organization.objects.create(name="Hafenblick AG")
        now = timezone.now()
        change_contacts(by_orm, other, now)
        change_contacts(by_helper, other, now)

        assert Contact.objects.bulk_update(by_orm, CONTACT_FIELDS) == 12
        assert bulk_update_rows(Contact, by_helper, CONTACT_FIELDS) == 12

        assert stored_contacts(by_helper) == stored_contacts(by_orm)
        assert stored_contacts(by_helper)[1][:5] == ('say "hi"', "L1", "CTO", other, [])
        assert stored_contacts(by_helper)[0][3] is None

    def test_attendance_fields_nullable_text_and_datetime(self, event):
        contacts = [Contact.objects.create(email=f"c{i}@x.de") for i in range(8)]
        rows = [Attendance.objects.create(event=event, contact=contact, external_id=f"E-{i}", checked_in_at=timezone.now())
                for i, contact in enumerate(contacts)]
        at = timezone.now() - timedelta(hours=1)
        for i, attendance in enumerate(rows):
            attendance.role = AttendanceRole.SPEAKER if i % 2 else AttendanceRole.ATTENDEE
            attendance.status = AttendanceStatus.ATTENDED if i % 2 else AttendanceStatus.NO_SHOW
            attendance.checked_in_at = at if i % 2 else None
            attendance.external_id = None if i % 3 == 0 else f"X-{i}"
            attendance.source = AWKWARD_TEXTS[i]
            attendance.updated_at = at

        assert bulk_update_rows(Attendance, rows, ATTENDANCE_FIELDS) == 8

        stored = Attendance.objects.in_bulk([attendance.pk for attendance in rows])
        for attendance in rows:
            assert [getattr(stored[attendance.pk], name) for name in ATTENDANCE_FIELDS] == [
                getattr(attendance, name) for name in ATTENDANCE_FIELDS
            ]

    def test_the_first_of_two_objects_with_one_key_wins_as_with_bulk_update(self):
        by_orm, by_helper = twin_contacts(1)
        for contacts in (by_orm, by_helper):
            copy = Contact.objects.get(pk=contacts[0].pk)
            contacts[0].first_name, copy.first_name = "First", "Second"
            contacts.append(copy)

        Contact.objects.bulk_update(by_orm, ["first_name"])
        bulk_update_rows(Contact, by_helper, ["first_name"])

        assert Contact.objects.get(pk=by_helper[0].pk).first_name == Contact.objects.get(pk=by_orm[0].pk).first_name

    def test_a_related_object_saved_after_it_was_assigned_is_written_by_its_key_an_unsaved_one_refused(self):
        contacts, _ = twin_contacts(2)
        later, unsaved = Organization(name="Später GmbH"), Organization(name="Nie AG")
        contacts[0].organization = later
        later.save()

        bulk_update_rows(Contact, contacts[:1], ["organization"])
        contacts[1].organization = unsaved
        with pytest.raises(ValueError, match="unsaved related object"):
            bulk_update_rows(Contact, contacts[1:], ["organization"])

        assert Contact.objects.get(pk=contacts[0].pk).organization == later

    def test_other_columns_and_rows_stay_as_they_are(self):
        contacts, others = twin_contacts(3)
        before = stored_contacts(others)
        for contact in contacts:
            contact.first_name, contact.last_name = "New", "Changed in memory only"

        bulk_update_rows(Contact, contacts, ["first_name"])

        assert set(Contact.objects.filter(pk__in=[c.pk for c in contacts]).values_list("first_name", "last_name")) == {
            ("New", "")
        }
        assert stored_contacts(others) == before


class TestStatements:
    def test_one_statement_per_batch(self):
        contacts, _ = twin_contacts(5)
        for contact in contacts:
            contact.job_title = "CEO"

        with CaptureQueriesContext(connection) as whole:
            bulk_update_rows(Contact, contacts, ["job_title"])
        with CaptureQueriesContext(connection) as batched:
            bulk_update_rows(Contact, contacts, ["job_title"], batch_size=2)

        assert len(writes(whole)) == 1
        assert len(writes(batched)) == 3
        assert set(Contact.objects.filter(pk__in=[c.pk for c in contacts]).values_list("job_title", flat=True)) == {"CEO"}

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the VALUES statement is PostgreSQL's")
    def test_postgresql_joins_a_values_list_instead_of_a_case(self):
        contacts, _ = twin_contacts(3)

        with CaptureQueriesContext(connection) as queries:
            bulk_update_rows(Contact, contacts, ["job_title", "organization"])

        (sql,) = writes(queries)
        assert "FROM (VALUES" in sql
        assert "CASE" not in sql

    def test_an_empty_list_runs_no_query(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert bulk_update_rows(Contact, [], ["first_name"]) == 0

    def test_refuses_what_bulk_update_refuses(self):
        contacts, _ = twin_contacts(1)
        with pytest.raises(ValueError, match="Field names must be given"):
            bulk_update_rows(Contact, contacts, [])
        with pytest.raises(ValueError, match="must have a primary key set"):
            bulk_update_rows(Contact, [Contact(email="new@x.de")], ["first_name"])
        with pytest.raises(ValueError, match="Batch size must be a positive integer"):
            bulk_update_rows(Contact, contacts, ["first_name"], batch_size=0)

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce lengths")
    def test_a_value_too_long_for_its_column_is_refused_not_cut(self):
        contacts, _ = twin_contacts(1)
        contacts[0].first_name = "x" * 101

        with pytest.raises(DataError), transaction.atomic():
            bulk_update_rows(Contact, contacts, ["first_name"])


def attendee_rows(count: int, **fields) -> list[dict]:
    return [{"email": f"person{i}@example.com", "first_name": f"Person{i}", **fields} for i in range(count)]


class TestAttendeeUpsert:
    def test_changed_contacts_and_attendances_are_written_with_the_history_bulk_update_with_history_wrote(self, event):
        services.bulk_upsert_attendances(event, attendee_rows(4))
        at = timezone.now() - timedelta(minutes=5)

        result = services.bulk_upsert_attendances(
            event, attendee_rows(3, job_title="CTO", organization="Nordlicht GmbH", checked_in_at=at.isoformat())
        )

        assert (result.created, result.updated, result.unchanged) == (0, 3, 0)
        changed = Contact.objects.filter(job_title="CTO")
        assert changed.count() == 3
        assert set(changed.values_list("organization__name", flat=True)) == {"Nordlicht GmbH"}
        assert set(Attendance.objects.filter(checked_in_at=at).values_list("status", flat=True)) == {AttendanceStatus.ATTENDED}
        history = Contact.history.filter(history_type="~").values_list(
            "email", "job_title", "organization__name", "history_change_reason", "history_user"
        )
        assert sorted(history) == [
            (f"person{i}@example.com", "CTO", "Nordlicht GmbH", None, None) for i in range(3)
        ]

    def test_replaying_the_same_rows_writes_nothing(self, event):
        rows = attendee_rows(20, job_title="CTO", organization="Nordlicht GmbH", status="attended")
        services.bulk_upsert_attendances(event, rows)

        with CaptureQueriesContext(connection) as queries:
            result = services.bulk_upsert_attendances(event, rows)

        assert (result.created, result.updated, result.unchanged) == (0, 0, 20)
        assert writes(queries) == []


class TestCheckIn:
    def test_checks_in_the_rows_not_yet_checked_in_and_keeps_the_rest(self, event):
        services.bulk_upsert_attendances(event, attendee_rows(6))
        early = timezone.now() - timedelta(hours=2)
        services.check_in(event, emails=["person0@example.com"], at=early)
        Attendance.objects.filter(contact__email="person1@example.com").update(status=AttendanceStatus.NO_SHOW)
        Attendance.objects.filter(contact__email="person2@example.com").update(checked_in_at=early)
        at = timezone.now() - timedelta(minutes=1)

        result = services.check_in(event, emails=[f"person{i}@example.com" for i in range(7)], at=at)

        assert (result.checked_in, result.already_checked_in, result.unknown) == (5, 1, ["person6@example.com"])
        stored = dict(Attendance.objects.values_list("contact__email", "checked_in_at"))
        assert stored == {"person0@example.com": early, "person1@example.com": at, "person2@example.com": early,
                          **{f"person{i}@example.com": at for i in range(3, 6)}}
        assert set(Attendance.objects.values_list("status", flat=True)) == {AttendanceStatus.ATTENDED}

    def test_one_write_for_any_number_of_rows_and_none_for_a_repeat(self, event):
        services.bulk_upsert_attendances(event, attendee_rows(30))

        with CaptureQueriesContext(connection) as few:
            services.check_in(event, emails=[f"person{i}@example.com" for i in range(2)])
        with CaptureQueriesContext(connection) as many:
            services.check_in(event, emails=[f"person{i}@example.com" for i in range(2, 30)])
        with CaptureQueriesContext(connection) as again:
            repeat = services.check_in(event, emails=[f"person{i}@example.com" for i in range(30)])

        assert len(few.captured_queries) == len(many.captured_queries)
        assert len([sql for sql in writes(many) if "events_attendance" in sql.split("SET")[0]]) == 1
        assert (repeat.checked_in, repeat.already_checked_in) == (0, 30)
        assert writes(again) == []
