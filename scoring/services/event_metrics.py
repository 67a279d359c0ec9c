"""The RoR figures of one event (DOMAIN.md "Event metrics"), in a fixed number of queries."""

import math
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from contacts.choices import DealStatus, FollowUpStatus
from contacts.models import FollowUp, Referral
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, Feedback, Interaction
from events.selectors import previous_edition
from scoring.choices import NoShowRateReason
from scoring.models import EventMetrics
from scoring.services.clv import EventClvReturn, event_clv_return
from scoring.services.contact_scores import compute_scores
from scoring.services.profile import ScoringParameters, active_parameters


def known_attendances(as_of: datetime) -> Q:
    """Attendance rows known as of T: their event ended by T, or was completed by T (early)."""
    return Q(event__ends_at__lte=as_of) | Q(event__status=EventStatus.COMPLETED, event__completed_at__lte=as_of)


def events_depending_on(event_ids: Iterable[int], contact_ids: Iterable[int] | QuerySet) -> list[int]:
    """Completed events, other than these, whose figures change with these events' rows of these
    contacts: each event's next edition (its retention compares with it) and the events the
    contacts attended that were completed after these started: whether they came before decides
    new or returning at a later event, and an event's relationship lift scores its attendees as of
    its completion with every touch up to then, these events' included (a backfill loads an
    older event after a newer one was completed). `contact_ids` may be a query of ids (a
    subquery: an event's thousands of attendees are not sent back as parameters)."""
    event_ids = set(event_ids)
    contact_ids = contact_ids if isinstance(contact_ids, QuerySet) else set(contact_ids)
    events = list(Event.objects.filter(pk__in=event_ids).values_list("series_id", "starts_at"))
    if not events:
        return []
    completed = Event.objects.filter(status=EventStatus.COMPLETED).exclude(pk__in=event_ids)
    dependent = Q(
        # (a later event was completed after these started too: completed_at ≥ starts_at)
        completed_at__gte=min(starts_at for _, starts_at in events),
        attendances__contact_id__in=contact_ids, attendances__status=AttendanceStatus.ATTENDED,
    ) if isinstance(contact_ids, QuerySet) or contact_ids else Q(pk__in=[])
    next_editions = set()
    for series_id, starts_at in events:
        if series_id is not None:
            next_edition = completed.filter(series_id=series_id, starts_at__gt=starts_at).order_by("starts_at", "id").first()
            if next_edition is not None:
                next_editions.add(next_edition.pk)
    return sorted(set(completed.filter(dependent).values_list("pk", flat=True)) | next_editions)


def series_retention_rate(previous_attended: set[int], current_attended: set[int]) -> float | None:
    """CRR = ((E − N) / S) × 100 (seed 004): S attended the previous edition, E this one,
    N attended this one but not the previous one. Null without a previous edition's attendees."""
    return retention_rate(
        len(previous_attended), len(current_attended), len(current_attended - previous_attended)
    )


def retention_rate(s: int, e: int, n: int) -> float | None:
    """CRR from the counts S, E and N (the cohort report counts them in SQL); null when S is 0."""
    if s == 0:
        return None
    return (e - n) / s * 100


def ror_percent(won_value: Decimal, cost: Decimal | None) -> float | None:
    """(won_value − cost) / cost × 100; null without a cost."""
    if cost is None or cost == 0:
        return None
    return float((won_value - cost) / cost * 100)


def net_promoter_score(answers: list[int]) -> float | None:
    """% promoters (9–10) − % detractors (0–6)."""
    if not answers:
        return None
    promoters = sum(1 for nps in answers if nps >= 9)
    detractors = sum(1 for nps in answers if nps <= 6)
    return (promoters - detractors) / len(answers) * 100


