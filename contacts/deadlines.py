"""Follow-up deadlines after events: who was followed up in time, who was missed, per rep and
per event (docs/follow-up-deadlines.md).

Read-side only. The rules:
- An event's **follow-up deadline** is its `follow_up_deadline_minutes`, or the site's
  FOLLOW_UP_DEADLINE_MINUTES (2,880 = 48 h) when empty; `deadline_at = ends_at + deadline`.
  Seed 004: 42 % of people expect an answer within 60 minutes, so hot-lead events set 60.
- Only events that are over count: completed, or ended (`ends_at` ≤ now) and not cancelled.
- An event's **assigned attendees**: its attendances with status `attended` whose contact has
  an owner (the current owner: the rep) and is not erased.
- **Followed up within the deadline**: a done follow-up of that contact whose origin event is
  this event, with `completed_at` ≤ `deadline_at`.
- **First follow-up**: the earliest done follow-up of that contact for this event; hours to it
  = (`completed_at` − `ends_at`) in hours, 0 if it came before the end.
- **Missed**: `deadline_at` has passed (≤ now) and no done follow-up for this event by then.
  **Pending**: the deadline has not passed and no done follow-up yet. So every assigned
  attendee is exactly one of in time, missed or pending.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from contacts.choices import FollowUpStatus
from contacts.models import FollowUp
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event
from ror_crm.days import start_of_day

TEAM = "team"  # the owner scope of everyone's queue (as contacts.worklist.TEAM)
SECONDS_PER_HOUR = 3600


def default_follow_up_deadline_minutes() -> int:
    return settings.FOLLOW_UP_DEADLINE_MINUTES


def follow_up_deadline(event: Event) -> timedelta:
    """The event's own deadline, or the site's default (FOLLOW_UP_DEADLINE_MINUTES) when empty."""
    minutes = event.follow_up_deadline_minutes
    return timedelta(minutes=default_follow_up_deadline_minutes() if minutes is None else minutes)


def follow_up_deadline_at(event: Event) -> datetime:
    """By when the event's assigned attendees should have been followed up: ends_at + deadline."""
    return event.ends_at + follow_up_deadline(event)


def deadline_at_expression(event_path: str = "event__") -> ExpressionWrapper:
    """`deadline_at` in SQL, for a queryset whose event is at `event_path` ("" on Event itself):
    ends_at + (the event's minutes, or the default) × 1 minute."""
    minutes = Coalesce(F(f"{event_path}follow_up_deadline_minutes"), Value(default_follow_up_deadline_minutes()),
                       output_field=IntegerField())
    deadline = ExpressionWrapper(minutes * Value(timedelta(minutes=1)), output_field=DurationField())
    return ExpressionWrapper(F(f"{event_path}ends_at") + deadline, output_field=DateTimeField())


def events_over(now: datetime, event_path: str = "event__") -> Q:
    """Events that are over: completed, or ended by `now` and not cancelled (Event.is_over())."""
    return Q(**{f"{event_path}status": EventStatus.COMPLETED}) | (
        Q(**{f"{event_path}ends_at__lte": now}) & ~Q(**{f"{event_path}status": EventStatus.CANCELLED})
    )


def assigned_attendances(*, now: datetime) -> QuerySet[Attendance]:
    """The assigned attendees of every event that is over (see the module's rules)."""
    return Attendance.objects.filter(
        events_over(now),
        status=AttendanceStatus.ATTENDED,
        contact__owner__isnull=False,
        contact__erased_at__isnull=True,
    )


def _follow_ups_for_attendance(status: str) -> QuerySet[FollowUp]:
    """Follow-ups of the outer attendance's contact whose origin event is its event."""
    return FollowUp.objects.filter(contact_id=OuterRef("contact_id"), event_id=OuterRef("event_id"), status=status)


# The "Missed deadline" queue -------------------------------------------------------------------


