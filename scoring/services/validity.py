"""Score validity: how well the relationship score predicts who comes back to a series.

Agencies are asked to trust one number; this report shows how well it ranks the contacts who
attend the next edition of a series above those who do not, beside two simple rules of thumb
the score has to beat, and how often each score decile came back.

Definitions (the API schema and the admin page say the same):
- **Editions N+1**: every completed event of a series that has an earlier event of the series
  (one that starts before it). T = its `starts_at` − 1 µs, the moment just before it started.
- **Population** of an edition N+1: the contacts with status `attended` at an earlier event of
  the series whose attendance is known at T, as scoring counts it: the event ended by T, or was
  completed by T. Erased contacts are included: they keep their rows (anonymous), and leaving
  them out would drop mostly people who did not come back.
- **Outcome**: status `attended` at N+1.
- **Predictors**, all as of T: the score (`compute_scores()` exactly as of T, so N+1's own
  attendance does not count), each of its six components alone, and two baselines:
  days since the last attendance (any event, known at T; measured from the event's `ends_at`;
  fewer days predict a return, so its negative ranks) and the number of earlier editions of this
  series attended (more predict a return).
- **AUC**: the chance that a random contact who came back ranks above a random one who did not,
  ties counted half (Mann–Whitney U with average ranks); null when everyone or no one came back.
  A contact counts once per edition N+1 (a pair); per series the pairs of its editions are
  pooled, overall the pairs of all editions.
- **Calibration**: the pooled pairs sorted by score (ties in edition, then contact order), cut
  by rank into 10 groups as equal as possible (sizes differ by at most one; with fewer than 10
  pairs, one group per pair); per group the score range, pairs, mean score and observed return rate.

Cost: one query lists the editions, one per edition reads its population with outcome and both
baselines, and `compute_scores()` one per chunk of it; never one per contact.

Cache: a report is stored in the Django cache under its data version (`data_version()`, which
includes the active profile) and the series filter; any write to the data the report reads gives a
new version, so a cached report is never stale, and a version nobody asks for again expires.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, Model, OuterRef, Subquery
from django.utils import timezone

from contacts.models import FollowUp, Referral
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from ror_crm.db import analytic_read
from scoring.models import COMPONENTS, ScoringProfile
from scoring.services.contact_scores import SECONDS_PER_DAY, ScoreResult, compute_scores
from scoring.services.event_metrics import known_attendances
from scoring.services.profile import ScoringParameters, active_parameters
from scoring.services.recompute import chunk_size_setting, chunked

# Bump when this computation, the scoring formulas or the result's shape change: reports cached
# by the old code drop out.
REPORT_VERSION = 1
# A data version's report stays true while the code does; a day bounds what a deploy that
# forgot REPORT_VERSION can leave behind, and frees the space of versions nobody asks for.
CACHE_TIMEOUT = 24 * 3600
CALIBRATION_GROUPS = 10
AUC_DIGITS = 4
BASELINES = ("days_since_last_attendance", "editions_attended")
# Every write path of these stamps updated_at (bulk updates included), so count + latest
# updated_at changes with every insert, change and delete.
VERSIONED_MODELS = (EventSeries, Event, Attendance, Interaction, FollowUp, Feedback, Referral)

Progress = Callable[[int, int], None]  # (pairs scored so far, pairs in all)


@dataclass(frozen=True)
class Edition:
    """An edition N+1: a completed event of a series with an earlier event of that series."""

    event_id: int
    name: str
    series_id: int
    series_name: str
    starts_at: datetime

    @property
    def as_of(self) -> datetime:
        """T: the moment just before the edition started."""
        return self.starts_at - timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class PopulationRow:
    contact_id: int
    returned: bool
    editions_attended: int
    last_attended_ends_at: datetime


@dataclass(frozen=True, slots=True)
class Observation:
    """One (contact, edition N+1) pair: what was known at T, and whether the contact came."""

    contact_id: int
    event_id: int
    series_id: int
    returned: bool
    score: float
    components: dict[str, float]
    days_since_last_attendance: float
    editions_attended: int


# What each AUC ranks by; larger must mean "more likely to come back".
PREDICTORS: dict[str, Callable[[Observation], float]] = {
    "score": lambda observation: observation.score,
    "days_since_last_attendance": lambda observation: -observation.days_since_last_attendance,
    "editions_attended": lambda observation: observation.editions_attended,
    **{name: (lambda observation, name=name: observation.components[name]) for name in COMPONENTS},
}


@dataclass(frozen=True)
class CalibrationGroup:
    decile: int  # 1 = the lowest scores
    pairs: int
    min_score: float
    max_score: float
    mean_score: float
    return_rate: float


@dataclass(frozen=True)
class ValidityGroup:
    """The figures of one series (or of all, `series_id` None) pooled over its editions N+1."""

    series_id: int | None
    name: str | None
    editions: int
    contacts: int
    pairs: int
    returned: int
    return_rate: float | None
    score_auc: float | None
    baseline_auc: dict[str, float | None]
    component_auc: dict[str, float | None]
    # The baselines whose AUC is higher than the score's: said out loud, not hidden.
    score_beaten_by: list[str]
    calibration: list[CalibrationGroup]


@dataclass(frozen=True)
class ValidityReport:
    overall: ValidityGroup
    series: list[ValidityGroup]
    series_filter: int | None
    profile_version: int
    data_version: str
    computed_at: datetime
    from_cache: bool = field(default=False, compare=False)

    @property
    def has_data(self) -> bool:
        return self.overall.pairs > 0


# Reading the data -------------------------------------------------------------------------


def completed_editions(series_id: int | None = None) -> list[Edition]:
    """Every edition N+1, by series name and start; one query."""
    earlier = Event.objects.filter(series_id=OuterRef("series_id"), starts_at__lt=OuterRef("starts_at"))
    events = Event.objects.filter(Exists(earlier), status=EventStatus.COMPLETED, series__isnull=False)
    if series_id is not None:
        events = events.filter(series_id=series_id)
    rows = events.order_by("series__name", "series_id", "starts_at", "pk").values_list(
        "pk", "name", "series_id", "series__name", "starts_at"
    )
    return [Edition(*row) for row in rows]


def edition_population(edition: Edition) -> list[PopulationRow]:
    """The edition's population with its outcome and both baselines as of T, in one query."""
    as_of = edition.as_of
    attended = Attendance.objects.filter(status=AttendanceStatus.ATTENDED)
    # The latest one by an ordered LIMIT 1 (index lookups per contact); a MAX() grouped per
    # contact made PostgreSQL hash-join every event for every contact of the population.
    last_attended = (
        attended.filter(known_attendances(as_of), contact_id=OuterRef("contact_id"))
        .order_by("-event__ends_at").values("event__ends_at")[:1]
    )
    came = attended.filter(event_id=edition.event_id, contact_id=OuterRef("contact_id"))
    rows = (
        attended.filter(known_attendances(as_of), event__series_id=edition.series_id, event__starts_at__lt=edition.starts_at)
        .values("contact_id")
        .annotate(
            editions_attended=Count("event_id", distinct=True),
            last_attended_ends_at=Subquery(last_attended),
            returned=Exists(came),
        )
        .order_by("contact_id")
        .values_list("contact_id", "returned", "editions_attended", "last_attended_ends_at")
    )
    with analytic_read():
        return [PopulationRow(*row) for row in rows]


