"""Relationship lift against matched non-attendees: did the event move relationships?

The event metrics' `relationship_lift` takes the event's own rows away; this report asks the
analyst's question instead: how did the scores of the people who came change over the window
after the event, against people who did not come but looked the same before it?

Definitions (docs/matched-lift.md, the API schema and the event page say the same):
- **Window**: `before` = the event's `starts_at` − 1 µs (the moment just before it started, as
  the score validity report takes it); `after` = its `ends_at` + `days` (default 90). Only for a
  completed event whose `after` has passed; otherwise the state says why not.
- **Attendees**: the contacts with status `attended` at the event.
- **Candidates** for matching: the contacts that existed at `before` (`created_at` ≤ `before`),
  did not attend the event (no-shows and invitees are candidates) and are not erased.
- **Scores** exactly as of `before` and as of `after` (`compute_scores()`); the change of a
  contact is its score after minus its score before.
- **Strata**: the lifecycle stage as of `before` and the organization-size bucket: no
  organization, or the number of contacts of the contact's organization that existed at
  `before` (created by then, not erased by then): 1, 2–9, 10–49, 50+.
- **Matching**: each attendee gets the candidate of its stratum whose score before is nearest,
  with replacement (a candidate may serve several attendees); equally near candidates take turns
  in the order of their contact ids (the attendees in theirs), so ties spread over distinct
  controls. A match farther than the caliper (CALIPER_POINTS score points) is no match: the
  attendee is reported as unmatched (`outside_caliper`; `no_candidate` when the stratum has none).
- **Effect** (difference in differences) = mean over matched pairs of (attendee's change −
  control's change) = mean attendee change − mean matched control change.
- **95 % interval**: percentile bootstrap over the matched pairs, clustered by control: the
  pairs that share a control are drawn together (they are not independent: a control's change
  counts once per pair it serves). `resamples` times draw as many controls' clusters as there
  are, with replacement (numpy Generator seeded with `seed`), take the mean difference of their
  pairs; the 2.5th and 97.5th percentiles (linear interpolation). With every control serving one
  attendee, that is the plain bootstrap over the pairs. It includes 0 → said plainly. Fewer than
  min_distinct_controls() distinct controls → no interval (too few independent draws), said plainly.
- **Balance**: per group (all attendees, all candidates, matched attendees, matched controls —
  a control counted once per pair it serves) the mean score before and the shares of stages and
  organization-size buckets; the standardized mean difference of the score before,
  (mean_a − mean_c) / √((s_a² + s_c²) / 2) with sample variances, before and after matching.

Cost: one query for the event; a result for this data version is read from the cache (one more
query for the version); else one query each for the attendees, the candidates and the
organization sizes, `compute_scores()` once per chunk of attendees + candidates as of `before`,
and once per chunk of attendees + matched controls as of `after`; never one per contact.
"""

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from contacts.models import Contact
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event
from ror_crm.exceptions import DomainError
from scoring.choices import LifecycleStage
from scoring.formatting import localized, signed
from scoring.services.contact_scores import compute_scores
from scoring.services.profile import ScoringParameters, active_parameters
from scoring.services.recompute import chunk_size_setting, chunked
from scoring.services.validity import VERSIONED_MODELS, data_version

# Bump when this computation or the result's shape changes: results cached by old code drop out.
LIFT_VERSION = 3  # 2: the interval's bootstrap clustered by control; 3: ties take turns
CACHE_TIMEOUT = 24 * 3600
DEFAULT_DAYS, MIN_DAYS, MAX_DAYS = 90, 1, 3650
DEFAULT_RESAMPLES, MAX_RESAMPLES = 2000, 100_000
CONFIDENCE = 0.95
# The farthest a control's score before may lie from its attendee's, in score points: on a
# 0–100 scale, close enough that the two relationships stood about the same before the event.
CALIPER_POINTS = 5.0
DIGITS = 4
# The bootstrap draws at most this many pair indexes at once (memory stays near 16 MB).
BOOTSTRAP_BLOCK_CELLS = 2_000_000

# The organization-size buckets: (name, smallest size, largest size); "none" = no organization.
ORG_SIZE_BUCKETS = (("none", 0, 0), ("1", 1, 1), ("2-9", 2, 9), ("10-49", 10, 49), ("50+", 50, None))
ORG_SIZE_NAMES = tuple(name for name, _low, _high in ORG_SIZE_BUCKETS)
STAGES = tuple(LifecycleStage.values)

