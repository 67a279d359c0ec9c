"""Celery tasks of events: thin wrappers over events.imports.

The import task is safe to run twice (each batch commits with the import's progress, and a run
sent again skips what was committed), so it is acked late and requeued when its worker dies;
the preview writes nothing but its result. A run whose message was lost is sent again by the
sweep (beat, and once when a worker starts).
"""

from celery import shared_task
from celery.signals import worker_ready

from events import imports
from ror_crm import queue


@shared_task(name="events.preview_attendee_import", **queue.REDELIVER_WHEN_LOST)
def preview_import_task(import_id: int, run: int) -> bool:
    return imports.run_preview(import_id, run)


@shared_task(name="events.import_attendees", **queue.REDELIVER_WHEN_LOST)
def import_task(import_id: int, run: int) -> bool:
    return imports.run_import(import_id, run)


@shared_task(name="events.sweep_attendee_imports")
def sweep_imports_task() -> int:
    return imports.sweep_imports()


@worker_ready.connect
def sweep_imports_when_a_worker_starts(sender=None, **kwargs) -> None:
    queue.publish(sweep_imports_task.delay, what="the attendee import sweep at worker start")
