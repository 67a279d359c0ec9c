"""Events and series: create, update, complete ("after the event"), delete, rescore."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.choices import AttendanceStatus, EventStatus
from events.exceptions import EventCancelled, EventCompleted, EventNotEnded
from events.models import CHECK_IN_LEAD, HAPPENED_STATUSES, Attendance, Event, EventSeries
from events.signals import event_completed
from ror_crm.db import locked
from ror_crm.validators import validate_not_future


@transaction.atomic
def create_event(*, force_completion: bool = False, **fields: Any) -> Event:
    """A new event; one created as `completed` goes through complete_event(), with its rules.

    `force_completion` is complete_event()'s `force`, for the admin after its confirmation page;
    the API's create never passes it (a partner forces only with the complete action's body).
    Atomic: a refused completion leaves no event behind.
    """
    completing = fields.get("status") == EventStatus.COMPLETED
    completed_at = _completion_time(fields, completing=completing)
    if completing:
        fields["status"] = EventStatus.PLANNED
    event = Event(**fields)
    event.full_clean()
    event.save()
    if completing:
        event = complete_event(event, force=force_completion, completed_at=completed_at)
    return event


COMPLETED_AT_WITHOUT_COMPLETING_MESSAGE = _(
    "The completion time is given when the event is completed: with the status \"completed\" (or the complete "
    "action)."
)
COMPLETED_AT_KEPT_MESSAGE = _("A completed event keeps its completion time.")


def _completion_time(fields: dict[str, Any], *, completing: bool, stored: datetime | None = None) -> datetime | None:
    """The `completed_at` a create or an update gives, taken out of its fields: only with the
    completion itself (complete_event() checks it); the stored one again, or none, changes nothing.
    Clearing a completed event's time (an explicit null) is refused like changing it."""
    if stored is not None and "completed_at" in fields and fields["completed_at"] is None:
        raise ValidationError({"completed_at": COMPLETED_AT_KEPT_MESSAGE})
    completed_at = fields.pop("completed_at", None)
    if completed_at is None or completed_at == stored:
        return None
    if stored is not None:
        raise ValidationError({"completed_at": COMPLETED_AT_KEPT_MESSAGE})
    if not completing:
        raise ValidationError({"completed_at": COMPLETED_AT_WITHOUT_COMPLETING_MESSAGE})
    return completed_at


MOVED_AHEAD_MESSAGE = _(
    "People attended or were checked in at this event: it cannot start more than a day from now."
)
MOVED_AFTER_CHECK_INS_MESSAGE = _(
    "People were checked in at this event more than a day before this start: it cannot start that late."
)
CANCELLED_AFTER_ATTENDANCE_MESSAGE = _(
    "People attended, missed or were checked in at this event: it took place and cannot be cancelled. If it "
    "did not, change those attendances first."
)
# What a completed event's scores and metrics read of it (besides its rows): a change recomputes them.
SCORED_EVENT_FIELDS = (
    "series_id", "starts_at", "ends_at", "cost", "currency", "capacity", "follow_up_deadline_minutes")


