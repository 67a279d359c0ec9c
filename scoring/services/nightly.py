"""The nightly run: decay as arithmetic in the database, the full path only where data changed.

Every raw value of a score is a sum of w × 0.5^((T − t) / h) over touchpoints t ≤ T (or a ratio
of two such sums, or a function of the last touch): for a contact whose data has not changed
since its stored score was computed at T0, each sum at T is the stored sum times
0.5^((T − T0) / h), exactly. So the nightly run is one UPDATE per range of contacts over
ContactScore (`decay_range()`): the sums decayed, the score, components, stage, churn risk and the
time-driven part of the next best action recomputed from them in SQL, a snapshot only where churn
risk changed. It reads no attendance, interaction or follow-up.

Who takes the full path instead (`recompute_contacts()`, reading every touchpoint): what
`plan_nightly()` finds in a fixed number of queries, each reading only what changed since the
oldest stored score:
- contacts without a score, or scored with another profile (a profile change re-scores all);
- rows written since their score (every touchpoint table and the contact itself, by `updated_at`,
  plus the clock skew touchpoint times may have): data the stored sums do not hold;
- the contacts of events that ended, were completed or edited since (attendance becomes known
  when an event ends; the neighbouring editions' attendees only for a completed or edited one:
  streaks count completed editions), unless scored after that moment; the contacts of an edition
  that only started only when a later edition of its series is planned (invite); the contacts
  whose invite points at one of them; for planned editions created or edited since everyone who
  attended their series (invite);
- planned follow-ups falling due since (call now or follow up), or
  entering a contact-fatigue window ahead where that reaches the cap (rest); resting contacts
  whose fatigue window is not the one their action names any more;
- scoring work still waiting in the outbox (late data, recompute requests);
- and, decided in the UPDATE itself, rows whose stage would change (the stage's cadence moves the
  next touch due) and a re-engage that no longer holds (what follows it reads follow-ups).
A pending "every contact" request, or a keep-in-touch cadence edited since, sends everyone the
full path. PostgreSQL only: on SQLite (the embedded default) the nightly run is the full path.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.fatigue import fatigue_caps, fatigued_contact_ids
from contacts.models import Contact, FollowUp
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event
from ror_crm.validators import CLOCK_SKEW
from scoring.choices import NextAction, RecomputeKind, ScoreTrigger
from scoring.models import COMPONENTS, ContactScore, KeepInTouchCadence, PendingRecompute, RecomputeRequest
from scoring.services.contact_scores import DECAY_MAX_HALF_LIVES
from scoring.services.next_action import ONE_DAY_REASONS, REASONS, SCORE_FALL_POINTS, fatigue_figures, invited_to
from scoring.services.profile import ScoringParameters, active_parameters
from scoring.services.recompute import all_contact_id_chunks, event_contact_ids, recompute_contacts
from scoring.services.writes import ContactsLocked
from scoring.signals import contact_scores_changed

# deadlock_detected, serialization_failure, lock_not_available
DEADLOCK_STATES = ("40P01", "40001", "55P03")

logger = logging.getLogger(__name__)


def range_size_setting() -> int:
    """Contacts per UPDATE of the nightly run (and per task when it is fanned out)."""
    return int(settings.SCORING_NIGHTLY_RANGE_SIZE)


@dataclass
class NightlyPlan:
    """What the nightly run as of `as_of` must score by the full path: contact id → the moment its
    data last changed (`as_of` itself: whatever its score's age). None as the plan: everyone."""

    as_of: datetime
    changed: dict[int, datetime] = field(default_factory=dict)

    def within(self, ids: range) -> dict[int, datetime]:
        return {contact_id: at for contact_id, at in self.changed.items() if contact_id in ids}


CHANGED_ROWS_SQL = """
SELECT contact_id, MAX(changed_at) FROM (
    SELECT id AS contact_id, updated_at AS changed_at FROM contacts_contact WHERE updated_at > %(since)s
    UNION ALL SELECT contact_id, updated_at FROM events_attendance WHERE updated_at > %(since)s
    UNION ALL SELECT contact_id, updated_at FROM events_interaction WHERE updated_at > %(since)s
    UNION ALL SELECT counterpart_id, updated_at FROM events_interaction
              WHERE updated_at > %(since)s AND counterpart_id IS NOT NULL
    UNION ALL SELECT contact_id, updated_at FROM contacts_followup WHERE updated_at > %(since)s
    UNION ALL SELECT contact_id, updated_at FROM events_feedback WHERE updated_at > %(since)s
    UNION ALL SELECT referrer_id, updated_at FROM contacts_referral WHERE updated_at > %(since)s
) changes GROUP BY contact_id
"""

# From the partial index of the contacts never scored (Contact.never_scored), not every contact.
UNSCORED_SQL = """
SELECT c.id FROM contacts_contact c
WHERE c.never_scored AND NOT EXISTS (SELECT 1 FROM scoring_contactscore s WHERE s.contact_id = c.id)
"""


def _fatigue_windows() -> list[int]:
    return [days for days, _cap in fatigue_caps()]


def _later_edition_planned(series_id: int | None, event_id: int, as_of: datetime) -> bool:
    """Whether the series of an edition has another one planned, not started by `as_of`."""
    return series_id is not None and Event.objects.filter(
        series_id=series_id, status__in=[EventStatus.PLANNED, EventStatus.LIVE], starts_at__gt=as_of,
    ).exclude(pk=event_id).exists()


def _follow_up_falling_due(since: datetime, as_of: datetime) -> set[int]:
    """Contacts with a planned follow-up falling due since `since`: an overdue follow-up makes
    "call now" or "follow up" (next_action._call_now(), _follow_up()). One query."""
    return set(
        # overdue as of T is due before T (contacts' oldest overdue follow-up): due in [since, as_of)
        FollowUp.objects.filter(status=FollowUpStatus.PLANNED, due_at__gte=since, due_at__lt=as_of)
        .order_by().values_list("contact_id", flat=True).distinct()
    )


def _fatigued_by_planned_follow_ups(since: datetime, as_of: datetime) -> set[int]:
    """Contacts with a planned follow-up entering a contact-fatigue window ahead since `since` (a
    window of d days counts those due up to T + d) who are fatigued now: for the others it moved
    no cap, so no action. Two queries."""
    entering = Q()
    for days in _fatigue_windows():
        entering |= Q(due_at__gt=since + timedelta(days=days), due_at__lte=as_of + timedelta(days=days))
    if not entering:
        return set()
    contact_ids = list(FollowUp.objects.filter(entering, status=FollowUpStatus.PLANNED)
                       .order_by().values_list("contact_id", flat=True).distinct())
    return fatigued_contact_ids(contact_ids, as_of)


def _rest_moved(as_of: datetime) -> set[int]:
    """The resting contacts whose fatigue window is not the one their stored action names any more
    (touches rolled out of it, or a shorter window filled up): the others keep resting, as the
    UPDATE leaves them. Two queries."""
    resting = dict(ContactScore.objects.filter(next_action=NextAction.REST).values_list(
        "contact_id", "next_action_figures"))
    now = fatigue_figures(list(resting), as_of)
    return {
        contact_id for contact_id, figures in resting.items()
        if now.get(contact_id) != {name: figures.get(name) for name in ("days", "touches", "cap")}
    }


def plan_nightly(as_of: datetime, params: ScoringParameters) -> NightlyPlan | None:
    """The contacts the nightly run as of `as_of` scores by the full path (module docstring);
    None when that is everyone. A fixed number of queries, plus a few per event changed since."""
    if RecomputeRequest.objects.filter(kind=RecomputeKind.ALL).exists():
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MIN(computed_at) FROM scoring_contactscore WHERE profile_version = %s AND computed_at < %s",
            [params.version, as_of],
        )
        (since,) = cursor.fetchone()
        if since is None:  # nothing to decay: every score is new, or of another profile
            return None
        if KeepInTouchCadence.objects.filter(updated_at__gt=since).exists():
            return None
        plan = NightlyPlan(as_of)
        always = set()
        cursor.execute(UNSCORED_SQL)
        always.update(contact_id for (contact_id,) in cursor.fetchall())
        cursor.execute(CHANGED_ROWS_SQL, {"since": since})
        # A touchpoint's time can be up to CLOCK_SKEW after the moment it was written.
        plan.changed = {contact_id: changed_at + CLOCK_SKEW for contact_id, changed_at in cursor.fetchall()}
    def changed_at(contact_ids: Iterable[int], at: datetime) -> None:
        # A score computed at or after `at` holds the change already: the UPDATE decays it.
        for contact_id in contact_ids:
            if plan.changed.get(contact_id, at) <= at:
                plan.changed[contact_id] = at

    # Events that changed since, and those completed before their end that have not ended by as_of:
    # their attendances count from the completion with the weight of their end, which does not
    # decay until the end is past (scoring.services.contact_scores), unlike the stored sums.
    events = Event.objects.filter(updated_at__gt=since) | Event.objects.filter(
        ends_at__gt=since, ends_at__lte=as_of) | Event.objects.filter(starts_at__gt=since, starts_at__lte=as_of) | (
        Event.objects.filter(status=EventStatus.COMPLETED, completed_at__lte=as_of, ends_at__gt=as_of))
    moved = []
    for event_id, series_id, status, updated_at, completed_at, starts_at, ends_at in events.values_list(
        "pk", "series_id", "status", "updated_at", "completed_at", "starts_at", "ends_at",
    ):
        moved.append(event_id)
        edited = updated_at > since or (completed_at is not None and completed_at > since)
        ended = since < ends_at <= as_of
        counting_before_its_end = status == EventStatus.COMPLETED and completed_at <= as_of < ends_at
        if not (edited or ended or counting_before_its_end or _later_edition_planned(series_id, event_id, as_of)):
            # It only started: it is no longer its series' next edition. That moves nobody's action
            # but an invitation to it (invited_to() below), or, when a later edition is planned, one
            # for those on its list; attendance counts once it ends.
            continue
        # When it changed: edits as written (with the clock skew of a commit), the clock's moments exact;
        # one counting before its end changes every night until then.
        at = as_of if counting_before_its_end else max(moment for moment in (
            updated_at + CLOCK_SKEW, completed_at and completed_at + CLOCK_SKEW,
            starts_at if starts_at <= as_of else None, ends_at if ends_at <= as_of else None,
        ) if moment is not None)
        # One that only started or ended by the clock completed nothing: no neighbour's streak moves.
        changed_at(event_contact_ids(event_id, neighbours=edited, invited=False), at)  # invited_to(moved) below
        if series_id is not None and status in (EventStatus.PLANNED, EventStatus.LIVE) and edited:
            # a new or edited edition: the invite rule of everyone who attended the series
            changed_at(Attendance.objects.filter(
                event__series_id=series_id, status=AttendanceStatus.ATTENDED,
            ).order_by().values_list("contact_id", flat=True).distinct(), at)
    # An edition that started (or ended, or changed) is no longer the one an invite points at. Who
    # else attended its series keeps their action: without an invite to it, none to the next
    # edition either, unless they are on its list (the event's own contacts, above).
    always.update(invited_to(moved))
    always.update(_follow_up_falling_due(since, as_of))
    always.update(_fatigued_by_planned_follow_ups(since, as_of))
    always.update(_rest_moved(as_of))
    always.update(PendingRecompute.objects.values_list("contact_id", flat=True))
    for kind, event_id, contact_ids in RecomputeRequest.objects.filter(
        kind__in=[RecomputeKind.EVENT, RecomputeKind.CONTACTS]
    ).values_list("kind", "event_id", "contact_ids"):
        always.update(event_contact_ids(event_id) if kind == RecomputeKind.EVENT else contact_ids)
    plan.changed |= dict.fromkeys(always, as_of)
    return plan


