"""ror_crm.bulk.insert_rows() and insert_history_of(): the rows bulk_create() and simple-history's
bulk_history_create() store, without a model instance per row (PostgreSQL: one INSERT … SELECT
FROM unnest() of array literals; SQLite: bulk_create(); insert_history_of(): one INSERT … SELECT
from the objects' table on both)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext
from simple_history.utils import bulk_create_with_history

from contacts.models import Contact, Organization
from ror_crm.bulk import insert_history_of, insert_rows

pytestmark = pytest.mark.django_db

AWKWARD_TEXTS = ["O'Brien", 'say "hi"', "back\\slash", "Ümlaut ✓", "", "NULL", "{a,b}", "(1, 2)", "%s %(x)s"]
STORED = ("email", "first_name", "last_name", "job_title", "organization_id", "tags", "marketing_consent",
          "marketing_consent_at", "cadence_days", "erased_at")
COLUMNS = ("email", "first_name", "last_name", "job_title", "organization_id", "tags", "marketing_consent",
           "marketing_consent_at", "cadence_days")
HISTORY = ("id", "email", "first_name", "organization_id", "tags", "marketing_consent_at", "history_type",
           "history_change_reason", "history_user_id")


def people(prefix: str, organization: Organization) -> list[Contact]:
    berlin = ZoneInfo("Europe/Berlin")
    return [
        Contact(email=f"{prefix}{i}@x.example", first_name=text, last_name=text[::-1], job_title="",
                organization=organization if i % 2 else None, tags=[text, "vip"] if i % 3 else [],
                marketing_consent=bool(i % 2),
                marketing_consent_at=datetime(2025, 10, 26, 2, 30, fold=i % 2, tzinfo=berlin) if i % 2 else None,
                cadence_days=i or None)
        for i, text in enumerate(AWKWARD_TEXTS)
    ]


def as_columns(contacts: list[Contact], fields=COLUMNS) -> dict[str, list]:
    return {name: [getattr(contact, name) for contact in contacts] for name in fields}


def stored(emails, fields=STORED):
    return list(Contact.objects.filter(email__in=emails).order_by("email").values_list(*fields))


def history(emails, fields=HISTORY):
    rows = Contact.history.filter(email__in=emails).order_by("email").values_list(*fields)
    return [tuple(value if name != "id" else None for name, value in zip(fields, row, strict=True)) for row in rows]


def test_contacts_and_their_history_are_stored_as_bulk_create_stores_them():
    organization = Organization.objects.create(name="Hafen AG")
    ours, django_s = people("ours", organization), people("django", organization)

    with CaptureQueriesContext(connection) as queries:
        pks = insert_rows(Contact, as_columns(ours))
        insert_history_of(Contact.objects.filter(pk__any_of=pks), history_type="+")
    bulk_create_with_history(django_s, Contact)

    assert pks == [Contact.objects.get(email=c.email).pk for c in ours]
    if connection.vendor == "postgresql":
        assert len(queries) == 2  # one INSERT each
    ours_rows = [row[1:] for row in stored([c.email for c in ours])]
    django_rows = [row[1:] for row in stored([c.email for c in django_s])]
    assert ours_rows == django_rows
    same_history = [row[2:] for row in history([c.email for c in ours])]
    django_history = [row[2:] for row in history([c.email for c in django_s])]
    assert same_history == django_history
    assert set(Contact.history.filter(email__startswith="ours").values_list("id", flat=True)) == set(pks)


def test_the_columns_left_out_are_stored_at_their_defaults():
    [pk] = insert_rows(Contact, {"email": ["bare@x.example"]})
    Contact.objects.create(email="created@x.example")

    left_out = [field.attname for field in Contact._meta.concrete_fields
                if field.attname not in ("id", "email", "created_at", "updated_at")]
    assert {"tags", "marketing_consent"} <= set(left_out)
    assert stored(["bare@x.example"], left_out) == stored(["created@x.example"], left_out)
    assert insert_rows(Contact, {"email": []}) == []


def test_constants_are_stored_in_every_row_as_columns_of_their_value_are():
    organization = Organization.objects.create(name="Hafen AG")
    moment = datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin"))
    shared = {"first_name": "O'Brien {a,b}", "organization_id": organization.pk, "tags": ["vip", "NULL"],
              "marketing_consent": True, "marketing_consent_at": moment, "cadence_days": 30}
    emails = ["c1@x.example", "c2@x.example"]

    with CaptureQueriesContext(connection) as queries:
        pks = insert_rows(Contact, {"email": emails}, constants=shared)
    insert_rows(Contact, {"email": ["d1@x.example", "d2@x.example"], **{name: [value] * 2 for name, value in shared.items()}})

    assert len(pks) == 2
    if connection.vendor == "postgresql":
        assert len(queries) == 1
    assert [row[1:] for row in stored(emails)] == [row[1:] for row in stored(["d1@x.example", "d2@x.example"])]
    first_name, tags, consent_at = stored(emails, ("first_name", "tags", "marketing_consent_at"))[0]
    assert (first_name, tags, consent_at.timestamp()) == (shared["first_name"], shared["tags"], moment.timestamp())


def test_an_expression_as_a_constant_is_inserted_by_bulk_create():
    [pk] = insert_rows(Contact, {"email": ["now@x.example"]}, constants={"marketing_consent_at": Now()})

    assert Contact.objects.get(pk=pk).marketing_consent_at is not None


@pytest.mark.parametrize(("columns", "constants"), [
    ({"email": ["a@x.example"], "frist_name": ["Typo"]}, {}),
    ({"email": ["a@x.example"], "organization": [None]}, {}),  # the relation's name, not its attname
    ({"email": ["a@x.example"]}, {"owner": None}),
    ({"email": ["a@x.example", "b@x.example"], "first_name": ["Only one"]}, {}),
])
def test_unknown_columns_and_columns_of_different_lengths_are_refused(columns, constants):
    with pytest.raises(ValueError, match="insert_rows"):
        insert_rows(Contact, columns, constants=constants)
    assert not Contact.objects.exists()


def test_a_constraint_violation_inserts_none_of_the_rows():
    Contact.objects.create(email="taken@x.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Contact, {"email": ["free@x.example", "TAKEN@x.example"]})
    assert not Contact.objects.filter(email="free@x.example").exists()


def test_history_of_a_queryset_is_the_history_of_its_objects():
    organization = Organization.objects.create(name="Hafen AG")
    ours, theirs = people("ours", organization), people("theirs", organization)
    insert_rows(Contact, as_columns(ours + theirs))
    staff = get_user_model().objects.create_user("history-writer")
    when = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)

    with CaptureQueriesContext(connection) as queries:
        written = insert_history_of(Contact.objects.filter(email__startswith="ours"), user=staff, when=when)
    Contact.history.bulk_history_create(Contact.objects.filter(email__startswith="theirs"), update=True,
                                        default_user=staff, default_change_reason=None, default_date=when)

    assert written == len(ours)
    assert len(queries) == 1
    fields = (*HISTORY, "history_date", "last_name", "job_title", "cadence_days")
    assert [row[2:] for row in history([c.email for c in ours], fields)] == \
        [row[2:] for row in history([c.email for c in theirs], fields)]
    assert {row[0] for row in history([c.email for c in ours], ("history_user_id",))} == {staff.pk}
    assert set(Contact.history.filter(email__startswith="ours").values_list("id", "created_at")) == \
        set(Contact.objects.filter(email__startswith="ours").values_list("id", "created_at"))


def test_history_of_a_queryset_names_nobody_without_a_user_or_a_request():
    Contact.objects.create(email="alone@x.example")

    assert insert_history_of(Contact.objects.filter(email="alone@x.example")) == 1
    assert insert_history_of(Contact.objects.none()) == 0
    row = Contact.history.filter(email="alone@x.example", history_type="~").values_list(
        "history_user_id", "history_change_reason").get()
    assert row == (None, None)
