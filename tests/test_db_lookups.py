"""ror_crm.db's set lookups (`any_of` on ids and texts, text_pairs_in()) and its binary reads and
writes, on both databases; on PostgreSQL the plans an attendee list's batch gets from the lookups:
its thousand e-mails and external ids found through the unique indexes, not by scanning every
contact or attendance."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models.functions import Lower, Trim
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from events.models import Attendance, Event
from events.services.attendee_upsert import plan_attendee_rows
from ror_crm.bulk import insert_rows
from ror_crm.db import text_pairs_in

pytestmark = pytest.mark.django_db

AWKWARD = ["O'Brien", 'say "hi"', "back\\slash", "a,b", "{x}", "NULL", "Ümlaut ✓", " padded "]


@pytest.fixture
def event():
    starts = datetime(2026, 3, 1, 9, tzinfo=UTC)
    return Event.objects.create(name="Lookups", starts_at=starts, ends_at=starts + timedelta(hours=8))


def test_any_of_finds_exactly_the_texts_and_ids_given(event):
    people = [Contact.objects.create(email=f"p{index}@x.example", last_name=text) for index, text in enumerate(AWKWARD)]

    assert set(Contact.objects.filter(last_name__any_of=AWKWARD[:3] + ["nobody"]).values_list("last_name", flat=True)) == \
        set(AWKWARD[:3])
    assert set(Contact.objects.filter(pk__any_of=[people[0].pk, people[-1].pk, 10**12]).values_list("pk", flat=True)) == \
        {people[0].pk, people[-1].pk}
    found = Contact.objects.alias(key=Lower(Trim("email"))).filter(key__any_of=["P1@X.EXAMPLE".lower(), "p2@x.example"])
    assert set(found.values_list("pk", flat=True)) == {people[1].pk, people[2].pk}
    assert not Contact.objects.filter(last_name__any_of=[]).exists()


def test_text_pairs_in_matches_pairs_not_the_combinations_of_their_parts(event):
    contacts = insert_rows(Contact, {"email": [f"q{index}@x.example" for index in range(len(AWKWARD))]})
    insert_rows(Attendance, {
        "event_id": [event.pk] * len(AWKWARD), "contact_id": contacts,
        "source": AWKWARD, "external_id": list(reversed(AWKWARD)), "registered_at": [event.starts_at] * len(AWKWARD),
    })
    stored = list(zip(AWKWARD, reversed(AWKWARD), strict=True))
    asked = [stored[0], stored[3], (stored[1][0], stored[2][1]), ("", "none"), stored[3]]

    found = Attendance.objects.filter(text_pairs_in(Attendance, ("source", "external_id"), asked))

    assert set(found.values_list("source", "external_id")) == {stored[0], stored[3]}
    assert not Attendance.objects.filter(text_pairs_in(Attendance, ("source", "external_id"), [])).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans of PostgreSQL")
def test_on_postgresql_a_batch_finds_its_contacts_and_external_ids_by_the_unique_indexes(event):
    count = 60_000  # enough for the planner to prefer the indexes once it knows the tables' sizes
    contacts = insert_rows(Contact, {"email": [f"known{index}@x.example" for index in range(count)]})
    # Spread over 30 events, each's rows together, as a real table's are: with every attendance at
    # the one event, reading the whole table and reading a thousand of its rows by index cost the
    # planner about the same, and which it chose turned on ANALYZE's sample.
    events = [event] + [
        Event.objects.create(name=f"Other {number}", starts_at=event.starts_at, ends_at=event.ends_at)
        for number in range(29)
    ]
    insert_rows(Attendance, {
        "event_id": [events[index * len(events) // count].pk for index in range(count)], "contact_id": contacts,
        "external_id": [f"T-{index}" for index in range(count)], "registered_at": [event.starts_at] * count,
    })
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact; ANALYZE events_attendance")
    rows = [{"email": f"Known{index}@x.example", "external_id": f"T-{index + 1}"} for index in range(0, 20_000, 20)]

    with CaptureQueriesContext(connection) as captured:
        plan = plan_attendee_rows(event, rows)

    assert all(row_plan.contact is not None for row_plan in plan.rows)
    assert all(row_plan.errors == {"external_id": ["This external id belongs to another attendance."]}
               for row_plan in plan.rows)  # each row's id is the next contact's
    plans = {}
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + query["sql"])
            plans[query["sql"][:60]] = "\n".join(row[0] for row in cursor.fetchall())
    explained = "\n\n".join(plans.values())
    assert "contact_email_normalized_unique" in explained, explained
    assert "attendance_source_external_id_unique" in explained, explained
    assert "Seq Scan on contacts_contact" not in explained, explained
    assert "Seq Scan on events_attendance" not in explained, explained


def test_bytes_written_and_read_back_as_they_are(event):
    from events.models import AttendeeImport
    from ror_crm.db import read_bytes, write_bytes

    attendee_import = AttendeeImport.objects.create(event=event, filename="list.csv")
    data = bytes(range(256)) * 1000 + b"\x00\\x'\""

    write_bytes(AttendeeImport, attendee_import.pk, "data", data)

    assert read_bytes(AttendeeImport, attendee_import.pk, "data") == data
    assert bytes(AttendeeImport.objects.get(pk=attendee_import.pk).data) == data  # as the ORM reads it too
    write_bytes(AttendeeImport, attendee_import.pk, "data", b"")
    assert read_bytes(AttendeeImport, attendee_import.pk, "data") == b""
    assert read_bytes(AttendeeImport, attendee_import.pk + 1, "data") == b""  # no such row