# The UPDATE ---------------------------------------------------------------------------------
#
# Mirrors scoring.services.contact_scores.score_contact() (score, components, stage, churn
# risk) and next_action.decide() for what time alone can change: a contact stays at do
# nothing, call now, follow up or invite (their facts did not change), anything else moves between
# re-engage, nurture (kept if it held), check in and wait as the next touch falls due and the
# score falls. Moments are differenced exactly (EXTRACT gives a numeric), as Python does. Each
# step ends in OFFSET 0, which keeps PostgreSQL from merging it into the next: merged, it would
# repeat the decay factor and the score's expression in every expression that reads them (five
# times slower). Not MATERIALIZED either: the rows flow through the steps without being stored
# between them (a sixth of the statement).

DECAY_SQL = """
WITH stored AS (
    SELECT s.contact_id, s.score AS old_score, s.stage AS old_stage, s.churn_risk AS old_churn,
           s.computed_at AS old_computed_at, s.events_attended, s.last_touch_at, s.latest_nps,
           s.next_touch_due, s.cadence_days, s.next_action AS old_action, s.next_action_figures AS old_figures,
           s.next_action_reason AS old_reason, s.updated_at AS old_updated_at, s.ctid AS tid,
           s.attended_raw * f AS attended_raw, s.no_show_raw * f AS no_show_raw, s.care_weight * f AS care_weight,
           s.care_hits * f AS care_hits, s.networking_raw * f AS networking_raw, s.dialogue_raw * f AS dialogue_raw,
           s.referral_raw * f AS referral_raw,
           CASE WHEN (s.churn_reference_score IS NOT NULL OR s.churn_reference_until IS NOT NULL)
                     AND (s.churn_reference_until IS NULL OR s.churn_reference_until > %(lookback)s)
                THEN s.churn_reference_score
                ELSE (SELECT sn.score FROM scoring_scoresnapshot sn
                      WHERE sn.contact_id = s.contact_id AND sn.computed_at <= %(lookback)s
                      ORDER BY sn.computed_at DESC, sn.id DESC LIMIT 1) END AS reference,
           CASE WHEN (s.churn_reference_score IS NOT NULL OR s.churn_reference_until IS NOT NULL)
                     AND (s.churn_reference_until IS NULL OR s.churn_reference_until > %(lookback)s)
                THEN s.churn_reference_until
                ELSE (SELECT MIN(sn.computed_at) FROM scoring_scoresnapshot sn
                      WHERE sn.contact_id = s.contact_id AND sn.computed_at > %(lookback)s) END AS reference_until,
           EXTRACT(EPOCH FROM %(as_of)s - s.last_touch_at)::float8 / 86400.0 AS days_since_touch,
           FLOOR(EXTRACT(EPOCH FROM %(as_of)s - s.next_touch_due) / 86400)::int AS days_past_due
    FROM scoring_contactscore s
    CROSS JOIN LATERAL (SELECT POWER(CAST(0.5 AS DOUBLE PRECISION), LEAST(GREATEST(0,
        EXTRACT(EPOCH FROM %(as_of)s - s.computed_at)::float8 / 86400.0) / %(half_life)s, {max_half_lives})) AS f) decay
    LEFT JOIN unnest(%(changed_ids)s::bigint[], %(changed_at)s::timestamptz[]) AS changed (contact_id, at)
           ON changed.contact_id = s.contact_id
    WHERE s.contact_id BETWEEN %(first_id)s AND %(last_id)s AND s.profile_version = %(version)s
      AND s.computed_at < %(as_of)s AND (changed.at IS NULL OR changed.at <= s.computed_at)
      AND s.next_action <> ''
    OFFSET 0
), components AS (
    SELECT stored.*,
           1 - EXP(-GREATEST(0, attended_raw - %(no_show_penalty)s * no_show_raw) / %(k_attendance)s) AS c_attendance,
           1 - EXP(-networking_raw / %(k_networking)s) AS c_networking,
           1 - EXP(-dialogue_raw / %(k_dialogue)s) AS c_dialogue,
           CASE WHEN care_weight > 0 THEN care_hits / care_weight ELSE 0 END AS c_care,
           0.5 * (CASE WHEN latest_nps >= 9 THEN 1.0 WHEN latest_nps >= 7 THEN 0.5 ELSE 0 END)
               + 0.5 * (1 - EXP(-referral_raw / %(k_referrals)s)) AS c_advocacy,
           CASE WHEN last_touch_at IS NULL THEN 0
                ELSE POWER(CAST(0.5 AS DOUBLE PRECISION),
                           LEAST(GREATEST(0, days_since_touch) / %(half_life)s, {max_half_lives})) END AS c_recency
    FROM stored
    OFFSET 0
), scored AS (
    SELECT components.*,
           LEAST(100, GREATEST(0, ROUND(CAST(100 * ({weighted_sum}) * 10 AS DOUBLE PRECISION)) / 10)) AS new_score
    FROM components
    OFFSET 0
), staged AS (
    SELECT scored.*,
           CASE WHEN events_attended = 0 THEN %(initiation)s
                WHEN days_since_touch > %(at_risk_days)s THEN %(at_risk)s
                WHEN events_attended = 1 THEN %(socialization)s
                WHEN events_attended >= %(maturity_min_events)s AND new_score >= %(maturity_min_score)s THEN %(maturity)s
                ELSE %(growth)s END AS new_stage,
           CASE WHEN days_since_touch > %(churn_high_days)s THEN %(high)s
                WHEN days_since_touch > %(churn_medium_days)s THEN %(medium)s
                WHEN reference IS NOT NULL AND reference - new_score >= %(churn_drop_points)s THEN %(medium)s
                ELSE %(low)s END AS new_churn,
           next_touch_due IS NOT NULL AND next_touch_due < %(as_of)s AS losing,
           NULLIF(GREATEST(0, days_past_due), 0) AS days_overdue,
           ROUND(CAST((reference - new_score) * 10 AS DOUBLE PRECISION)) / 10 AS fall
    FROM scored
    OFFSET 0
), decided AS (
    SELECT staged.*,
           CASE WHEN old_action IN (%(do_nothing)s, %(rest)s, %(call_now)s, %(follow_up)s, %(invite)s) THEN old_action
                WHEN losing AND fall >= %(fall_points)s THEN %(re_engage)s
                WHEN old_action = %(re_engage)s THEN NULL  -- nurture or check in: left to the full path
                WHEN old_action = %(nurture)s THEN old_action
                WHEN losing THEN %(check_in)s
                ELSE %(wait)s END AS new_action
    FROM staged
    OFFSET 0
), worded AS (
    SELECT decided.*,
           CASE new_action
                WHEN %(re_engage)s THEN jsonb_build_object('cadence_days', cadence_days, 'days_overdue', days_overdue,
                                                           'score_fell_by', fall, 'score_90_days_ago', reference)
                WHEN %(check_in)s THEN jsonb_build_object('cadence_days', cadence_days, 'days_overdue', days_overdue)
                ELSE jsonb_set(old_figures, '{{days_overdue}}', COALESCE(to_jsonb(days_overdue), 'null'::jsonb))
           END AS new_figures,
           CASE new_action
                WHEN %(re_engage)s THEN LEFT(REPLACE(REPLACE(
                     CASE WHEN days_overdue = 1 THEN %(re_engage_reason_one_day)s ELSE %(re_engage_reason)s END,
                     %(days_marker)s, COALESCE(days_overdue, 0)::text), %(fall_marker)s, TO_CHAR(fall, 'FM9999990.0')), 300)
                WHEN %(check_in)s THEN LEFT(REPLACE(
                     CASE WHEN days_overdue = 1 THEN %(check_in_reason_one_day)s ELSE %(check_in_reason)s END,
                     %(days_marker)s, COALESCE(days_overdue, 0)::text), 300)
                ELSE old_reason
           END AS new_reason
    FROM decided
    OFFSET 0
), updated AS (
    UPDATE scoring_contactscore target
    SET score = w.new_score,
        components = jsonb_build_object({components_json}),
        churn_risk = w.new_churn,
        computed_at = %(as_of)s,
        attended_raw = w.attended_raw, no_show_raw = w.no_show_raw, care_weight = w.care_weight,
        care_hits = w.care_hits, networking_raw = w.networking_raw, dialogue_raw = w.dialogue_raw,
        referral_raw = w.referral_raw,
        next_action = w.new_action, next_action_figures = w.new_figures, next_action_reason = w.new_reason,
        churn_reference_score = w.reference,
        churn_reference_until = CASE WHEN w.new_churn <> w.old_churn THEN COALESCE(w.reference_until, %(as_of)s)
                                     ELSE w.reference_until END,
        updated_at = CASE WHEN w.new_churn <> w.old_churn OR w.new_action <> w.old_action THEN %(now)s
                          ELSE w.old_updated_at END
    FROM worded w
    WHERE target.ctid = w.tid AND w.new_stage = w.old_stage AND w.new_action IS NOT NULL
      -- written by another writer since it was read: that write stands
      AND target.computed_at = w.old_computed_at AND target.profile_version = %(version)s
    RETURNING target.contact_id, target.score, w.old_score, target.components, target.stage,
              target.churn_risk <> w.old_churn AS churn_changed
), snapshots AS (
    INSERT INTO scoring_scoresnapshot (contact_id, score, previous_score, components, stage, computed_at, trigger,
                                       trigger_event_id, profile_version, created_at, updated_at)
    SELECT contact_id, score, old_score, components, stage, %(as_of)s, %(trigger)s, NULL, %(version)s, %(now)s, %(now)s
    FROM updated WHERE churn_changed
)
SELECT 'rescore', contact_id, NULL, NULL, NULL FROM scoring_contactscore s
WHERE s.contact_id BETWEEN %(first_id)s AND %(last_id)s
  AND (s.profile_version <> %(version)s OR s.computed_at < %(as_of)s)
  AND s.contact_id NOT IN (SELECT contact_id FROM updated)
UNION ALL
SELECT 'changed', contact_id, score, old_score, stage FROM updated WHERE churn_changed
UNION ALL
SELECT 'decayed', COUNT(*), NULL, NULL, NULL FROM updated
"""


