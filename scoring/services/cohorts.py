"""Cohort retention per series (issue "Prove the return on relationship", part 1; docs/cohorts.md).

Definitions (the API schema, the admin page and docs/cohorts.md say the same):
- **Editions** of a series as of T: its events whose attendance is known at T, as scoring
  counts it (`event_metrics.known_attendances`): the event ended by T, or was completed by T.
  Cancelled events are no editions. Ordered by `starts_at` (then id).
- **Cohort** of an edition: the contacts whose first edition of the series attended (status
  `attended`) is that edition. Erased contacts count: they keep their rows.
- **Cell** (cohort, later edition): how many of the cohort attended that edition, and that count
  as a share of the cohort.
- **CRR line**: per edition, DOMAIN.md's `CRR = ((E − N) / S) × 100` against its previous
  edition, the latest edition *completed* by T that starts before it (as the event's stored
  metrics compute it, so the two agree): S attended the previous edition, E this one, N this
  one but not the previous one. Null for an edition without a previous one or when S is 0.

Cost: three queries, however many editions, contacts and attendances: the series, its
editions, and one aggregate over the attendances grouped by (first edition, edition) in SQL.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, EventSeries
from scoring.services.event_metrics import retention_rate

SHARE_DIGITS = 4  # a share 0–1 to 0.01 percentage points


@dataclass(frozen=True)
class CohortEdition:
    """An edition (a column of the matrix) with its CRR figures against its previous edition."""

    event_id: int
    name: str
    starts_at: datetime
    status: str
    attended: int  # E: contacts with status `attended`
    new: int  # attended it as their first edition of the series: the size of its cohort
    previous_event_id: int | None  # the latest edition completed by T that starts before it
    previous_attended: int | None  # S
    not_at_previous: int | None  # N
    retention_rate: float | None  # CRR in %, ((E − N) / S) × 100


@dataclass(frozen=True)
class CohortCell:
    event_id: int  # the later edition
    count: int  # contacts of the cohort who attended it
    share: float | None  # count / the cohort's size; null for an empty cohort


@dataclass(frozen=True)
class Cohort:
    """A row: the contacts who first attended the series at `event_id`, and each later edition."""

    event_id: int
    name: str
    starts_at: datetime
    size: int
    cells: list[CohortCell]  # one per later edition, in edition order


@dataclass(frozen=True)
class CohortMatrix:
    series_id: int
    series_name: str
    as_of: datetime
    editions: list[CohortEdition]
    cohorts: list[Cohort]  # one per edition, in edition order (empty cohorts too)

    @property
    def contacts(self) -> int:
        """Distinct contacts who attended an edition of the series."""
        return sum(cohort.size for cohort in self.cohorts)

    @property
    def has_data(self) -> bool:
        return self.contacts > 0


def edition_filter(as_of: datetime) -> Q:
    """Events whose attendance is known at T, as scoring counts it: known_attendances() on the
    event itself (ended by T, or completed by T); cancelled events are no editions."""
    known = Q(ends_at__lte=as_of) | Q(status=EventStatus.COMPLETED, completed_at__lte=as_of)
    return known & ~Q(status=EventStatus.CANCELLED)


def previous_editions(rows: list[tuple], as_of: datetime) -> dict[int, int]:
    """Per edition id, its previous edition's id (events.selectors.previous_edition as of T):
    the latest edition completed by T that starts before it. `rows` are in edition order."""
    previous: dict[int, int] = {}
    completed: list[tuple[datetime, int]] = []  # (starts_at, id) of the completed editions so far
    for event_id, _name, starts_at, status, completed_at in rows:
        # Completed editions that start before this one; ties in starts_at are not "before".
        earlier = [(start, pk) for start, pk in completed if start < starts_at]
        if earlier:
            previous[event_id] = max(earlier)[1]
        if status == EventStatus.COMPLETED and completed_at is not None and completed_at <= as_of:
            completed.append((starts_at, event_id))
    return previous


# Per (first edition, edition) pair: how many contacts attended, and how many of those also
# attended the edition's previous edition. The first edition is a window MIN over the contact's
# attended editions; the previous-edition lookup joins the series' attended rows on (contact,
# event), at most one row by the unique (event, contact) pair. Nothing per contact in Python.
# {position} and {previous} map event ids to the edition's position and its previous edition's id.
MATRIX_SQL = """
SELECT t.first_position, t.position, COUNT(*) AS attended, COUNT(p.id) AS attended_previous
FROM (
    SELECT a.contact_id, {position} AS position, {previous} AS previous_id,
           MIN({position}) OVER (PARTITION BY a.contact_id) AS first_position
    FROM {attendance} a
    WHERE a.event_id IN ({event_ids}) AND a.status = %s
) t
LEFT JOIN {attendance} p ON p.contact_id = t.contact_id AND p.event_id = t.previous_id AND p.status = %s
    AND p.event_id IN ({event_ids})
