"""How the rest of the product asks for scoring: always after commit, never inside a request.

Every request is a row written with the data (scoring.outbox): with Redis down the write
still succeeds, and the sweeper sends the work when Redis is back.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from ror_crm import queue
from scoring import outbox
from scoring.choices import RecomputeKind, ScoreTrigger
from scoring.models import PendingRecompute

logger = logging.getLogger(__name__)


def schedule_event_recompute(event_id: int) -> None:
    """An event was completed (or a recompute was asked for): scores, then metrics."""
    outbox.request_recompute(RecomputeKind.EVENT, event_id=event_id, trigger=ScoreTrigger.EVENT)


def schedule_contacts_recompute(contact_ids: Iterable[int], *, trigger: str) -> None:
    """Recompute these contacts after commit (late data, or by hand in the admin): one task per
    chunk, spread over workers; `trigger` (a ScoreTrigger) goes into their score history."""
    from scoring.services.recompute import chunk_size_setting, chunked

    # One request per chunk, each done (and deleted) by its own task; as of when it runs.
    for chunk in chunked(sorted(set(contact_ids)), chunk_size_setting()):
        outbox.request_recompute(RecomputeKind.CONTACTS, contact_ids=chunk, trigger=trigger)


def schedule_all_contacts_recompute(*, trigger: str = ScoreTrigger.MANUAL) -> None:
    """Every contact's score, cadence and next action again (a keep-in-touch cadence changed)."""
    outbox.request_recompute(RecomputeKind.ALL, trigger=trigger)


def refresh_event_metrics(event_ids: Iterable[int]) -> None:
    """Rows of these events went with something else (a deleted contact, say): their metrics
    are computed again after commit (only completed events have any)."""
    for event_id in sorted(set(event_ids)):
        outbox.request_recompute(RecomputeKind.METRICS, event_id=event_id)


def data_changed(event_id: int, contact_ids: Iterable[int]) -> None:
    """Late data for a completed event: recompute these contacts and the event, debounced.

    The contacts wait in PendingRecompute (written with the data, de-duplicated by a unique
    constraint); one delayed task per event and debounce window picks up all of them. A row a
    running task has claimed is unclaimed, so it waits for the next run: that run reads this data.
    """
    PendingRecompute.objects.bulk_create(
        [PendingRecompute(event_id=event_id, contact_id=contact_id) for contact_id in set(contact_ids)],
        update_conflicts=True, unique_fields=["event", "contact"], update_fields=["claimed_at", "worker", "worker_boot"],
    )
    transaction.on_commit(lambda: enqueue_late_data(event_id))


def enqueue_late_data(event_id: int, *, countdown: int | None = None) -> bool:
    """Queue the debounced late-data run of the event unless one is queued already (a key in the
    cache says so). Never raises for Redis being down: the rows wait for the sweeper then."""
    from scoring.services.late_data import late_data_key
    from scoring.tasks import recompute_late_data_task

    debounce = int(getattr(settings, "SCORING_LATE_DATA_DEBOUNCE_SECONDS", 30))
    key = late_data_key(event_id)
    try:
        if not queue.guarded_redis_call(lambda: cache.add(key, True, timeout=debounce + 60)):
            return False
    except queue.CACHE_ERRORS as error:
        queue.deferred(f"the late-data run of event {event_id}", error)
        return False
    run = lambda: recompute_late_data_task.apply_async((event_id,), countdown=debounce if countdown is None else countdown)  # noqa: E731
    if queue.publish(run, what=f"the late-data run of event {event_id}"):
        return True
    try:
        queue.guarded_redis_call(lambda: cache.delete(key))  # not queued: the sweeper must not wait for the key
    except queue.CACHE_ERRORS:
        logger.warning("Could not clear the late-data key of event %s; it expires by itself.", event_id)
    return False
