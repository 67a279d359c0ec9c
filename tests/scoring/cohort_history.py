"""A hand-built series for the cohort retention report, small enough to compute by hand.

Written with the ORM directly (as tests/scoring/validity_history.py): the report reads raw rows.

The CX Roadshow has three completed editions, 100 days from the end of one to the start of the
next, a cancelled one between the second and the third, and a fourth planned for later.

| contact | edition 1 | edition 2 | edition 3 | cohort |
|---|---|---|---|---|
| P | attended | attended | attended | 1 |
| Q | attended | —        | attended | 1 |
| S | attended | no-show  | —        | 1 |
| V (erased) | attended | attended | attended | 1 |
| R | —        | attended | —        | 2 |
| U | —        | attended | attended | 2 |
| X | no-show  | attended | —        | 2 |
| T | —        | —        | attended | 3 |

Attended: edition 1 four (P Q S V), edition 2 five (P R U V X), edition 3 five (P Q T U V).
Cohorts: 1 = {P Q S V} (4), 2 = {R U X} (3), 3 = {T} (1): 8 contacts.
Cohort 1 at edition 2: P V = 2 of 4 (0.5); at edition 3: P Q V = 3 of 4 (0.75).
Cohort 2 at edition 3: U = 1 of 3 (0.3333).
CRR edition 2: S = 4, E = 5, N = 3 (R U X) → (5 − 3) / 4 × 100 = 50.
CRR edition 3: S = 5, E = 5, N = 2 (Q T) → (5 − 2) / 5 × 100 = 60.
R also attended a dinner outside the series before edition 1: it is no edition.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from contacts.models import Contact
from contacts.services import erase_contact
from events.models import Event, EventSeries
from tests.scoring.validity_history import attend, completed_event

FIRST_START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


@dataclass
class CohortHistory:
    series: EventSeries
    editions: list[Event]
    people: dict[str, Contact] = field(default_factory=dict)
    cancelled: Event | None = None
    planned: Event | None = None


def roadshow(name: str = "CX Roadshow") -> CohortHistory:
    series = EventSeries.objects.create(name=name)
    first = completed_event(f"{name} 1", FIRST_START, series=series)
    second = completed_event(f"{name} 2", first.ends_at + timedelta(days=100), series=series)
    third = completed_event(f"{name} 3", second.ends_at + timedelta(days=100), series=series)
    cancelled_start = second.ends_at + timedelta(days=50)
    cancelled = Event.objects.create(name=f"{name} (cancelled)", series=series, starts_at=cancelled_start,
                                     ends_at=cancelled_start + timedelta(hours=9), status="cancelled")
    planned_start = max(third.ends_at, datetime.now(UTC)) + timedelta(days=3650)  # not started on any test day
    planned = Event.objects.create(name=f"{name} 4", series=series, starts_at=planned_start,
                                   ends_at=planned_start + timedelta(hours=9))
    dinner = completed_event("Partner dinner", FIRST_START - timedelta(days=30), hours=4)
    people = {key: Contact.objects.create(email=f"{key.lower()}@{name.lower().replace(' ', '-')}.example",
                                          first_name=key) for key in "PQSVRUXT"}
    p, q, s, v, r, u, x, t = people.values()
    attend(first, p, q, s, v)
    attend(first, x, status="no_show")
    attend(second, p, r, u, v, x)
    attend(second, s, status="no_show")
    attend(third, p, q, t, u, v)
    attend(planned, p, status="registered")
    attend(dinner, r)
    erase_contact(v)
    return CohortHistory(series=series, editions=[first, second, third], people=people, cancelled=cancelled,
                         planned=planned)
