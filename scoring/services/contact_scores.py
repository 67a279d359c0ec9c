"""Relationship score, lifecycle stage, churn risk and repeat-attendance metrics (DOMAIN.md).

Set-based: `load_chunk()` aggregates everything a chunk of contacts needs in the database,
in one statement whatever the chunk's size (decay-weighted sums, counts, streaks, the latest
NPS, the last touch), so a chunk sends one row per contact to Python instead of every
attendance, interaction side and follow-up. `score_contact()` turns such a row into the
score, its components, the stage and the churn risk: a pure function of the row and the
as-of time T, so the same data and the same T give the same result to the last digit.
"""

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection

from contacts.choices import FollowUpStatus
from events.choices import AttendanceStatus, EventStatus
from events.models import REGISTERED_STATUSES
from ror_crm.db import analytic_read, id_chunk_sql, sql_moment
from scoring.choices import ChurnRisk, LifecycleStage
from scoring.models import COMPONENTS
from scoring.services.profile import ScoringParameters

SECONDS_PER_DAY = 86400.0


@dataclass
class ContactAggregates:
    """One contact's scoring input as load_chunk() aggregates it (DOMAIN.md's raw values)."""

    attended_raw: float = 0.0  # Σ over attended events of decay(ends_at) × role weight
    no_show_raw: float = 0.0  # Σ over no-shows of decay(ends_at)
    care_weight: float = 0.0  # Σ over attended events of decay(ends_at)
    care_hits: float = 0.0  # Σ over attended events of decay(ends_at) × r_e
    networking_raw: float = 0.0
    dialogue_raw: float = 0.0
    referral_raw: float = 0.0
    latest_nps: int | None = None
    last_touch_at: datetime | None = None
    events_invited: int = 0
    events_registered: int = 0
    events_attended: int = 0
    no_shows: int = 0
    series_attended: int = 0
    first_attended_at: datetime | None = None
    last_attended_at: datetime | None = None
    current_streak: int = 0
    longest_streak: int = 0
    score_90_days_ago: float | None = None
    reference_until: datetime | None = None  # the first snapshot after the churn lookback
    last_dialogue_at: datetime | None = None  # the latest done follow-up (next best action)


@dataclass
class ScoreResult:
    contact_id: int
    score: float
    components: dict[str, float]
    stage: str
    churn_risk: str
    events_invited: int
    events_registered: int
    events_attended: int
    no_shows: int
    show_rate: float | None
    series_attended: int
    is_returning: bool
    first_attended_at: datetime | None
    last_attended_at: datetime | None
    current_streak: int
    longest_streak: int
    avg_days_between_attendances: float | None
    last_touch_at: datetime | None
    computed_at: datetime
    profile_version: int
    # The decay-weighted sums as of computed_at, and the latest NPS answer: stored with the
    # score, so a later score of unchanged data is arithmetic (decayed_score()).
    attended_raw: float = 0.0
    no_show_raw: float = 0.0
    care_weight: float = 0.0
    care_hits: float = 0.0
    networking_raw: float = 0.0
    dialogue_raw: float = 0.0
    referral_raw: float = 0.0
    latest_nps: int | None = None
    score_90_days_ago: float | None = None  # read for churn risk; stored as churn_reference_score
    churn_reference_until: datetime | None = None  # when score_90_days_ago next changes (nightly.py)
    last_dialogue_at: datetime | None = None  # read for the next best action; not stored
    # Filled in by scoring.services.next_action.apply_next_actions() for a recompute that stores.
    cadence_days: int | None = None
    cadence_source: str = ""
    next_touch_due: datetime | None = None
    next_action: str = ""
    next_action_reason: str = ""
    next_action_figures: dict[str, Any] = field(default_factory=dict)

    @property
    def churn_reference_score(self) -> float | None:
        return self.score_90_days_ago


# The raw values that are sums of decay-weighted touchpoints: as of a later T each is the sum
# as of T0 times 0.5 ** ((T − T0) / half-life), exactly, while no data changes.
SUM_DIGITS = 12
DECAYING_SUMS = (
    "attended_raw", "no_show_raw", "care_weight", "care_hits", "networking_raw", "dialogue_raw", "referral_raw",
)