def _decay_sql(params: ScoringParameters) -> str:
    weighted = " + ".join(f"%(w_{name})s * c_{name}" for name in COMPONENTS)
    # round(value, 6) of score_contact(), as a float
    rounded = ", ".join(
        f"'{name}', ROUND(CAST(w.c_{name} * 1000000 AS DOUBLE PRECISION)) / 1000000" for name in COMPONENTS
    )
    return DECAY_SQL.format(weighted_sum=weighted, components_json=rounded, max_half_lives=DECAY_MAX_HALF_LIVES)


def _decay_values(params: ScoringParameters, as_of: datetime, trigger: str) -> dict[str, Any]:
    from scoring.choices import ChurnRisk, LifecycleStage

    threshold = params.threshold
    return {
        "as_of": as_of, "now": timezone.now(), "trigger": str(trigger), "version": params.version,
        "lookback": as_of - timedelta(days=threshold("churn_drop_lookback_days", 90)),
        "half_life": float(params.half_life_days),
        "no_show_penalty": float(threshold("no_show_penalty", 0.5)),
        "k_attendance": float(params.saturation.get("attendance", 2.0)),
        "k_networking": float(params.saturation.get("networking", 4.0)),
        "k_dialogue": float(params.saturation.get("dialogue", 3.0)),
        "k_referrals": float(params.saturation.get("referrals", 1.0)),
        **{f"w_{name}": float(params.weights[name]) for name in COMPONENTS},
        "at_risk_days": float(threshold("at_risk_days", 270)),
        "maturity_min_events": threshold("maturity_min_events", 3),
        "maturity_min_score": float(threshold("maturity_min_score", 60)),
        "churn_high_days": float(threshold("churn_high_days", 365)),
        "churn_medium_days": float(threshold("churn_medium_days", 180)),
        "churn_drop_points": float(threshold("churn_drop_points", 10)),
        **{stage.value: stage.value for stage in LifecycleStage},
        **{risk.value: risk.value for risk in ChurnRisk},
        **{action.value: action.value for action in NextAction},
        "fall_points": SCORE_FALL_POINTS,
        "re_engage_reason": REASONS[NextAction.RE_ENGAGE], "check_in_reason": REASONS[NextAction.CHECK_IN],
        "re_engage_reason_one_day": ONE_DAY_REASONS[NextAction.RE_ENGAGE],
        "check_in_reason_one_day": ONE_DAY_REASONS[NextAction.CHECK_IN],
        "days_marker": "%(days)s", "fall_marker": "%(fall)s",
    }


