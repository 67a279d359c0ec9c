"""Read-side queries of events that the API and the admin share."""

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from contacts.models import Contact
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, EventSeries
from scoring.models import EventMetrics


def previous_edition(event: Event, *, as_of: datetime | None = None) -> Event | None:
    """The latest event of the same series completed (by `as_of`, if given) that starts before this one."""
    if event.series_id is None:
        return None
    completed = Event.objects.filter(series_id=event.series_id, status=EventStatus.COMPLETED, starts_at__lt=event.starts_at)
    if as_of is not None:
        completed = completed.filter(completed_at__lte=as_of)
    return completed.exclude(pk=event.pk).order_by("-starts_at", "-id").first()


# Before an event: those coming so far (the live check-ins of a running one included).
COMING = (AttendanceStatus.REGISTERED, AttendanceStatus.WAITLISTED, AttendanceStatus.ATTENDED)


def lapsed_attendees(event: Event, previous: Event | None = None, *, to_win_back: bool = False) -> QuerySet[Contact]:
    """Contacts who attended the previous edition of the event's series (`previous`, found when not
    given) and did not attend this one (API.md's `lapsed/`); empty without a previous edition.
    Unordered.

    `to_win_back` (the event page's list of people to call): before the event is over (not
    completed, not ended) only those not registered nor on its waiting list so far, and never
    erased contacts or those who asked not to be contacted."""
    previous = previous or previous_edition(event)
    if previous is None:
        return Contact.objects.none()

    def took_part(edition: Event, statuses: tuple[str, ...]) -> Exists:
        return Exists(Attendance.objects.filter(contact=OuterRef("pk"), event=edition, status__in=statuses))

    coming = COMING if to_win_back and is_upcoming(event) else (AttendanceStatus.ATTENDED,)
    contacts = Contact.objects.reachable() if to_win_back else Contact.objects.all()
    return contacts.filter(took_part(previous, (AttendanceStatus.ATTENDED,))).exclude(took_part(event, coming))


def with_attendance_status(contacts: QuerySet[Contact], event: Event) -> QuerySet[Contact]:
    """`attendance_status`: each contact's attendance status at the event, or None (a subquery on
    the unique (event, contact) index)."""
    status = Attendance.objects.filter(event=event, contact=OuterRef("pk")).values("status")[:1]
    return contacts.annotate(attendance_status=Subquery(status))


def changed_at_event_since(contacts: QuerySet[Contact], event: Event, since: datetime) -> QuerySet[Contact]:
    """The contacts whose data or score changed at or after `since` (as contacts/?updated_since=),
    or whose attendance at the event did: the `updated_since` of the event's contact reports."""
    changed_here = Attendance.objects.filter(event=event, contact=OuterRef("pk"), updated_at__gte=since)
    return contacts.with_last_change().filter(Q(last_change__gte=since) | Q(Exists(changed_here)))


def is_upcoming(event: Event) -> bool:
    """Not over yet: neither completed nor ended (its lapsed list is of those not coming so far)."""
    return event.status not in (EventStatus.COMPLETED, EventStatus.CANCELLED) and event.ends_at > timezone.now()


def series_report(series: EventSeries) -> dict[str, Any]:
    """Per edition (by start): attended, new, returning share, CRR, NPS, RoR % (from EventMetrics)."""
    editions = []
    for event in Event.objects.filter(series=series).select_related("metrics").order_by("starts_at", "id"):
        try:
            metrics = event.metrics
        except EventMetrics.DoesNotExist:
            metrics = None
        editions.append({
            "event": event.pk,
            "name": event.name,
            "starts_at": event.starts_at,
            "status": event.status,
            "attended": metrics.attended if metrics else None,
            "new": metrics.new_attendees if metrics else None,
            "returning_share": metrics.returning_share if metrics else None,
            "series_retention_rate": metrics.series_retention_rate if metrics else None,
            "nps": metrics.nps if metrics else None,
            "ror_percent": metrics.ror_percent if metrics else None,
        })
    return {"series": series.pk, "name": series.name, "editions": editions}