def days_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / SECONDS_PER_DAY


# Beyond this many half-lives a weight is 0 to any printed digit; PostgreSQL's POWER() would
# raise "value out of range: underflow" instead of answering 0 (about 1,075 half-lives on).
DECAY_MAX_HALF_LIVES = 1000


def decay(as_of: datetime, moment: datetime, half_life_days: float) -> float:
    """decay(t) = 0.5 ** (max(0, T − t in days) / half_life_days)."""
    return 0.5 ** min(max(0.0, days_between(as_of, moment)) / half_life_days, DECAY_MAX_HALF_LIVES)


def saturate(value: float, k: float) -> float:
    """sat(x, k) = 1 − exp(−x / k)."""
    return 1.0 - math.exp(-value / k)


def score_and_components(data: ContactAggregates, params: ScoringParameters, as_of: datetime) -> tuple[float, dict]:
    """The score (rounded to 0.1, within 0–100) and its components unrounded."""
    attendance_raw = max(0.0, data.attended_raw - params.threshold("no_show_penalty", 0.5) * data.no_show_raw)
    latest_nps = data.latest_nps
    promoter = 1.0 if latest_nps is not None and latest_nps >= 9 else 0.5 if latest_nps is not None and latest_nps >= 7 else 0.0
    last_touch_at = data.last_touch_at
    components = {
        "attendance": saturate(attendance_raw, params.saturation.get("attendance", 2.0)),
        "networking": saturate(data.networking_raw, params.saturation.get("networking", 4.0)),
        "dialogue": saturate(data.dialogue_raw, params.saturation.get("dialogue", 3.0)),
        # care: the decay-weighted share of attended events followed up in time; 0 with none
        "care": data.care_hits / data.care_weight if data.care_weight > 0 else 0.0,
        "advocacy": 0.5 * promoter + 0.5 * saturate(data.referral_raw, params.saturation.get("referrals", 1.0)),
        "recency": decay(as_of, last_touch_at, params.half_life_days) if last_touch_at is not None else 0.0,
    }
    score = round(100 * math.fsum(params.weights[name] * components[name] for name in COMPONENTS), 1)
    return min(100.0, max(0.0, score)), components


def score_contact(contact_id: int, data: ContactAggregates, params: ScoringParameters, as_of: datetime) -> ScoreResult:
    score, components = score_and_components(data, params, as_of)
    last_touch_at, latest_nps = data.last_touch_at, data.latest_nps
    days_since_touch = days_between(as_of, last_touch_at) if last_touch_at is not None else None
    attended, shows = data.events_attended, data.events_attended + data.no_shows
    # The mean gap between consecutive attended events telescopes to (last − first) / (n − 1).
    avg_gap = (
        days_between(data.last_attended_at, data.first_attended_at) / (attended - 1)
        if attended >= 2 and data.first_attended_at is not None and data.last_attended_at is not None
        else None
    )
    return ScoreResult(
        contact_id=contact_id,
        score=score,
        components={name: round(value, 6) for name, value in components.items()},
        stage=lifecycle_stage(attended, score, days_since_touch, params),
        churn_risk=churn_risk(score, days_since_touch, data.score_90_days_ago, params),
        events_invited=data.events_invited,
        events_registered=data.events_registered,
        events_attended=attended,
        no_shows=data.no_shows,
        show_rate=attended / shows if shows else None,
        series_attended=data.series_attended,
        is_returning=attended >= 2,
        first_attended_at=data.first_attended_at,
        last_attended_at=data.last_attended_at,
        current_streak=data.current_streak,
        longest_streak=data.longest_streak,
        avg_days_between_attendances=avg_gap,
        last_touch_at=last_touch_at,
        computed_at=as_of,
        profile_version=params.version,
        latest_nps=latest_nps,
        score_90_days_ago=data.score_90_days_ago,
        churn_reference_until=data.reference_until,
        last_dialogue_at=data.last_dialogue_at,
        # Rounded far below anything shown: summed in another order (another chunking), a sum can
        # differ in its last bit, and the same data must give the same stored values.
        **{name: round(getattr(data, name), SUM_DIGITS) for name in DECAYING_SUMS},
    )


