"""Late data: writes that land on a completed event tell scoring (DOMAIN.md), which recomputes
the affected contacts and the event's metrics after commit, debounced."""

from collections.abc import Iterable

from django.utils import timezone

from events.choices import EventStatus
from events.models import Event


def notify_late_data(event: Event | None, contact_ids: Iterable[int | None]) -> None:
    """Tell scoring that data of an event changed for these contacts: late data of a completed
    event (its metrics too, debounced); for one still ahead or running the contacts alone, whose
    next best action reads registrations and touches (scoring.services.next_action); with no
    event (a referral made outside any event) the contacts alone too."""
    if event is not None and event.status == EventStatus.CANCELLED:
        return
    from scoring import triggers  # scoring depends on events, not the other way round
    from scoring.choices import ScoreTrigger

    ids = sorted({contact_id for contact_id in contact_ids if contact_id is not None})
    if not ids:
        return
    if event is not None and event.status == EventStatus.COMPLETED:
        triggers.data_changed(event.pk, ids)
    elif event is None or event.ends_at > timezone.now():
        triggers.schedule_contacts_recompute(ids, trigger=ScoreTrigger.LATE_DATA)
    # An event that has ended but is not completed yet: its completion scores its contacts.


def existing_event(event_id: int | None) -> Event | None:
    """The event, or None when there is none or a concurrent request has just deleted it
    (which deleted the rows of the event too: deleting one of them again is no error)."""
    return Event.objects.filter(pk=event_id).first() if event_id is not None else None
