"""Celery tasks of scoring: thin wrappers, ids and ISO timestamps in, one service call each.

Every task here is idempotent (the same as-of and data write the same rows and no new
snapshots, and an older as-of never overwrites a newer one), so acks_late is safe: a task
lost with its worker runs again on another, and so are retries: a chunk whose contacts stay
locked by other writers (ContactsLocked, after save_scores() has tried for a while) runs
again later.
"""

import logging
from datetime import datetime

from celery import chord, group, shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from events.models import Event
from scoring.choices import ScoreTrigger
from scoring.models import PendingRecompute
from scoring.services import (
    all_contact_id_chunks,
    compute_event_metrics,
    event_contact_ids,
    events_depending_on,
    recompute_contacts,
)
from scoring.services.recompute import chunk_size_setting, chunked
from scoring.services.writes import ContactsLocked
from scoring.signals import event_metrics_updated
from scoring.triggers import data_changed, refresh_event_metrics

logger = logging.getLogger(__name__)

# Retried with exponential backoff (Celery's, with jitter) when its contacts stay locked.
RETRY_WHEN_LOCKED = {"autoretry_for": (ContactsLocked,), "retry_backoff": 5, "max_retries": 5}


def _as_of(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else timezone.now()


def late_data_key(event_id: int) -> str:
    return f"scoring:late-data:{event_id}"


@shared_task(name="scoring.recompute_contacts", acks_late=True, **RETRY_WHEN_LOCKED)
def recompute_contacts_task(contact_ids: list[int], as_of: str, trigger: str, event_id: int | None = None) -> int:
    return recompute_contacts(contact_ids, as_of=_as_of(as_of), trigger=trigger, event_id=event_id)["changed"]


@shared_task(name="scoring.recompute_contact_range", acks_late=True, **RETRY_WHEN_LOCKED)
def recompute_contact_range_task(first_id: int, last_id: int, as_of: str, trigger: str) -> int:
    """Every contact with an id from first_id to last_id (one chunk of the all-contacts run)."""
    return recompute_contacts(range(first_id, last_id + 1), as_of=_as_of(as_of), trigger=trigger)["changed"]


@shared_task(name="scoring.compute_event_metrics", acks_late=True)
def compute_event_metrics_task(event_id: int, as_of: str | None = None) -> None:
    if compute_event_metrics(event_id, as_of=_as_of(as_of)) is not None:  # None: the event is gone or not completed
        transaction.on_commit(lambda: event_metrics_updated.send(sender=compute_event_metrics_task, event_id=event_id))


@shared_task(name="scoring.recompute_event", acks_late=True)
def recompute_event_task(event_id: int, as_of: str | None = None, trigger: str = ScoreTrigger.EVENT) -> None:
    """After an event: its touched contacts in chunks across workers, then its metrics."""
    as_of = _as_of(as_of).isoformat()  # one as-of for every chunk, so results agree
    chunks = list(chunked(event_contact_ids(event_id), chunk_size_setting()))
    metrics = compute_event_metrics_task.si(event_id, as_of)
    if not chunks:
        metrics.apply_async()
        return
    chord(group(recompute_contacts_task.si(chunk, as_of, trigger, event_id) for chunk in chunks), metrics).apply_async()


@shared_task(name="scoring.recompute_late_data", acks_late=True)
def recompute_late_data_task(event_id: int) -> int:
    """Late data of a completed event, debounced: the contacts waiting for it, then the metrics."""
    cache.delete(late_data_key(event_id))  # data arriving from now on schedules the next run
    with transaction.atomic():
        pending = list(
            PendingRecompute.objects.select_for_update().filter(event_id=event_id).values_list("pk", "contact_id")
        )
        PendingRecompute.objects.filter(pk__in=[pk for pk, _ in pending]).delete()
    as_of = timezone.now()
    contact_ids = [contact_id for _, contact_id in pending]
    try:
        changed = recompute_contacts(contact_ids, as_of=as_of, trigger=ScoreTrigger.LATE_DATA, event_id=event_id)["changed"]
    except ContactsLocked:
        logger.warning("Late data of event %s: contacts locked by other writers; trying again later.", event_id)
        # Waiting again, for the next debounced run; contacts or an event deleted meanwhile need none.
        if Event.objects.filter(pk=event_id).exists():
            data_changed(event_id, Contact.objects.filter(pk__in=contact_ids).values_list("pk", flat=True))
        return 0
    if compute_event_metrics(event_id, as_of=as_of) is not None:  # None: the event is gone or not completed
        transaction.on_commit(lambda: event_metrics_updated.send(sender=recompute_late_data_task, event_id=event_id))
        refresh_event_metrics(events_depending_on([event_id], contact_ids))
    return changed


@shared_task(name="scoring.nightly_recompute")
def nightly_recompute_task() -> int:
    """Decay moves every score without new data: fan every contact out in chunks."""
    as_of = timezone.now().isoformat()
    chunks = [
        recompute_contact_range_task.si(ids[0], ids[-1], as_of, ScoreTrigger.NIGHTLY)
        for ids in all_contact_id_chunks(chunk_size_setting())
    ]
    if chunks:
        group(chunks).apply_async()
    return len(chunks)