# The states of a result.
READY = "ready"
NOT_COMPLETED = "event_not_completed"
WINDOW_OPEN = "lift_window_open"

# Why an attendee has no match.
NO_CANDIDATE = "no_candidate"
OUTSIDE_CALIPER = "outside_caliper"

# The score keys of the matching: a stratum's key block, then the score in tenths (scores are
# stored to one decimal), so nearness is integer arithmetic, never a float that misses the caliper.
STRATUM_SPAN = 10_000


class LiftNotAvailable(DomainError):
    """The lift of this event cannot be computed (yet): its code says why (API: 409)."""

    code = "lift_not_available"


@dataclass(frozen=True)
class GroupBalance:
    group: str  # attendees, candidates, matched_attendees, matched_controls
    contacts: int  # rows: for matched_controls, pairs (a control counted once per pair it serves)
    mean_score_before: float | None
    stage_shares: dict[str, float]
    org_size_shares: dict[str, float]


@dataclass(frozen=True)
class Balance:
    groups: list[GroupBalance]
    smd_before_matching: float | None  # attendees vs candidates
    smd_after_matching: float | None  # matched attendees vs matched controls


@dataclass(frozen=True)
class MatchedPair:
    attendee_id: int
    control_id: int
    stage: str
    org_size: str
    attendee_before: float
    attendee_after: float
    control_before: float
    control_after: float

    @property
    def difference(self) -> float:
        return (self.attendee_after - self.attendee_before) - (self.control_after - self.control_before)


@dataclass(frozen=True)
class UnmatchedAttendee:
    contact_id: int
    stage: str
    org_size: str
    score_before: float
    reason: str  # no_candidate, outside_caliper


@dataclass(frozen=True)
class MatchedLift:
    event_id: int
    event_name: str
    state: str  # ready, event_not_completed, lift_window_open
    days: int
    before: datetime
    after: datetime
    caliper: float = CALIPER_POINTS
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    confidence: float = CONFIDENCE
    attendees: int = 0
    candidates: int = 0
    matched: int = 0
    unmatched: int = 0
    distinct_controls: int = 0
    effect: float | None = None
    attendee_change: float | None = None  # mean over matched attendees
    control_change: float | None = None  # mean over pairs
    ci_low: float | None = None
    ci_high: float | None = None
    interval_includes_zero: bool | None = None
    pairs: list[MatchedPair] = field(default_factory=list)
    unmatched_attendees: list[UnmatchedAttendee] = field(default_factory=list)
    balance: Balance | None = None
    profile_version: int | None = None
    data_version: str = ""
    computed_at: datetime | None = None
    from_cache: bool = field(default=False, compare=False)

    @property
    def is_ready(self) -> bool:
        return self.state == READY

    @property
    def summary(self) -> str:
        """What the result says, in a sentence or two of the active language."""
        if self.state == NOT_COMPLETED:
            return _("The lift is computed for completed events; this event is not completed yet.")
        if self.state == WINDOW_OPEN:
            return _("The lift compares the %(days)s days after the event: it is available from %(date)s.") % {
                "days": localized(self.days), "date": date_format(timezone.localtime(self.after), "DATETIME_FORMAT"),
            }
        if not self.matched:
            return _("No attendee could be matched with a non-attendee, so no lift can be estimated.")
        if self.ci_low is None:
            return self._without_interval()
        text = _(
            "Over the %(days)s days after the event, attendees' scores changed by %(effect)s points against matched "
            "non-attendees (95 %% interval %(low)s to %(high)s; %(matched)s of %(attendees)s attendees matched)."
        ) % {
            "days": localized(self.days), "effect": signed(self.effect, 1), "low": signed(self.ci_low, 1),
            "high": signed(self.ci_high, 1), "matched": localized(self.matched), "attendees": localized(self.attendees),
        }
        if self.interval_includes_zero:
            return text + " " + _("The interval includes 0: the data do not show that attending changed the score.")
        return text + " " + _("The interval does not include 0.")

    def _without_interval(self) -> str:
        return _(
            "Over the %(days)s days after the event, attendees' scores changed by %(effect)s points against matched "
            "non-attendees (%(matched)s of %(attendees)s attendees matched). Only %(controls)s different non-attendees "
            "served as controls: too few to put an interval on it, so the data do not show that attending changed "
            "the score."
        ) % {
            "days": localized(self.days), "effect": signed(self.effect, 1), "matched": localized(self.matched),
            "attendees": localized(self.attendees), "controls": localized(self.distinct_controls),
        }


# Availability -----------------------------------------------------------------------------


