"""Late data of a completed event, debounced (DOMAIN.md "When scores are recomputed"): the run
that rescores the contacts waiting for it and computes the event's metrics again. scoring.triggers
queues it once per debounce window; scoring.tasks.recompute_late_data_task runs it."""

import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from ror_crm import queue
from scoring.choices import ScoreTrigger
from scoring.models import PendingRecompute
from scoring.services.event_metrics import compute_event_metrics, events_depending_on
from scoring.services.recompute import late_data_referrers, recompute_contacts
from scoring.services.writes import ContactsLocked
from scoring.signals import event_metrics_updated

logger = logging.getLogger(__name__)


def late_data_key(event_id: int) -> str:
    """The cache key saying a run of the event's late data is queued (scoring.triggers.enqueue_late_data)."""
    return f"scoring:late-data:{event_id}"


def recompute_late_data(event_id: int, *, worker: str = "", worker_boot: str = "") -> int:
    """The contacts waiting for the event's late data (PendingRecompute) and their referrers,
    rescored as of now, then the event's metrics and those of the events that read its rows.
    Returns how many scores changed.

    The waiting rows are claimed first (UPDATE, which waits for a writer still holding one, so
    its data is committed before the recompute reads) and deleted after the work: a worker
    killed midway leaves them for the redelivery or the sweeper. Data arriving meanwhile
    unclaims its row (data_changed), which then stays for the next run. Contacts locked by other
    writers leave the rows for a run queued again. `worker`, `worker_boot`: the worker running
    this (its node name, which start of it), named in the claim for the sweep (scoring.outbox).
    """
    from scoring.triggers import enqueue_late_data, refresh_event_metrics  # they queue this run

    try:
        cache.delete(late_data_key(event_id))  # data arriving from now on schedules the next run
    except queue.CACHE_ERRORS as error:
        logger.warning("Could not clear the late-data key of event %s (%s); it expires by itself.", event_id, error)
    claim = timezone.now()
    PendingRecompute.objects.filter(event_id=event_id).update(claimed_at=claim, worker=worker, worker_boot=worker_boot)
    claimed = PendingRecompute.objects.filter(event_id=event_id, claimed_at=claim)
    contact_ids = list(claimed.values_list("contact_id", flat=True))
    as_of = timezone.now()
    try:
        # with the referrers of these contacts, whose referrals may convert with the event (docs/referrals.md)
        rescored = sorted(set(contact_ids) | late_data_referrers(event_id, contact_ids))
        changed = recompute_contacts(rescored, as_of=as_of, trigger=ScoreTrigger.LATE_DATA, event_id=event_id)["changed"]
    except ContactsLocked:
        logger.warning("Late data of event %s: contacts locked by other writers; trying again later.", event_id)
        # The rows stay and wait for the next debounced run (rows of deleted contacts or a deleted event went with them).
        PendingRecompute.objects.filter(event_id=event_id, claimed_at=claim).update(claimed_at=None, worker="", worker_boot="")
        transaction.on_commit(lambda: enqueue_late_data(event_id))
        return 0
    if compute_event_metrics(event_id, as_of=as_of) is not None:  # None: the event is gone or not completed
        transaction.on_commit(lambda: event_metrics_updated.send(sender=recompute_late_data, event_id=event_id))
        refresh_event_metrics(events_depending_on([event_id], contact_ids))
    claimed.delete()
    return changed
