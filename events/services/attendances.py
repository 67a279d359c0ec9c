"""Attendances: create, update, delete, and check-in (API, admin, badge scanners)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import Contact, ensure_writable, normalize_email
from events.choices import AttendanceStatus, EventStatus
from events.exceptions import DuplicateAttendance, DuplicateExternalId, EventCancelled
from events.models import (
    CHECK_IN_LEAD,
    CHECKED_IN_BEFORE_MESSAGE,
    NOT_STARTED_MESSAGE,
    Attendance,
    Event,
    Interaction,
    checked_in_status,
    registration_time,
)
from events.services.late_data import existing_event, notify_late_data
from ror_crm.db import locked, save_unique, share_lock, share_locked


def _raise_if_attended_twice(event_id: int | None, contact_id: int | None, *, exclude_pk: int | None = None) -> None:
    existing = (
        Attendance.objects.filter(event_id=event_id, contact_id=contact_id)
        .exclude(pk=exclude_pk)
        .values_list("pk", flat=True)
        .first()
    )
    if existing is not None:
        raise DuplicateAttendance("This contact already has an attendance for this event.", existing_id=existing)


def _raise_if_taken(attendance: Attendance, *, exclude_pk: int | None = None) -> None:
    """The conflicts of an attendance with stored ones, as 409s naming the existing row: the
    same (event, contact), or the same (source, external_id)."""
    _raise_if_attended_twice(attendance.event_id, attendance.contact_id, exclude_pk=exclude_pk)
    raise_if_external_id_taken(attendance, exclude_pk=exclude_pk)


def raise_if_external_id_taken(row: Attendance | Interaction, *, exclude_pk: int | None = None) -> None:
    """Another row of the same kind from the same source holds this external id: a 409 naming it
    (a scanner or ticketing system sending its row again learns which one)."""
    if not row.external_id:
        return
    existing = (
        type(row).objects.filter(source=row.source, external_id=row.external_id)
        .exclude(pk=exclude_pk).values_list("pk", flat=True).first()
    )
    if existing is not None:
        raise DuplicateExternalId(  # model_name: "attendance", "interaction", in any language
            f"This external id is already used by another {row._meta.model_name} from this source.",
            existing_id=existing)


@transaction.atomic
def create_attendance(**fields: Any) -> Attendance:
    ensure_writable(fields.get("contact"))
    attendance = Attendance(**fields)
    attendance.status = checked_in_status(fields.get("status"), attendance.checked_in_at)
    if attendance.registered_at is None:
        attendance.registered_at = registration_time(attendance.status, timezone.now())
    if attendance.event_id is not None:
        # Its event as stored until commit: its status and start decide what the row may say.
        attendance.event = share_locked(attendance.event)
    if attendance.external_id == "":
        attendance.external_id = None
    save_unique(attendance, recheck=lambda: _raise_if_taken(attendance))
    notify_late_data(attendance.event, [attendance.contact_id])
    return attendance


@transaction.atomic
def update_attendance(attendance: Attendance, **fields: Any) -> Attendance:
    # Its events first, then the row, in the order check-ins and completion take them (the other
    # order could deadlock with a completion). Their status and start decide what the row may say.
    share_lock(Event, {attendance.event_id, getattr(fields.get("event"), "pk", None)} - {None})
    attendance = locked(attendance)
    ensure_writable(attendance.contact_id, fields.get("contact"))
    old_event, old_contact_id = attendance.event, attendance.contact_id
    for name, value in fields.items():
        setattr(attendance, name, value)
    if attendance.event_id is not None:
        attendance.event = share_locked(attendance.event)  # as stored (locked above, unless moved meanwhile)
    if attendance.external_id == "":
        attendance.external_id = None
    if fields.get("checked_in_at") is not None:  # a check-in time given: the person came
        attendance.status = checked_in_status(fields.get("status"), attendance.checked_in_at)
    if attendance.registered_at is None:  # an invitation taken up registers now
        attendance.registered_at = registration_time(attendance.status, timezone.now())
    save_unique(attendance, recheck=lambda: _raise_if_taken(attendance, exclude_pk=attendance.pk))
    notify_late_data(attendance.event, [attendance.contact_id])
    if old_event != attendance.event or old_contact_id != attendance.contact_id:
        notify_late_data(old_event, [old_contact_id])
    return attendance


@transaction.atomic
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
    source: str | None = None,
    at: datetime | None = None,
) -> CheckInResult:
    """Mark attendances of this event `attended`; unknown people are reported, never created.
    External ids match the attendances of `source` only, when given.

    Erased contacts count as unknown: their rows take no more writes. A fixed number of
    queries, whatever the number of people. Refused (ValidationError) for an event that has
    not started yet (Event.too_early_to_attend()).
    """
    with transaction.atomic():
        # Read as stored now and kept so until commit: a cancellation committed meanwhile would
        # otherwise let these check-ins in after it.
        event = share_locked(event)
        if event.status == EventStatus.CANCELLED:
            raise EventCancelled("This event was cancelled: it takes no check-ins.", existing_id=event.pk)
        if event.too_early_to_attend():
            raise ValidationError(NOT_STARTED_MESSAGE)
        if at is not None and event.too_early_to_attend(at):
            raise ValidationError({"checked_in_at": CHECKED_IN_BEFORE_MESSAGE})
        if emails is not None:
            wanted = {normalize_email(email): email for email in emails}
            # The contacts first, by the e-mail index: as a subquery of the attendances' query the
            # planner, on a table it had not analysed since a list came in, matched each attendance
            # against every e-mail (1.3 s for 1,000 check-ins).
            contact_ids = list(Contact.objects.with_emails(wanted.keys()).order_by().values_list("pk", flat=True))
            rows = Attendance.objects.filter(event=event, contact_id__any_of=contact_ids)
            return _mark_attended(rows, wanted, key="contact__email", at=at)
        wanted = {external_id: external_id for external_id in (external_ids or [])}
        rows = Attendance.objects.filter(event=event, external_id__in=wanted.keys())
        if source is not None:
            rows = rows.filter(source=source)
        return _mark_attended(rows, wanted, key="external_id", at=at)


@transaction.atomic
def _mark_attended(
    rows: models.QuerySet[Attendance], wanted: dict[Any, str], *, key: str, at: datetime | None
) -> CheckInResult:
    """Check these rows in; `wanted` maps each row's `key` (a field path) to the name the
    caller used for it, and what no writable row answers to is reported unknown. The rows are
    locked first, so two check-ins of one person at once count once and keep the first time.

    The rows are read as values, not objects, and written by one UPDATE per check-in time:
    every one gets the same status and updated_at, and the check-in time unless it has one.
    Without `at`, that time is now, or the event's start for an event that has ended (a check-in
    sent or clicked afterwards says the person came, not when: not after the event)."""
    now = timezone.now()
    result = CheckInResult()
    found: set[Any] = set()
    checking_in: dict[datetime, list[int]] = {}
    contact_ids_by_event: dict[int, list[int]] = {}
    attendances = rows.select_for_update(no_key=True, of=("self",)).values_list(
        "pk", "event_id", "contact_id", "status", "checked_in_at", "contact__erased_at", "event__starts_at",
        "event__ends_at", key,
    )
    for pk, event_id, contact_id, status, checked_in_at, erased_at, starts_at, ends_at, row_key in attendances:
        if erased_at is not None:
            continue
        found.add(row_key)
        if status == AttendanceStatus.ATTENDED and checked_in_at is not None:
            result.already_checked_in += 1
            continue
        checking_in.setdefault(at or (starts_at if ends_at < now else now), []).append(pk)
        contact_ids_by_event.setdefault(event_id, []).append(contact_id)
    result.unknown = [name for wanted_key, name in wanted.items() if wanted_key not in found]
    for moment, pks in checking_in.items():
        Attendance.objects.filter(pk__any_of=pks).update(
            status=AttendanceStatus.ATTENDED, checked_in_at=Coalesce("checked_in_at", Value(moment)), updated_at=now
        )
    result.checked_in = sum(len(pks) for pks in checking_in.values())
    for event in Event.objects.filter(pk__in=contact_ids_by_event):
        notify_late_data(event, contact_ids_by_event[event.pk])
    return result


def check_in_attendances(attendances: Iterable[Attendance], *, at: datetime | None = None) -> CheckInResult:
    """Check in these attendance rows (the admin's "check in selected"), like check_in() does.

    Rows of erased contacts and of events that have not started yet or were cancelled are left alone and
    reported in `unknown` (as "#id"); a fixed number of queries per event, whatever the number of
    rows.
    """
    attendances = list(attendances)
    wanted = {attendance.pk: f"#{attendance.pk}" for attendance in attendances}
    with transaction.atomic():
        # Their events as stored until commit: a cancellation committed meanwhile waits (check_in()).
        share_lock(Event, Attendance.objects.filter(pk__in=wanted).values_list("event_id", flat=True))
        # Rows of events that have not started yet are left alone and reported like unknown ones.
        rows = Attendance.objects.filter(pk__in=wanted).exclude(
            event__starts_at__gt=timezone.now() + CHECK_IN_LEAD).exclude(event__status=EventStatus.CANCELLED)
        return _mark_attended(rows, wanted, key="pk", at=at)