# What-if and fitted profiles score the pairs once per profile or half-life, each edition as of its
# own T; at 100,000 contacts the whole history holds over a million pairs. They read the newest
# editions up to this many pairs (AUC within about ±0.01), the validity report itself all of them.
RECENT_PAIRS = 10_000


def recent_populations(
    editions: Sequence[Edition], max_pairs: int | None = RECENT_PAIRS
) -> list[tuple[Edition, list[PopulationRow]]]:
    """The newest editions with their populations until they hold `max_pairs` pairs (whole
    editions: the one that reaches it is kept), in the order given; None: every edition. One
    query per edition read, so older editions cost nothing once the newest suffice."""
    chosen: dict[int, list[PopulationRow]] = {}
    pairs = 0
    for edition in sorted(editions, key=lambda edition: (edition.starts_at, edition.event_id), reverse=True):
        if max_pairs is not None and pairs >= max_pairs:
            break
        population = edition_population(edition)
        chosen[edition.event_id] = population
        pairs += len(population)
    return [(edition, chosen[edition.event_id]) for edition in editions if edition.event_id in chosen]


def observe_edition(
    edition: Edition, population: Sequence[PopulationRow], params: ScoringParameters, chunk_size: int,
    on_chunk: Callable[[int], None] = lambda pairs: None,
) -> list[Observation]:
    """Score the population as of T, chunk by chunk (one compute_scores() query each)."""
    rows = {row.contact_id: row for row in population}
    observations = []
    for chunk in chunked(sorted(rows), chunk_size):
        observations += observations_of(edition, rows, compute_scores(chunk, edition.as_of, params))
        on_chunk(len(chunk))
    return observations


