"""What if: a scoring profile side by side with the active one on the whole base, nothing written.

Before staff activate a new profile version they see what it would do (docs/profiles.md):
every contact scored exactly as of a moment T under both profiles with compute_scores()'s
aggregation, and compared: the distribution of both scores, the lifecycle stage each contact
would move to (a transition matrix), the churn-risk changes, the contacts who move most, and
the score validity report's AUC under both profiles.

Definitions:
- **Base**: every contact that is not erased. Erased contacts (GDPR) keep their rows for the
  aggregates but can no longer be contacted nor named, so where they would land says nothing
  staff can act on; they are left out and counted (`erased_left_out`). The AUC keeps them, as
  the score validity report does, so it equals that report's figure.
- **Distribution**: scores in 10 bins of 10 points (0–<10, …, 80–<90, 90–100), mean, median
  and quartiles (linear interpolation between the sorted scores: spreadsheets' QUARTILE.INC).
- **Movers**: the 20 contacts whose score rises most, and the 20 whose score falls most
  (change = what-if − active; ties by contact id); a contact whose score does not move is neither.
- **AUC**: the score validity report (scoring.services.validity) with either profile's parameters,
  over the editions N+1 completed by T.

Cost: chunks of contacts (ranges of ids, as the nightly run splits them): per chunk one query
for its range and one aggregation per profile, or one for both when the profiles differ only in
what score_contact() applies in Python (weights, saturation, stage and churn thresholds): the
usual what-if. Then the validity report's queries (one per edition, one per chunk of its
population and profile). Never one per contact; nothing is written to ContactScore or ScoreSnapshot.

Cancelling: `should_stop` is asked before every chunk; when it says so, WhatIfCancelled is raised
and nothing is left behind. In the admin the computation runs as a Celery task whose progress,
cancel flag and result live in the Django cache (the functions at the end of this module).
"""

import hashlib
import heapq
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from events.models import Event
from scoring.choices import ChurnRisk, LifecycleStage
from scoring.models import ScoreSnapshot, ScoringProfile
from scoring.services.contact_scores import ScoreResult, ScoreSummary, compute_scores, load_chunk, summarize_score
from scoring.services.profile import ScoringParameters, active_parameters, active_version
from scoring.services.recompute import all_contact_id_chunks, chunk_size_setting, chunked
from scoring.services.validity import (
    RECENT_PAIRS,
    Edition,
    Observation,
    PopulationRow,
    completed_editions,
    data_version,
    observations_of,
    predictor_auc,
    recent_populations,
)

logger = logging.getLogger(__name__)

# Bump when this computation or the result's shape changes: results cached by the old code drop out.
REPORT_VERSION = 1
TOP_MOVERS = 20
BIN_COUNT = 10  # bins of 10 points; a score of 100 goes into the last one
STAGES: tuple[str, ...] = (
    LifecycleStage.INITIATION, LifecycleStage.SOCIALIZATION, LifecycleStage.GROWTH, LifecycleStage.MATURITY,
    LifecycleStage.AT_RISK,
)
CHURN_RISKS: tuple[str, ...] = (ChurnRisk.LOW, ChurnRisk.MEDIUM, ChurnRisk.HIGH)
# Thresholds only score_contact() reads (in Python). Everything else a profile holds shapes the
# aggregation query (half-life, role and outcome weights, the care windows, the churn lookback …).
PYTHON_ONLY_THRESHOLDS = frozenset({
    "no_show_penalty", "at_risk_days", "maturity_min_events", "maturity_min_score", "churn_high_days",
    "churn_medium_days", "churn_drop_points",
})

Progress = Callable[[int, int], None]  # (scores computed so far, scores in all): two per contact and pair
ShouldStop = Callable[[], bool]


class WhatIfCancelled(Exception):
    """The what-if was stopped between two chunks; nothing was written (there is nothing it writes)."""

    code = "whatif_cancelled"


