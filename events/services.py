"""Every write to events, attendances, interactions and feedback (API, admin, imports).

Writes that land on a completed event are "late data" (DOMAIN.md): they tell scoring, which
recomputes the affected contacts and the event's metrics after commit, debounced.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Q
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
    event.delete()


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
    # Contacts whose attendance was created or changed: scoring's late-data input.
    contact_ids: list[int] = field(default_factory=list, repr=False)


def _form_errors(form: AttendeeRowForm) -> dict[str, list[str]]:
    return {name: [str(message) for message in messages] for name, messages in form.errors.items()}


def _validate_rows(rows: list[Any]) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    valid, errors = [], []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.append({"row": index, "errors": {"non_field_errors": ["Each row must be an object."]}})
            continue
        form = AttendeeRowForm(row)
        if form.is_valid():
            cleaned = {name: value for name, value in form.cleaned_data.items() if name in row}
            cleaned["email"] = normalize_email(cleaned["email"])
            valid.append((index, cleaned))
        else:
            errors.append({"row": index, "errors": _form_errors(form)})
    return valid, errors


def bulk_upsert_attendances(event: Event, rows: list[Any]) -> BulkUpsertResult:
    """Upsert contacts by e-mail and attendances by (event, contact) (API.md: attendances/bulk/).

    Valid rows are applied in one transaction, invalid rows reported by their 0-based position
    and skipped. Blank optional values keep what is stored, so replaying a list changes nothing.
    A fixed number of queries per call, whatever the number of rows.
    """
    if len(rows) > BULK_MAX_ROWS:
        raise ValueError(f"At most {BULK_MAX_ROWS} rows per request.")
    valid, errors = _validate_rows(rows)
    try:
        with transaction.atomic():
            result = _apply_attendee_rows(event, valid, list(errors))
    except IntegrityError:
        # A concurrent import created some of the same contacts or organizations; the
        # second pass finds them and updates instead.
        with transaction.atomic():
            result = _apply_attendee_rows(event, valid, list(errors))
    result.errors.sort(key=lambda error: error["row"])
    notify_late_data(event, result.contact_ids)
    return result


def _organizations_by_name(names: set[str]) -> dict[str, Organization]:
    if not names:
        return {}
    query = Q()
    for name in names:
        query |= Q(name__iexact=name)
    found = {org.name.lower(): org for org in Organization.objects.filter(query)}
    missing = [name for name in names if name.lower() not in found]
    if missing:
        Organization.objects.bulk_create([Organization(name=name) for name in missing], ignore_conflicts=True)
        query = Q()
        for name in missing:
            query |= Q(name__iexact=name)
        found.update({org.name.lower(): org for org in Organization.objects.filter(query)})
    return found


CONTACT_ROW_FIELDS = ("first_name", "last_name", "job_title")
ATTENDANCE_ROW_FIELDS = ("role", "status", "checked_in_at", "external_id", "source")


def _apply_attendee_rows(
    event: Event, valid: list[tuple[int, dict[str, Any]]], errors: list[dict[str, Any]]
) -> BulkUpsertResult:
    result = BulkUpsertResult(errors=errors)
    if not valid:
        return result
    emails = {row["email"] for _, row in valid}
    contacts = {contact.email: contact for contact in Contact.objects.with_emails(emails)}
    organizations = _organizations_by_name({row["organization"].strip() for _, row in valid if row.get("organization")})

    # Contacts: create the new ones, update the changed ones (first row of an e-mail creates it).
    new_contacts: dict[str, Contact] = {}
    changed_contacts: dict[str, Contact] = {}
    for _, row in valid:
        contact = contacts.get(row["email"]) or new_contacts.get(row["email"])
        organization = organizations.get((row.get("organization") or "").strip().lower())
        if contact is None:
            contact = Contact(email=row["email"], organization=organization,
                              **{name: row.get(name) or "" for name in CONTACT_ROW_FIELDS})
            new_contacts[row["email"]] = contact
            continue
        changed = False
        for name in CONTACT_ROW_FIELDS:
            if row.get(name) and getattr(contact, name) != row[name]:
                setattr(contact, name, row[name])
                changed = True
        if organization is not None and contact.organization_id != organization.pk:
            contact.organization = organization
            changed = True
        if changed and contact.pk is not None:
            contact.updated_at = timezone.now()
            changed_contacts[contact.email] = contact
    if new_contacts:
        bulk_create_with_history(list(new_contacts.values()), Contact)
        # Not every backend returns primary keys from bulk inserts: read them back.
        for contact in Contact.objects.with_emails(new_contacts.keys()):
            new_contacts[contact.email].pk = contact.pk
            contacts[contact.email] = new_contacts[contact.email]
    if changed_contacts:
        bulk_update_with_history(
            list(changed_contacts.values()), Contact, [*CONTACT_ROW_FIELDS, "organization", "updated_at"]
        )

    # Attendances by (event, contact).
    attendances = {
        attendance.contact_id: attendance
        for attendance in Attendance.objects.filter(event=event, contact_id__in=[c.pk for c in contacts.values()])
    }
    external_keys = {(row.get("source") or "", row["external_id"]) for _, row in valid if row.get("external_id")}
    taken_external_ids: dict[tuple[str, str], int] = {}
    if external_keys:
        query = Q()
        for source, external_id in external_keys:
            query |= Q(source=source, external_id=external_id)
        taken_external_ids = {
            (source, external_id): contact_id
            for source, external_id, contact_id in Attendance.objects.filter(query).exclude(
                event=event, contact_id__in=[c.pk for c in contacts.values()]
            ).values_list("source", "external_id", "contact_id")
        }

    created: dict[int, Attendance] = {}
    updated: dict[int, Attendance] = {}
    changed_contact_emails = set(changed_contacts)
    claimed_external_ids: dict[tuple[str, str], int] = {}
    for index, row in valid:
        contact = contacts[row["email"]]
        external_key = (row.get("source") or "", row["external_id"]) if row.get("external_id") else None
        if external_key and (
            external_key in taken_external_ids or claimed_external_ids.get(external_key, contact.pk) != contact.pk
        ):
            result.errors.append({"row": index, "errors": {"external_id": ["This external id belongs to another attendance."]}})
            continue
        if external_key:
            claimed_external_ids[external_key] = contact.pk
        attendance = attendances.get(contact.pk)
        if attendance is None:
            attendance = Attendance(
                event=event, contact=contact, role=row.get("role") or AttendanceRole.ATTENDEE,
                status=row.get("status") or AttendanceStatus.REGISTERED,
                checked_in_at=row.get("checked_in_at"), external_id=row.get("external_id") or None,
                source=row.get("source") or "", registered_at=timezone.now(),
            )
            if not row.get("status"):
                _default_check_in(attendance)
            attendances[contact.pk] = attendance
            created[contact.pk] = attendance
            result.created += 1
            continue
        changed = False
        for name in ATTENDANCE_ROW_FIELDS:
            value = row.get(name)
            if value in (None, "") or getattr(attendance, name) == value:
                continue
            setattr(attendance, name, value)
            changed = True
        if not row.get("status") and attendance.checked_in_at is not None:
            before = attendance.status
            _default_check_in(attendance)
            changed = changed or before != attendance.status
        if contact.pk in created:
            result.unchanged += 1  # a repeated row of this request; its changes join the new row
        elif changed or row["email"] in changed_contact_emails:
            changed_contact_emails.discard(row["email"])
            attendance.updated_at = timezone.now()
            updated[contact.pk] = attendance
            result.updated += 1
        else:
            result.unchanged += 1
    Attendance.objects.bulk_create(list(created.values()))
    Attendance.objects.bulk_update(list(updated.values()), [*ATTENDANCE_ROW_FIELDS, "updated_at"])
    result.contact_ids = sorted({*created, *updated})
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
    series.delete()