def observations_of(
    edition: Edition, rows: dict[int, PopulationRow], results: Iterable[ScoreResult]
) -> list[Observation]:
    """The pairs of an edition from its population rows (by contact id) and their scores as of T."""
    observations = []
    for result in results:
        row = rows[result.contact_id]
        days = (edition.as_of - row.last_attended_ends_at).total_seconds() / SECONDS_PER_DAY
        observations.append(Observation(
            contact_id=result.contact_id, event_id=edition.event_id, series_id=edition.series_id,
            returned=row.returned, score=result.score, components=result.components,
            # An event completed early may end after T: its attendance is as recent as it gets.
            days_since_last_attendance=max(0.0, days), editions_attended=row.editions_attended,
        ))
    return observations


# The statistics ---------------------------------------------------------------------------


def auc(values: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Mann–Whitney AUC: P(a positive ranks above a negative), ties counted half; None if a class is empty.

    AUC = (R⁺ − n⁺(n⁺ + 1)/2) / (n⁺ n⁻), R⁺ the sum of the positives' ranks (1 = lowest value),
    tied values sharing their average rank.
    """
    positives = sum(1 for outcome in outcomes if outcome)
    negatives = len(outcomes) - positives
    if not positives or not negatives:
        return None
    order = sorted(range(len(values)), key=values.__getitem__)
    positive_rank_sum, start = 0.0, 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1  # positions start..end hold ranks start+1..end+1
        positive_rank_sum += average_rank * sum(1 for index in order[start : end + 1] if outcomes[index])
        start = end + 1
    return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def predictor_auc(observations: Sequence[Observation], predictor: str) -> float | None:
    value = PREDICTORS[predictor]
    result = auc([value(observation) for observation in observations], [o.returned for o in observations])
    return None if result is None else round(result, AUC_DIGITS)


def calibration(observations: Iterable[Observation], groups: int = CALIBRATION_GROUPS) -> list[CalibrationGroup]:
    """Pairs sorted by score, cut by rank into `groups` groups as equal as possible."""
    ranked = sorted(observations, key=lambda o: (o.score, o.event_id, o.contact_id))
    count = min(groups, len(ranked))
    result = []
    for index in range(count):
        members = ranked[index * len(ranked) // count : (index + 1) * len(ranked) // count]
        scores = [member.score for member in members]
        result.append(CalibrationGroup(
            decile=index + 1, pairs=len(members), min_score=min(scores), max_score=max(scores),
            mean_score=round(sum(scores) / len(scores), 2),
            return_rate=round(sum(member.returned for member in members) / len(members), AUC_DIGITS),
        ))
    return result


def summarize(observations: Sequence[Observation], *, series_id: int | None, name: str | None) -> ValidityGroup:
    returned = sum(observation.returned for observation in observations)
    score_auc = predictor_auc(observations, "score")
    baseline_auc = {baseline: predictor_auc(observations, baseline) for baseline in BASELINES}
    return ValidityGroup(
        series_id=series_id,
        name=name,
        editions=len({observation.event_id for observation in observations}),
        contacts=len({observation.contact_id for observation in observations}),
        pairs=len(observations),
        returned=returned,
        return_rate=round(returned / len(observations), AUC_DIGITS) if observations else None,
        score_auc=score_auc,
        baseline_auc=baseline_auc,
        component_auc={component: predictor_auc(observations, component) for component in COMPONENTS},
        score_beaten_by=[
            baseline for baseline, value in baseline_auc.items()
            if score_auc is not None and value is not None and value > score_auc
        ],
        calibration=calibration(observations),
    )


# The report -------------------------------------------------------------------------------


def data_version(models: Sequence[type[Model]] = VERSIONED_MODELS) -> str:
    """A fingerprint of everything the report reads, in one query: per table of `models` (whose
    writes all stamp updated_at) the row count and the latest updated_at, and the active
    profile's version and updated_at. Other reports pass the tables they read."""
    columns = []
    for model in models:
        table = connection.ops.quote_name(model._meta.db_table)
        columns += [f"(SELECT COUNT(*) FROM {table})", f"(SELECT MAX(updated_at) FROM {table})"]
    profiles = connection.ops.quote_name(ScoringProfile._meta.db_table)
    columns += [f"(SELECT {column} FROM {profiles} WHERE is_active = %s)" for column in ("version", "updated_at")]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)}", [True, True])
        row = cursor.fetchone()
    return hashlib.sha256(repr(row).encode()).hexdigest()[:16]


