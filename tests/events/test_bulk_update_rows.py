"""ror_crm.bulk.bulk_update_rows(): bulk_update()'s result without its CASE statement, and the
attendee upsert and check-in that write through it.

On PostgreSQL it writes `UPDATE … FROM unnest(…)`, one statement per batch with one array
parameter per column (`FROM (VALUES …)` for a value no array literal carries); elsewhere it is
bulk_update(). Either way the stored values are the ones bulk_update() stores.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact, Organization
from events import services
from events.choices import AttendanceRole, AttendanceStatus, EventStatus
from events.models import Attendance, Event
from events.services import attendances
from partners.models import IdempotencyRecord
from ror_crm import bulk
from ror_crm.bulk import bulk_update_rows
from scoring.choices import LifecycleStage
from scoring.models import ContactScore

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
        rows = [Attendance.objects.create(event=event, contact=contact, external_id=f"E-{i}", checked_in_at=timezone.now(),
                                          status=AttendanceStatus.ATTENDED)
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

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the unnest statement is PostgreSQL's")
    def test_postgresql_joins_one_array_per_column_instead_of_a_case(self):
        contacts, _ = twin_contacts(3)

        with CaptureQueriesContext(connection) as queries:
            bulk_update_rows(Contact, contacts, ["job_title", "organization"])

        (sql,) = writes(queries)
        assert "FROM unnest(" in sql
        assert "VALUES" not in sql
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
        Attendance.objects.filter(contact__email="person2@example.com").update(status=AttendanceStatus.ATTENDED)
        at = timezone.now() - timedelta(minutes=1)

        result = services.check_in(event, emails=[f"person{i}@example.com" for i in range(7)], at=at)

        assert (result.checked_in, result.already_checked_in, result.unknown) == (5, 1, ["person6@example.com"])
        stored = dict(Attendance.objects.values_list("contact__email", "checked_in_at"))
        assert stored == {"person0@example.com": early, "person1@example.com": at, "person2@example.com": at,
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


# Text that an array literal must quote or escape, and that psycopg sends as it is.
ARRAY_AWKWARD_TEXTS = [
    *AWKWARD_TEXTS, "a,b", "{}", "{NULL}", '"', "\\", '\\"', "\\\\x00", " padded ", "tab\tnew\nline", "ä€𝄞", "$$", "'",
]
MOMENTS = [
    datetime(2026, 5, 1, 18, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(1900, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")),  # an offset with seconds (local mean time)
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def comparable(value):
    if isinstance(value, memoryview | bytes):
        return bytes(value)
    if isinstance(value, float):
        return repr(value)  # NaN equal to NaN, -0.0 not to 0.0
    return value


def stored_values(model, objs, fields: list[str]) -> list[list]:
    rows = model._default_manager.in_bulk([obj.pk for obj in objs])
    return [[comparable(getattr(rows[obj.pk], name)) for name in fields] for obj in objs]


def update_statements(model, objs, fields, **options) -> list[tuple[str, list]]:
    """bulk_update_rows()'s UPDATE statements as sent: SQL with placeholders, and parameters."""
    sent = []

    def record(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE"):
            sent.append((sql, list(params or [])))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        bulk_update_rows(model, objs, fields, **options)
    return sent


def assert_stores_what_bulk_update_stores(model, make, change, fields: list[str], count: int) -> list[tuple[str, list]]:
    """Two equal sets of rows, changed alike: bulk_update() writes one, bulk_update_rows() the
    other; the stored values must match. Returns bulk_update_rows()'s statements."""
    by_orm, by_helper = [make(i) for i in range(count)], [make(i) for i in range(count)]
    for objs in (by_orm, by_helper):
        for i, obj in enumerate(objs):
            change(i, obj)
    model._default_manager.bulk_update(by_orm, fields)
    sent = update_statements(model, by_helper, fields)
    assert stored_values(model, by_helper, fields) == stored_values(model, by_orm, fields)
    if connection.vendor == "postgresql":  # one statement, one array per column
        assert [(sql.count("%s"), "FROM unnest(" in sql, "VALUES" in sql) for sql, _ in sent] == [
            (len(fields) + 1, True, False)
        ]
        assert all(isinstance(param, str) and param.startswith("{") for param in sent[0][1])
    return sent


class TestArrayForm:
    def test_text_datetimes_decimals_integers_and_choices(self):
        starts = timezone.now() - timedelta(days=1)

        def make(i):
            return services.create_event(name=f"Event {i}", starts_at=starts, ends_at=starts + timedelta(hours=2))

        def change(i, event):
            event.name = ARRAY_AWKWARD_TEXTS[i % len(ARRAY_AWKWARD_TEXTS)] or "-"  # no blank name
            event.venue = ARRAY_AWKWARD_TEXTS[-1 - i % len(ARRAY_AWKWARD_TEXTS)]
            event.starts_at = MOMENTS[i % len(MOMENTS)] if i % 7 else event.starts_at
            event.ends_at = MOMENTS[-1]
            event.completed_at = None if i % 3 == 0 else MOMENTS[-1 - i % len(MOMENTS)]
            event.cost = [None, Decimal("12.345"), Decimal("0.005"), Decimal("123456789012.34"), Decimal("1E+2"), 7][i % 6]
            event.capacity = None if i % 4 == 0 else i * 1000
            event.status = ["planned", EventStatus.COMPLETED, EventStatus.CANCELLED][i % 3]
            # one instant, written in two zones
            event.updated_at = MOMENTS[0] if i % 2 else MOMENTS[0].astimezone(ZoneInfo("America/St_Johns"))

        fields = ["name", "venue", "starts_at", "ends_at", "completed_at", "cost", "capacity", "status", "updated_at"]
        assert_stores_what_bulk_update_stores(Event, make, change, fields, count=len(ARRAY_AWKWARD_TEXTS))

        names = [text or "-" for text in ARRAY_AWKWARD_TEXTS]
        assert sorted(Event.objects.filter(name__in=names).values_list("name", flat=True)) == sorted(names * 2)
        # (12.345 and 0.005 round as the database rounds them, the same for both: not checked here)
        assert set(Event.objects.values_list("cost", flat=True)) >= {None, Decimal("123456789012.34"), Decimal("100.00")}

    def test_floats_booleans_small_integers_and_json(self):
        computed_at = timezone.now()

        def make(i):
            contact = Contact.objects.create(email=f"{uuid4().hex}@x.de")
            return ContactScore.objects.create(
                contact=contact, score=1.0, components={}, stage="initiation", churn_risk="low", computed_at=computed_at,
                profile_version=1,
            )

        documents = [
            {"k": [1, 2.5, None, True]}, [], {}, ["quote\"d", "back\\slash", "{brace}", "comma,", "ä€𝄞", "null"],
            {'key "q"': {"nested\\": "\\u00e4 {x}"}}, "a bare string", 12345678901234567890, 0.1, False,
        ]

        def change(i, score):
            score.score = [0.1, 1e-300, 99.99999999999999, 100, 0.0, 3.0][i % 6]
            score.avg_days_between_attendances = [
                None, 12345678.123456789, float("nan"), float("inf"), float("-inf"), 5e-324, 1.7976931348623157e308
            ][i % 7]
            score.show_rate = None if i % 2 else 1 / (i + 1)
            score.stage = ["at_risk", LifecycleStage.GROWTH][i % 2]
            score.is_returning = bool(i % 2)
            score.latest_nps = None if i % 3 == 0 else i % 11
            score.components = documents[i % len(documents)]
            score.next_action_figures = {"text": ARRAY_AWKWARD_TEXTS[i % len(ARRAY_AWKWARD_TEXTS)], "i": i}

        fields = [
            "score", "avg_days_between_attendances", "show_rate", "stage", "is_returning", "latest_nps", "components",
            "next_action_figures",
        ]
        assert_stores_what_bulk_update_stores(ContactScore, make, change, fields, count=24)

        stored = {json.dumps(value, sort_keys=True) for value in ContactScore.objects.values_list("components", flat=True)}
        assert stored == {json.dumps(value, sort_keys=True) for value in documents}

    def test_bytes_nulls_and_long_text(self):
        def make(i):
            return IdempotencyRecord.objects.create(
                credential="user:1", key=uuid4().hex, method="PATCH", path="/", request_hash="h", response_body=b"{}"
            )

        bodies = [b"", b"\x00\x01\xff", b'\\x00 "{a,b}" \\', bytes(range(256)), None, "ä€𝄞".encode()]

        def change(i, record):
            record.response_body = bodies[i % len(bodies)]
            record.path = "/api/v1/" + ARRAY_AWKWARD_TEXTS[i % len(ARRAY_AWKWARD_TEXTS)] * (1 + i)
            record.status_code = None if i % 2 else 200 + i

        fields = ["response_body", "path", "status_code"]
        assert_stores_what_bulk_update_stores(IdempotencyRecord, make, change, fields, count=12)

        assert {comparable(body) for body in IdempotencyRecord.objects.values_list("response_body", flat=True)} == set(bodies)

    def test_a_value_no_array_literal_carries_goes_as_a_values_list(self, monkeypatch):
        def not_carried(value):
            raise bulk._NotAnArrayElement(type(value))

        monkeypatch.setattr(bulk, "_AS_THEY_ARE", frozenset())
        monkeypatch.setattr(bulk, "_array_element", not_carried)
        other = Organization.objects.create(name="Hafenblick AG")
        now = timezone.now()

        def make(i):
            return Contact.objects.create(email=f"{uuid4().hex}@x.de", tags=["old"])

        def change(i, contact):
            change_contacts([contact], other, now)
            contact.first_name = ARRAY_AWKWARD_TEXTS[i % len(ARRAY_AWKWARD_TEXTS)]

        by_orm, by_helper = [make(i) for i in range(6)], [make(i) for i in range(6)]
        for objs in (by_orm, by_helper):
            for i, contact in enumerate(objs):
                change(i, contact)
        Contact.objects.bulk_update(by_orm, CONTACT_FIELDS)
        sent = update_statements(Contact, by_helper, CONTACT_FIELDS)

        assert stored_values(Contact, by_helper, CONTACT_FIELDS) == stored_values(Contact, by_orm, CONTACT_FIELDS)
        if connection.vendor == "postgresql":
            ((sql, params),) = sent
            assert "FROM (VALUES" in sql
            assert len(params) == 6 * (len(CONTACT_FIELDS) + 1)

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the unnest statement is PostgreSQL's")
    def test_one_statement_whatever_the_rows_one_per_batch_when_asked(self):
        contacts, _ = twin_contacts(250)
        for i, contact in enumerate(contacts):
            contact.job_title, contact.marketing_consent = f"T{i}", bool(i % 2)

        whole = update_statements(Contact, contacts, ["job_title", "marketing_consent"])
        batched = update_statements(Contact, contacts, ["job_title", "marketing_consent"], batch_size=100)

        assert [len(params) for _, params in whole] == [3]
        assert [len(params) for _, params in batched] == [3, 3, 3]
        stored = Contact.objects.filter(pk__in=[c.pk for c in contacts]).order_by("pk").values_list("job_title", flat=True)
        assert list(stored) == [f"T{i}" for i in range(250)]

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="array literals are PostgreSQL's")
    def test_a_negative_zero_is_kept_apart_from_zero(self):
        """The one value found stored otherwise than by bulk_update(), whose SQL literal `-0.0`
        is numeric zero negated: 0.0. The array keeps what the object holds."""
        scores = [
            ContactScore.objects.create(contact=Contact.objects.create(email=f"z{i}@x.de"), score=1.0, components={},
                                        stage="initiation", churn_risk="low", computed_at=timezone.now(), profile_version=1)
            for i in range(3)
        ]
        for score, value in zip(scores, [0.0, -0.0, 0.0], strict=True):
            score.churn_reference_score = value

        bulk_update_rows(ContactScore, scores, ["churn_reference_score"])

        assert [repr(value) for value in stored_values(ContactScore, scores, ["churn_reference_score"])] == [
            "['0.0']", "['-0.0']", "['0.0']"
        ]

    def test_the_two_instants_of_one_local_time_stay_apart(self):
        """25 Oct 2026, 02:30 in Berlin happens twice (fold 0 and 1): equal in Python, an hour apart."""
        first = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"))
        second = first.replace(fold=1)
        assert first == second
        contacts, _ = twin_contacts(4)
        for contact, moment in zip(contacts, [first, second, second, first], strict=True):
            contact.marketing_consent_at = moment

        bulk_update_rows(Contact, contacts, ["marketing_consent_at"])

        stored = [row[0] for row in stored_values(Contact, contacts, ["marketing_consent_at"])]
        assert [moment - stored[0] for moment in stored] == [timedelta(0), timedelta(hours=1), timedelta(hours=1), timedelta(0)]
        assert stored[0] == first.astimezone(UTC)

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="array literals are PostgreSQL's")
    def test_a_json_columns_sql_null_and_json_null_stay_apart(self):
        from psycopg.types.json import Jsonb

        tags = Contact._meta.get_field("tags")
        values = [tags.get_db_prep_save(value, connection) for value in (None, {"a": 'q"\\'}, [])]
        values.insert(1, Jsonb(None, dumps=json.dumps))  # what Value(None, JSONField()) stands for

        with connection.cursor() as cursor:
            cursor.execute("SELECT v IS NULL, v::text FROM unnest(%s::jsonb[]) WITH ORDINALITY AS u(v, n) ORDER BY n",
                           [bulk._array_param(values)])
            rows = cursor.fetchall()

        assert rows == [(True, None), (False, "null"), (False, '{"a": "q\\"\\\\"}'), (False, "[]")]