# Computations of one event's metrics running at once (late data, a partner's recompute) each take
# a fresh snapshot after a serialization failure, after a short, growing, jittered pause.
SNAPSHOT_ATTEMPTS = 8
FIRST_SNAPSHOT_PAUSE_SECONDS = 0.05
# serialization_failure, deadlock_detected (with a deletion of the event), and unique_violation:
# another computation inserted the event's first metrics row while this one waited for the event's
# lock, after its snapshot began, so this one could not see the row it then tried to insert too.
RETRIED_SQLSTATES = {"40001", "40P01", "23505"}


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def compute_event_metrics(
    event_id: int, *, as_of: datetime | None = None, clv: bool = True, lifts: Mapping[int, float] | None = None
) -> EventMetrics | None:
    """Compute and store the event's metrics exactly as of `as_of` (default now), which is their
    `computed_at`, unless they were stored as of a later time already (then those are returned
    and stay). None when the event no longer exists (deleted after the data that queued this
    computation) or was not completed by then: metrics describe what an event did, so an event
    that has not happened yet (a recompute asked for by hand) gets none. With `clv=False` the
    CLV figures stay null for the CLV fit to fill (store_event_clv_return): the event recompute
    leaves them to the fit that follows it.

    As of T the figures read what was known by T: interactions that occurred, feedback
    submitted and referrals made by T; follow-ups created or done by T (done ones count as
    done only when done by T); attendances of events ended or completed by T; the previous
    edition among the editions completed by T.

    `lifts`: the relationship lift of attendees (attendee_lifts()) computed already, by the
    event recompute's chunks in parallel; the lift of an attendee it lacks is computed here."""
    as_of = as_of or timezone.now()
    attempt = 1
    while True:
        try:
            return _compute_in_one_snapshot(event_id, as_of, clv, lifts)
        except (OperationalError, IntegrityError) as error:
            # Under REPEATABLE READ, locking an event row another transaction changed since the
            # snapshot began fails (serialization_failure): a fresh snapshot sees the change.
            if getattr(error.__cause__, "sqlstate", None) not in RETRIED_SQLSTATES or attempt == SNAPSHOT_ATTEMPTS:
                raise
            time.sleep(FIRST_SNAPSHOT_PAUSE_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            attempt += 1


def _compute_in_one_snapshot(
    event_id: int, as_of: datetime, clv: bool, lifts: Mapping[int, float] | None
) -> EventMetrics | None:
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # The figures come from several queries: in one snapshot they agree with each other
            # even while check-ins commit (else, say, more new attendees than attended ones).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # Locked so that a concurrent deletion waits for the metrics row, not the other way round.
        event = Event.objects.select_for_update(no_key=True).filter(pk=event_id).first()
        if event is None or event.status != EventStatus.COMPLETED or event.completed_at > as_of:
            return None
        newer = EventMetrics.objects.filter(event=event, computed_at__gt=as_of).first()
        if newer is not None:  # computed meanwhile as of a later time (late data): an older as-of never overwrites it
            return newer
        return _compute_event_metrics(event, as_of, clv, lifts)


def _compute_event_metrics(
    event: Event, as_of: datetime, clv: bool, lifts: Mapping[int, float] | None = None
) -> EventMetrics:
    attendances = Attendance.objects.filter(event=event)  # all known: the event was completed by T

    status_counts = dict(attendances.values_list("status").annotate(count=Count("id")).order_by())
    attended = status_counts.get(AttendanceStatus.ATTENDED, 0)
    no_shows = status_counts.get(AttendanceStatus.NO_SHOW, 0)
    registered = attended + no_shows + status_counts.get(AttendanceStatus.REGISTERED, 0)
    # Without any check-in, "registered" says nothing about who came: no no-show rate.
    used_check_in = attendances.filter(checked_in_at__isnull=False).exists()

    earlier_attendance = Attendance.objects.filter(
        known_attendances(as_of), contact_id=OuterRef("contact_id"), status=AttendanceStatus.ATTENDED,
        event__starts_at__lt=event.starts_at,
    )
    attendee_rows = list(
        attendances.filter(status=AttendanceStatus.ATTENDED)
        .annotate(came_before=Exists(earlier_attendance))
        .values_list("contact_id", "came_before")
    )
    attendee_ids = {contact_id for contact_id, _ in attendee_rows}
    new_attendees = sum(1 for _, came_before in attendee_rows if not came_before)
    returning = attended - new_attendees

    previous = previous_edition(event, as_of=as_of)
    retention = None
    retained = None  # attended this event and the previous edition: E − N
    if previous is not None:
        previous_ids = set(
            Attendance.objects.filter(event=previous, status=AttendanceStatus.ATTENDED).values_list("contact_id", flat=True)
        )
        retention = series_retention_rate(previous_ids, attendee_ids)
        retained = attendee_ids & previous_ids

    interactions = Interaction.objects.filter(event=event, occurred_at__lte=as_of).aggregate(
        total=Count("id"), quality=Avg("quality")
    )

    done_by_t = Q(status=FollowUpStatus.DONE, completed_at__lte=as_of)
    followups = FollowUp.objects.filter(Q(created_at__lte=as_of) | done_by_t, event=event)
    followup_figures = followups.aggregate(
        total=Count("id"),
        pipeline=Sum("deal_value", filter=Q(deal_status=DealStatus.OPEN)),
        won=Sum("deal_value", filter=Q(deal_status=DealStatus.WON)),
    )
    first_done: dict[int, datetime] = {}
    for contact_id, completed_at in followups.filter(done_by_t, contact_id__in=attendee_ids).values_list(
        "contact_id", "completed_at"
    ):
        if contact_id not in first_done or completed_at < first_done[contact_id]:
            first_done[contact_id] = completed_at
    # One done before the end counts as 0 hours, as in the follow-up report (contacts.deadlines).
    hours_to_first = sorted(max(0.0, (done - event.ends_at).total_seconds() / 3600) for done in first_done.values())
    within_48h = sum(1 for done in first_done.values() if done <= event.ends_at + timedelta(hours=48))

    feedback = list(Feedback.objects.filter(event=event, submitted_at__lte=as_of).values_list("nps", "satisfaction"))
    satisfaction = [value for _, value in feedback if value is not None]

    referrals = Referral.objects.filter(event=event, created_at__lte=as_of).count()
    won_value = followup_figures["won"] or Decimal("0")
    given = lifts or {}
    known = {contact_id: given[contact_id] for contact_id in attendee_ids if contact_id in given}
    lift = summarize_lift(list((known | attendee_lifts(event, attendee_ids - known.keys())).values()))
    retained_count = None if retained is None else len(retained)
    if clv:
        clv_return = event_clv_return(event, previous, retained_count, as_of)
    else:
        clv_return = EventClvReturn(retained_attendees=None if previous is None else retained_count)

    metrics, _ = EventMetrics.objects.update_or_create(
        event=event,
        defaults={
            "registered": registered,
            "attended": attended,
            "no_shows": no_shows,
            "no_show_rate": share(no_shows, registered) if used_check_in else None,
            "no_show_rate_reason": "" if used_check_in else NoShowRateReason.NO_CHECK_IN,
            "new_attendees": new_attendees,
            "returning_attendees": returning,
            "returning_share": share(returning, attended),
            "previous_edition": previous,
            "series_retention_rate": retention,
            "interactions_total": interactions["total"],
            "interactions_per_attendee": share(interactions["total"], attended),
            "avg_interaction_quality": interactions["quality"],
            "followups_total": followup_figures["total"],
            "followup_coverage": share(len(first_done), attended),
            "followed_up_within_48h_share": share(within_48h, attended),
            "median_first_followup_hours": median(hours_to_first) if hours_to_first else None,
            "nps": net_promoter_score([nps for nps, _ in feedback if nps is not None]),
            "feedback_count": len(feedback),
            "avg_satisfaction": sum(satisfaction) / len(satisfaction) if satisfaction else None,
            "pipeline_value": followup_figures["pipeline"] or Decimal("0"),
            "won_value": won_value,
            "cost": event.cost,
            "ror_percent": ror_percent(won_value, event.cost),
            "retained_attendees": clv_return.retained_attendees,
            "retained_clv": clv_return.retained_clv,
            "clv_ror_percent": clv_return.clv_ror_percent,
            "referrals": referrals,
            "advocacy_index": share(referrals, attended),
            "relationship_lift": lift.mean,
            "relationship_lift_median": lift.median,
            "relationship_lift_positive_share": lift.positive_share,
            "computed_at": as_of,
        },
    )
    return metrics


@dataclass(frozen=True)
class RelationshipLift:
    mean: float | None = None
    median: float | None = None
    positive_share: float | None = None


def attendee_lifts(event: Event, attendee_ids: Iterable[int], params: ScoringParameters | None = None) -> dict[int, float]:
    """The relationship lift of each attendee, what the event did to their relationship, as a
    counterfactual (DOMAIN.md): the score as of the event's completion with all data minus the
    score as of the same moment without this event's rows (its attendance, interactions,
    follow-ups and feedback). Deterministic: it reads neither the time the recompute ran nor
    the scores stored. Two queries per chunk."""
    from scoring.services.recompute import chunk_size_setting, chunked  # recompute imports this module

    params = params or active_parameters()
    deltas = {}
    for chunk in chunked(sorted(attendee_ids), chunk_size_setting()):
        with_event = {result.contact_id: result.score for result in compute_scores(chunk, event.completed_at, params)}
        without = compute_scores(chunk, event.completed_at, params, without_event=event.pk)
        deltas |= {result.contact_id: with_event[result.contact_id] - result.score
                   for result in without if result.contact_id in with_event}
    return deltas


def chunk_attendee_lifts(event_id: int, contact_ids: Sequence[int]) -> dict[int, float]:
    """attendee_lifts() of those of these contacts who attended the event, for one chunk of its
    recompute: {} while the event is not completed (or gone). Fanned out with the chunks, the
    lift costs the metrics that follow them nothing."""
    event = Event.objects.filter(pk=event_id, status=EventStatus.COMPLETED).first()
    if event is None:
        return {}
    attendees = Attendance.objects.filter(event=event, status=AttendanceStatus.ATTENDED, contact_id__any_of=contact_ids)
    return attendee_lifts(event, attendees.values_list("contact_id", flat=True))


def summarize_lift(deltas: Sequence[float]) -> RelationshipLift:
    """The event's relationship lift: the mean and median of its attendees' lifts and the share
    of them above 0."""
    if not deltas:
        return RelationshipLift()
    return RelationshipLift(
        mean=round(math.fsum(deltas) / len(deltas), 2),
        median=round(median(deltas), 2),
        positive_share=sum(1 for delta in deltas if delta > 0) / len(deltas),
    )