@dataclass(frozen=True)
class Distribution:
    """Scores of the base under one profile."""

    count: int
    bins: tuple[int, ...]  # BIN_COUNT counts: [0, 10), [10, 20), …, [90, 100]
    mean: float | None
    median: float | None
    lower_quartile: float | None
    upper_quartile: float | None

    @classmethod
    def of(cls, scores: Sequence[float]) -> "Distribution":
        bins = [0] * BIN_COUNT
        for score in scores:
            bins[min(int(score // 10), BIN_COUNT - 1)] += 1
        ranked = sorted(scores)
        return cls(
            count=len(ranked), bins=tuple(bins),
            mean=round(sum(ranked) / len(ranked), 2) if ranked else None,
            median=quantile(ranked, 0.5), lower_quartile=quantile(ranked, 0.25), upper_quartile=quantile(ranked, 0.75),
        )


def quantile(ranked: Sequence[float], share: float) -> float | None:
    """The `share` quantile of sorted values, linear between neighbours (position (n − 1) × share)."""
    if not ranked:
        return None
    position = (len(ranked) - 1) * share
    below = int(position)
    above = min(below + 1, len(ranked) - 1)
    return round(ranked[below] + (ranked[above] - ranked[below]) * (position - below), 2)


@dataclass(frozen=True)
class Mover:
    contact_id: int
    name: str
    active_score: float
    whatif_score: float
    active_stage: str
    whatif_stage: str

    @property
    def change(self) -> float:
        return round(self.whatif_score - self.active_score, 1)


@dataclass(frozen=True)
class ValidityComparison:
    """The score validity report's AUC under both profiles, for one series or all (`series_id` None)."""

    series_id: int | None
    name: str | None
    editions: int
    pairs: int
    returned: int
    active_auc: float | None
    whatif_auc: float | None


@dataclass(frozen=True)
class WhatIf:
    profile_id: int
    profile_name: str
    profile_version: int
    active_profile_id: int | None
    active_profile_name: str
    active_profile_version: int
    as_of: datetime
    computed_at: datetime
    contacts: int
    erased_left_out: int
    active: Distribution
    whatif: Distribution
    # stage under the active profile → stage under the what-if profile → contacts; every pair of STAGES
    stage_transitions: dict[str, dict[str, int]]
    churn_transitions: dict[str, dict[str, int]]  # the same for churn risk, over CHURN_RISKS
    stage_changes: int
    churn_changes: int
    movers_up: list[Mover]
    movers_down: list[Mover]
    validity: ValidityComparison
    validity_series: list[ValidityComparison]
    shared_reads: bool  # one aggregation per chunk served both profiles
    data_version: str = ""
    from_cache: bool = field(default=False, compare=False)

    @property
    def same_profile(self) -> bool:
        return self.profile_version == self.active_profile_version


@dataclass(frozen=True, slots=True)
class _Pair:
    """One contact under both profiles: all the comparison keeps of it."""

    contact_id: int
    active_score: float
    whatif_score: float
    active_stage: str
    whatif_stage: str
    active_churn: str
    whatif_churn: str


def as_dict(result: WhatIf) -> dict:
    """The result as plain data (the command's JSON): the dataclasses' fields, each mover's change too."""
    data = asdict(result)
    for key, movers in (("movers_up", result.movers_up), ("movers_down", result.movers_down)):
        for row, mover in zip(data[key], movers, strict=True):
            row["change"] = mover.change
    return data


# The computation ----------------------------------------------------------------------------


def reads_alike(first: ScoringParameters, second: ScoringParameters) -> bool:
    """Whether both profiles read the same aggregates: they differ at most in what score_contact()
    applies in Python (weights, saturation constants, PYTHON_ONLY_THRESHOLDS). Any other parameter,
    one added later included, keeps them apart."""

    def read_part(params: ScoringParameters) -> ScoringParameters:
        thresholds = {name: value for name, value in params.thresholds.items() if name not in PYTHON_ONLY_THRESHOLDS}
        return replace(params, version=0, weights={}, saturation={}, thresholds=thresholds)

    return read_part(first) == read_part(second)


def score_both(
    contact_ids: Sequence[int], as_of: datetime, active: ScoringParameters, whatif: ScoringParameters
) -> list[tuple[ScoreResult | ScoreSummary, ScoreResult | ScoreSummary]]:
    """A chunk scored under both profiles as of `as_of`, by contact id: compute_scores() for each,
    or its aggregation read once and scored twice when the profiles read alike."""
    if reads_alike(active, whatif):
        chunk = load_chunk(contact_ids, as_of, active)
        return [
            (summarize_score(contact_id, chunk[contact_id], active, as_of),
             summarize_score(contact_id, chunk[contact_id], whatif, as_of))
            for contact_id in sorted(chunk)
        ]
    under_whatif = {result.contact_id: result for result in compute_scores(contact_ids, as_of, whatif)}
    # A contact created or deleted between the two queries is in one of them only: left out.
    return [(result, under_whatif[result.contact_id]) for result in compute_scores(contact_ids, as_of, active)
            if result.contact_id in under_whatif]


def profile_whatif(
    profile_id: int,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    chunk_size: int | None = None,
    max_pairs: int | None = RECENT_PAIRS,
) -> WhatIf:
    """Profile `profile_id` beside the active profile on the whole base, exactly as of `as_of`
    (default now). Writes nothing. Raises ScoringProfile.DoesNotExist for an unknown profile and
    WhatIfCancelled when `should_stop()` says so (asked before every chunk)."""
    as_of = as_of or timezone.now()
    chunk_size = chunk_size or chunk_size_setting()
    profile = ScoringProfile.objects.get(pk=profile_id)
    whatif = ScoringParameters.from_profile(profile)
    active = active_parameters()
    active_profile = ScoringProfile.objects.filter(version=active.version).values("pk", "name").first() or {}

    erased = set(Contact.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    base_count = Contact.objects.count() - len(erased)
    populations = _populations(as_of, max_pairs)
    total = 2 * base_count + 2 * sum(len(population) for _edition, population in populations)
    done = 0

    def tick(scores: int) -> None:
        nonlocal done
        done += scores
        if progress:
            progress(min(done, total), total)

    def check() -> None:
        if should_stop is not None and should_stop():
            raise WhatIfCancelled

    if progress:
        progress(0, total)
    pairs: list[_Pair] = []
    for ids in all_contact_id_chunks(chunk_size):
        check()
        scored = [both for both in score_both(ids, as_of, active, whatif) if both[0].contact_id not in erased]
        pairs += [
            _Pair(a.contact_id, a.score, w.score, a.stage, w.stage, a.churn_risk, w.churn_risk) for a, w in scored
        ]
        tick(2 * len(scored))

    def observed(pairs_scored: int) -> None:
        tick(pairs_scored)
        check()

    # The validity pairs: each edition's population scored as of its T under both profiles, read
    # once when the profiles read alike (score_both()).
    active_observations: list[Observation] = []
    whatif_observations: list[Observation] = []
    for edition, population in populations:
        rows = {row.contact_id: row for row in population}
        for chunk in chunked(sorted(rows), chunk_size):
            check()
            both = score_both(chunk, edition.as_of, active, whatif)
            active_observations += observations_of(edition, rows, [pair[0] for pair in both])
            whatif_observations += observations_of(edition, rows, [pair[1] for pair in both])
            observed(2 * len(chunk))

    up, down = _movers(pairs)
    names = _names([pair.contact_id for pair in (*up, *down)])
    return WhatIf(
        profile_id=profile.pk, profile_name=profile.name, profile_version=profile.version,
        active_profile_id=active_profile.get("pk"), active_profile_name=active_profile.get("name", ""),
        active_profile_version=active.version,
        as_of=as_of, computed_at=timezone.now(),
        contacts=len(pairs), erased_left_out=len(erased),
        active=Distribution.of([pair.active_score for pair in pairs]),
        whatif=Distribution.of([pair.whatif_score for pair in pairs]),
        stage_transitions=_matrix(pairs, STAGES, "active_stage", "whatif_stage"),
        churn_transitions=_matrix(pairs, CHURN_RISKS, "active_churn", "whatif_churn"),
        stage_changes=sum(pair.active_stage != pair.whatif_stage for pair in pairs),
        churn_changes=sum(pair.active_churn != pair.whatif_churn for pair in pairs),
        movers_up=[_mover(pair, names) for pair in up],
        movers_down=[_mover(pair, names) for pair in down],
        validity=_compare(active_observations, whatif_observations, series_id=None, name=None),
        validity_series=_compare_series(populations, active_observations, whatif_observations),
        shared_reads=reads_alike(active, whatif),
    )


def _populations(as_of: datetime, max_pairs: int | None) -> list[tuple[Edition, list[PopulationRow]]]:
    """The validity report's editions N+1 whose outcome was known at `as_of` (completed by then), the
    newest holding up to `max_pairs` pairs, with their populations (validity.recent_populations())."""
    editions = completed_editions()
    known = set(
        Event.objects.filter(pk__in=[edition.event_id for edition in editions], completed_at__lte=as_of)
        .values_list("pk", flat=True)
    ) if editions else set()
    return recent_populations([edition for edition in editions if edition.event_id in known], max_pairs)


def _matrix(pairs: Sequence[_Pair], keys: Sequence[str], before: str, after: str) -> dict[str, dict[str, int]]:
    matrix = {row: dict.fromkeys(keys, 0) for row in keys}
    for pair in pairs:
        matrix[getattr(pair, before)][getattr(pair, after)] += 1
    return matrix


def _movers(pairs: Sequence[_Pair]) -> tuple[list[_Pair], list[_Pair]]:
    def change(pair: _Pair) -> float:
        return round(pair.whatif_score - pair.active_score, 1)

    up = heapq.nsmallest(TOP_MOVERS, (pair for pair in pairs if change(pair) > 0),
                         key=lambda pair: (-change(pair), pair.contact_id))
    down = heapq.nsmallest(TOP_MOVERS, (pair for pair in pairs if change(pair) < 0),
                           key=lambda pair: (change(pair), pair.contact_id))
    return up, down


def _names(contact_ids: Sequence[int]) -> dict[int, str]:
    """Each mover's name as lists show it: the full name, else the e-mail; one query."""
    rows = Contact.objects.filter(pk__in=contact_ids).values_list("pk", "first_name", "last_name", "email")
    return {pk: f"{first} {last}".strip() or email or f"#{pk}" for pk, first, last, email in rows}


def _mover(pair: _Pair, names: dict[int, str]) -> Mover:
    return Mover(
        contact_id=pair.contact_id, name=names.get(pair.contact_id, f"#{pair.contact_id}"),
        active_score=pair.active_score, whatif_score=pair.whatif_score,
        active_stage=pair.active_stage, whatif_stage=pair.whatif_stage,
    )


def _compare(
    active: Sequence[Observation], whatif: Sequence[Observation], *, series_id: int | None, name: str | None
) -> ValidityComparison:
    return ValidityComparison(
        series_id=series_id, name=name,
        editions=len({observation.event_id for observation in active}),
        pairs=len(active), returned=sum(observation.returned for observation in active),
        active_auc=predictor_auc(active, "score"), whatif_auc=predictor_auc(whatif, "score"),
    )


def _compare_series(
    populations: Sequence[tuple[Edition, list[PopulationRow]]],
    active: Sequence[Observation], whatif: Sequence[Observation],
) -> list[ValidityComparison]:
    """Per series in the report's order (by name); a series without pairs is left out."""
    names = {edition.series_id: edition.series_name for edition, _population in populations}
    return [
        _compare([o for o in active if o.series_id == series_id], [o for o in whatif if o.series_id == series_id],
                 series_id=series_id, name=names[series_id])
        for series_id in names
        if any(observation.series_id == series_id for observation in active)
    ]


# Running it in the background (the admin page) ------------------------------------------------
#
# The result is cached under the profile, the active profile's version and the data version, so a
# cached what-if is never stale; a run's state (queued/running with progress, or failed) and its
# cancel flag live beside it. Cache errors (Redis down) propagate: the page answers 503.

CACHE_TIMEOUT = 24 * 3600
# A run that reported no progress for this long is taken for dead (its worker was killed): the
# next visit starts another. A chunk takes seconds.
RUN_STALE_SECONDS = 300
FAILED_SECONDS = 60


def whatif_version(profile: ScoringProfile) -> str:
    """What the result depends on: the validity report's data version (events, attendances,
    touchpoints and the active profile), the contacts and the score history (churn risk reads
    it), and this profile's parameters; two queries."""
    contacts = connection.ops.quote_name(Contact._meta.db_table)
    snapshots = connection.ops.quote_name(ScoreSnapshot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {contacts}), (SELECT MAX(updated_at) FROM {contacts}),"
            f" (SELECT COUNT(*) FROM {snapshots}), (SELECT MAX(id) FROM {snapshots})"
        )
        row = cursor.fetchone()
    fingerprint = repr((data_version(), row, profile.version, profile.updated_at))
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def whatif_cache_key(profile: ScoringProfile) -> str:
    """The result's key: profile id, active profile version, data version."""
    return f"ror:whatif:v{REPORT_VERSION}:{profile.pk}:{active_version()}:{whatif_version(profile)}"


def _state_key(key: str) -> str:
    return f"{key}:run"


def _cancel_key(run_id: str) -> str:
    return f"ror:whatif:cancel:{run_id}"


def cached_whatif(key: str) -> WhatIf | None:
    result = cache.get(key)
    return None if result is None else replace(result, from_cache=True)


def run_state(key: str) -> dict | None:
    """{"run_id", "status": queued|running|failed, "done", "total"} of the run for `key`, or None."""
    return cache.get(_state_key(key))


def claim_run(key: str) -> str | None:
    """Start a run for `key` unless one is under way: its run id, or None if another holds it."""
    run_id = uuid.uuid4().hex
    queued = {"run_id": run_id, "status": "queued", "done": 0, "total": 0}
    # A run waits in the queue at most as long as a task may run (behind the nightly recompute, say).
    if cache.add(_state_key(key), queued, settings.CELERY_TASK_TIME_LIMIT + RUN_STALE_SECONDS):
        return run_id
    return None


def release_run(key: str) -> None:
    """Forget the run for `key` (its task could not be sent, or it failed and was reported)."""
    cache.delete(_state_key(key))


def cancel_run(key: str) -> bool:
    """Ask the run for `key` to stop at its next chunk; False when none is under way."""
    state = run_state(key)
    if state is None or state["status"] == "failed":
        return False
    cache.set(_cancel_key(state["run_id"]), True, settings.CELERY_TASK_TIME_LIMIT + RUN_STALE_SECONDS)
    release_run(key)  # the page no longer waits for it; a new visit starts afresh
    return True


def run_whatif(profile_id: int, key: str, run_id: str, *, as_of: datetime | None = None) -> bool:
    """The task's work: compute the what-if, reporting progress to the cache and stopping when its
    run is cancelled; the result is cached under `key`. False when cancelled or the profile is gone."""
    cancel_key = _cancel_key(run_id)

    def cancelled() -> bool:
        return bool(cache.get(cancel_key))

    def progress(done: int, total: int) -> None:
        if not cancelled():  # a cancelled run must not bring its state back
            state = {"run_id": run_id, "status": "running", "done": done, "total": total}
            cache.set(_state_key(key), state, RUN_STALE_SECONDS)

    try:
        result = profile_whatif(profile_id, as_of=as_of, progress=progress, should_stop=cancelled)
    except WhatIfCancelled:
        if (state := run_state(key)) is not None and state["run_id"] == run_id:
            release_run(key)
        cache.delete(cancel_key)
        logger.info("What-if of profile %s cancelled.", profile_id)
        return False
    except ScoringProfile.DoesNotExist:
        release_run(key)
        return False
    except Exception:
        cache.set(_state_key(key), {"run_id": run_id, "status": "failed", "done": 0, "total": 0}, FAILED_SECONDS)
        raise
    cache.set(key, replace(result, data_version=key.rsplit(":", 1)[-1]), CACHE_TIMEOUT)
    if (state := run_state(key)) is not None and state["run_id"] == run_id:
        release_run(key)
    return True