@transaction.atomic
def update_event(event: Event, *, force_completion: bool = False, **fields: Any) -> Event:
    """Plain field changes; moving to `completed` goes through complete_event(), with its rules
    (not before `ends_at`: EventNotEnded, DOMAIN.md "When scores are recomputed").

    A completed event is not moved back (to planned, live or cancelled: EventCompleted): its
    scores and metrics say it happened. Its other fields stay editable.
    `force_completion` is complete_event()'s `force`, for the admin after its confirmation
    page; the API's PATCH/PUT never pass it: a partner forces only through the complete
    action's explicit `{"force": true}`, not as a side effect of a field change.
    """
    event = locked(event)
    if event.status == EventStatus.COMPLETED and fields.get("status", EventStatus.COMPLETED) != EventStatus.COMPLETED:
        raise EventCompleted(_(
            "A completed event stays completed (it cannot become “%(status)s”); its other fields can still "
            "be changed."
        ) % {"status": EventStatus(fields["status"]).label})
    completing = fields.get("status") == EventStatus.COMPLETED and event.status != EventStatus.COMPLETED
    completed_at = _completion_time(fields, completing=completing, stored=event.completed_at)
    if completing:
        fields.pop("status")
    cancelling = fields.get("status") == EventStatus.CANCELLED and event.status != EventStatus.CANCELLED
    stored = {name: getattr(event, name) for name in SCORED_EVENT_FIELDS}
    for name, value in fields.items():
        setattr(event, name, value)
    # What read this event's place in time or series before it moves (its neighbouring editions'
    # attendees, their streaks; its next edition and its attendees' later events): recomputed too.
    moved_from = _neighbourhood(event.pk) if event.status == EventStatus.COMPLETED and (
        event.series_id != stored["series_id"] or event.starts_at != stored["starts_at"]) else None
    if event.status != EventStatus.COMPLETED:
        event.completed_at = None
    event.full_clean()
    happened = Attendance.objects.filter(Q(status__in=HAPPENED_STATUSES) | Q(checked_in_at__isnull=False), event=event)
    if "starts_at" in fields and event.too_early_to_attend() and happened.exists():
        # Moved a day or more ahead, it would keep attendees who cannot have come yet.
        raise ValidationError({"starts_at": MOVED_AHEAD_MESSAGE})
    if "starts_at" in fields and Attendance.objects.filter(
        event=event, checked_in_at__lt=event.starts_at - CHECK_IN_LEAD
    ).exists():
        raise ValidationError({"starts_at": MOVED_AFTER_CHECK_INS_MESSAGE})
    if cancelling and happened.exists():
        # Nobody attended or missed a cancelled event (its rows can no longer say so either).
        raise ValidationError({"status": CANCELLED_AFTER_ATTENDANCE_MESSAGE})
    event.save()
    if completing:
        event = complete_event(event, force=force_completion, completed_at=completed_at)
    elif event.status == EventStatus.COMPLETED and any(getattr(event, name) != stored[name] for name in stored):
        # Its scores and metrics were computed with the old values.
        request_event_recompute(event)  # its contacts as they are now, and its metrics
        if moved_from is not None:
            _recompute_neighbourhood(event, *moved_from)
    return event


def _neighbourhood(event_id: int) -> tuple[list[int], list[int]]:
    """The contacts the stored event's scores touch and the other events whose metrics read it."""
    from scoring.services import event_contact_ids, events_depending_on

    contact_ids = event_contact_ids(event_id)
    return contact_ids, events_depending_on([event_id], contact_ids)


def _recompute_neighbourhood(event: Event, old_contact_ids: list[int], old_dependent: list[int]) -> None:
    from scoring import triggers  # scoring depends on events, not the other way round
    from scoring.choices import ScoreTrigger

    contact_ids, dependent = _neighbourhood(event.pk)
    triggers.schedule_contacts_recompute(set(old_contact_ids) - set(contact_ids), trigger=ScoreTrigger.LATE_DATA)
    triggers.refresh_event_metrics(set(old_dependent) | set(dependent))


def complete_event(event: Event, *, force: bool = False, completed_at: datetime | None = None) -> Event:
    """"After the event": mark it completed and have scoring run (DOMAIN.md "When scores are
    recomputed", scoring.triggers).

    Completing says the event happened, so an event whose `ends_at` is still ahead is refused
    (EventNotEnded) unless `force`: a user who confirmed, a partner who sent `{"force": true}`.
    In the same transaction, registrations still `registered` without a check-in time become
    `no_show` when the event used check-in (any of its attendances has `checked_in_at`): who
    did not check in did not come. Without any check-in nobody's presence is known and the
    statuses stay. Rows of erased contacts stay as they are (their rows take no more writes,
    contacts.models.ensure_writable).

    `completed_at` (default now) dates the completion in the past, for a backfill of past events:
    their relationship lift is a figure as of their completion. Not in the future,
    nor before the event ended (before it started, when forced).

    Completing twice is harmless: the second call changes nothing and queues nothing.
    A cancelled event cannot be completed.
    """
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.status == EventStatus.CANCELLED:
            raise EventCancelled("A cancelled event cannot be completed.", existing_id=event.pk)
        if event.status == EventStatus.COMPLETED:
            return event
        now = timezone.now()
        if event.ends_at > now and not force:
            raise EventNotEnded(
                f"This event has not ended yet (it ends at {timezone.localtime(event.ends_at).isoformat()}); "
                "complete it after it has ended, or force the completion.", existing_id=event.pk
            )
        if completed_at is not None:
            _check_completion_time(event, completed_at, force=force)
        event.status = EventStatus.COMPLETED
        # A time a partner's clock puts a little ahead (validate_not_future's skew) is now: metrics
        # computed right after carry a computed_at at or after it, as API.md's polling expects.
        event.completed_at = min(completed_at or now, now)
        event.save(update_fields=["status", "completed_at", "updated_at"])
        if not event.too_early_to_attend(now):  # (forced a day or more ahead: nobody missed it yet)
            _mark_no_shows(event, at=now)

        request_event_recompute(event)
        # Events completed before this one that read its rows (a later edition's retention, a lift).
        _refresh_dependent_metrics(event)
        event_id = event.pk
        transaction.on_commit(lambda: event_completed.send(sender=Event, event_id=event_id))
    return event