def missed_deadline_queue(
    *,
    owner: AbstractBaseUser | int | Literal["team"] | None = None,
    event_id: int | None = None,
    now: datetime,
) -> QuerySet[Attendance]:
    """Assigned attendees whose follow-up deadline has passed without a done follow-up for that
    event by then (API.md: "no follow-up within the event's deadline"), oldest deadline first.
    One followed up late stays missed, with `followed_up_at` saying when it happened.

    Only events over whose deadline passed within the last MISSED_DEADLINE_WINDOW_DAYS days;
    contacts not erased and not do-not-contact (DOMAIN.md: too much contact is intrusive).
    `owner` None or "team": everyone's; a user (or a user id): the contacts they own.
    Annotated: `deadline_at`; `followed_up_at` (the first done follow-up for the event, after
    the deadline, or None: the action is still open); `planned_follow_up` (a planned follow-up
    of the contact for this event exists) and `planned_follow_up_id` (the first due of them).
    One query for a page, whatever its length: contact, its owner and organization, and the
    event come with it.
    """
    window_start = now - timedelta(days=settings.MISSED_DEADLINE_WINDOW_DAYS)
    planned = _follow_ups_for_attendance(FollowUpStatus.PLANNED)
    done = _follow_ups_for_attendance(FollowUpStatus.DONE)
    queue = (
        assigned_attendances(now=now)
        .filter(contact__do_not_contact=False)
        .annotate(deadline_at=deadline_at_expression())
        .filter(deadline_at__lte=now, deadline_at__gt=window_start)
        .filter(~Exists(done.filter(completed_at__lte=OuterRef("deadline_at"))))
        .annotate(
            followed_up_at=Subquery(done.order_by("completed_at", "pk").values("completed_at")[:1]),
            planned_follow_up=Exists(planned),
            planned_follow_up_id=Subquery(
                planned.order_by(F("due_at").asc(nulls_last=True), "pk").values("pk")[:1]
            ),
        )
        .select_related("contact__owner", "contact__organization", "event")
        .order_by("deadline_at", "pk")
    )
    if owner is not None and owner != TEAM:
        queue = queue.filter(contact__owner=owner)
    if event_id is not None:
        queue = queue.filter(event_id=event_id)
    return queue


def changed_since(queue: QuerySet[Attendance], moment: datetime) -> QuerySet[Attendance]:
    """The rows of missed_deadline_queue() new or changed since `moment` (a partner's incremental
    sync): the deadline passed since then, or the attendance, its contact or a follow-up of the
    contact for the event changed since then."""
    follow_up_changed = FollowUp.objects.filter(
        contact_id=OuterRef("contact_id"), event_id=OuterRef("event_id"), updated_at__gte=moment)
    return queue.filter(
        Q(deadline_at__gte=moment) | Q(updated_at__gte=moment) | Q(contact__updated_at__gte=moment)
        | Exists(follow_up_changed)
    )


# Performance per rep and event ---------------------------------------------------------------


@dataclass
class PerformanceFigures:
    """The figures of a group of assigned attendees (one rep at one event, a rep, everyone)."""

    assigned: int = 0
    followed_up_in_time: int = 0
    missed: int = 0
    pending: int = 0
    # Hours to the first follow-up of each attendee who has one (in time or late).
    hours_to_first: list[float] = field(default_factory=list, repr=False)

    @property
    def in_time_share(self) -> float | None:
        """followed_up_in_time / assigned (0–1, to 4 decimals); None without assigned attendees."""
        return round(self.followed_up_in_time / self.assigned, 4) if self.assigned else None

    @property
    def median_hours_to_first_follow_up(self) -> float | None:
        """To 2 decimals (36 seconds): a figure for people, not a timestamp."""
        return round(statistics.median(self.hours_to_first), 2) if self.hours_to_first else None

    def add(self, *, in_time: bool, missed: bool, hours_to_first: float | None) -> None:
        self.assigned += 1
        self.followed_up_in_time += in_time
        self.missed += missed
        self.pending += not in_time and not missed
        if hours_to_first is not None:
            self.hours_to_first.append(hours_to_first)


@dataclass
class OwnerPerformance(PerformanceFigures):
    """One rep's figures over the events of the report."""

    owner_id: int = 0
    owner_name: str = ""


