"""Late data: writes that land on a completed event tell scoring (DOMAIN.md), which recomputes
the affected contacts and the event's metrics after commit, debounced."""

from collections.abc import Iterable

from events.choices import EventStatus
from events.models import Event


def notify_late_data(event: Event | None, contact_ids: Iterable[int | None]) -> None:
    """Tell scoring that data of a completed event changed for these contacts."""
    if event is None or event.status != EventStatus.COMPLETED:
        return
    from scoring import triggers  # scoring depends on events, not the other way round

    ids = sorted({contact_id for contact_id in contact_ids if contact_id is not None})
    if ids:
        triggers.data_changed(event.pk, ids)


def existing_event(event_id: int | None) -> Event | None:
    """The event, or None when there is none or a concurrent request has just deleted it
    (which deleted the rows of the event too: deleting one of them again is no error)."""
    return Event.objects.filter(pk=event_id).first() if event_id is not None else None