def min_distinct_controls() -> int:
    """The bootstrap draws controls' clusters: with fewer distinct controls than this (the
    LIFT_MIN_DISTINCT_CONTROLS setting, default 10) it has too few independent draws to put an
    interval on the effect (one control: every draw the same); none is given, the summary says why."""
    return settings.LIFT_MIN_DISTINCT_CONTROLS


def lift_window(event: Event, days: int) -> tuple[datetime, datetime]:
    """(before, after): just before the event started, and `days` after it ended."""
    return event.starts_at - timedelta(microseconds=1), event.ends_at + timedelta(days=days)


def lift_state(event: Event, days: int, now: datetime) -> str:
    if event.status != EventStatus.COMPLETED:
        return NOT_COMPLETED
    if lift_window(event, days)[1] > now:
        return WINDOW_OPEN
    return READY


def check_days(days: int) -> None:
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"days must lie between {MIN_DAYS} and {MAX_DAYS}, not {days}")


# Reading the data -------------------------------------------------------------------------


@dataclass
class Population:
    """Attendees and candidates: ids, stratum parts, and their scores as of `before`."""

    ids: np.ndarray  # int64
    attended: np.ndarray  # bool
    org_size: np.ndarray  # index into ORG_SIZE_NAMES
    stage: np.ndarray | None = None  # index into STAGES
    score_tenths: np.ndarray | None = None  # int64, the score before × 10
    score: np.ndarray | None = None  # float, the score before


def org_size_bucket(size: int) -> int:
    for index, (_name, low, high) in enumerate(ORG_SIZE_BUCKETS):
        if size >= low and (high is None or size <= high):
            return index
    raise ValueError(size)  # pragma: no cover - the buckets cover 0 and up


def organization_sizes(before: datetime) -> dict[int, int]:
    """Contacts per organization that existed at `before`: created by then, not erased by then. One query."""
    existing = Q(created_at__lte=before) & (Q(erased_at__isnull=True) | Q(erased_at__gt=before))
    rows = (Contact.objects.filter(existing, organization__isnull=False).order_by()
            .values("organization_id").annotate(size=Count("pk")).values_list("organization_id", "size"))
    return dict(rows)


def read_population(event: Event, before: datetime) -> Population:
    """The attendees and the candidates with their organization-size bucket; three queries."""
    attended_here = Attendance.objects.filter(event_id=event.pk, status=AttendanceStatus.ATTENDED)
    attendees = list(attended_here.order_by("contact_id").values_list("contact_id", "contact__organization_id"))
    candidates = list(
        Contact.objects.filter(created_at__lte=before, erased_at__isnull=True)
        .exclude(pk__in=attended_here.values("contact_id"))
        .order_by("pk").values_list("pk", "organization_id")
    )
    sizes = organization_sizes(before)
    rows = attendees + candidates
    return Population(
        ids=np.array([contact_id for contact_id, _organization in rows], dtype=np.int64),
        attended=np.array([True] * len(attendees) + [False] * len(candidates), dtype=bool),
        org_size=np.array(
            [0 if organization is None else org_size_bucket(sizes.get(organization, 0)) for _id, organization in rows],
            dtype=np.int64,
        ),
    )


# A chunk of ids is read as the range from its first to its last id when at most this share more
# contacts could lie in between (the erased and the later ones, scored and dropped): a range is
# read by range scans, about a fifth cheaper than looking up each id (load_chunk()).
DENSE_RANGE_SLACK = 1.25


def dense_chunks(sorted_ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """Chunks of `size` ids, each as a range of ids where the ids lie densely, else as the list."""
    for chunk in chunked(sorted_ids, size):
        span = chunk[-1] - chunk[0] + 1
        yield range(chunk[0], chunk[-1] + 1) if span <= DENSE_RANGE_SLACK * len(chunk) else chunk


def score_population(population: Population, before: datetime, params: ScoringParameters, chunk_size: int) -> None:
    """Everyone's score and stage as of `before`, chunk by chunk (one compute_scores() each)."""
    position = {int(contact_id): index for index, contact_id in enumerate(population.ids)}
    count = len(population.ids)
    stage, score = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.float64)
    stage_index = {name: index for index, name in enumerate(STAGES)}
    for chunk in dense_chunks(sorted(position), chunk_size):
        for result in compute_scores(chunk, before, params):
            index = position.get(result.contact_id)
            if index is not None:  # a range may hold a contact that is neither attendee nor candidate
                stage[index], score[index] = stage_index[result.stage], result.score
    population.stage, population.score = stage, score
    population.score_tenths = np.rint(score * 10).astype(np.int64)


