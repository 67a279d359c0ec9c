"""The RoR figures of one event (DOMAIN.md "Event metrics"), in a fixed number of queries."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from django.db import OperationalError, connection, transaction
from django.db.models import Avg, Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from contacts.choices import DealStatus, FollowUpStatus
from contacts.models import FollowUp, Referral
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, Feedback, Interaction
from scoring.models import EventMetrics, ScoreSnapshot


def previous_edition(event: Event) -> Event | None:
    """The latest completed event of the same series that starts before this one."""
    if event.series_id is None:
        return None
    return (
        Event.objects.filter(series_id=event.series_id, status=EventStatus.COMPLETED, starts_at__lt=event.starts_at)
        .exclude(pk=event.pk)
        .order_by("-starts_at", "-id")
        .first()
    )


def events_depending_on(event_ids: Iterable[int], contact_ids: Iterable[int]) -> list[int]:
    """Completed events, other than these, whose figures change with these events' rows of these
    contacts: each event's next edition (its retention compares with it) and the later events
    the contacts attended (whether they came before decides new or returning)."""
    event_ids, contact_ids = set(event_ids), set(contact_ids)
    events = list(Event.objects.filter(pk__in=event_ids).values_list("series_id", "starts_at"))
    if not events:
        return []
    completed = Event.objects.filter(status=EventStatus.COMPLETED).exclude(pk__in=event_ids)
    dependent = Q(
        starts_at__gt=min(starts_at for _, starts_at in events),
        attendances__contact_id__in=contact_ids, attendances__status=AttendanceStatus.ATTENDED,
    ) if contact_ids else Q(pk__in=[])
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
    s = len(previous_attended)
    if s == 0:
        return None
    e = len(current_attended)
    n = len(current_attended - previous_attended)
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


SNAPSHOT_ATTEMPTS = 3


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def compute_event_metrics(event_id: int, *, as_of: datetime | None = None) -> EventMetrics | None:
    """Compute and store the event's metrics; `computed_at` is the as-of time. None when the
    event no longer exists (deleted after the data that queued this computation) or is not
    completed: metrics describe what an event did, so an event that has not happened yet
    (a recompute asked for by hand) gets none."""
    as_of = as_of or timezone.now()
    attempt = 1
    while True:
        try:
            return _compute_in_one_snapshot(event_id, as_of)
        except OperationalError as error:
            # Under REPEATABLE READ, locking an event row another transaction changed since the
            # snapshot began fails (serialization_failure): a fresh snapshot sees the change.
            if getattr(error.__cause__, "sqlstate", None) != "40001" or attempt == SNAPSHOT_ATTEMPTS:
                raise
            attempt += 1


def _compute_in_one_snapshot(event_id: int, as_of: datetime) -> EventMetrics | None:
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # The figures come from several queries: in one snapshot they agree with each other
            # even while check-ins commit (else, say, more new attendees than attended ones).
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # Locked so that a concurrent deletion waits for the metrics row, not the other way round.
        event = Event.objects.select_for_update(no_key=True).filter(pk=event_id).first()
        if event is None or event.status != EventStatus.COMPLETED:
            return None
        return _compute_event_metrics(event, as_of)


def _compute_event_metrics(event: Event, as_of: datetime) -> EventMetrics:
    attendances = Attendance.objects.filter(event=event)

    status_counts = dict(attendances.values_list("status").annotate(count=Count("id")).order_by())
    attended = status_counts.get(AttendanceStatus.ATTENDED, 0)
    no_shows = status_counts.get(AttendanceStatus.NO_SHOW, 0)
    registered = attended + no_shows + status_counts.get(AttendanceStatus.REGISTERED, 0)

    earlier_attendance = Attendance.objects.filter(
        contact_id=OuterRef("contact_id"), status=AttendanceStatus.ATTENDED, event__starts_at__lt=event.starts_at
    )
    attendee_rows = list(
        attendances.filter(status=AttendanceStatus.ATTENDED)
        .annotate(came_before=Exists(earlier_attendance))
        .values_list("contact_id", "came_before")
    )
    attendee_ids = {contact_id for contact_id, _ in attendee_rows}
    new_attendees = sum(1 for _, came_before in attendee_rows if not came_before)
    returning = attended - new_attendees

    previous = previous_edition(event)
    retention = None
    if previous is not None:
        previous_ids = set(
            Attendance.objects.filter(event=previous, status=AttendanceStatus.ATTENDED).values_list("contact_id", flat=True)
        )
        retention = series_retention_rate(previous_ids, attendee_ids)

    interactions = Interaction.objects.filter(event=event).aggregate(total=Count("id"), quality=Avg("quality"))

    followups = FollowUp.objects.filter(event=event)
    followup_figures = followups.aggregate(
        total=Count("id"),
        pipeline=Sum("deal_value", filter=Q(deal_status=DealStatus.OPEN)),
        won=Sum("deal_value", filter=Q(deal_status=DealStatus.WON)),
    )
    first_done: dict[int, datetime] = {}
    for contact_id, completed_at in followups.filter(
        status=FollowUpStatus.DONE, completed_at__isnull=False, contact_id__in=attendances.filter(
            status=AttendanceStatus.ATTENDED
        ).values("contact_id")
    ).values_list("contact_id", "completed_at"):
        if contact_id not in first_done or completed_at < first_done[contact_id]:
            first_done[contact_id] = completed_at
    hours_to_first = sorted((done - event.ends_at).total_seconds() / 3600 for done in first_done.values())
    within_48h = sum(1 for done in first_done.values() if done <= event.ends_at + timedelta(hours=48))

    feedback = list(Feedback.objects.filter(event=event).values_list("nps", "satisfaction"))
    satisfaction = [value for _, value in feedback if value is not None]

    referrals = Referral.objects.filter(event=event).count()
    won_value = followup_figures["won"] or Decimal("0")

    metrics, _ = EventMetrics.objects.update_or_create(
        event=event,
        defaults={
            "registered": registered,
            "attended": attended,
            "no_shows": no_shows,
            "no_show_rate": share(no_shows, registered),
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
            "referrals": referrals,
            "advocacy_index": share(referrals, attended),
            "relationship_lift": relationship_lift(event.pk, attendee_ids),
            "computed_at": as_of,
        },
    )
    return metrics


def relationship_lift(event_id: int, attendee_ids: set[int]) -> float | None:
    """Mean score change of the attendees caused by this event's recomputes.

    Each snapshot a recompute of this event wrote carries the score it replaced, so the
    changes add up per contact, whichever worker wrote them and however often it re-ran.
    Attendees whose score did not move count as 0; null before any such recompute.
    """
    if not attendee_ids:
        return None
    deltas = list(
        ScoreSnapshot.objects.filter(trigger_event_id=event_id).values_list("contact_id", "score", "previous_score")
    )
    if not deltas:
        return None
    total = sum(score - (previous or 0.0) for contact_id, score, previous in deltas if contact_id in attendee_ids)
    return round(total / len(attendee_ids), 2)
