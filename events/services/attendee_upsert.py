"""Attendee lists: plan and apply rows of contacts and attendances (bulk API, admin import)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact, Organization, normalize_email, organization_key
from contacts.referral_links import link_referrals
from events.choices import AttendanceRole, AttendanceStatus, EventStatus
from events.forms import clean_attendee_row
from events.models import HAPPENED_STATUSES, Attendance, Event, checked_in_status, registration_time
from events.services.late_data import notify_late_data
from ror_crm.bulk import bulk_update_rows, insert_history_of, insert_rows
from ror_crm.db import share_locked, text_pairs_in
from ror_crm.validators import NO_OFFSET_MESSAGE, lacks_offset

BULK_MAX_ROWS = 1000


@dataclass
class BulkUpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Rows left out because an earlier row has the same e-mail, as (row, earlier row); not counted.
    duplicates: list[tuple[int, int]] = field(default_factory=list, repr=False)
    # Contacts whose attendance was created or changed: scoring's late-data input.
    contact_ids: list[int] = field(default_factory=list, repr=False)


@dataclass
class FieldChange:
    """A value of a row that differs from the stored contact or attendance.

    `applied` is False where the upsert's rules keep the stored value (STATUS_STAGE, check-in
    time); the admin preview shows both kinds.
    """

    field: str
    old: Any
    new: Any
    applied: bool = True


@dataclass(slots=True)
class StoredContact:
    """The columns of a stored contact the upsert's rules compare (a batch reads a thousand: as
    model instances, with their organizations, they were a third of planning it)."""

    pk: int
    first_name: str
    last_name: str
    job_title: str
    organization_id: int | None
    organization_name: str | None

    COLUMNS: ClassVar[tuple[str, ...]] = ("pk", "first_name", "last_name", "job_title", "organization_id", "organization__name")


@dataclass(slots=True)
class StoredAttendance:
    pk: int
    contact_id: int
    role: str
    status: str
    checked_in_at: datetime | None
    external_id: str | None
    source: str
    registered_at: datetime | None

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "pk", "contact_id", "role", "status", "checked_in_at", "external_id", "source", "registered_at")


@dataclass
class AttendeeRowPlan:
    """What upserting one attendee row does. Rows with errors or a duplicate_of write nothing."""

    index: int  # 0-based position in the rows
    row: dict[str, Any] = field(default_factory=dict)  # cleaned values of the columns the row has
    errors: dict[str, list[str]] = field(default_factory=dict)
    duplicate_of: int | None = None  # position of the earlier row with the same e-mail
    contact: StoredContact | None = None  # the stored contact; None: the row creates it
    attendance: StoredAttendance | None = None  # the stored attendance at the event; None: the row creates it
    changes: list[FieldChange] = field(default_factory=list)  # against the stored contact and attendance
    claims: tuple[str, str] | None = None  # the (source, external_id) the row sets, when it may
    releases: tuple[str, str] | None = None  # the one its stored attendance had before

    @property
    def applies(self) -> bool:
        return not self.errors and self.duplicate_of is None

    @property
    def changed(self) -> bool:
        return any(change.applied for change in self.changes)


@dataclass
class AttendeePlan:
    rows: list[AttendeeRowPlan]


@dataclass
class EarlierRows:
    """What the rows before a batch of one list claimed, for a list planned and applied in
    batches (the admin import streams its file): the first row of each e-mail and the external
    ids set, so that the whole list follows the one-call rules. Positions are the list's: a
    batch's rows are at `offset`, `offset + 1`, …; record() moves past the batch once it counts.
    """

    offset: int = 0
    first_of_email: dict[str, int] = field(default_factory=dict)
    claimed: set[tuple[str, str]] = field(default_factory=set)
    # Ids the list's earlier rows took away from their attendances: in one call they were still
    # stored, so a later row claiming one is refused as taken.
    released: set[tuple[str, str]] = field(default_factory=set)

    def record(self, plan: AttendeePlan) -> None:
        for row_plan in plan.rows:
            if "email" in row_plan.row:  # a valid row: later rows of its e-mail are left out
                self.first_of_email.setdefault(row_plan.row["email"], row_plan.index)
            if row_plan.claims is not None:
                self.claimed.add(row_plan.claims)
            if row_plan.releases is not None:
                self.released.add(row_plan.releases)
        self.offset += len(plan.rows)

    def skip(self, checked: "list[CheckedRow]") -> None:
        """Move past rows applied before (a resumed import), given what they say
        (check_attendee_rows()): their e-mails count again; their external ids are stored by now,
        which refuses them to later rows just the same."""
        self.record(AttendeePlan(rows=_validated_plans(checked, self)))


CONTACT_ROW_FIELDS = ("first_name", "last_name", "job_title")
ATTENDANCE_ROW_FIELDS = ("role", "status", "checked_in_at", "external_id", "source")
EXTERNAL_ID_TAKEN = "This external id belongs to another attendance."
# In English like the other row messages of the service; the admin translates them (SERVICE_MESSAGES).
NOT_STARTED_MESSAGE_EN = "This event has not started yet: nobody can have attended or missed it."
CHECKED_IN_BEFORE_MESSAGE_EN = "This check-in time is more than a day before the event starts."
CANCELLED_MESSAGE_EN = "This event was cancelled: nobody can have attended or missed it."
ONLY_ATTENDED_CHECKED_IN_MESSAGE_EN = (
    "Only someone who attended has a check-in time: clear it for a no-show, a cancellation or a place on the "
    "waiting list.")
EXTERNAL_ID_REPEATED = "An earlier row of this list has the same external id."

# How far an attendance has got. A row never moves it back: re-importing the registration list
# after the event must not undo check-ins (README: importing a list twice changes nothing).
# Attended is final (staff may still change it by hand), a no-show may turn out to have come.
STATUS_STAGE = {
    AttendanceStatus.INVITED: 0,
    AttendanceStatus.REGISTERED: 1,
    AttendanceStatus.WAITLISTED: 1,
    AttendanceStatus.CANCELLED: 1,
    AttendanceStatus.NO_SHOW: 2,
    AttendanceStatus.ATTENDED: 3,
}


# What a row says on its own: its cleaned values of the columns it has (the e-mail normalised), or
# its errors by field (then no values).
CheckedRow = tuple[dict[str, Any], dict[str, list[str]]]


def check_attendee_rows(rows: list[Any], *, times_with_offset: bool = False) -> list[CheckedRow]:
    """What each row says on its own, before any stored data or other row is looked at: the
    admin import's preview keeps it for the import (events.imports), which then need not read and
    clean the file again. `times_with_offset`: a check-in time must say its offset (the API; a
    spreadsheet's times are the staff's local ones)."""
    checked: list[CheckedRow] = []
    for row in rows:
        if not isinstance(row, dict):
            checked.append(({}, {"non_field_errors": ["Each row must be an object."]}))
            continue
        cleaned, errors = clean_attendee_row(row)
        if times_with_offset and lacks_offset(row.get("checked_in_at")):
            errors = {**errors, "checked_in_at": [NO_OFFSET_MESSAGE]}
        if errors:
            checked.append(({}, errors))
            continue
        values = {name: value for name, value in cleaned.items() if name in row}
        values["email"] = normalize_email(values["email"])
        if values.get("checked_in_at") and checked_in_status(values.get("status"), values["checked_in_at"]) \
                != AttendanceStatus.ATTENDED:  # a no-show (…) with a check-in time: which is it?
            checked.append(({}, {"checked_in_at": [ONLY_ATTENDED_CHECKED_IN_MESSAGE_EN]}))
            continue
        checked.append((values, {}))
    return checked


def _validated_plans(checked: list[CheckedRow], earlier: EarlierRows) -> list[AttendeeRowPlan]:
    plans, first_of_email = [], {}
    for index, (values, errors) in enumerate(checked, start=earlier.offset):
        plan = AttendeeRowPlan(index=index)
        plans.append(plan)
        if errors:
            plan.errors = errors
            continue
        plan.row = values
        # The first row of an e-mail is the one applied; later ones are left out whole.
        first = earlier.first_of_email.get(plan.row["email"])
        if first is None:
            first = first_of_email.setdefault(plan.row["email"], index)
        plan.duplicate_of = first if first != index else None
    return plans


def _organization_name(row: dict[str, Any]) -> str:
    return (row.get("organization") or "").strip()


def _stored_organizations(names: Iterable[str]) -> dict[str, int]:
    """The ids of the stored organizations of these names, by organization_key()."""
    keys = {organization_key(name) for name in names if name}
    if not keys:
        return {}
    found = Organization.objects.filter(name_key__any_of=sorted(keys))  # one IN instead of an OR per name
    return dict(found.values_list("name_key", "pk"))


def _contact_changes(contact: StoredContact, row: dict[str, Any]) -> list[FieldChange]:
    changes = [
        FieldChange(name, getattr(contact, name), row[name])
        for name in CONTACT_ROW_FIELDS
        if row.get(name) and getattr(contact, name) != row[name]
    ]
    organization = _organization_name(row)
    if organization and contact.organization_name is None:
        changes.append(FieldChange("organization", None, organization))
    elif organization and organization_key(contact.organization_name) != organization_key(organization):
        # An upsert takes the row's organization (API.md); the preview names the move, since lists
        # spell companies freely ("Nordlicht Logistik" for "… GmbH").
        changes.append(FieldChange("organization", contact.organization_name, organization))
    return changes


def _attendance_changes(attendance: StoredAttendance, row: dict[str, Any]) -> list[FieldChange]:
    changes = []
    for name in ATTENDANCE_ROW_FIELDS:
        value, stored = row.get(name), getattr(attendance, name)
        if value in (None, "") or value == stored:
            continue
        if name == "status":
            applied = STATUS_STAGE[value] >= STATUS_STAGE[stored]
        elif name == "checked_in_at":
            applied = stored is None  # the first check-in time stays, as with check_in()
        else:
            applied = True
        changes.append(FieldChange(name, stored, value, applied))
    if attendance.checked_in_at is None and row.get("checked_in_at"):  # checked in by this row: attended
        changes = [change for change in changes if change.field != "status"]
        if attendance.status != AttendanceStatus.ATTENDED:
            changes.append(FieldChange("status", attendance.status, AttendanceStatus.ATTENDED))
    return changes


def _external_key(plan: AttendeeRowPlan) -> tuple[str, str] | None:
    """The (source, external_id) the row's attendance has after the upsert, when the row sets it."""
    stored = plan.attendance
    external_id = plan.row.get("external_id") or (stored.external_id if stored else None)
    if not external_id:
        return None
    source = plan.row.get("source") or (stored.source if stored else "")
    if stored is not None and (stored.source, stored.external_id) == (source, external_id):
        return None  # its own, unchanged
    return source, external_id