def _check_completion_time(event: Event, completed_at: datetime, *, force: bool) -> None:
    try:
        validate_not_future(completed_at)
    except ValidationError as error:
        raise ValidationError({"completed_at": error.messages}) from None
    earliest, message = (event.starts_at, _("An event is not completed before it started (%(at)s).")) if force else (
        event.ends_at, _("An event is completed once it has ended (%(at)s), unless the completion is forced."))
    if completed_at < earliest:
        raise ValidationError({"completed_at": message % {"at": timezone.localtime(earliest).isoformat()}})


def _refresh_dependent_metrics(event: Event) -> None:
    """The metrics of the other events that read this one's rows, computed before its rows were all
    there: its next edition's retention, and the events its registrations' contacts attended that
    were completed since it started (their lift, new or returning; events_depending_on)."""
    from scoring import triggers  # scoring depends on events, not the other way round
    from scoring.services import events_depending_on

    # (its no-shows count in a score too)
    triggers.refresh_event_metrics(events_depending_on([event.pk], Attendance.objects.filter(event_id=event.pk)
                                                      .values("contact_id")))


def _mark_no_shows(event: Event, *, at: datetime) -> int:
    """Registrations without check-in become `no_show` if the event used check-in; one UPDATE,
    moving the rows' `updated_at` (incremental sync sees them)."""
    used_check_in = Attendance.objects.filter(event_id=event.pk, checked_in_at__isnull=False)
    return (
        Attendance.objects.filter(
            Exists(used_check_in), event_id=event.pk, status=AttendanceStatus.REGISTERED,
            checked_in_at__isnull=True, contact__erased_at__isnull=True,
        )
        .update(status=AttendanceStatus.NO_SHOW, updated_at=at)
    )


def request_event_recompute(event: Event) -> None:
    """Recompute the event's metrics and the scores of everyone it touches, after commit (as
    completing it does; the admin's action and button, the API's `recompute/`)."""
    from scoring import triggers  # scoring depends on events, not the other way round

    triggers.schedule_event_recompute(event.pk)


@transaction.atomic
def delete_event(event: Event) -> None:
    """Delete the event and its rows. Its contacts are rescored without it, and the events whose
    figures read its attendances (its next edition, its attendees' later events) recomputed."""
    from scoring import triggers  # scoring depends on events, not the other way round
    from scoring.choices import ScoreTrigger
    from scoring.services import event_contact_ids, events_depending_on

    contact_ids = event_contact_ids(event.pk)  # those invited to it too: their next action moves on
    dependent = events_depending_on([event.pk], contact_ids)
    event.delete()
    triggers.schedule_contacts_recompute(contact_ids, trigger=ScoreTrigger.LATE_DATA)
    triggers.refresh_event_metrics(dependent)


# Series -------------------------------------------------------------------------------------


def create_series(**fields: Any) -> EventSeries:
    series = EventSeries(**fields)
    series.full_clean()
    series.save()
    return series


@transaction.atomic
def update_series(series: EventSeries, **fields: Any) -> EventSeries:
    """Change the series. Renamed, the contacts whose next best action invites them to one of its
    upcoming editions are scored again: the stored invitation names the series."""
    from scoring import triggers
    from scoring.choices import ScoreTrigger
    from scoring.services.next_action import invited_to

    series = locked(series)
    old_name = series.name
    for name, value in fields.items():
        setattr(series, name, value)
    series.full_clean()
    series.save()
    if series.name != old_name:
        upcoming = Event.objects.filter(series=series, status__in=[EventStatus.PLANNED, EventStatus.LIVE])
        triggers.schedule_contacts_recompute(invited_to(list(upcoming.values_list("pk", flat=True))),
                                             trigger=ScoreTrigger.LATE_DATA)
    return series


@transaction.atomic
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