@dataclass
class RangeResult:
    decayed: int  # rows updated by arithmetic
    rescore: list[int]  # contacts the full path must score
    changes: list[dict[str, Any]]  # as recompute_contacts() reports them (churn risk changed)


def decay_range(
    ids: range, as_of: datetime, params: ScoringParameters, changed: dict[int, datetime],
    *, trigger: str = ScoreTrigger.NIGHTLY,
) -> RangeResult:
    """One statement: every stored score of the contacts in `ids` decayed to `as_of` where
    nothing but time changed (`changed`: the plan's entries in this range). Returns who else
    needs the full path."""
    values = _decay_values(params, as_of, trigger) | {
        "first_id": ids[0], "last_id": ids[-1],
        "changed_ids": list(changed), "changed_at": list(changed.values()),
    }
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(_decay_sql(params), values)
            rows = cursor.fetchall()
    except OperationalError as error:
        # A deadlock with a request writing the same scores rolled the statement back: the task
        # runs the range again later (ContactsLocked is retried), as a chunk whose contacts are locked.
        if getattr(error.__cause__, "sqlstate", None) in DEADLOCK_STATES:
            raise ContactsLocked from error
        raise
    rescore = {contact_id for kind, contact_id, *_ in rows if kind == "rescore"}
    rescore |= {contact_id for contact_id, at in changed.items() if at >= as_of}
    changes = [
        {"contact_id": contact_id, "score": score, "previous_score": previous, "stage": stage,
         "previous_stage": stage, "computed_at": as_of.isoformat()}
        for kind, contact_id, score, previous, stage in rows if kind == "changed"
    ]
    decayed = next(count for kind, count, *_ in rows if kind == "decayed")
    return RangeResult(decayed=decayed, rescore=sorted(rescore), changes=changes)