class ScoreSummary(NamedTuple):
    """What a comparison of profiles reads of a score (whatif.py): score_contact()'s figures
    without the repeat-attendance metrics and stored sums, at a fraction of its cost."""

    contact_id: int
    score: float
    components: dict[str, float]
    stage: str
    churn_risk: str


def summarize_score(contact_id: int, data: ContactAggregates, params: ScoringParameters, as_of: datetime) -> ScoreSummary:
    score, components = score_and_components(data, params, as_of)
    days_since_touch = days_between(as_of, data.last_touch_at) if data.last_touch_at is not None else None
    return ScoreSummary(
        contact_id, score, {name: round(value, 6) for name, value in components.items()},
        lifecycle_stage(data.events_attended, score, days_since_touch, params),
        churn_risk(score, days_since_touch, data.score_90_days_ago, params),
    )


def decay_factor(later: datetime, earlier: datetime, half_life_days: float) -> float:
    """What decay alone does to a sum of decay-weighted touchpoints from `earlier` to `later`."""
    return decay(later, earlier, half_life_days)


def decayed_score(
    stored: Any, as_of: datetime, params: ScoringParameters, *, score_90_days_ago: float | None = None
) -> ScoreResult:
    """The score as of `as_of` of a contact whose data has not changed since `stored` (a
    ScoreResult or a stored ContactScore) was computed: its sums decayed, the rest as it was.
    Equal to a full computation as of `as_of` on unchanged data (to rounding), without
    reading a touchpoint: score_contact() on the decayed aggregates."""
    factor = decay_factor(as_of, stored.computed_at, params.half_life_days)
    data = ContactAggregates(
        **{name: getattr(stored, name) * factor for name in DECAYING_SUMS},
        latest_nps=stored.latest_nps, last_touch_at=stored.last_touch_at,
        events_invited=stored.events_invited, events_registered=stored.events_registered,
        events_attended=stored.events_attended, no_shows=stored.no_shows, series_attended=stored.series_attended,
        first_attended_at=stored.first_attended_at, last_attended_at=stored.last_attended_at,
        current_streak=stored.current_streak, longest_streak=stored.longest_streak,
        score_90_days_ago=score_90_days_ago, last_dialogue_at=getattr(stored, "last_dialogue_at", None),
    )
    return score_contact(stored.contact_id, data, params, as_of)


def lifecycle_stage(attended_count: int, score: float, days_since_touch: float | None, params: ScoringParameters) -> str:
    """First rule that holds (DOMAIN.md): initiation, at_risk, socialization, maturity, growth."""
    if attended_count == 0:
        return LifecycleStage.INITIATION
    if days_since_touch is not None and days_since_touch > params.threshold("at_risk_days", 270):
        return LifecycleStage.AT_RISK
    if attended_count == 1:
        return LifecycleStage.SOCIALIZATION
    if attended_count >= params.threshold("maturity_min_events", 3) and score >= params.threshold("maturity_min_score", 60):
        return LifecycleStage.MATURITY
    return LifecycleStage.GROWTH


def churn_risk(
    score: float, days_since_touch: float | None, score_90_days_ago: float | None, params: ScoringParameters
) -> str:
    """high: no touch for > 365 days; medium: > 180 days, or the score fell ≥ 10 points against
    the latest snapshot at least 90 days older; else low. No touchpoint at all is no signal."""
    if days_since_touch is not None and days_since_touch > params.threshold("churn_high_days", 365):
        return ChurnRisk.HIGH
    if days_since_touch is not None and days_since_touch > params.threshold("churn_medium_days", 180):
        return ChurnRisk.MEDIUM
    if score_90_days_ago is not None and score_90_days_ago - score >= params.threshold("churn_drop_points", 10):
        return ChurnRisk.MEDIUM
    return ChurnRisk.LOW