def build_validity_report(
    *,
    series_id: int | None = None,
    params: ScoringParameters | None = None,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    version: str = "",
) -> ValidityReport:
    """The report computed now (no cache); `progress` hears of every chunk scored."""
    params = params or active_parameters()
    chunk_size = chunk_size or chunk_size_setting()
    populations = [(edition, edition_population(edition)) for edition in completed_editions(series_id)]
    total, done = sum(len(population) for _edition, population in populations), 0
    if progress:
        progress(0, total)

    def scored(pairs: int) -> None:
        nonlocal done
        done += pairs
        if progress:
            progress(done, total)

    observations: list[Observation] = []
    for edition, population in populations:
        observations += observe_edition(edition, population, params, chunk_size, scored)

    by_series: dict[int, list[Observation]] = defaultdict(list)
    for observation in observations:
        by_series[observation.series_id].append(observation)
    names = {edition.series_id: edition.series_name for edition, _population in populations}
    # Series in the editions' order (by name); a series whose editions have no population is left out.
    series = [summarize(by_series[series_id], series_id=series_id, name=names[series_id])
              for series_id in dict.fromkeys(edition.series_id for edition, _population in populations)
              if by_series[series_id]]
    return ValidityReport(
        overall=summarize(observations, series_id=None, name=None),
        series=series,
        series_filter=series_id,
        profile_version=params.version,
        data_version=version,
        computed_at=timezone.now(),
    )


def cache_key(version: str, series_id: int | None) -> str:
    return f"ror:score-validity:v{REPORT_VERSION}:{series_id or 'all'}:{version}"


def score_validity_report(
    *, series_id: int | None = None, use_cache: bool = True, chunk_size: int | None = None,
    progress: Progress | None = None,
) -> ValidityReport:
    """The report for the data as it is: from the cache when this data version was computed
    before, else computed and cached (also with `use_cache=False`, which only skips reading)."""
    version = data_version()  # the active profile is part of it
    key = cache_key(version, series_id)
    if use_cache and (cached := cache.get(key)) is not None:
        return replace(cached, from_cache=True)
    report = build_validity_report(series_id=series_id, chunk_size=chunk_size, progress=progress, version=version)
    cache.set(key, report, CACHE_TIMEOUT)
    return report

