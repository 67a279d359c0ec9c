"""Read-side queries of contacts that the API and the admin share."""

from datetime import datetime
from typing import Any

from contacts.models import Contact, FollowUp, Referral
from events.models import Attendance, Feedback, Interaction


def contact_timeline(contact: Contact, *, limit: int, before: datetime | None = None) -> list[dict[str, Any]]:
    """Attendances, interactions (either side), follow-ups, feedback and referrals, newest first.

    Five queries, each capped at `limit`, merged in Python: a fixed cost per page.
    """

    def newest(queryset, time_field: str):
        if before is not None:
            queryset = queryset.filter(**{f"{time_field}__lt": before})
        return queryset.order_by(f"-{time_field}", "-id")[:limit]

    items: list[dict[str, Any]] = []
    for attendance in newest(Attendance.objects.filter(contact=contact).select_related("event"), "event__starts_at"):
        items.append({
            "type": "attendance", "at": attendance.event.starts_at, "id": attendance.pk, "event": attendance.event_id,
            "summary": f"{attendance.get_status_display()} as {attendance.get_role_display()}: {attendance.event.name}",
            "details": {"role": attendance.role, "status": attendance.status, "checked_in_at": attendance.checked_in_at},
        })
    interactions = Interaction.objects.filter(contact=contact) | Interaction.objects.filter(counterpart=contact)
    for interaction in newest(interactions, "occurred_at"):
        other = interaction.counterpart_id if interaction.contact_id == contact.pk else interaction.contact_id
        items.append({
            "type": "interaction", "at": interaction.occurred_at, "id": interaction.pk, "event": interaction.event_id,
            "summary": interaction.get_kind_display(),
            "details": {"kind": interaction.kind, "with_contact": other, "quality": interaction.quality,
                        "duration_minutes": interaction.duration_minutes},
        })
    for follow_up in newest(FollowUp.objects.filter(contact=contact), "created_at"):
        items.append({
            "type": "follow_up", "at": follow_up.completed_at or follow_up.due_at or follow_up.created_at,
            "id": follow_up.pk, "event": follow_up.event_id,
            "summary": f"{follow_up.get_channel_display()} ({follow_up.get_status_display()})",
            "details": {"status": follow_up.status, "outcome": follow_up.outcome, "deal_status": follow_up.deal_status,
                        "deal_value": follow_up.deal_value, "due_at": follow_up.due_at},
        })
    for feedback in newest(Feedback.objects.filter(contact=contact), "submitted_at"):
        items.append({
            "type": "feedback", "at": feedback.submitted_at, "id": feedback.pk, "event": feedback.event_id,
            "summary": f"NPS {feedback.nps}" if feedback.nps is not None else "Feedback",
            "details": {"nps": feedback.nps, "satisfaction": feedback.satisfaction},
        })
    for referral in newest(Referral.objects.filter(referrer=contact), "created_at"):
        items.append({
            "type": "referral", "at": referral.created_at, "id": referral.pk, "event": referral.event_id,
            "summary": "Referral", "details": {"referred": referral.referred_id},
        })
    items.sort(key=lambda item: (item["at"], item["type"], item["id"]), reverse=True)
    return items[:limit]