GROUP BY t.first_position, t.position
"""


def _matrix_counts(event_ids: list[int], previous: dict[int, int]) -> dict[tuple[int, int], tuple[int, int]]:
    """{(first position, position): (attended, attended the previous edition too)} in one query."""
    position = "CASE a.event_id " + " ".join("WHEN %s THEN %s" for _ in event_ids) + " END"
    position_params = [value for index, event_id in enumerate(event_ids) for value in (event_id, index)]
    if previous:
        previous_sql = "CASE a.event_id " + " ".join("WHEN %s THEN %s" for _ in previous) + " END"
    else:
        previous_sql = "CAST(NULL AS BIGINT)"
    previous_params = [value for pair in previous.items() for value in pair]
    sql = MATRIX_SQL.format(
        position=position, previous=previous_sql, event_ids=", ".join(["%s"] * len(event_ids)),
        attendance=connection.ops.quote_name(Attendance._meta.db_table),
    )
    # In the order the placeholders appear: position, previous, the window's position, the ids and
    # status of the rows, then of the previous-edition join.
    status = AttendanceStatus.ATTENDED.value
    params = [*position_params, *previous_params, *position_params, *event_ids, status, status, *event_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(first, at): (attended, both) for first, at, attended, both in cursor.fetchall()}


def cohort_matrix(series_id: int, *, as_of: datetime | None = None) -> CohortMatrix:
    """The cohort retention matrix of a series exactly as of `as_of` (default now); see the
    module's definitions. Raises EventSeries.DoesNotExist for an unknown series."""
    as_of = as_of or timezone.now()
    series = EventSeries.objects.only("name").get(pk=series_id)
    rows = list(
        Event.objects.filter(edition_filter(as_of), series_id=series_id)
        .order_by("starts_at", "id")
        .values_list("id", "name", "starts_at", "status", "completed_at")
    )
    event_ids = [row[0] for row in rows]
    previous = previous_editions(rows, as_of)
    counts = _matrix_counts(event_ids, previous) if rows else {}

    attended = [0] * len(rows)
    with_previous = [0] * len(rows)
    for (_first, at), (count, both) in counts.items():
        attended[at] += count
        with_previous[at] += both
    position_of = {event_id: index for index, event_id in enumerate(event_ids)}

    editions = []
    for index, (event_id, name, starts_at, status, _completed_at) in enumerate(rows):
        previous_id = previous.get(event_id)
        s = attended[position_of[previous_id]] if previous_id is not None else None
        n = attended[index] - with_previous[index] if previous_id is not None else None
        editions.append(CohortEdition(
            event_id=event_id, name=name, starts_at=starts_at, status=status, attended=attended[index],
            new=counts.get((index, index), (0, 0))[0], previous_event_id=previous_id, previous_attended=s,
            not_at_previous=n, retention_rate=retention_rate(s, attended[index], n) if s is not None else None,
        ))

    cohorts = []
    for first, edition in enumerate(editions):
        size = edition.new
        cells = []
        for later in range(first + 1, len(editions)):
            count = counts.get((first, later), (0, 0))[0]
            cells.append(CohortCell(
                event_id=editions[later].event_id, count=count,
                share=round(count / size, SHARE_DIGITS) if size else None,
            ))
        cohorts.append(Cohort(event_id=edition.event_id, name=edition.name, starts_at=edition.starts_at, size=size,
                              cells=cells))
    return CohortMatrix(series_id=series.pk, series_name=series.name, as_of=as_of, editions=editions, cohorts=cohorts)