def missed_tonight(now: datetime) -> bool:
    """Whether the night's run did not happen: a score is older than its start (beat's entry at
    settings.NIGHTLY_RECOMPUTE_AT, local time) and no range of a run over every contact waits in the
    outbox (one under way, or lost and resent by the sweep). Every run writes every score as of its
    start, so one score older than that start is enough. Before the start: last night's run."""
    hour, minute = settings.NIGHTLY_RECOMPUTE_AT
    start = timezone.localtime(now).replace(hour=hour, minute=minute, second=0, microsecond=0)
    if start > now:
        start -= timedelta(days=1)
    if RecomputeRequest.objects.filter(kind=RecomputeKind.RANGE).exists():
        return False
    return ContactScore.objects.filter(computed_at__lt=start).exists()


def nightly_ranges(size: int | None = None) -> Iterable[range]:
    return all_contact_id_chunks(size or range_size_setting())


def nightly_recompute(
    as_of: datetime | None = None, *, params: ScoringParameters | None = None, trigger: str = ScoreTrigger.NIGHTLY,
    range_size: int | None = None, chunk_size: int | None = None,
) -> dict[str, Any]:
    """Every contact's score as of `as_of`, serially: arithmetic where only time passed, the
    full path for the rest (module docstring). The Celery task fans the same ranges out."""
    as_of = as_of or timezone.now()
    params = params or active_parameters()
    plan = plan_nightly(as_of, params) if connection.vendor == "postgresql" else None
    if plan is None:
        result = recompute_contacts(every_contact_id(), as_of=as_of, trigger=trigger, params=params,
                                    chunk_size=chunk_size)
        return result | {"decayed": 0, "rescored": result["contacts"]}
    decayed, rescored, changes = 0, 0, []
    for ids in nightly_ranges(range_size):
        outcome = nightly_range(ids, plan.as_of, params, plan.within(ids), trigger=trigger, chunk_size=chunk_size)
        decayed += outcome["decayed"]
        rescored += outcome["contacts"]
        changes += outcome["changes"]
    return {"contacts": decayed + rescored, "decayed": decayed, "rescored": rescored,
            "changed": len(changes), "changes": changes}


def every_contact_id() -> range:
    """Every contact id as one range (recompute_contacts() splits it into chunks of contacts)."""
    bounds = Contact.objects.aggregate(first=Min("pk"), last=Max("pk"))
    return range(bounds["first"], bounds["last"] + 1) if bounds["first"] is not None else range(0)


def nightly_range(
    ids: range, as_of: datetime, params: ScoringParameters, changed: dict[int, datetime],
    *, trigger: str = ScoreTrigger.NIGHTLY, chunk_size: int | None = None,
) -> dict[str, Any]:
    """One range of the nightly run: decayed by arithmetic, the rest by the full path."""
    outcome = decay_range(ids, as_of, params, changed, trigger=trigger)
    if outcome.changes:
        contact_scores_changed.send(sender=ScoreTrigger, changes=outcome.changes)
    full = recompute_contacts(outcome.rescore, as_of=as_of, trigger=trigger, params=params, chunk_size=chunk_size)
    return {"decayed": outcome.decayed, "contacts": full["contacts"], "changes": outcome.changes + full["changes"]}