# The aggregation ------------------------------------------------------------------------
#
# One statement per chunk; _vendor_sql() fills in the {name:argument} fragments for the
# database at hand. {days:later,earlier} is the days between two moments: on PostgreSQL the
# epoch of their difference / 86400, on SQLite a function registered on each connection
# (scoring.apps) that computes it as days_between() does, to the microsecond. {decay:moment}
# is DOMAIN.md's decay(), {in_chunk:column} tests membership in the chunk (its range or its
# list of ids). Moments and ids are parameters; so are the profile's weights and role and
# outcome names (staff edit them), in CASE expressions built from the profile.

CHUNK_SQL = """
WITH chunk AS (
    SELECT c.id FROM contacts_contact c WHERE {in_chunk:c.id}
), editions AS (
    -- each event of a series; one completed by T gets its edition number n among the series'
    -- editions completed by T, and their count
    SELECT id, series_id, status, ends_at, completed_at,
           CASE WHEN done = 1 THEN ROW_NUMBER() OVER (PARTITION BY series_id, done ORDER BY starts_at, id) END AS n,
           SUM(done) OVER (PARTITION BY series_id) AS editions
    FROM (SELECT id, series_id, status, starts_at, ends_at, completed_at,
                 CASE WHEN status = %(completed)s AND completed_at <= %(as_of)s THEN 1 ELSE 0 END AS done
          FROM events_event WHERE series_id IS NOT NULL) series_events
), first_done AS (
    SELECT contact_id, event_id, MIN(completed_at) AS completed_at FROM contacts_followup
    WHERE {in_chunk:contact_id} AND status = %(done)s AND completed_at <= %(as_of)s AND event_id IS NOT NULL
      AND {kept:event_id}
    GROUP BY contact_id, event_id
), attendance AS (
    SELECT a.contact_id,
           SUM(CASE WHEN a.status = %(attended)s THEN a.w * {role_weight} ELSE 0 END) AS attended_raw,
           SUM(CASE WHEN a.status = %(no_show)s THEN a.w ELSE 0 END) AS no_show_raw,
           SUM(CASE WHEN a.status = %(attended)s THEN a.w ELSE 0 END) AS care_weight,
           SUM(CASE WHEN a.status <> %(attended)s OR fd.completed_at IS NULL THEN 0
                    WHEN {days:fd.completed_at,a.ends_at} <= %(care_full_days)s THEN a.w
                    WHEN {days:fd.completed_at,a.ends_at} <= %(care_half_days)s THEN 0.5 * a.w
                    ELSE 0 END) AS care_hits,
           COUNT(*) AS invited,
           COUNT(CASE WHEN a.status IN ({registered_statuses}) THEN 1 END) AS registered,
           COUNT(CASE WHEN a.status = %(attended)s THEN 1 END) AS attended,
           COUNT(CASE WHEN a.status = %(no_show)s THEN 1 END) AS no_shows,
           MIN(CASE WHEN a.status = %(attended)s THEN a.starts_at END) AS first_attended_at,
           MAX(CASE WHEN a.status = %(attended)s THEN a.starts_at END) AS last_attended_at,
           MAX(CASE WHEN a.status = %(attended)s THEN a.ends_at END) AS last_touch
    FROM (SELECT a.contact_id, a.event_id, a.status, a.role, e.starts_at, e.ends_at, {decay:e.ends_at} AS w
          FROM events_attendance a JOIN events_event e ON e.id = a.event_id
          WHERE {in_chunk:a.contact_id} AND {known_attendance:e} AND {kept:a.event_id}) a  -- w: the event's decay weight
    LEFT JOIN first_done fd ON fd.contact_id = a.contact_id AND fd.event_id = a.event_id
    GROUP BY a.contact_id
), runs AS (
    -- per contact and series attended, the runs of consecutive completed editions: n − rank is
    -- constant along a run. Attended editions not (yet) completed form one group with run NULL.
    SELECT contact_id, series_id, run, COUNT(*) AS length, MAX(n) AS last_n, MAX(editions) AS editions
    FROM (SELECT a.contact_id, e.series_id, e.n, e.editions,
                 e.n - ROW_NUMBER() OVER (PARTITION BY a.contact_id, e.series_id, e.n IS NULL ORDER BY e.n) AS run
          FROM events_attendance a JOIN editions e ON e.id = a.event_id
          WHERE {in_chunk:a.contact_id} AND a.status = %(attended)s AND {known_attendance:e}
            AND {kept:a.event_id}) attended_editions
    GROUP BY contact_id, series_id, run
), series AS (
    SELECT contact_id, MAX(CASE WHEN run IS NOT NULL THEN length ELSE 0 END) AS longest,
           MAX(CASE WHEN run IS NOT NULL AND last_n = editions THEN length ELSE 0 END) AS current
    FROM runs GROUP BY contact_id, series_id
), streaks AS (
    SELECT contact_id, COUNT(*) AS series_attended, MAX(current) AS current_streak, MAX(longest) AS longest_streak
    FROM series GROUP BY contact_id
), networking AS (
    -- an interaction counts for both sides; one between two contacts of the chunk counts twice
    SELECT side AS contact_id,
           SUM({decay:occurred_at}
               * COALESCE(CAST(quality AS DOUBLE PRECISION) / 3, 1)
               * CASE WHEN duration_minutes IS NULL THEN 1
                      ELSE CAST(CASE WHEN duration_minutes < 60 THEN duration_minutes ELSE 60 END AS DOUBLE PRECISION) / 30
                 END) AS raw,
           MAX(occurred_at) AS last_touch
    FROM (SELECT contact_id AS side, occurred_at, quality, duration_minutes FROM events_interaction
          WHERE {in_chunk:contact_id} AND occurred_at <= %(as_of)s AND {kept:event_id}
          UNION ALL
          SELECT counterpart_id, occurred_at, quality, duration_minutes FROM events_interaction
          WHERE {in_chunk:counterpart_id} AND occurred_at <= %(as_of)s AND {kept:event_id}) sides
    GROUP BY side
), dialogue AS (
    SELECT contact_id, SUM({decay:completed_at} * {outcome_weight}) AS raw, MAX(completed_at) AS last_touch
    FROM contacts_followup
    WHERE {in_chunk:contact_id} AND status = %(done)s AND completed_at <= %(as_of)s AND {kept:event_id}
    GROUP BY contact_id
), feedback AS (
    SELECT contact_id, MAX(submitted_at) AS last_touch FROM events_feedback
    WHERE {in_chunk:contact_id} AND submitted_at <= %(as_of)s AND {kept:event_id} GROUP BY contact_id
), latest_nps AS (
    SELECT contact_id, nps FROM (
        SELECT contact_id, nps, ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY submitted_at DESC, id DESC) AS rank
        FROM events_feedback
        WHERE {in_chunk:contact_id} AND nps IS NOT NULL AND submitted_at <= %(as_of)s AND {kept:event_id}
    ) answers WHERE rank = 1
), referrals AS (
    -- a referral converted as of T (the referred contact attended an event starting after it)
    -- counts with the profile's converted_referral_weight, any other with 1
    SELECT r.referrer_id AS contact_id, SUM({decay:r.created_at} * {referral_weight:r}) AS raw,
           MAX(r.created_at) AS last_touch
    FROM contacts_referral r WHERE {in_chunk:r.referrer_id} AND r.created_at <= %(as_of)s GROUP BY r.referrer_id
)
SELECT chunk.id,
       a.attended_raw, a.no_show_raw, a.care_weight, a.care_hits, n.raw, d.raw, r.raw, nps.nps,
       a.invited, a.registered, a.attended, a.no_shows, s.series_attended, a.first_attended_at, a.last_attended_at,
       s.current_streak, s.longest_streak,
       a.last_touch, n.last_touch, d.last_touch, f.last_touch, r.last_touch,
       (SELECT snapshot.score FROM scoring_scoresnapshot snapshot
        WHERE snapshot.contact_id = chunk.id AND snapshot.computed_at <= %(lookback)s
        ORDER BY snapshot.computed_at DESC, snapshot.id DESC LIMIT 1),
       (SELECT MIN(snapshot.computed_at) FROM scoring_scoresnapshot snapshot
        WHERE snapshot.contact_id = chunk.id AND snapshot.computed_at > %(lookback)s
          AND snapshot.computed_at <= %(as_of)s)
FROM chunk
LEFT JOIN attendance a ON a.contact_id = chunk.id
LEFT JOIN streaks s ON s.contact_id = chunk.id
LEFT JOIN networking n ON n.contact_id = chunk.id
LEFT JOIN dialogue d ON d.contact_id = chunk.id
LEFT JOIN feedback f ON f.contact_id = chunk.id
LEFT JOIN latest_nps nps ON nps.contact_id = chunk.id
LEFT JOIN referrals r ON r.contact_id = chunk.id
"""


