"""Relationship score, lifecycle stage, churn risk and repeat-attendance metrics (DOMAIN.md).

Set-based: `load_chunk()` reads everything a chunk of contacts needs in a fixed number of
queries (compact tuples via values_list), `score_contact()` is a pure function of those rows
and the as-of time T, so the same data and the same T give the same result to the last digit,
whatever the chunk size or the order of the rows (sums use math.fsum, which is exact).
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp, Referral
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, Feedback, Interaction
from scoring.choices import ChurnRisk, LifecycleStage
from scoring.models import COMPONENTS, ScoreSnapshot
from scoring.services.profile import ScoringParameters

SECONDS_PER_DAY = 86400.0
REGISTERED_STATUSES = {AttendanceStatus.REGISTERED, AttendanceStatus.ATTENDED, AttendanceStatus.NO_SHOW}


@dataclass
class AttendanceRow:
    status: str
    role: str
    event_id: int
    starts_at: datetime
    ends_at: datetime
    series_id: int | None


@dataclass
class ContactData:
    """Everything that scores one contact, as read by load_chunk()."""

    attendances: list[AttendanceRow] = field(default_factory=list)
    interactions: list[tuple[datetime, int | None, int | None]] = field(default_factory=list)  # occurred_at, quality, minutes
    done_followups: list[tuple[int | None, datetime, str]] = field(default_factory=list)  # event_id, completed_at, outcome
    feedback: list[tuple[datetime, int, int | None]] = field(default_factory=list)  # submitted_at, id, nps
    referrals: list[datetime] = field(default_factory=list)
    score_90_days_ago: float | None = None


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


def days_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / SECONDS_PER_DAY


def decay(as_of: datetime, moment: datetime, half_life_days: float) -> float:
    """decay(t) = 0.5 ** (max(0, T − t in days) / half_life_days)."""
    return 0.5 ** (max(0.0, days_between(as_of, moment)) / half_life_days)


def saturate(value: float, k: float) -> float:
    """sat(x, k) = 1 − exp(−x / k)."""
    return 1.0 - math.exp(-value / k)


def streaks(attended_event_ids: set[int], completed_editions: list[int]) -> tuple[int, int]:
    """(current, longest) run of consecutive completed editions attended in one series.

    The current run counts back from the series' latest completed edition.
    """
    current = 0
    for event_id in reversed(completed_editions):
        if event_id not in attended_event_ids:
            break
        current += 1
    longest = run = 0
    for event_id in completed_editions:
        run = run + 1 if event_id in attended_event_ids else 0
        longest = max(longest, run)
    return current, longest


def score_contact(
    contact_id: int,
    data: ContactData,
    series_editions: dict[int, list[int]],
    params: ScoringParameters,
    as_of: datetime,
) -> ScoreResult:
    half_life = params.half_life_days
    attended = [row for row in data.attendances if row.status == AttendanceStatus.ATTENDED]
    no_shows = [row for row in data.attendances if row.status == AttendanceStatus.NO_SHOW]

    # attendance: Σ decay(ends_at) × role weight − 0.5 × Σ no-show decay, floored at 0
    attendance_raw = max(
        0.0,
        math.fsum(decay(as_of, row.ends_at, half_life) * params.role_weights.get(row.role, 1.0) for row in attended)
        - params.threshold("no_show_penalty", 0.5) * math.fsum(decay(as_of, row.ends_at, half_life) for row in no_shows),
    )
    # networking: Σ decay(occurred_at) × quality/3 × min(minutes, 60)/30, unset factors 1
    networking_raw = math.fsum(
        decay(as_of, occurred_at, half_life)
        * (quality / 3.0 if quality is not None else 1.0)
        * (min(minutes, 60) / 30.0 if minutes is not None else 1.0)
        for occurred_at, quality, minutes in data.interactions
    )
    # dialogue: Σ over done follow-ups of decay(completed_at) × outcome weight
    dialogue_raw = math.fsum(
        decay(as_of, completed_at, half_life) * params.outcome_weights.get(outcome or "", 1.0)
        for _, completed_at, outcome in data.done_followups
    )
    # care: decay-weighted share of attended events followed up within 48 h (1) or 7 days (0.5)
    full_window = timedelta(hours=params.threshold("care_full_hours", 48))
    half_window = timedelta(days=params.threshold("care_half_days", 7))
    first_done_by_event: dict[int, datetime] = {}
    for event_id, completed_at, _ in data.done_followups:
        if event_id is not None and (event_id not in first_done_by_event or completed_at < first_done_by_event[event_id]):
            first_done_by_event[event_id] = completed_at
    care_weights, care_hits = [], []
    for row in attended:
        weight = decay(as_of, row.ends_at, half_life)
        first_done = first_done_by_event.get(row.event_id)
        if first_done is not None and first_done <= row.ends_at + full_window:
            response = 1.0
        elif first_done is not None and first_done <= row.ends_at + half_window:
            response = 0.5
        else:
            response = 0.0
        care_weights.append(weight)
        care_hits.append(weight * response)
    care_total = math.fsum(care_weights)
    care = math.fsum(care_hits) / care_total if care_total > 0 else 0.0
    # advocacy: latest NPS answer (promoter 1, passive 0.5) and decayed referrals
    nps_answers = sorted((submitted_at, feedback_id, nps) for submitted_at, feedback_id, nps in data.feedback if nps is not None)
    latest_nps = nps_answers[-1][2] if nps_answers else None
    promoter = 1.0 if latest_nps is not None and latest_nps >= 9 else 0.5 if latest_nps is not None and latest_nps >= 7 else 0.0
    referral_raw = math.fsum(decay(as_of, created_at, half_life) for created_at in data.referrals)
    advocacy = 0.5 * promoter + 0.5 * saturate(referral_raw, params.saturation.get("referrals", 1.0))

    touchpoints = [
        *(row.ends_at for row in attended),
        *(occurred_at for occurred_at, _, _ in data.interactions),
        *(completed_at for _, completed_at, _ in data.done_followups),
        *(submitted_at for submitted_at, _, _ in data.feedback),
        *data.referrals,
    ]
    last_touch_at = max(touchpoints) if touchpoints else None
    recency = decay(as_of, last_touch_at, half_life) if last_touch_at is not None else 0.0

    components = {
        "attendance": saturate(attendance_raw, params.saturation.get("attendance", 2.0)),
        "networking": saturate(networking_raw, params.saturation.get("networking", 4.0)),
        "dialogue": saturate(dialogue_raw, params.saturation.get("dialogue", 3.0)),
        "care": care,
        "advocacy": advocacy,
        "recency": recency,
    }
    score = round(100 * math.fsum(params.weights[name] * components[name] for name in COMPONENTS), 1)
    score = min(100.0, max(0.0, score))

    days_since_touch = days_between(as_of, last_touch_at) if last_touch_at is not None else None
    stage = lifecycle_stage(len(attended), score, days_since_touch, params)
    churn = churn_risk(score, days_since_touch, data.score_90_days_ago, params)

    attended_by_start = sorted(attended, key=lambda row: (row.starts_at, row.event_id))
    gaps = [days_between(b.starts_at, a.starts_at) for a, b in zip(attended_by_start, attended_by_start[1:], strict=False)]
    attended_ids = {row.event_id for row in attended}
    series_ids = {row.series_id for row in attended if row.series_id is not None}
    current_streak = longest_streak = 0
    for series_id in series_ids:
        current, longest = streaks(attended_ids, series_editions.get(series_id, []))
        current_streak, longest_streak = max(current_streak, current), max(longest_streak, longest)
    shows = len(attended) + len(no_shows)

    return ScoreResult(
        contact_id=contact_id,
        score=score,
        components={name: round(value, 6) for name, value in components.items()},
        stage=stage,
        churn_risk=churn,
        events_invited=len(data.attendances),
        events_registered=sum(1 for row in data.attendances if row.status in REGISTERED_STATUSES),
        events_attended=len(attended),
        no_shows=len(no_shows),
        show_rate=len(attended) / shows if shows else None,
        series_attended=len(series_ids),
        is_returning=len(attended) >= 2,
        first_attended_at=attended_by_start[0].starts_at if attended_by_start else None,
        last_attended_at=attended_by_start[-1].starts_at if attended_by_start else None,
        current_streak=current_streak,
        longest_streak=longest_streak,
        avg_days_between_attendances=fmean(gaps) if gaps else None,
        last_touch_at=last_touch_at,
        computed_at=as_of,
        profile_version=params.version,
    )


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


def fetch_rows(queryset: QuerySet) -> Iterable[tuple[Any, ...]]:
    """The rows of a values_list() queryset.

    On PostgreSQL they are fetched with psycopg's own timestamptz loader (its C version where
    installed): Django's loader is a pure-Python subclass that only re-attaches the connection
    time zone, which the session time zone Django sets with USE_TZ already gives, so the
    datetimes are equal, and a chunk's hundreds of thousands of timestamps load several times
    faster. The columns read here need no Django converters on PostgreSQL. Elsewhere (SQLite,
    whose converters parse the datetimes) the queryset runs as usual.
    """
    if connection.vendor != "postgresql" or not settings.USE_TZ:
        return queryset
    from psycopg.types.datetime import TimestamptzLoader

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)  # this cursor only
        cursor.execute(sql, params)
        return cursor.fetchall()


def load_chunk(
    contact_ids: list[int], as_of: datetime, params: ScoringParameters
) -> tuple[dict[int, ContactData], dict[int, list[int]]]:
    """Read a chunk's scoring input in a fixed number of queries (seven), whatever its size.

    The returned dict holds exactly the contacts that exist (deleted ids drop out).
    """
    data: dict[int, ContactData] = defaultdict(ContactData)
    ids = set(contact_ids)

    cutoff = as_of - timedelta(days=params.threshold("churn_drop_lookback_days", 90))
    old_score = ScoreSnapshot.objects.filter(contact_id=OuterRef("pk"), computed_at__lte=cutoff).order_by("-computed_at", "-id")
    # order_by(): score_contact() does not depend on the order of the rows (fsum, sorts and
    # maxima), so the models' default orderings would only make the database sort for nothing.
    for contact_id, score in fetch_rows(
        Contact.objects.filter(pk__in=contact_ids)
        .annotate(old_score=Subquery(old_score.values("score")[:1]))
        .order_by()
        .values_list("pk", "old_score")
    ):
        data[contact_id].score_90_days_ago = score
    existing = set(data)

    series_ids: set[int] = set()
    for contact_id, status, role, event_id, starts_at, ends_at, series_id in fetch_rows(
        Attendance.objects.filter(contact_id__in=contact_ids)
        .order_by()
        .values_list("contact_id", "status", "role", "event_id", "event__starts_at", "event__ends_at", "event__series_id")
    ):
        data[contact_id].attendances.append(AttendanceRow(status, role, event_id, starts_at, ends_at, series_id))
        if series_id is not None and status == AttendanceStatus.ATTENDED:
            series_ids.add(series_id)

    series_editions: dict[int, list[int]] = defaultdict(list)
    for series_id, event_id in (
        Event.objects.filter(series_id__in=series_ids, status=EventStatus.COMPLETED)
        .order_by("series_id", "starts_at", "id")
        .values_list("series_id", "id")
    ):
        series_editions[series_id].append(event_id)

    # An interaction counts for both sides; one between two contacts of the chunk counts twice.
    for contact_id, counterpart_id, occurred_at, quality, minutes in fetch_rows(
        Interaction.objects.filter(Q(contact_id__in=contact_ids) | Q(counterpart_id__in=contact_ids))
        .order_by()
        .values_list("contact_id", "counterpart_id", "occurred_at", "quality", "duration_minutes")
    ):
        for side in (contact_id, counterpart_id):
            if side in ids:
                data[side].interactions.append((occurred_at, quality, minutes))

    for contact_id, event_id, completed_at, outcome in fetch_rows(
        FollowUp.objects.filter(contact_id__in=contact_ids, status=FollowUpStatus.DONE, completed_at__isnull=False)
        .order_by()
        .values_list("contact_id", "event_id", "completed_at", "outcome")
    ):
        data[contact_id].done_followups.append((event_id, completed_at, outcome))

    for contact_id, submitted_at, feedback_id, nps in fetch_rows(
        Feedback.objects.filter(contact_id__in=contact_ids).order_by().values_list("contact_id", "submitted_at", "id", "nps")
    ):
        data[contact_id].feedback.append((submitted_at, feedback_id, nps))

    for referrer_id, created_at in fetch_rows(
        Referral.objects.filter(referrer_id__in=contact_ids).order_by().values_list("referrer_id", "created_at")
    ):
        data[referrer_id].referrals.append(created_at)
    return {contact_id: data[contact_id] for contact_id in existing}, series_editions


def compute_scores(contact_ids: list[int], as_of: datetime, params: ScoringParameters) -> list[ScoreResult]:
    """Scores of a chunk of existing contacts, ordered by contact id."""
    data, series_editions = load_chunk(contact_ids, as_of, params)
    return [score_contact(contact_id, data[contact_id], series_editions, params, as_of) for contact_id in sorted(data)]