def scores_as_of(contact_ids: Sequence[int], as_of: datetime, params: ScoringParameters, chunk_size: int) -> dict[int, float]:
    scores = {}
    for chunk in chunked(sorted(set(contact_ids)), chunk_size):
        scores.update((result.contact_id, result.score) for result in compute_scores(chunk, as_of, params))
    return scores


# Matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matching:
    attendee_index: np.ndarray  # positions in the population of the matched attendees
    control_index: np.ndarray  # their controls, pair by pair
    unmatched_index: np.ndarray  # positions of the attendees without a match
    unmatched_reason: list[str]


def match_attendees(population: Population, caliper: float) -> Matching:
    """Nearest neighbour on the score before within the stratum (stage, organization-size bucket),
    with replacement, within the caliper; equally near candidates take turns by id. Vectorised: the
    candidates sorted by (stratum, score, id), each attendee's neighbours found by binary search."""
    stratum = population.stage * len(ORG_SIZE_BUCKETS) + population.org_size
    key = stratum * STRATUM_SPAN + population.score_tenths
    attendees = np.flatnonzero(population.attended)
    candidates = np.flatnonzero(~population.attended)
    if not len(candidates):
        return Matching(attendees[:0], attendees[:0], attendees, [NO_CANDIDATE] * len(attendees))
    order = candidates[np.lexsort((population.ids[candidates], key[candidates]))]
    sorted_keys, sorted_strata, sorted_ids = key[order], stratum[order], population.ids[order]
    wanted, wanted_strata = key[attendees], stratum[attendees]
    last = len(order) - 1
    # Above: the first candidate at or above the attendee's score (the lowest id among equals).
    position = np.searchsorted(sorted_keys, wanted, side="left")
    above = np.minimum(position, last)
    has_above = (position <= last) & (sorted_strata[above] == wanted_strata)
    # Below: the nearest score under it, and of the candidates sharing that score the first.
    below_last = np.maximum(position - 1, 0)
    has_below = (position > 0) & (sorted_strata[below_last] == wanted_strata)
    below = np.searchsorted(sorted_keys, sorted_keys[below_last], side="left")
    far = np.iinfo(np.int64).max
    distance_above = np.where(has_above, sorted_keys[above] - wanted, far)
    distance_below = np.where(has_below, wanted - sorted_keys[below], far)
    take_below = (distance_below < distance_above) | (
        (distance_below == distance_above) & (sorted_ids[below] < sorted_ids[above])
    )
    chosen = np.where(take_below, below, above)
    found = has_above | has_below
    # Tenths of a point: integers, so a distance of exactly the caliper is inside it.
    inside = found & (np.minimum(distance_above, distance_below) <= round(caliper * 10))
    # Equally near candidates (a run of equal keys) take turns, by id: the k-th matched attendee
    # sent to a run gets its (k mod run length)-th candidate, so ties spread over distinct controls
    # (every contact scored 0 before an agency's first event made a few controls serve everyone).
    matched_runs = chosen[inside]
    run_length = np.searchsorted(sorted_keys, sorted_keys[matched_runs], side="right") - matched_runs
    by_run = np.argsort(matched_runs, kind="stable")
    runs_in_order = matched_runs[by_run]
    rank = np.empty(len(matched_runs), dtype=np.int64)
    rank[by_run] = np.arange(len(matched_runs)) - np.searchsorted(runs_in_order, runs_in_order, side="left")
    chosen[inside] = matched_runs + rank % run_length
    return Matching(
        attendee_index=attendees[inside],
        control_index=order[chosen[inside]],
        unmatched_index=attendees[~inside],
        unmatched_reason=[OUTSIDE_CALIPER if was_found else NO_CANDIDATE for was_found in found[~inside]],
    )


# The statistics ---------------------------------------------------------------------------


