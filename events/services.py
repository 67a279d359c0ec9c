"""Every write to events, attendances, interactions and feedback (API, admin, imports).

Writes that land on a completed event are "late data" (DOMAIN.md): they tell scoring, which
recomputes the affected contacts and the event's metrics after commit, debounced.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from contacts.models import Contact, Organization, ensure_writable, normalize_email
from events.choices import AttendanceRole, AttendanceStatus, EventStatus
from events.exceptions import DuplicateAttendance, DuplicateFeedback, EventCancelled
from events.forms import AttendeeRowForm
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from events.signals import event_completed
from ror_crm.db import locked, save_unique

BULK_MAX_ROWS = 1000


def notify_late_data(event: Event | None, contact_ids: Iterable[int | None]) -> None:
    """Tell scoring that data of a completed event changed for these contacts."""
    if event is None or event.status != EventStatus.COMPLETED:
        return
    from scoring import triggers  # scoring depends on events, not the other way round

    ids = sorted({contact_id for contact_id in contact_ids if contact_id is not None})
    if ids:
        triggers.data_changed(event.pk, ids)


def existing_event(event_id: int | None) -> Event | None:
    """The event, or None when there is none or a concurrent request has just deleted it
    (which deleted the rows of the event too: deleting one of them again is no error)."""
    return Event.objects.filter(pk=event_id).first() if event_id is not None else None


# Events ---------------------------------------------------------------------------------


def create_event(**fields: Any) -> Event:
    completing = fields.get("status") == EventStatus.COMPLETED
    if completing:
        fields["status"] = EventStatus.PLANNED
    event = Event(**fields)
    event.full_clean()
    event.save()
    if completing:
        event = complete_event(event)
    return event


@transaction.atomic
def update_event(event: Event, **fields: Any) -> Event:
    """Plain field changes; moving to `completed` goes through complete_event()."""
    event = locked(event)
    completing = fields.get("status") == EventStatus.COMPLETED and event.status != EventStatus.COMPLETED
    if completing:
        fields.pop("status")
    for name, value in fields.items():
        setattr(event, name, value)
    if event.status != EventStatus.COMPLETED:
        event.completed_at = None
    event.full_clean()
    event.save()
    if completing:
        event = complete_event(event)
    return event


def complete_event(event: Event, *, by=None) -> Event:
    """"After the event": mark it completed and have scoring run (DOMAIN.md, triggers).

    Completing twice is harmless: the second call changes nothing and queues nothing.
    A cancelled event cannot be completed.
    """
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.status == EventStatus.CANCELLED:
            raise EventCancelled("A cancelled event cannot be completed.", existing_id=event.pk)
        if event.status == EventStatus.COMPLETED:
            return event
        event.status = EventStatus.COMPLETED
        event.completed_at = timezone.now()
        event.save(update_fields=["status", "completed_at", "updated_at"])

        from scoring import triggers

        triggers.schedule_event_recompute(event.pk)
        event_id = event.pk
        transaction.on_commit(lambda: event_completed.send(sender=Event, event_id=event_id))
    return event


def delete_event(event: Event) -> None:
    """Delete the event and its rows. Its contacts are rescored without it, and the events whose
    figures read its attendances (its next edition, its attendees' later events) recomputed."""
    from scoring import triggers  # scoring depends on events, not the other way round
    from scoring.choices import ScoreTrigger
    from scoring.services import event_contact_ids, events_depending_on

    contact_ids = event_contact_ids(event.pk)
    dependent = events_depending_on([event.pk], contact_ids)
    event.delete()
    triggers.schedule_contacts_recompute(contact_ids, trigger=ScoreTrigger.LATE_DATA)
    triggers.refresh_event_metrics(dependent)


# Attendances ----------------------------------------------------------------------------


def _raise_if_attended_twice(event_id: int | None, contact_id: int | None, *, exclude_pk: int | None = None) -> None:
    existing = (
        Attendance.objects.filter(event_id=event_id, contact_id=contact_id)
        .exclude(pk=exclude_pk)
        .values_list("pk", flat=True)
        .first()
    )
    if existing is not None:
        raise DuplicateAttendance("This contact already has an attendance for this event.", existing_id=existing)


def _default_check_in(attendance: Attendance) -> None:
    if attendance.checked_in_at is not None and attendance.status in (AttendanceStatus.REGISTERED, AttendanceStatus.INVITED):
        attendance.status = AttendanceStatus.ATTENDED


def create_attendance(**fields: Any) -> Attendance:
    ensure_writable(fields.get("contact"))
    attendance = Attendance(**fields)
    if attendance.external_id == "":
        attendance.external_id = None
    if "status" not in fields:
        _default_check_in(attendance)
    save_unique(attendance, recheck=lambda: _raise_if_attended_twice(attendance.event_id, attendance.contact_id))
    notify_late_data(attendance.event, [attendance.contact_id])
    return attendance


@transaction.atomic
def update_attendance(attendance: Attendance, **fields: Any) -> Attendance:
    attendance = locked(attendance)
    ensure_writable(attendance.contact_id, fields.get("contact"))
    old_event, old_contact_id = attendance.event, attendance.contact_id
    for name, value in fields.items():
        setattr(attendance, name, value)
    if attendance.external_id == "":
        attendance.external_id = None
    save_unique(attendance, recheck=lambda: _raise_if_attended_twice(
        attendance.event_id, attendance.contact_id, exclude_pk=attendance.pk))
    notify_late_data(attendance.event, [attendance.contact_id])
    if old_event != attendance.event or old_contact_id != attendance.contact_id:
        notify_late_data(old_event, [old_contact_id])
    return attendance


def delete_attendance(attendance: Attendance) -> None:
    ensure_writable(attendance.contact_id)
    event, contact_id = existing_event(attendance.event_id), attendance.contact_id
    attendance.delete()
    notify_late_data(event, [contact_id])


@dataclass
class CheckInResult:
    checked_in: int = 0
    already_checked_in: int = 0
    unknown: list[str] = field(default_factory=list)


def check_in(
    event: Event,
    *,
    emails: Iterable[str] | None = None,
    external_ids: Iterable[str] | None = None,
    at: datetime | None = None,
) -> CheckInResult:
    """Mark attendances of this event `attended`; unknown people are reported, never created.

    Erased contacts count as unknown: their rows take no more writes. A fixed number of
    queries, whatever the number of people.
    """
    if emails is not None:
        wanted = {normalize_email(email): email for email in emails}
        rows = Attendance.objects.filter(event=event, contact__in=Contact.objects.with_emails(wanted.keys()))
        return _mark_attended(rows, wanted, key=lambda attendance: attendance.contact.email, at=at)
    wanted = {external_id: external_id for external_id in (external_ids or [])}
    rows = Attendance.objects.filter(event=event, external_id__in=wanted.keys())
    return _mark_attended(rows, wanted, key=lambda attendance: attendance.external_id, at=at)


@transaction.atomic
def _mark_attended(
    rows: models.QuerySet[Attendance], wanted: dict[Any, str], *, key: Callable[[Attendance], Any], at: datetime | None
) -> CheckInResult:
    """Check these rows in; `wanted` maps each row's key to the name the caller used for it,
    and what no writable row answers to is reported unknown. The rows are locked first, so
    two check-ins of one person at once count once and keep the first time."""
    attendances = rows.select_related("contact").select_for_update(no_key=True, of=("self",))
    at = at or timezone.now()
    result = CheckInResult()
    to_update, found = [], set()
    for attendance in attendances:
        if attendance.contact.is_erased:
            continue
        found.add(key(attendance))
        if attendance.status == AttendanceStatus.ATTENDED and attendance.checked_in_at is not None:
            result.already_checked_in += 1
            continue
        attendance.status = AttendanceStatus.ATTENDED
        attendance.checked_in_at = attendance.checked_in_at or at
        attendance.updated_at = timezone.now()
        to_update.append(attendance)
    result.unknown = [name for wanted_key, name in wanted.items() if wanted_key not in found]
    Attendance.objects.bulk_update(to_update, ["status", "checked_in_at", "updated_at"])
    result.checked_in = len(to_update)
    contact_ids_by_event: dict[int, list[int]] = {}
    for attendance in to_update:
        contact_ids_by_event.setdefault(attendance.event_id, []).append(attendance.contact_id)
    for event in Event.objects.filter(pk__in=contact_ids_by_event):
        notify_late_data(event, contact_ids_by_event[event.pk])
    return result


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


@dataclass
class AttendeeRowPlan:
    """What upserting one attendee row does. Rows with errors or a duplicate_of write nothing."""

    index: int  # 0-based position in the rows
    row: dict[str, Any] = field(default_factory=dict)  # cleaned values of the columns the row has
    errors: dict[str, list[str]] = field(default_factory=dict)
    duplicate_of: int | None = None  # position of the earlier row with the same e-mail
    contact: Contact | None = None  # the stored contact; None: the row creates it
    attendance: Attendance | None = None  # the stored attendance at the event; None: the row creates it
    changes: list[FieldChange] = field(default_factory=list)  # against the stored contact and attendance

    @property
    def applies(self) -> bool:
        return not self.errors and self.duplicate_of is None

    @property
    def changed(self) -> bool:
        return any(change.applied for change in self.changes)


@dataclass
class AttendeePlan:
    rows: list[AttendeeRowPlan]
    organizations: dict[str, Organization]  # stored ones the rows name, by lower-cased name


CONTACT_ROW_FIELDS = ("first_name", "last_name", "job_title")
ATTENDANCE_ROW_FIELDS = ("role", "status", "checked_in_at", "external_id", "source")
EXTERNAL_ID_TAKEN = "This external id belongs to another attendance."
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


def _form_errors(form: AttendeeRowForm) -> dict[str, list[str]]:
    return {name: [str(message) for message in messages] for name, messages in form.errors.items()}


def _validated_plans(rows: list[Any]) -> list[AttendeeRowPlan]:
    plans, first_of_email = [], {}
    for index, row in enumerate(rows):
        plan = AttendeeRowPlan(index=index)
        plans.append(plan)
        if not isinstance(row, dict):
            plan.errors = {"non_field_errors": ["Each row must be an object."]}
            continue
        form = AttendeeRowForm(row)
        if not form.is_valid():
            plan.errors = _form_errors(form)
            continue
        plan.row = {name: value for name, value in form.cleaned_data.items() if name in row}
        plan.row["email"] = normalize_email(plan.row["email"])
        # The first row of an e-mail is the one applied; later ones are left out whole.
        first = first_of_email.setdefault(plan.row["email"], index)
        plan.duplicate_of = first if first != index else None
    return plans


def _organization_name(row: dict[str, Any]) -> str:
    return (row.get("organization") or "").strip()


def _stored_organizations(names: Iterable[str]) -> dict[str, Organization]:
    keys = {name.lower() for name in names if name}
    if not keys:
        return {}
    # Lower() matches the case-insensitive unique index; one IN instead of an OR per name.
    found = Organization.objects.alias(name_key=Lower("name")).filter(name_key__in=keys)
    return {organization.name.lower(): organization for organization in found}


def _contact_changes(contact: Contact, row: dict[str, Any]) -> list[FieldChange]:
    changes = [
        FieldChange(name, getattr(contact, name), row[name])
        for name in CONTACT_ROW_FIELDS
        if row.get(name) and getattr(contact, name) != row[name]
    ]
    organization = _organization_name(row)
    if organization and contact.organization is None:
        changes.append(FieldChange("organization", None, organization))
    elif organization and contact.organization.name.lower() != organization.lower():
        # An upsert takes the row's organization (API.md); the preview names the move, since lists
        # spell companies freely ("Nordlicht Logistik" for "… GmbH").
        changes.append(FieldChange("organization", contact.organization.name, organization))
    return changes


def _attendance_changes(attendance: Attendance, row: dict[str, Any]) -> list[FieldChange]:
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
    checked_in_at = attendance.checked_in_at or row.get("checked_in_at")
    if not row.get("status") and checked_in_at is not None and attendance.status in (
        AttendanceStatus.REGISTERED, AttendanceStatus.INVITED
    ):
        changes.append(FieldChange("status", attendance.status, AttendanceStatus.ATTENDED))  # as _default_check_in
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


def plan_attendee_rows(event: Event, rows: list[Any]) -> AttendeePlan:
    """Validate attendee rows and work out what upserting them into the event does; writes nothing.

    Rules (API.md attendances/bulk/, README import): contacts by e-mail, attendances by (event,
    contact); blank values keep what is stored; the first row of an e-mail wins, later ones are
    left out; an external id another attendance holds (anywhere: (source, external_id) is unique)
    or an earlier row claims is a row error; a status never moves back (STATUS_STAGE); a stored
    check-in time stays. At most four queries, whatever the row count.
    """
    plans = _validated_plans(rows)
    applying = [plan for plan in plans if plan.applies]
    contacts = {
        contact.email: contact
        for contact in Contact.objects.with_emails(plan.row["email"] for plan in applying).select_related("organization")
    }
    attendances = {}
    if contacts:
        attendances = {
            attendance.contact_id: attendance
            for attendance in Attendance.objects.filter(event=event, contact_id__in=[c.pk for c in contacts.values()])
        }
    for plan in applying:
        plan.contact = contacts.get(plan.row["email"])
        plan.attendance = attendances.get(plan.contact.pk) if plan.contact else None

    # External ids: refused before anything is written, so a refused row leaves no contact behind.
    keys = {plan.index: key for plan in applying if (key := _external_key(plan))}
    taken: set[tuple[str, str]] = set()
    if keys:
        taken = set(
            Attendance.objects.filter(external_id__in={external_id for _, external_id in keys.values()})
            .values_list("source", "external_id")
        )
    claimed: set[tuple[str, str]] = set()
    for plan in applying:
        key = keys.get(plan.index)
        if key is not None and key in taken:
            plan.errors = {"external_id": [EXTERNAL_ID_TAKEN]}
            continue
        if key is not None and key in claimed:
            plan.errors = {"external_id": [EXTERNAL_ID_REPEATED]}
            continue
        if key is not None:
            claimed.add(key)
        if plan.contact is not None:
            plan.changes = _contact_changes(plan.contact, plan.row)
        if plan.attendance is not None:
            plan.changes += _attendance_changes(plan.attendance, plan.row)

    wanted_organizations = {_organization_name(plan.row) for plan in plans if plan.applies}
    return AttendeePlan(rows=plans, organizations=_stored_organizations(wanted_organizations))


def bulk_upsert_attendances(event: Event, rows: list[Any]) -> BulkUpsertResult:
    """Upsert contacts by e-mail and attendances by (event, contact) (API.md: attendances/bulk/).

    At most BULK_MAX_ROWS rows; the rules are plan_attendee_rows()'s.
    """
    if len(rows) > BULK_MAX_ROWS:
        raise ValueError(f"At most {BULK_MAX_ROWS} rows per request.")
    result = upsert_attendee_rows(event, rows)
    # A partner learns of a left-out row as of any other row not applied: in `errors`.
    result.errors += [
        {"row": row, "errors": {"email": [f"Row {first} has the same e-mail; this row was left out."]}}
        for row, first in result.duplicates
    ]
    result.errors.sort(key=lambda error: error["row"])
    return result


def upsert_attendee_rows(event: Event, rows: list[Any]) -> BulkUpsertResult:
    """Apply the rows as plan_attendee_rows() says, in one transaction (also the admin's import).

    Rows with errors are reported by their 0-based position and write nothing. Replaying the
    same rows changes nothing, also after check-ins. A fixed number of queries per call.
    """
    try:
        with transaction.atomic():
            result = _apply_attendee_plan(event, plan_attendee_rows(event, rows))
    except IntegrityError:
        # A concurrent import created some of the same contacts, organizations or external ids;
        # the second plan sees them.
        with transaction.atomic():
            result = _apply_attendee_plan(event, plan_attendee_rows(event, rows))
    notify_late_data(event, result.contact_ids)
    return result


def _organizations_for(plan: AttendeePlan, names: set[str]) -> dict[str, Organization]:
    """The stored organizations of these names, creating the missing ones."""
    organizations = dict(plan.organizations)
    missing = {name.lower(): name for name in names if name and name.lower() not in organizations}
    if missing:
        Organization.objects.bulk_create([Organization(name=name) for name in missing.values()], ignore_conflicts=True)
        organizations.update(_stored_organizations(missing))
    return organizations


def _apply_attendee_plan(event: Event, plan: AttendeePlan) -> BulkUpsertResult:
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
    organizations = _organizations_for(plan, {
        _organization_name(row_plan.row) for row_plan in applying
        if row_plan.contact is None or any(c.field == "organization" and c.applied for c in row_plan.changes)
    })

    # Contacts: create the new ones, apply the changes planned for the stored ones.
    new_contacts: dict[str, Contact] = {}
    changed_contacts: list[Contact] = []
    now = timezone.now()
    for row_plan in applying:
        row = row_plan.row
        if row_plan.contact is None:
            row_plan.contact = Contact(
                email=row["email"], organization=organizations.get(_organization_name(row).lower()),
                **{name: row.get(name) or "" for name in CONTACT_ROW_FIELDS},
            )
            new_contacts[row["email"]] = row_plan.contact
            continue
        contact_changes = [c for c in row_plan.changes if c.applied and c.field in (*CONTACT_ROW_FIELDS, "organization")]
        for change in contact_changes:
            if change.field == "organization":
                row_plan.contact.organization = organizations.get(change.new.lower())
            else:
                setattr(row_plan.contact, change.field, change.new)
        if contact_changes:
            row_plan.contact.updated_at = now
            changed_contacts.append(row_plan.contact)
    if new_contacts:
        bulk_create_with_history(list(new_contacts.values()), Contact)
        # Not every backend returns primary keys from bulk inserts: read them back.
        for contact in Contact.objects.with_emails(new_contacts.keys()).only("pk", "email"):
            new_contacts[contact.email].pk = contact.pk
    if changed_contacts:
        bulk_update_with_history(changed_contacts, Contact, [*CONTACT_ROW_FIELDS, "organization", "updated_at"])

    # Attendances by (event, contact).
    created: list[Attendance] = []
    updated: list[Attendance] = []
    for row_plan in applying:
        row, attendance = row_plan.row, row_plan.attendance
        if attendance is None:
            attendance = Attendance(
                event=event, contact=row_plan.contact, role=row.get("role") or AttendanceRole.ATTENDEE,
                status=row.get("status") or AttendanceStatus.REGISTERED,
                checked_in_at=row.get("checked_in_at"), external_id=row.get("external_id") or None,
                source=row.get("source") or "", registered_at=now,
            )
            if not row.get("status"):
                _default_check_in(attendance)
            created.append(attendance)
            continue
        if not row_plan.changed:
            result.unchanged += 1
            continue
        for change in row_plan.changes:
            if change.applied and change.field in ATTENDANCE_ROW_FIELDS:
                setattr(attendance, change.field, change.new)
        attendance.updated_at = now
        updated.append(attendance)
    Attendance.objects.bulk_create(created)
    Attendance.objects.bulk_update(updated, [*ATTENDANCE_ROW_FIELDS, "updated_at"])
    result.created, result.updated = len(created), len(updated)
    result.errors.sort(key=lambda error: error["row"])
    result.contact_ids = sorted(attendance.contact_id for attendance in (*created, *updated))
    return result


# Interactions and feedback ---------------------------------------------------------------


def record_interaction(**fields: Any) -> Interaction:
    ensure_writable(fields.get("contact"), fields.get("counterpart"))
    interaction = Interaction(**fields)
    if interaction.external_id == "":
        interaction.external_id = None
    interaction.full_clean()
    interaction.save()
    notify_late_data(interaction.event, [interaction.contact_id, interaction.counterpart_id])
    return interaction


@transaction.atomic
def update_interaction(interaction: Interaction, **fields: Any) -> Interaction:
    interaction = locked(interaction)
    ensure_writable(interaction.contact_id, interaction.counterpart_id, fields.get("contact"), fields.get("counterpart"))
    touched_before = (interaction.event, [interaction.contact_id, interaction.counterpart_id])
    for name, value in fields.items():
        setattr(interaction, name, value)
    if interaction.external_id == "":
        interaction.external_id = None
    interaction.full_clean()
    interaction.save()
    notify_late_data(interaction.event, [interaction.contact_id, interaction.counterpart_id])
    if touched_before[0] != interaction.event:
        notify_late_data(*touched_before)
    return interaction


def delete_interaction(interaction: Interaction) -> None:
    ensure_writable(interaction.contact_id, interaction.counterpart_id)
    event, contact_ids = existing_event(interaction.event_id), [interaction.contact_id, interaction.counterpart_id]
    interaction.delete()
    notify_late_data(event, contact_ids)


def _raise_if_answered_twice(event_id: int | None, contact_id: int | None, *, exclude_pk: int | None = None) -> None:
    existing = (
        Feedback.objects.filter(event_id=event_id, contact_id=contact_id)
        .exclude(pk=exclude_pk)
        .values_list("pk", flat=True)
        .first()
    )
    if existing is not None:
        raise DuplicateFeedback("This contact already gave feedback for this event.", existing_id=existing)


def record_feedback(**fields: Any) -> Feedback:
    ensure_writable(fields.get("contact"))
    feedback = Feedback(**fields)
    save_unique(feedback, recheck=lambda: _raise_if_answered_twice(feedback.event_id, feedback.contact_id))
    notify_late_data(feedback.event, [feedback.contact_id])
    return feedback


@transaction.atomic
def update_feedback(feedback: Feedback, **fields: Any) -> Feedback:
    feedback = locked(feedback)
    ensure_writable(feedback.contact_id, fields.get("contact"))
    for name, value in fields.items():
        setattr(feedback, name, value)
    save_unique(feedback, recheck=lambda: _raise_if_answered_twice(
        feedback.event_id, feedback.contact_id, exclude_pk=feedback.pk))
    notify_late_data(feedback.event, [feedback.contact_id])
    return feedback


def delete_feedback(feedback: Feedback) -> None:
    ensure_writable(feedback.contact_id)
    event, contact_id = existing_event(feedback.event_id), feedback.contact_id
    feedback.delete()
    notify_late_data(event, [contact_id])


def check_in_attendances(attendances: Iterable[Attendance], *, at: datetime | None = None) -> CheckInResult:
    """Check in these attendance rows (the admin's "check in selected"), like check_in() does.

    Rows of erased contacts are left alone and reported in `unknown` (as "#id"); a fixed
    number of queries, whatever the number of rows.
    """
    wanted = {attendance.pk: f"#{attendance.pk}" for attendance in attendances}
    return _mark_attended(Attendance.objects.filter(pk__in=wanted), wanted, key=lambda attendance: attendance.pk, at=at)


# Series -------------------------------------------------------------------------------------


def create_series(**fields: Any) -> EventSeries:
    series = EventSeries(**fields)
    series.full_clean()
    series.save()
    return series


@transaction.atomic
def update_series(series: EventSeries, **fields: Any) -> EventSeries:
    series = locked(series)
    for name, value in fields.items():
        setattr(series, name, value)
    series.full_clean()
    series.save()
    return series


def delete_series(series: EventSeries) -> None:
    """Delete the series; its editions stay, on their own: their contacts' series figures
    (streaks, series attended) and the editions' retention are computed again."""
    from scoring import triggers
    from scoring.choices import ScoreTrigger
    from scoring.services import event_contact_ids

    editions = list(Event.objects.filter(series=series).values_list("pk", "status"))
    contact_ids = {contact_id for event_id, _ in editions for contact_id in event_contact_ids(event_id)}
    series.delete()
    triggers.schedule_contacts_recompute(contact_ids, trigger=ScoreTrigger.LATE_DATA)
    triggers.refresh_event_metrics(event_id for event_id, status in editions if status == EventStatus.COMPLETED)