def _vendor_sql(
    params: ScoringParameters, values: dict[str, Any], in_chunk: Callable[[str], str], *, without_event: bool = False
) -> str:
    """CHUNK_SQL for this connection's database, adding the CASE parameters to `values`."""
    postgresql = connection.vendor == "postgresql"

    def days(later: str, earlier: str) -> str:
        if postgresql:
            return f"(date_part('epoch', {later} - {earlier}) / 86400.0)"
        return f"ror_days_between({later}, {earlier})"

    def weights(column: str, name: str, mapping: dict[str, float]) -> str:
        branches = []
        for index, (key, weight) in enumerate(sorted(mapping.items())):
            values[f"{name}_{index}"], values[f"{name}_weight_{index}"] = key, float(weight)
            branches.append(f"WHEN %({name}_{index})s THEN %({name}_weight_{index})s")
        if not branches:
            return "1.0"
        return f"(CASE {column} {' '.join(branches)} ELSE CAST(1 AS DOUBLE PRECISION) END)"

    def registered_statuses() -> str:
        for index, status in enumerate(REGISTERED_STATUSES):
            values[f"registered_{index}"] = status.value
        return ", ".join(f"%(registered_{index})s" for index in range(len(REGISTERED_STATUSES)))

    def known_attendance(alias: str) -> str:
        # As of T an attendance is known once its event has ended, or was completed (early, forced).
        return f"({alias}.ends_at <= %(as_of)s OR ({alias}.status = %(completed)s AND {alias}.completed_at <= %(as_of)s))"

    def kept(column: str) -> str:
        # The rows of one event left out (relationship lift's counterfactual), or none.
        return f"({column} IS NULL OR {column} <> %(without_event)s)" if without_event else "1 = 1"

    def referral_weight(alias: str) -> str:
        # A weight of 1 (the default profile) counts a converted referral like any other: no lookup.
        if params.converted_referral_weight == 1.0:
            return "CAST(1 AS DOUBLE PRECISION)"
        values["converted_referral_weight"] = float(params.converted_referral_weight)
        return (
            f"(CASE WHEN {alias}.referred_id IS NOT NULL AND EXISTS ("
            f"SELECT 1 FROM events_attendance ca JOIN events_event ce ON ce.id = ca.event_id "
            f"WHERE ca.contact_id = {alias}.referred_id AND ca.status = %(attended)s "
            f"AND ce.starts_at > {alias}.created_at AND {known_attendance('ce')} AND {kept('ca.event_id')}"
            f") THEN %(converted_referral_weight)s ELSE CAST(1 AS DOUBLE PRECISION) END)"
        )

    greatest, least = ("GREATEST", "LEAST") if postgresql else ("MAX", "MIN")
    fragments = {
        "in_chunk": in_chunk,
        "days": lambda arguments: days(*arguments.split(",")),
        "decay": lambda column: (
            f"POWER(CAST(0.5 AS DOUBLE PRECISION), "
            f"{least}({greatest}(0, {days('%(as_of)s', column)}) / %(half_life)s, {DECAY_MAX_HALF_LIVES}))"
        ),
        "role_weight": lambda _: weights("a.role", "role", params.role_weights),
        "outcome_weight": lambda _: weights("COALESCE(outcome, '')", "outcome", params.outcome_weights),
        "registered_statuses": lambda _: registered_statuses(),
        "known_attendance": known_attendance,
        "kept": kept,
        "referral_weight": referral_weight,
    }
    return re.sub(r"\{(\w+)(?::([^}]*))?\}", lambda match: fragments[match[1]](match[2]), CHUNK_SQL)