def checked_in_rows(event) -> dict[str, tuple]:
    return {
        email: (status, checked_in_at, updated_at)
        for email, status, checked_in_at, updated_at in Attendance.objects.filter(event=event).values_list(
            "external_id", "status", "checked_in_at", "updated_at"
        )
    }


class TestCheckInRows:
    """_mark_attended() reads the rows as values and writes them with one UPDATE; what it
    stores, counts and reports is what it did with objects and bulk_update_rows()."""

    @pytest.fixture
    def people(self, event):
        services.bulk_upsert_attendances(event, [{"email": f"p{i}@x.de", "external_id": f"X-{i}"} for i in range(7)])
        early, old = timezone.now() - timedelta(hours=2), timezone.now() - timedelta(days=3)
        states = {
            0: (AttendanceStatus.ATTENDED, early),  # already checked in
            1: (AttendanceStatus.NO_SHOW, None),  # came after all
            2: (AttendanceStatus.ATTENDED, None),  # checked in, gets one
            3: (AttendanceStatus.REGISTERED, None),
            4: (AttendanceStatus.REGISTERED, None),  # an erased contact: unknown
            5: (AttendanceStatus.CANCELLED, None),
            6: (AttendanceStatus.INVITED, None),
        }
        for i, (status, checked_in_at) in states.items():
            Attendance.objects.filter(external_id=f"X-{i}").update(status=status, checked_in_at=checked_in_at, updated_at=old)
        Contact.objects.filter(email="p4@x.de").update(erased_at=timezone.now(), email=None)
        return early, old

    def assert_checked_in(self, event, result, people, at, *, unknown):
        early, old = people
        assert (result.checked_in, result.already_checked_in, result.unknown) == (5, 1, unknown)
        rows = checked_in_rows(event)
        moved = {rows[f"X-{i}"][2] for i in (1, 2, 3, 5, 6)}
        assert len(moved) == 1
        assert moved.pop() > old
        assert {key: value[:2] for key, value in rows.items()} == {
            "X-0": (AttendanceStatus.ATTENDED, early), "X-1": (AttendanceStatus.ATTENDED, at),
            "X-2": (AttendanceStatus.ATTENDED, at), "X-3": (AttendanceStatus.ATTENDED, at),
            "X-4": (AttendanceStatus.REGISTERED, None), "X-5": (AttendanceStatus.ATTENDED, at),
            "X-6": (AttendanceStatus.ATTENDED, at),
        }
        assert rows["X-0"][2] == rows["X-4"][2] == old

    def test_by_external_id(self, event, people):
        at = timezone.now() - timedelta(minutes=5)

        result = services.check_in(event, external_ids=[f"X-{i}" for i in range(7)] + ["X-404"], at=at)

        self.assert_checked_in(event, result, people, at, unknown=["X-4", "X-404"])

    def test_by_email_in_any_case(self, event, people):
        at = timezone.now() - timedelta(minutes=5)
        emails = [f"P{i}@X.de" for i in range(7)] + ["nobody@x.de"]

        result = services.check_in(event, emails=emails, at=at)

        self.assert_checked_in(event, result, people, at, unknown=["P4@X.de", "nobody@x.de"])

    def test_by_row_as_the_admin_does(self, event, people):
        rows = Attendance.objects.filter(event=event).select_related("contact")
        erased = Attendance.objects.get(external_id="X-4").pk

        result = services.check_in_attendances(rows)

        # The event has ended: the check-in is dated at its start, not now.
        self.assert_checked_in(event, result, people, event.starts_at, unknown=[f"#{erased}"])

    def test_late_data_names_each_events_checked_in_contacts(self, event, people, monkeypatch):
        other = services.create_event(name="Kiel Forum", starts_at=event.starts_at, ends_at=event.ends_at)
        services.bulk_upsert_attendances(other, [{"email": f"p{i}@x.de", "external_id": f"Y-{i}"} for i in range(2)])
        Attendance.objects.filter(external_id="Y-0").update(status=AttendanceStatus.ATTENDED, checked_in_at=timezone.now())
        told = []
        monkeypatch.setattr(attendances, "notify_late_data", lambda ev, ids: told.append((ev.pk, sorted(ids))))
        contact = dict(Contact.objects.values_list("email", "pk"))

        services.check_in_attendances(Attendance.objects.all())
        repeat = services.check_in_attendances(Attendance.objects.all())

        assert sorted(told) == sorted([
            (event.pk, sorted(contact[f"p{i}@x.de"] for i in (1, 2, 3, 5, 6))), (other.pk, [contact["p1@x.de"]]),
        ])
        assert (repeat.checked_in, repeat.already_checked_in) == (0, 8)

    def test_a_fixed_number_of_queries_whatever_the_rows(self, event):
        services.bulk_upsert_attendances(event, [{"email": f"q{i}@x.de", "external_id": f"Q-{i}"} for i in range(60)])
        counts = []

        def check_in(way: str, wanted: range) -> None:
            if way == "emails":
                services.check_in(event, emails=[f"q{i}@x.de" for i in wanted])
            elif way == "external_ids":
                services.check_in(event, external_ids=[f"Q-{i}" for i in wanted])
            else:
                services.check_in_attendances(Attendance.objects.filter(external_id__in=[f"Q-{i}" for i in wanted]))

        for wanted in (range(0, 2), range(2, 60)):
            for way in ("emails", "external_ids", "rows"):
                Attendance.objects.update(status=AttendanceStatus.REGISTERED, checked_in_at=None)
                with CaptureQueriesContext(connection) as queries:
                    check_in(way, wanted)
                counts.append(len(queries.captured_queries))
                updates = [sql for sql in writes(queries) if "events_attendance" in sql.split("SET")[0]]
                assert len(updates) == 1
                assert "CASE" not in updates[0]

        assert counts[:3] == counts[3:]
        assert Attendance.objects.filter(status=AttendanceStatus.ATTENDED, checked_in_at__isnull=False).count() == 58

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
    def test_locks_the_attendances_not_their_contacts(self, event):
        services.bulk_upsert_attendances(event, attendee_rows(3))

        with CaptureQueriesContext(connection) as queries:
            services.check_in(event, emails=[f"person{i}@example.com" for i in range(3)])

        (locking,) = [query["sql"] for query in queries.captured_queries if "FOR NO KEY UPDATE" in query["sql"]]
        assert locking.endswith('FOR NO KEY UPDATE OF "events_attendance"')
