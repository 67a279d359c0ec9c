"""How the rest of the product asks for scoring: always after commit, never inside a request."""

from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from scoring.models import PendingRecompute


def schedule_event_recompute(event_id: int) -> None:
    """An event was completed (or a recompute was asked for): scores, then metrics."""
    from scoring.tasks import recompute_event_task

    transaction.on_commit(lambda: recompute_event_task.delay(event_id))


def schedule_contacts_recompute(contact_ids: Iterable[int], *, trigger: str = "manual") -> None:
    """Recompute these contacts by hand (admin action): one task per chunk, spread over workers."""
    from celery import group
    from django.utils import timezone

    from scoring.services.recompute import chunk_size_setting, chunked
    from scoring.tasks import recompute_contacts_task

    as_of = timezone.now().isoformat()
    chunks = chunked(sorted(set(contact_ids)), chunk_size_setting())
    tasks = [recompute_contacts_task.si(chunk, as_of, trigger) for chunk in chunks]
    if tasks:
        transaction.on_commit(lambda: group(tasks).apply_async())


def refresh_event_metrics(event_ids: Iterable[int]) -> None:
    """Rows of these events went with something else (a deleted contact, say): their metrics
    are computed again after commit (only completed events have any)."""
    from celery import group

    from scoring.tasks import compute_event_metrics_task

    tasks = [compute_event_metrics_task.si(event_id) for event_id in sorted(set(event_ids))]
    if tasks:
        transaction.on_commit(lambda: group(tasks).apply_async())


def data_changed(event_id: int, contact_ids: Iterable[int]) -> None:
    """Late data for a completed event: recompute these contacts and the event, debounced.

    The contacts wait in PendingRecompute (written with the data, de-duplicated by a unique
    constraint); one delayed task per event and debounce window picks up all of them.
    """
    from scoring.tasks import late_data_key, recompute_late_data_task

    PendingRecompute.objects.bulk_create(
        [PendingRecompute(event_id=event_id, contact_id=contact_id) for contact_id in set(contact_ids)],
        ignore_conflicts=True,
    )
    debounce = int(getattr(settings, "SCORING_LATE_DATA_DEBOUNCE_SECONDS", 30))

    def enqueue() -> None:
        if cache.add(late_data_key(event_id), True, timeout=debounce + 60):
            recompute_late_data_task.apply_async((event_id,), countdown=debounce)

    transaction.on_commit(enqueue)
