"""Demo series, events and attendances: who was invited, who came, who stayed away."""

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from events.choices import AttendanceRole, AttendanceStatus, EventKind, EventStatus
from events.demo import catalog
from events.demo.base import Clock, minutes, money, pick, spare
from events.demo.people import Person
from events.models import Attendance, Event, EventSeries

R, A = AttendanceRole, AttendanceStatus
ROLE_WEIGHTS = {
    EventKind.CONFERENCE: {R.ATTENDEE: 84, R.SPEAKER: 5, R.VIP: 5, R.SPONSOR: 3, R.EXHIBITOR: 3},
    EventKind.TRADE_FAIR: {R.ATTENDEE: 80, R.EXHIBITOR: 10, R.VIP: 5, R.SPONSOR: 3, R.SPEAKER: 2},
    EventKind.ROADSHOW: {R.ATTENDEE: 88, R.SPEAKER: 4, R.VIP: 6, R.SPONSOR: 2},
    EventKind.DINNER: {R.ATTENDEE: 45, R.VIP: 45, R.SPONSOR: 6, R.SPEAKER: 4},
    EventKind.WEBINAR: {R.ATTENDEE: 96, R.SPEAKER: 4},
    EventKind.WORKSHOP: {R.ATTENDEE: 90, R.SPEAKER: 10},
    EventKind.OTHER: {R.ATTENDEE: 60, R.VIP: 35, R.SPEAKER: 5},
}
# Probability that a registered person actually comes; webinars lose far more sign-ups than dinners.
SHOW_RATE = {"core": 0.93, "regular": 0.8, "occasional": 0.66}
SHOW_FACTOR = {EventKind.WEBINAR: 0.72, EventKind.DINNER: 1.05, EventKind.OTHER: 1.05}
MIN_INVITEES = 6
# English month names, independent of the active locale.
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


@dataclass
class EventContext:
    """An event being generated, with what the later generators need to know about it."""

    event: Event
    status: str
    kind: str
    code: str  # prefix of its ticket and scan ids, unique per event
    source: str
    days: int
    duration_hours: float
    series_index: int | None
    payoff: float | None = None  # won deal value as a multiple of the cost, see catalog.EditionSpec
    invitations: list[tuple[Person, Attendance]] = field(default_factory=list)

    @property
    def attended(self) -> list[Person]:
        return [person for person, attendance in self.invitations if attendance.status == A.ATTENDED]


def build_series(rng: random.Random, clock: Clock) -> list[EventSeries]:
    return [
        EventSeries(name=spec.name, description=spec.description,
                    created_at=clock.at(spec.editions[0].day - rng.randint(90, 150), 10))
        for spec in catalog.SERIES
    ]


def build_events(rng: random.Random, clock: Clock, series: list[EventSeries]) -> list[EventContext]:
    contexts = []
    for series_index, (spec, series_row) in enumerate(zip(catalog.SERIES, series, strict=True)):
        used_names: list[str] = []
        for number, edition in enumerate(spec.editions, start=1):
            starts_at = clock.at(_weekday(clock, edition.day, edition.status, spec.days), *spec.start_time)
            name = edition.title or _edition_name(spec, edition, starts_at, used_names)
            used_names.append(name)
            event = _event(
                rng, clock, name=name, series=series_row, kind=spec.kind, format=edition.format or spec.format,
                status=edition.status, starts_at=starts_at, days=spec.days, duration_hours=spec.duration_hours,
                city=edition.city, venue=edition.venue or ("Zoom" if not edition.city else ""),
                capacity=spec.capacity, cost=spec.cost,
            )
            contexts.append(EventContext(
                event=event, status=edition.status, kind=spec.kind, code=f"{spec.code}{number:02d}",
                source=spec.source, days=spec.days, duration_hours=spec.duration_hours, series_index=series_index,
                payoff=edition.payoff,
            ))
    for spec in catalog.ONE_OFF_EVENTS:
        event = _event(
            rng, clock, name=spec.name, series=None, kind=spec.kind, format=spec.format, status=spec.status,
            starts_at=clock.at(_weekday(clock, spec.day, spec.status, spec.days), *spec.start_time), days=spec.days,
            duration_hours=spec.duration_hours,
            city=spec.city, venue=spec.venue, capacity=spec.capacity, cost=spec.cost,
        )
        contexts.append(EventContext(
            event=event, status=spec.status, kind=spec.kind, code=spec.code, source=spec.source,
            days=spec.days, duration_hours=spec.duration_hours, series_index=None,
        ))
    return contexts


def _weekday(clock: Clock, day: int, status: str, days: int) -> int:
    """Business events run on weekdays; the live event stays where it is, around the reference date."""
    return day if status == EventStatus.LIVE else clock.event_day(day, days)


def _edition_name(spec: catalog.SeriesSpec, edition: catalog.EditionSpec, starts_at: datetime, used_names: list[str]) -> str:
    name = spec.edition_name.format(
        series=spec.name, city=edition.city, month=MONTHS[starts_at.month - 1], year=starts_at.year
    )
    # A yearly series can meet twice in one calendar year when the reference date shifts.
    return name if name not in used_names else f"{name} II"