def bootstrap_interval(
    differences: np.ndarray, *, resamples: int, seed: int, confidence: float = CONFIDENCE,
    clusters: np.ndarray | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap of the mean difference: `resamples` times as many clusters as there
    are drawn with replacement (numpy Generator with `seed`) and the mean difference of their
    pairs taken; the (1 − confidence)/2 and (1 + confidence)/2 quantiles of those means (linear
    interpolation). `clusters`: per difference, its control, so that the pairs sharing a control
    (matching with replacement) are drawn together, as they are not independent; none given,
    every pair is a cluster of its own. Drawn in blocks, so memory stays flat for large events."""
    if clusters is None:
        sums, sizes = differences, np.ones(len(differences))
    else:
        _, cluster_of = np.unique(clusters, return_inverse=True)
        sums, sizes = np.bincount(cluster_of, weights=differences), np.bincount(cluster_of).astype(np.float64)
    count = len(sums)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    block = max(1, BOOTSTRAP_BLOCK_CELLS // count)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        drawn = rng.integers(0, count, size=(size, count))
        means[start : start + size] = sums[drawn].sum(axis=1) / sizes[drawn].sum(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def standardized_mean_difference(treated: np.ndarray, control: np.ndarray) -> float | None:
    """(mean_t − mean_c) / √((s_t² + s_c²) / 2), sample variances (0 for a single value); 0 when
    both groups are constant at the same value, None when a group is empty or constant apart."""
    if not len(treated) or not len(control):
        return None
    difference = float(treated.mean() - control.mean())
    variance = [float(values.var(ddof=1)) if len(values) > 1 else 0.0 for values in (treated, control)]
    spread = math.sqrt(sum(variance) / 2)
    if spread == 0:
        return 0.0 if difference == 0 else None
    return round(difference / spread, DIGITS)


def group_balance(group: str, stage: np.ndarray, org_size: np.ndarray, score: np.ndarray) -> GroupBalance:
    count = len(score)

    def shares(codes: np.ndarray, names: Sequence[str]) -> dict[str, float]:
        counts = np.bincount(codes, minlength=len(names)) if count else np.zeros(len(names), dtype=np.int64)
        return {name: round(int(counts[index]) / count, DIGITS) if count else 0.0 for index, name in enumerate(names)}

    return GroupBalance(
        group=group, contacts=count,
        mean_score_before=round(float(score.mean()), DIGITS) if count else None,
        stage_shares=shares(stage, STAGES), org_size_shares=shares(org_size, ORG_SIZE_NAMES),
    )


def balance_table(population: Population, matching: Matching) -> Balance:
    attendees, candidates = np.flatnonzero(population.attended), np.flatnonzero(~population.attended)
    groups = [
        ("attendees", attendees), ("candidates", candidates),
        ("matched_attendees", matching.attendee_index), ("matched_controls", matching.control_index),
    ]
    return Balance(
        groups=[group_balance(name, population.stage[index], population.org_size[index], population.score[index])
                for name, index in groups],
        smd_before_matching=standardized_mean_difference(population.score[attendees], population.score[candidates]),
        smd_after_matching=standardized_mean_difference(
            population.score[matching.attendee_index], population.score[matching.control_index]
        ),
    )


# The report -------------------------------------------------------------------------------


def build_matched_lift(
    event: Event, *, days: int, resamples: int, seed: int, caliper: float,
    params: ScoringParameters, chunk_size: int, version: str = "",
) -> MatchedLift:
    """The lift of a completed event whose window has passed, computed now (no cache)."""
    before, after = lift_window(event, days)
    population = read_population(event, before)
    score_population(population, before, params, chunk_size)
    matching = match_attendees(population, caliper)
    ids = population.ids
    attendee_ids, control_ids = ids[matching.attendee_index].tolist(), ids[matching.control_index].tolist()
    after_scores = scores_as_of(attendee_ids + control_ids, after, params, chunk_size)
    pairs = [
        MatchedPair(
            attendee_id=attendee, control_id=control,
            stage=STAGES[population.stage[a_index]], org_size=ORG_SIZE_NAMES[population.org_size[a_index]],
            attendee_before=float(population.score[a_index]), attendee_after=after_scores[attendee],
            control_before=float(population.score[c_index]), control_after=after_scores[control],
        )
        for attendee, control, a_index, c_index in zip(
            attendee_ids, control_ids, matching.attendee_index, matching.control_index, strict=True
        )
    ]
    unmatched = [
        UnmatchedAttendee(
            contact_id=int(ids[index]), stage=STAGES[population.stage[index]],
            org_size=ORG_SIZE_NAMES[population.org_size[index]], score_before=float(population.score[index]),
            reason=reason,
        )
        for index, reason in zip(matching.unmatched_index, matching.unmatched_reason, strict=True)
    ]
    figures = {}
    if pairs:
        attendee_change = np.array([pair.attendee_after - pair.attendee_before for pair in pairs])
        control_change = np.array([pair.control_after - pair.control_before for pair in pairs])
        differences = attendee_change - control_change
        figures = {
            "effect": round(float(differences.mean()), DIGITS),
            "attendee_change": round(float(attendee_change.mean()), DIGITS),
            "control_change": round(float(control_change.mean()), DIGITS),
        }
        if len(set(control_ids)) >= min_distinct_controls():
            low, high = bootstrap_interval(differences, resamples=resamples, seed=seed, clusters=np.array(control_ids))
            low, high = round(low, DIGITS), round(high, DIGITS)
            figures |= {"ci_low": low, "ci_high": high, "interval_includes_zero": low <= 0 <= high}
    return MatchedLift(
        event_id=event.pk, event_name=event.name, state=READY, days=days, before=before, after=after,
        caliper=caliper, resamples=resamples, seed=seed,
        attendees=int(population.attended.sum()), candidates=int((~population.attended).sum()),
        matched=len(pairs), unmatched=len(unmatched), distinct_controls=len(set(control_ids)),
        pairs=pairs, unmatched_attendees=unmatched, balance=balance_table(population, matching),
        profile_version=params.version, data_version=version, computed_at=timezone.now(), **figures,
    )


def lift_data_version() -> str:
    """A fingerprint of everything the lift reads, in one query: the score validity report's
    tables (series, events, attendances, interactions, follow-ups, feedback, referrals), the
    contacts (created, erased, organization) and the active profile."""
    return data_version((*VERSIONED_MODELS, Contact))


def cache_key(event_id: int, days: int, resamples: int, seed: int, caliper: float, version: str) -> str:
    return (f"ror:matched-lift:v{LIFT_VERSION}:{event_id}:{days}:{resamples}:{seed}:{caliper}:"
            f"{min_distinct_controls()}:{version}")


def _unavailable(event: Event, state: str, days: int, resamples: int, seed: int, caliper: float) -> MatchedLift:
    before, after = lift_window(event, days)
    return MatchedLift(event_id=event.pk, event_name=event.name, state=state, days=days, before=before, after=after,
                       caliper=caliper, resamples=resamples, seed=seed)


def matched_lift(
    event_id: int, *, days: int = DEFAULT_DAYS, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
    caliper: float = CALIPER_POINTS, now: datetime | None = None, use_cache: bool = True,
    chunk_size: int | None = None,
) -> MatchedLift:
    """The event's lift against matched non-attendees (module docstring). Event.DoesNotExist for
    an unknown event. Not completed, or `days` after its end not passed by `now`: a result whose
    `state` says so, without figures. Otherwise from the cache when this data version was
    computed before, else computed and cached (`use_cache=False` only skips reading)."""
    check_days(days)
    if not 1 <= resamples <= MAX_RESAMPLES:
        raise ValueError(f"resamples must lie between 1 and {MAX_RESAMPLES}, not {resamples}")
    event = Event.objects.only("pk", "name", "status", "starts_at", "ends_at").get(pk=event_id)
    state = lift_state(event, days, now or timezone.now())
    if state != READY:
        return _unavailable(event, state, days, resamples, seed, caliper)
    version = lift_data_version()  # the active profile is part of it
    key = cache_key(event.pk, days, resamples, seed, caliper, version)
    if use_cache and (cached := cache.get(key)) is not None:
        return replace(cached, from_cache=True)
    result = build_matched_lift(
        event, days=days, resamples=resamples, seed=seed, caliper=caliper, params=active_parameters(),
        chunk_size=chunk_size or chunk_size_setting(), version=version,
    )
    cache.set(key, result, CACHE_TIMEOUT)
    return result


def cached_matched_lift(event: Event, *, now: datetime | None = None) -> MatchedLift | None:
    """matched_lift() of this event with the defaults, without computing: its state when it is not
    ready, the cached result when there is one for this data version, else None. For the event
    page, which must stay fast: no query when not ready, else one (the data version)."""
    state = lift_state(event, DEFAULT_DAYS, now or timezone.now())
    if state != READY:
        return _unavailable(event, state, DEFAULT_DAYS, DEFAULT_RESAMPLES, 0, CALIPER_POINTS)
    cached = cache.get(cache_key(event.pk, DEFAULT_DAYS, DEFAULT_RESAMPLES, 0, CALIPER_POINTS, lift_data_version()))
    return None if cached is None else replace(cached, from_cache=True)


def require_ready(result: MatchedLift) -> MatchedLift:
    """The result, or LiftNotAvailable (code `event_not_completed` / `lift_window_open`) saying why not."""
    if not result.is_ready:
        raise LiftNotAvailable(result.summary, code=result.state)
    return result