@dataclass
class EventOwnerPerformance(PerformanceFigures):
    """One rep's figures at one event."""

    owner_id: int = 0
    owner_name: str = ""
    event_id: int = 0
    event_name: str = ""
    ends_at: datetime | None = None
    deadline_minutes: int = 0
    deadline_at: datetime | None = None


@dataclass
class FollowUpPerformance:
    rows: list[EventOwnerPerformance]  # newest event first, then by rep
    owners: list[OwnerPerformance]  # by rep name
    overall: PerformanceFigures
    now: datetime


def _owner_name(username: str, first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip() or username


def follow_up_performance(
    *,
    event_id: int | None = None,
    owner_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    series_id: int | None = None,
    now: datetime,
) -> FollowUpPerformance:
    """Per rep and event, per rep and overall: assigned attendees, followed up in time (count
    and share), median hours to the first follow-up, missed and pending (the module's rules).

    Events that are over; `date_from`/`date_to` filter the event's end by its day in the site's
    time zone, both inclusive; `series_id` the event's series. One query: the assigned
    attendances with their first done follow-up for the event; counts and medians are worked
    out in Python over its rows.
    """
    first_done = (
        _follow_ups_for_attendance(FollowUpStatus.DONE).order_by("completed_at").values("completed_at")[:1]
    )
    attendances = assigned_attendances(now=now)
    if event_id is not None:
        attendances = attendances.filter(event_id=event_id)
    if owner_id is not None:
        attendances = attendances.filter(contact__owner_id=owner_id)
    if date_from is not None:
        attendances = attendances.filter(event__ends_at__gte=start_of_day(date_from))
    if date_to is not None:
        attendances = attendances.filter(event__ends_at__lt=start_of_day(date_to + timedelta(days=1)))
    if series_id is not None:
        attendances = attendances.filter(event__series_id=series_id)
    records = attendances.annotate(first_done_at=Subquery(first_done)).values_list(
        "event_id", "event__name", "event__ends_at", "event__follow_up_deadline_minutes",
        "contact__owner_id", "contact__owner__username", "contact__owner__first_name", "contact__owner__last_name",
        "first_done_at",
    )
    return _aggregate(records, now=now)


def _aggregate(records: Iterable[tuple], *, now: datetime) -> FollowUpPerformance:
    rows: dict[tuple[int, int], EventOwnerPerformance] = {}
    owners: dict[int, OwnerPerformance] = {}
    overall = PerformanceFigures()
    default_minutes = default_follow_up_deadline_minutes()
    for (event_id, event_name, ends_at, own_minutes, owner_id, username, first_name, last_name,
         first_done_at) in records:
        minutes = default_minutes if own_minutes is None else own_minutes
        deadline_at = ends_at + timedelta(minutes=minutes)
        owner_name = _owner_name(username, first_name, last_name)
        row = rows.get((event_id, owner_id))
        if row is None:
            row = rows[event_id, owner_id] = EventOwnerPerformance(
                owner_id=owner_id, owner_name=owner_name, event_id=event_id, event_name=event_name,
                ends_at=ends_at, deadline_minutes=minutes, deadline_at=deadline_at,
            )
        owner = owners.setdefault(owner_id, OwnerPerformance(owner_id=owner_id, owner_name=owner_name))
        in_time = first_done_at is not None and first_done_at <= deadline_at
        figures = {
            "in_time": in_time,
            "missed": not in_time and deadline_at <= now,
            "hours_to_first": None if first_done_at is None
            else max(0.0, (first_done_at - ends_at).total_seconds() / SECONDS_PER_HOUR),
        }
        for group in (row, owner, overall):
            group.add(**figures)
    return FollowUpPerformance(
        rows=sorted(rows.values(), key=lambda row: (-row.ends_at.timestamp(), -row.event_id,
                                                    row.owner_name.lower(), row.owner_id)),
        owners=sorted(owners.values(), key=lambda owner: (owner.owner_name.lower(), owner.owner_id)),
        overall=overall,
        now=now,
    )
