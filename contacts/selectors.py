"""Read-side queries of contacts that the API and the admin share."""

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.db.models.functions import Coalesce

from contacts.models import Contact, FollowUp, Referral
from events.models import Attendance, Feedback, Interaction

TIMELINE_TYPES = ("attendance", "feedback", "follow_up", "interaction", "referral")


def contact_timeline(
    contact: Contact,
    *,
    limit: int,
    before: tuple[datetime] | tuple[datetime, str, int] | None = None,
    updated_since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Attendances, interactions (either side), follow-ups, feedback and referrals, newest first.

    Items sort by (time, type, id), descending. `before` is a time, optionally with the
    (type, id) of the last item seen: then items at exactly that time that sort after it come
    too, so paging never skips or repeats an item. Five queries, each capped at `limit`,
    merged in Python: a fixed cost per page.
    """

    def newest(queryset, kind: str, time_field: str):
        if updated_since is not None:
            queryset = queryset.filter(updated_at__gte=updated_since)
        if before is not None:
            older = Q(**{f"{time_field}__lt": before[0]})
            if len(before) == 3:
                _, last_kind, last_id = before
                same_time = Q(**{time_field: before[0]})
                if kind < last_kind:
                    older |= same_time
                elif kind == last_kind:
                    older |= same_time & Q(pk__lt=last_id)
            queryset = queryset.filter(older)
        return queryset.order_by(f"-{time_field}", "-id")[:limit]

    items: list[dict[str, Any]] = []
    attendances = Attendance.objects.filter(contact=contact).select_related("event")
    for attendance in newest(attendances, "attendance", "event__starts_at"):
        items.append({
            "type": "attendance", "at": attendance.event.starts_at, "id": attendance.pk, "event": attendance.event_id,
            "summary": f"{attendance.get_status_display()} as {attendance.get_role_display()}: {attendance.event.name}",
            "details": {"role": attendance.role, "status": attendance.status, "checked_in_at": attendance.checked_in_at},
        })
    interactions = Interaction.objects.filter(contact=contact) | Interaction.objects.filter(counterpart=contact)
    for interaction in newest(interactions, "interaction", "occurred_at"):
        other = interaction.counterpart_id if interaction.contact_id == contact.pk else interaction.contact_id
        items.append({
            "type": "interaction", "at": interaction.occurred_at, "id": interaction.pk, "event": interaction.event_id,
            "summary": interaction.get_kind_display(),
            "details": {"kind": interaction.kind, "with_contact": other, "quality": interaction.quality,
                        "duration_minutes": interaction.duration_minutes},
        })
    follow_ups = FollowUp.objects.filter(contact=contact).annotate(at=Coalesce("completed_at", "due_at", "created_at"))
    for follow_up in newest(follow_ups, "follow_up", "at"):
        items.append({
            "type": "follow_up", "at": follow_up.at,
            "id": follow_up.pk, "event": follow_up.event_id,
            "summary": f"{follow_up.get_channel_display()} ({follow_up.get_status_display()})",
            "details": {"status": follow_up.status, "outcome": follow_up.outcome, "deal_status": follow_up.deal_status,
                        "deal_value": follow_up.deal_value, "due_at": follow_up.due_at},
        })
    for feedback in newest(Feedback.objects.filter(contact=contact), "feedback", "submitted_at"):
        items.append({
            "type": "feedback", "at": feedback.submitted_at, "id": feedback.pk, "event": feedback.event_id,
            "summary": f"NPS {feedback.nps}" if feedback.nps is not None else "Feedback",
            "details": {"nps": feedback.nps, "satisfaction": feedback.satisfaction},
        })
    for referral in newest(Referral.objects.filter(referrer=contact), "referral", "created_at"):
        items.append({
            "type": "referral", "at": referral.created_at, "id": referral.pk, "event": referral.event_id,
            "summary": "Referral", "details": {"referred": referral.referred_id},
        })
    items.sort(key=lambda item: (item["at"], item["type"], item["id"]), reverse=True)
    return items[:limit]