def plan_attendee_rows(
    event: Event, rows: list[Any] | None, earlier: EarlierRows | None = None, *, checked: list[CheckedRow] | None = None
) -> AttendeePlan:
    """Validate attendee rows and work out what upserting them into the event does; writes nothing.

    Rules (API.md attendances/bulk/, README import): contacts by e-mail, attendances by (event,
    contact); blank values keep what is stored; the first row of an e-mail wins, later ones are
    left out; an external id another attendance holds (anywhere: (source, external_id) is unique)
    or an earlier row claims is a row error; a status never moves back (STATUS_STAGE); a stored
    check-in time stays. At most three queries, whatever the row count. `earlier`: what the rows
    before these claimed, when a list comes in batches (not changed here: see EarlierRows.record).
    `checked`: what the rows say (check_attendee_rows()), when known; `rows` may be None then.
    """
    earlier = earlier or EarlierRows()
    plans = _validated_plans(check_attendee_rows(rows) if checked is None else checked, earlier)
    if event.too_early_to_attend():
        for plan in plans:  # attended or missed, or checked in, before the event: refused
            if not plan.applies:
                continue
            if plan.row.get("status") in HAPPENED_STATUSES:
                plan.errors = {"status": [NOT_STARTED_MESSAGE_EN]}
            elif plan.row.get("checked_in_at"):
                plan.errors = {"checked_in_at": [NOT_STARTED_MESSAGE_EN]}
    for plan in plans:  # a check-in time before the desks opened (Event.too_early_to_attend as of it)
        if plan.applies and plan.row.get("checked_in_at") and event.too_early_to_attend(plan.row["checked_in_at"]):
            plan.errors = {"checked_in_at": [CHECKED_IN_BEFORE_MESSAGE_EN]}
    applying = [plan for plan in plans if plan.applies]
    # Only the columns the rules compare (a batch's thousand stored rows spent most of their
    # reading on loading timestamps no rule looks at), as plain rows.
    contacts = {
        email: StoredContact(*values)
        for email, *values in Contact.objects.with_emails(plan.row["email"] for plan in applying)
        .order_by().values_list("email", *StoredContact.COLUMNS)
    }
    attendances = {}
    if contacts:
        attendances = {
            values[1]: StoredAttendance(*values)
            for values in Attendance.objects.filter(event=event, contact_id__any_of=[c.pk for c in contacts.values()])
            .order_by().values_list(*StoredAttendance.COLUMNS)
        }
    for plan in applying:
        plan.contact = contacts.get(plan.row["email"])
        plan.attendance = attendances.get(plan.contact.pk) if plan.contact else None
    if event.status == EventStatus.CANCELLED:  # nobody attended or missed it: a row saying so anew is refused
        for plan in applying:
            stored = plan.attendance
            if plan.row.get("checked_in_at") and (stored is None or stored.checked_in_at is None):
                plan.errors = {"checked_in_at": [CANCELLED_MESSAGE_EN]}
            elif plan.row.get("status") in HAPPENED_STATUSES and (stored is None or stored.status not in HAPPENED_STATUSES):
                plan.errors = {"status": [CANCELLED_MESSAGE_EN]}
        applying = [plan for plan in applying if plan.applies]

    # External ids: refused before anything is written, so a refused row leaves no contact behind.
    keys = {plan.index: key for plan in applying if (key := _external_key(plan))}
    taken: set[tuple[str, str]] = set()
    if keys:
        taken = set(
            Attendance.objects.filter(text_pairs_in(Attendance, ("source", "external_id"), keys.values()),
                                      external_id__isnull=False)  # the unique index's condition
            .order_by().values_list("source", "external_id")
        )
    claimed: set[tuple[str, str]] = set()
    for plan in applying:
        key = keys.get(plan.index)
        if key is not None and key in earlier.claimed:  # (never a stored one: its row was refused then)
            plan.errors = {"external_id": [EXTERNAL_ID_REPEATED]}
            continue
        if key is not None and (key in taken or key in earlier.released):
            plan.errors = {"external_id": [EXTERNAL_ID_TAKEN]}
            continue
        if key is not None and key in claimed:
            plan.errors = {"external_id": [EXTERNAL_ID_REPEATED]}
            continue
        if key is not None:
            claimed.add(key)
            plan.claims = key
            if plan.attendance is not None and plan.attendance.external_id:
                plan.releases = (plan.attendance.source, plan.attendance.external_id)
        if plan.contact is not None:
            plan.changes = _contact_changes(plan.contact, plan.row)
        if plan.attendance is not None:
            plan.changes += _attendance_changes(plan.attendance, plan.row)
    return AttendeePlan(rows=plans)


