"""Read-side queries of contacts that the API and the admin share."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.db.models.functions import Coalesce

from contacts.models import Contact, FollowUp, Referral
from events.models import Attendance, Feedback, Interaction

TIMELINE_TYPES = ("attendance", "feedback", "follow_up", "interaction", "referral")


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened with a contact: its type, its moment and the row itself."""

    type: str  # one of TIMELINE_TYPES
    at: datetime
    record: Attendance | Interaction | FollowUp | Feedback | Referral

    @property
    def id(self) -> int:
        return self.record.pk


def contact_timeline(
    contact: Contact,
    *,
    limit: int,
    before: tuple[datetime] | tuple[datetime, str, int] | None = None,
    after: tuple[datetime, str, int] | None = None,
    updated_since: datetime | None = None,
    referrals_received: bool = False,
) -> list[TimelineEntry]:
    """Attendances, interactions (either side), follow-ups, feedback and referrals made (and,
    with `referrals_received`, those naming the contact), newest first.

    Entries sort by (time, type, id), descending. An attendance is at its event's start, a
    follow-up at its completion, else its due time, else its creation. `before` is a time,
    optionally with the (type, id) of the last entry seen: then entries at exactly that time
    that sort after it come too, so paging never skips or repeats one. `after` (a time, type
    and id) gives the `limit` entries just newer than that one instead (a page back), still
    newest first. Five queries, each capped at `limit`, merged in Python: a fixed cost per
    page. The API and the admin's contact page both read the timeline here, each showing the
    rows in its own words.
    """

    def newest(queryset, kind: str, time_field: str):
        if updated_since is not None:
            queryset = queryset.filter(updated_at__gte=updated_since)
        if after is not None:
            moment, last_kind, last_id = after
            newer = Q(**{f"{time_field}__gt": moment})
            same_time = Q(**{time_field: moment})
            if kind > last_kind:
                newer |= same_time
            elif kind == last_kind:
                newer |= same_time & Q(pk__gt=last_id)
            return queryset.filter(newer).order_by(time_field, "id")[:limit]
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

    attendances = Attendance.objects.filter(contact=contact).select_related("event")
    interactions = Interaction.objects.filter(Q(contact=contact) | Q(counterpart=contact)).select_related(
        "event", "contact", "counterpart"
    )
    follow_ups = (
        FollowUp.objects.filter(contact=contact).select_related("event", "owner")
        .annotate(at=Coalesce("completed_at", "due_at", "created_at"))
    )
    feedback = Feedback.objects.filter(contact=contact).select_related("event")
    referred = Q(referrer=contact) | Q(referred=contact) if referrals_received else Q(referrer=contact)
    referrals = Referral.objects.filter(referred).select_related("referrer", "referred")
    entries = [
        *(TimelineEntry("attendance", row.event.starts_at, row) for row in newest(attendances, "attendance", "event__starts_at")),
        *(TimelineEntry("interaction", row.occurred_at, row) for row in newest(interactions, "interaction", "occurred_at")),
        *(TimelineEntry("follow_up", row.at, row) for row in newest(follow_ups, "follow_up", "at")),
        *(TimelineEntry("feedback", row.submitted_at, row) for row in newest(feedback, "feedback", "submitted_at")),
        *(TimelineEntry("referral", row.created_at, row) for row in newest(referrals, "referral", "created_at")),
    ]
    entries.sort(key=lambda entry: (entry.at, entry.type, entry.id), reverse=after is None)
    entries = entries[:limit]
    return entries[::-1] if after is not None else entries