def moment(value: datetime | str | None) -> datetime | None:
    """A moment as the cursor returns it, aware: aware on PostgreSQL; on SQLite UTC text, or a
    naive UTC datetime for a column read as it is."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def sqlite_days_between(later: str | None, earlier: str | None) -> float | None:
    """days_between() for SQLite, which stores moments as UTC text."""
    if later is None or earlier is None:
        return None
    return days_between(datetime.fromisoformat(later), datetime.fromisoformat(earlier))


def load_chunk(
    contact_ids: Sequence[int], as_of: datetime, params: ScoringParameters, *, without_event: int | None = None
) -> dict[int, ContactAggregates]:
    """Aggregate a chunk's scoring input in one query, whatever its size.

    Exactly as of `as_of` (T): touchpoints with their time ≤ T, attendances of events that
    ended by T (or were completed by T, early), and as completed editions only the events
    completed by T; so the result equals that on a copy of the data cut at T.
    `without_event` leaves out one event's rows (its attendances, interactions, follow-ups
    and feedback): the counterfactual of relationship lift.

    A chunk is a list of ids or a range of them (the all-contacts run): a range is read by
    range scans, which cost about a fifth less than looking up each id of a list. The
    returned dict holds exactly the contacts that exist (missing ids drop out).
    """
    if not contact_ids:
        return {}
    lookback = as_of - timedelta(days=params.threshold("churn_drop_lookback_days", 90))
    values, in_chunk = id_chunk_sql(contact_ids)
    values |= {
        "as_of": sql_moment(as_of),
        "lookback": sql_moment(lookback),
        "half_life": float(params.half_life_days),
        "care_full_days": params.threshold("care_full_hours", 48) / 24,
        "care_half_days": float(params.threshold("care_half_days", 7)),
        "attended": AttendanceStatus.ATTENDED.value, "no_show": AttendanceStatus.NO_SHOW.value,
        "completed": EventStatus.COMPLETED.value,
        "done": FollowUpStatus.DONE.value,
        "without_event": without_event,
    }
    sql = _vendor_sql(params, values, in_chunk, without_event=without_event is not None)
    with analytic_read(), connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    chunk = {}
    for (
        contact_id, attended_raw, no_show_raw, care_weight, care_hits, networking_raw, dialogue_raw, referral_raw, nps,
        invited, registered, attended, no_shows, series_attended, first_attended_at, last_attended_at,
        current_streak, longest_streak, *last_touches, score_90_days_ago, reference_until,
    ) in rows:
        touches = [touch for touch in map(moment, last_touches) if touch is not None]
        chunk[contact_id] = ContactAggregates(
            attended_raw=attended_raw or 0.0, no_show_raw=no_show_raw or 0.0,
            care_weight=care_weight or 0.0, care_hits=care_hits or 0.0,
            networking_raw=networking_raw or 0.0, dialogue_raw=dialogue_raw or 0.0, referral_raw=referral_raw or 0.0,
            # An event completed early (forced) counts before its end: its touch is T until then.
            latest_nps=nps, last_touch_at=min(max(touches), as_of) if touches else None,
            events_invited=invited or 0, events_registered=registered or 0, events_attended=attended or 0,
            no_shows=no_shows or 0, series_attended=series_attended or 0,
            first_attended_at=moment(first_attended_at), last_attended_at=moment(last_attended_at),
            current_streak=current_streak or 0, longest_streak=longest_streak or 0,
            score_90_days_ago=score_90_days_ago, reference_until=moment(reference_until),
            last_dialogue_at=moment(last_touches[2]),
        )
    return chunk


def compute_scores(
    contact_ids: Sequence[int], as_of: datetime, params: ScoringParameters, *, without_event: int | None = None
) -> list[ScoreResult]:
    """Scores of a chunk of existing contacts as of `as_of`, ordered by contact id (load_chunk())."""
    chunk = load_chunk(contact_ids, as_of, params, without_event=without_event)
    return [score_contact(contact_id, chunk[contact_id], params, as_of) for contact_id in sorted(chunk)]