def bulk_upsert_attendances(event: Event, rows: list[Any], *, times_with_offset: bool = False) -> BulkUpsertResult:
    """Upsert contacts by e-mail and attendances by (event, contact) (API.md: attendances/bulk/).

    At most BULK_MAX_ROWS rows; the rules are plan_attendee_rows()'s. `times_with_offset`: as
    check_attendee_rows() (the API's rule).
    """
    if len(rows) > BULK_MAX_ROWS:
        raise ValueError(f"At most {BULK_MAX_ROWS} rows per request.")
    result = upsert_attendee_rows(event, None, checked=check_attendee_rows(rows, times_with_offset=times_with_offset))
    # A partner learns of a left-out row as of any other row not applied: in `errors`.
    result.errors += [
        {"row": row, "errors": {"email": [f"Row {first} has the same e-mail; this row was left out."]}}
        for row, first in result.duplicates
    ]
    result.errors.sort(key=lambda error: error["row"])
    return result


def upsert_attendee_rows(
    event: Event, rows: list[Any] | None, earlier: EarlierRows | None = None, *, history_user=None,
    checked: list[CheckedRow] | None = None,
) -> BulkUpsertResult:
    """Apply the rows as plan_attendee_rows() says, in one transaction (also the admin's import).

    Rows with errors are reported by their 0-based position (in the whole list, given
    `earlier`, which then moves past these rows) and write nothing. Replaying the same rows
    changes nothing, also after check-ins. A fixed number of queries per call. `history_user`:
    whom the contacts' history names (default: the request's user, as simple-history's middleware
    gives it). `checked` as for plan_attendee_rows().
    """
    checked = check_attendee_rows(rows) if checked is None else checked

    def apply() -> tuple[AttendeePlan, BulkUpsertResult]:
        # One transaction for the rows and the rescoring they ask for (the outbox's rows); the
        # event as stored until commit (its status and start decide what a row may say).
        with transaction.atomic():
            stored_event = share_locked(event)
            plan = plan_attendee_rows(stored_event, None, earlier, checked=checked)
            result = _apply_attendee_plan(stored_event, plan, history_user)
            notify_late_data(stored_event, result.contact_ids)
        return plan, result

    try:
        plan, result = apply()
    except IntegrityError:
        # A concurrent import created some of the same contacts, organizations or external ids;
        # the second plan sees them.
        plan, result = apply()
    if earlier is not None:
        earlier.record(plan)
    return result


