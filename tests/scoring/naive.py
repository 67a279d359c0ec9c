"""The naive way to score one contact: a query per relation through the ORM, DOMAIN.md's
sums written out in Python row by row.

The tests hold the database aggregation (scoring.services.contact_scores.load_chunk) against
it on random agencies, and benchmarks/scoring.py times it as the per-contact baseline.
"""

import math
from datetime import datetime, timedelta

from contacts.choices import FollowUpStatus
from contacts.models import Contact
from events.choices import AttendanceStatus, EventStatus
from events.models import REGISTERED_STATUSES, Attendance, Event
from scoring.models import ScoreSnapshot
from scoring.services.contact_scores import ContactAggregates, decay
from scoring.services.profile import ScoringParameters


def streaks(attended_event_ids: set[int], completed_editions: list[int]) -> tuple[int, int]:
    """(current, longest) run of consecutive completed editions attended in one series;
    the current run counts back from the series' latest completed edition."""
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


def completed_by(event: Event, as_of: datetime) -> bool:
    return event.status == EventStatus.COMPLETED and event.completed_at is not None and event.completed_at <= as_of


def naive_aggregates(contact_id: int, as_of: datetime, params: ScoringParameters) -> ContactAggregates:
    """As of T (README "As of a time"): touchpoints with their time ≤ T, attendances of events
    ended or completed by T, the editions completed by T."""
    contact = Contact.objects.get(pk=contact_id)
    half_life = params.half_life_days
    attendances = [
        row for row in contact.attendances.select_related("event")
        if row.event.ends_at <= as_of or completed_by(row.event, as_of)
    ]
    attended = [row for row in attendances if row.status == AttendanceStatus.ATTENDED]
    no_shows = [row for row in attendances if row.status == AttendanceStatus.NO_SHOW]
    interactions = [
        interaction for interaction in [*contact.interactions.all(), *contact.counterpart_interactions.all()]
        if interaction.occurred_at <= as_of
    ]
    done = list(contact.followups.filter(status=FollowUpStatus.DONE, completed_at__lte=as_of))
    feedback = list(contact.feedback.filter(submitted_at__lte=as_of))
    referrals = list(contact.referrals_made.filter(created_at__lte=as_of))
    # The referred contacts' attended events known as of T, by contact (a referral converts when
    # its referred contact attended one that started after it; docs/referrals.md).
    referred_starts: dict[int, list[datetime]] = {}
    for attendance in Attendance.objects.filter(
        contact_id__in={referral.referred_id for referral in referrals} - {None}, status=AttendanceStatus.ATTENDED,
    ).select_related("event"):
        if attendance.event.ends_at <= as_of or completed_by(attendance.event, as_of):
            referred_starts.setdefault(attendance.contact_id, []).append(attendance.event.starts_at)

    def referral_weight(referral) -> float:
        converted = any(starts_at > referral.created_at for starts_at in referred_starts.get(referral.referred_id, []))
        return params.converted_referral_weight if converted else 1.0

    first_done: dict[int, datetime] = {}
    for followup in done:
        if followup.event_id is not None:
            first_done[followup.event_id] = min(followup.completed_at, first_done.get(followup.event_id, followup.completed_at))
    full_window = timedelta(hours=params.threshold("care_full_hours", 48))
    half_window = timedelta(days=params.threshold("care_half_days", 7))
    care_weight, care_hits = [], []
    for row in attended:
        weight = decay(as_of, row.event.ends_at, half_life)
        completed_at = first_done.get(row.event_id)
        response = 0.0
        if completed_at is not None and completed_at <= row.event.ends_at + full_window:
            response = 1.0
        elif completed_at is not None and completed_at <= row.event.ends_at + half_window:
            response = 0.5
        care_weight.append(weight)
        care_hits.append(weight * response)

    series_ids = {row.event.series_id for row in attended if row.event.series_id is not None}
    attended_ids = {row.event_id for row in attended}
    current_streak = longest_streak = 0
    for series_id in series_ids:
        editions = list(
            Event.objects.filter(series_id=series_id, status=EventStatus.COMPLETED, completed_at__lte=as_of)
            .order_by("starts_at", "id").values_list("id", flat=True)
        )
        current, longest = streaks(attended_ids, editions)
        current_streak, longest_streak = max(current_streak, current), max(longest_streak, longest)

    answers = sorted((answer.submitted_at, answer.pk, answer.nps) for answer in feedback if answer.nps is not None)
    touches = [
        *(row.event.ends_at for row in attended), *(interaction.occurred_at for interaction in interactions),
        *(followup.completed_at for followup in done), *(answer.submitted_at for answer in feedback),
        *(referral.created_at for referral in referrals),
    ]
    cutoff = as_of - timedelta(days=params.threshold("churn_drop_lookback_days", 90))
    old = ScoreSnapshot.objects.filter(contact=contact, computed_at__lte=cutoff).order_by("-computed_at", "-id").first()
    starts = sorted(row.event.starts_at for row in attended)
    return ContactAggregates(
        attended_raw=math.fsum(decay(as_of, row.event.ends_at, half_life) * params.role_weights.get(row.role, 1.0)
                               for row in attended),
        no_show_raw=math.fsum(decay(as_of, row.event.ends_at, half_life) for row in no_shows),
        care_weight=math.fsum(care_weight),
        care_hits=math.fsum(care_hits),
        networking_raw=math.fsum(
            decay(as_of, interaction.occurred_at, half_life)
            * (interaction.quality / 3.0 if interaction.quality is not None else 1.0)
            * (min(interaction.duration_minutes, 60) / 30.0 if interaction.duration_minutes is not None else 1.0)
            for interaction in interactions
        ),
        dialogue_raw=math.fsum(decay(as_of, followup.completed_at, half_life)
                               * params.outcome_weights.get(followup.outcome or "", 1.0) for followup in done),
        referral_raw=math.fsum(decay(as_of, referral.created_at, half_life) * referral_weight(referral)
                               for referral in referrals),
        latest_nps=answers[-1][2] if answers else None,
        last_touch_at=max(touches) if touches else None,
        events_invited=len(attendances),
        events_registered=sum(1 for row in attendances if row.status in REGISTERED_STATUSES),
        events_attended=len(attended),
        no_shows=len(no_shows),
        series_attended=len(series_ids),
        first_attended_at=starts[0] if starts else None,
        last_attended_at=starts[-1] if starts else None,
        current_streak=current_streak,
        longest_streak=longest_streak,
        score_90_days_ago=old.score if old else None,
        last_dialogue_at=max((followup.completed_at for followup in done), default=None),
    )