def _event(rng, clock, *, name, series, kind, format, status, starts_at, days, duration_hours, city, venue, capacity, cost):
    ends_at = starts_at + timedelta(days=days - 1, hours=duration_hours)
    completed_at = None
    if status == EventStatus.COMPLETED:
        # The team closes the event the morning after; that is when scoring runs.
        morning_after = datetime.combine(ends_at.date() + timedelta(days=1), time(9), tzinfo=ends_at.tzinfo)
        completed_at = clock.past(morning_after + timedelta(minutes=rng.uniform(0, 180)), rng)
    return Event(
        name=name, series=series, kind=kind, format=format, venue=venue, city=city,
        starts_at=starts_at, ends_at=ends_at, status=status, capacity=capacity,
        cost=money(rng, *cost), currency="EUR", completed_at=completed_at,
        created_at=clock.past(starts_at - timedelta(days=rng.uniform(100, 160)), rng),
    )


def build_attendances(rng: random.Random, clock: Clock, contexts: list[EventContext], people: list[Person]) -> None:
    for context in contexts:
        spec_reach = _reach(context)
        capacity = context.event.capacity
        limit = int(capacity * 1.5) if capacity else len(people)
        wanted = max(min(MIN_INVITEES, len(people)), min(round(spec_reach * len(people)), limit, len(people)))
        sequence = 0
        for person in _invitees(rng, context, people, wanted):
            role = pick(rng, ROLE_WEIGHTS[context.kind])
            status = _status(rng, context, person)
            sequence += 1
            attendance = make_attendance(rng, clock, context, person, role=role, status=status, sequence=sequence)
            context.invitations.append((person, attendance))


def _reach(context: EventContext) -> float:
    if context.series_index is not None:
        return catalog.SERIES[context.series_index].reach
    return next(spec.reach for spec in catalog.ONE_OFF_EVENTS if spec.name == context.event.name)


def _invitees(rng: random.Random, context: EventContext, people: list[Person], wanted: int) -> list[Person]:
    """A weighted sample without replacement (Efraimidis–Spirakis): fans of a series come back to it."""
    keyed = []
    for index, person in enumerate(people):
        if context.series_index is None:
            weight = person.one_off_affinity
        else:
            weight = person.series_affinity[context.series_index]
        keyed.append((rng.random() ** (1 / (weight + 0.005)), index))
    keyed.sort(reverse=True)
    return [people[index] for _key, index in keyed[:wanted]]


def _status(rng: random.Random, context: EventContext, person: Person) -> str:
    roll = rng.random()
    has_waitlist = context.event.capacity is not None
    if context.status == EventStatus.CANCELLED:
        return A.INVITED if roll < 0.15 else A.CANCELLED
    if context.status == EventStatus.PLANNED:
        if roll < 0.3:
            return A.INVITED
        if roll < 0.4:
            return A.CANCELLED
        return A.WAITLISTED if has_waitlist and roll < 0.45 else A.REGISTERED
    if roll < 0.07:
        return A.INVITED
    if roll < 0.13:
        return A.CANCELLED
    if has_waitlist and roll < 0.16:
        return A.WAITLISTED
    shows_up = rng.random() < SHOW_RATE[person.segment] * SHOW_FACTOR.get(context.kind, 1.0)
    if context.status == EventStatus.LIVE:
        # Those who have not arrived yet are still just registered.
        return A.ATTENDED if shows_up else A.REGISTERED
    return A.ATTENDED if shows_up else A.NO_SHOW


def make_attendance(rng, clock, context: EventContext, person: Person, *, role: str, status: str, sequence: int) -> Attendance:
    event = context.event
    registered_at = checked_in_at = None
    source, external_id = "", None
    if status != A.INVITED:
        registered_at = clock.past(event.starts_at - timedelta(days=rng.uniform(2, 75)), rng, max_hours=24 * 30)
        # Registrations come through the ticketing system; a few are typed in by the team.
        if context.source and rng.random() < 0.9:
            source, external_id = context.source, f"{context.code}-{sequence:05d}"
    if status == A.ATTENDED:
        checked_in_at = clock.past(event.starts_at + minutes(rng.uniform(-45, 75)), rng)
    invited_at = clock.past((registered_at or event.starts_at) - timedelta(days=rng.uniform(7, 40)), rng, max_hours=24 * 30)
    person.first_seen.append(invited_at)
    return Attendance(
        event=event, contact=person.contact, role=role, status=status, registered_at=registered_at,
        checked_in_at=checked_in_at, source=source, external_id=external_id, created_at=invited_at,
    )


def ensure_every_role_and_status(rng: random.Random, clock: Clock, contexts: list[EventContext]) -> None:
    """Small demo sizes can miss a rare role or status by chance; turn an ordinary row into one of each."""
    rows = [(context, index) for context in contexts for index in range(len(context.invitations))]
    for role in AttendanceRole.values:
        if not any(context.invitations[index][1].role == role for context, index in rows):
            context, index = rng.choice(spare(rows, lambda row: row[0].invitations[row[1]][1].role))
            context.invitations[index][1].role = role
    eligible = {
        A.ATTENDED: (EventStatus.COMPLETED,), A.NO_SHOW: (EventStatus.COMPLETED,),
        A.REGISTERED: (EventStatus.PLANNED, EventStatus.LIVE), A.WAITLISTED: (EventStatus.PLANNED,),
        A.INVITED: (EventStatus.PLANNED,), A.CANCELLED: (EventStatus.PLANNED, EventStatus.CANCELLED),
    }
    for status in AttendanceStatus.values:
        if any(context.invitations[index][1].status == status for context, index in rows):
            continue
        candidates = [(c, i) for c, i in rows if c.status in eligible[status] and c.event.capacity is not None]
        context, index = rng.choice(spare(candidates, lambda row: row[0].invitations[row[1]][1].status))
        person, old = context.invitations[index]
        context.invitations[index] = (person, make_attendance(
            rng, clock, context, person, role=old.role, status=status, sequence=len(context.invitations) + index + 1,
        ))