def _organizations_for(names: set[str]) -> dict[str, int]:
    """The ids of the organizations of these names by organization_key(), creating the missing ones."""
    organizations = _stored_organizations(names)
    missing = {organization_key(name): name for name in names if name and organization_key(name) not in organizations}
    if missing:
        Organization.objects.bulk_create([Organization(name=name) for name in missing.values()], ignore_conflicts=True)
        organizations.update(_stored_organizations(missing))
    return organizations


def _apply_attendee_plan(event: Event, plan: AttendeePlan, history_user=None) -> BulkUpsertResult:
    result = BulkUpsertResult()
    applying = []
    for row_plan in plan.rows:
        if row_plan.errors:
            result.errors.append({"row": row_plan.index, "errors": row_plan.errors})
        elif row_plan.duplicate_of is not None:
            result.duplicates.append((row_plan.index, row_plan.duplicate_of))
        else:
            applying.append(row_plan)
    if not applying:
        return result
    organizations = _organizations_for({
        _organization_name(row_plan.row) for row_plan in applying
        if row_plan.contact is None or any(c.field == "organization" and c.applied for c in row_plan.changes)
    })

    # Contacts: create the new ones (as columns: no instance per row), apply the changes planned
    # for the stored ones.
    new_rows = [row_plan.row for row_plan in applying if row_plan.contact is None]
    changed_contacts: list[Contact] = []
    now = timezone.now()
    for row_plan in applying:
        stored = row_plan.contact
        if stored is None:
            continue
        contact_changes = [c for c in row_plan.changes if c.applied and c.field in (*CONTACT_ROW_FIELDS, "organization")]
        if not contact_changes:
            continue
        contact = Contact(pk=stored.pk, first_name=stored.first_name, last_name=stored.last_name,
                          job_title=stored.job_title, organization_id=stored.organization_id, updated_at=now)
        for change in contact_changes:
            if change.field == "organization":
                contact.organization_id = organizations.get(organization_key(change.new))
            else:
                setattr(contact, change.field, change.new)
        changed_contacts.append(contact)
    new_contact_ids: dict[str, int] = {}
    if new_rows:
        pks = insert_rows(Contact, {
            "email": [row["email"] for row in new_rows],
            "organization_id": [organizations.get(organization_key(_organization_name(row))) for row in new_rows],
            **{name: [row.get(name) or "" for row in new_rows] for name in CONTACT_ROW_FIELDS},
        }, constants={"created_at": now})
        new_contact_ids = {row["email"]: pk for row, pk in zip(new_rows, pks, strict=True)}
        insert_history_of(Contact.objects.filter(pk__any_of=pks), history_type="+", user=history_user)
    if changed_contacts:
        # The history rows bulk_update_with_history() writes, after an UPDATE without its CASE.
        bulk_update_rows(Contact, changed_contacts, [*CONTACT_ROW_FIELDS, "organization", "updated_at"])
        insert_history_of(Contact.objects.filter(pk__any_of=[c.pk for c in changed_contacts]), user=history_user)

    # Attendances by (event, contact).
    created: list[tuple[int, dict[str, Any]]] = []  # the new ones' (contact id, row)
    updated: list[Attendance] = []
    for row_plan in applying:
        row, stored = row_plan.row, row_plan.attendance
        if stored is None:
            created.append((row_plan.contact.pk if row_plan.contact else new_contact_ids[row["email"]], row))
            continue
        if not row_plan.changed:
            result.unchanged += 1
            continue
        attendance = Attendance(
            pk=stored.pk, contact_id=stored.contact_id, role=stored.role, status=stored.status,
            checked_in_at=stored.checked_in_at, external_id=stored.external_id, source=stored.source,
        )
        for change in row_plan.changes:
            if change.applied and change.field in ATTENDANCE_ROW_FIELDS:
                setattr(attendance, change.field, change.new)
        # an invitation taken up registers now (services.update_attendance)
        attendance.registered_at = stored.registered_at or registration_time(attendance.status, now)
        attendance.updated_at = now
        updated.append(attendance)
    created_contact_ids = [contact_id for contact_id, _row in created]
    created_rows = [row for _contact_id, row in created]
    insert_rows(Attendance, {
        "contact_id": created_contact_ids,
        "role": [row.get("role") or AttendanceRole.ATTENDEE for row in created_rows],
        "status": [checked_in_status(row.get("status"), row.get("checked_in_at")) for row in created_rows],
        "checked_in_at": [row.get("checked_in_at") for row in created_rows],
        "external_id": [row.get("external_id") or None for row in created_rows],
        "source": [row.get("source") or "" for row in created_rows],
        "registered_at": [registration_time(checked_in_status(row.get("status"), row.get("checked_in_at")), now)
                          for row in created_rows],
    }, constants={"event_id": event.pk, "created_at": now})
    bulk_update_rows(Attendance, updated, [*ATTENDANCE_ROW_FIELDS, "registered_at", "updated_at"])
    # Referrals naming the new contacts' e-mails: linked in one UPDATE, after the attendances,
    # which say whether a referral converted (contacts.referral_links).
    link_referrals(new_contact_ids.values())
    result.created, result.updated = len(created), len(updated)
    result.errors.sort(key=lambda error: error["row"])
    result.contact_ids = sorted([*created_contact_ids, *(attendance.contact_id for attendance in updated)])
    return result
