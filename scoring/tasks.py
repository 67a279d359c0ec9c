"""Celery tasks of scoring: thin wrappers, ids and ISO timestamps in, one service call each.

Every task here is idempotent (the same as-of and data write the same rows and no new
snapshots, and an older as-of never overwrites a newer one), so acks_late is safe: a task
lost with its worker runs again on another, and so are retries: a chunk whose contacts stay
locked by other writers (ContactsLocked, after save_scores() has tried for a while) runs
again later. reject_on_worker_lost: a task whose worker process died (killed, out of memory)
goes back to the queue instead of being acknowledged as done.

A task doing the work of an outbox row (scoring.outbox, `request_id`) deletes the row once
the work ran; until then the sweeper sends it again.
"""

import logging
from datetime import datetime
from functools import partial

from celery import Task, chord, group, shared_task
from celery.signals import worker_ready
from django.db import connection, transaction
from django.utils import timezone

from ror_crm import queue
from ror_crm.celery import WORKER_BOOT
from scoring import outbox
from scoring.choices import ScoreTrigger
from scoring.models import EventMetrics
from scoring.services import (
    all_contact_id_chunks,
    compute_event_metrics,
    event_contact_ids,
    nightly,
    recompute_contacts,
)
from scoring.services.clv import ClvFitError, refit_clv
from scoring.services.event_metrics import chunk_attendee_lifts
from scoring.services.late_data import recompute_late_data
from scoring.services.profile import active_parameters
from scoring.services.recompute import chunk_size_setting, even_chunks, not_scored_since
from scoring.services.writes import ContactsLocked
from scoring.signals import event_metrics_updated

logger = logging.getLogger(__name__)

# Retried with exponential backoff (Celery's, with jitter) while the database is unreachable
# (restarting, failed over), and while its contacts stay locked by other writers.
RETRY_WHEN_DOWN = {"autoretry_for": queue.DATABASE_ERRORS, **queue.DATABASE_RETRY}
RETRY_WHEN_LOCKED = {**RETRY_WHEN_DOWN, "autoretry_for": (ContactsLocked, *queue.DATABASE_ERRORS)}
REDELIVER_WHEN_LOST = queue.REDELIVER_WHEN_LOST


def running_worker(task: Task) -> str:
    """The node name of the worker running `task`; "" when it runs in-process (eager, or called
    directly): no worker to lose."""
    return "" if task.request.is_eager or not task.request.hostname else task.request.hostname


class OutboxTask(Task):
    """A scoring task doing the work of an outbox request (its `request_id`) claims the request
    while it runs on a worker (scoring.outbox.claim()), so that the sweep sends it again as soon
    as this worker is gone. Claimed inside the run, after Celery's Django fixup has checked the
    task's database connection; released however the run ends (done, failed, retried). Run
    in-process (eager, or called directly) there is no worker to lose."""

    def __call__(self, *args, **kwargs):
        request_id, worker = kwargs.get("request_id"), running_worker(self)
        if request_id is None or not worker:
            return super().__call__(*args, **kwargs)
        task_id = self.request.id
        outbox.claim(request_id, worker=worker, boot=WORKER_BOOT, task_id=task_id)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            outbox.release(request_id, boot=WORKER_BOOT, task_id=task_id)


def _as_of(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else timezone.now()


@shared_task(name="scoring.recompute_contacts", base=OutboxTask, **REDELIVER_WHEN_LOST, **RETRY_WHEN_LOCKED)
def recompute_contacts_task(
    contact_ids: list[int], as_of: str | None, trigger: str, event_id: int | None = None, request_id: int | None = None
) -> int:
    changed = recompute_contacts(contact_ids, as_of=_as_of(as_of), trigger=trigger, event_id=event_id)["changed"]
    outbox.done(request_id)
    return changed


@shared_task(name="scoring.recompute_contact_range", base=OutboxTask, **REDELIVER_WHEN_LOST, **RETRY_WHEN_LOCKED)
def recompute_contact_range_task(
    first_id: int, last_id: int, as_of: str | None, trigger: str, request_id: int | None = None
) -> int:
    """Every contact with an id from first_id to last_id (one range of the all-contacts run),
    but those scored as of this moment or later already (the range sent twice)."""
    moment = _as_of(as_of)
    changed = recompute_contacts(not_scored_since(range(first_id, last_id + 1), moment), as_of=moment, trigger=trigger)["changed"]
    outbox.done(request_id)
    return changed


@shared_task(name="scoring.recompute_event_chunk", base=OutboxTask, **REDELIVER_WHEN_LOST, **RETRY_WHEN_LOCKED)
def recompute_event_chunk_task(
    contact_ids: list[int], as_of: str, trigger: str, event_id: int, request_id: int | None = None
) -> list[list]:
    """One chunk of an event's recompute: its contacts' scores, and the relationship lift of the
    attendees among them, for the metrics that follow every chunk: [[contact id, lift], …].
    `request_id`: the outbox request of the whole recompute, which the chunk claims (the metrics
    after the last chunk finish it)."""
    recompute_contacts(contact_ids, as_of=_as_of(as_of), trigger=trigger, event_id=event_id)
    return [[contact_id, delta] for contact_id, delta in chunk_attendee_lifts(event_id, contact_ids).items()]


@shared_task(name="scoring.compute_event_metrics", base=OutboxTask, **REDELIVER_WHEN_LOST, **RETRY_WHEN_DOWN)
def compute_event_metrics_task(
    event_id: int, as_of: str | None = None, request_id: int | None = None, clv: bool = True
) -> None:
    _event_metrics(event_id, as_of, request_id, clv=clv)


@shared_task(name="scoring.event_metrics_after_chunks", base=OutboxTask, **REDELIVER_WHEN_LOST, **RETRY_WHEN_DOWN)
def event_metrics_after_chunks_task(
    chunk_lifts: list[list[list]], event_id: int, as_of: str, request_id: int | None = None
) -> None:
    """The metrics after every chunk of an event's recompute, with the lift the chunks computed."""
    lift = {contact_id: delta for chunk in chunk_lifts for contact_id, delta in chunk}
    _event_metrics(event_id, as_of, request_id, clv=False, lifts=lift)


def _event_metrics(
    event_id: int, as_of: str | None, request_id: int | None, *, clv: bool, lifts: dict[int, float] | None = None
) -> None:
    metrics = compute_event_metrics(event_id, as_of=_as_of(as_of), clv=clv, lifts=lifts)
    if metrics is not None:  # None: the event is gone or not completed
        transaction.on_commit(lambda: event_metrics_updated.send(sender=compute_event_metrics_task, event_id=event_id))
    outbox.done(request_id)


@shared_task(name="scoring.recompute_event", base=OutboxTask, **REDELIVER_WHEN_LOST, **RETRY_WHEN_DOWN)
def recompute_event_task(
    event_id: int, as_of: str | None = None, trigger: str = ScoreTrigger.EVENT, request_id: int | None = None
) -> None:
    """After an event: its touched contacts in chunks of equal length across workers, each
    chunk with the relationship lift of its attendees, then its metrics. The metrics come
    last, after every chunk, so they finish the outbox request `request_id`; then
    the CLV model is fitted again with the event in its history, and that fit gives the event's
    CLV figures (docs/clv.md): the fit reads every history of the base, seconds at a million
    contacts, so the metrics do not fit a model of their own."""
    as_of = _as_of(as_of).isoformat()  # one as-of for every chunk, so results agree
    chunks = even_chunks(event_contact_ids(event_id), chunk_size_setting())
    if not chunks:
        metrics = compute_event_metrics_task.si(event_id, as_of, request_id=request_id, clv=False)
        (metrics | fit_clv_task.si(as_of, [event_id])).apply_async()
        return
    metrics = event_metrics_after_chunks_task.s(event_id, as_of, request_id=request_id) | fit_clv_task.si(as_of, [event_id])
    chord(group(recompute_event_chunk_task.si(chunk, as_of, trigger, event_id, request_id=request_id) for chunk in chunks),
          metrics).apply_async()


@shared_task(name="scoring.fit_clv", **REDELIVER_WHEN_LOST, **RETRY_WHEN_LOCKED)
def fit_clv_task(as_of: str | None = None, event_ids: list[int] | None = None) -> int | None:
    """Fit the CLV model and write every contact's CLV (nightly, and after each completed event:
    then the event's CLV figures too). Idempotent: a fit with a later as-of already stored makes
    it a no-op. Returns the model's id."""
    try:
        model = refit_clv(as_of=_as_of(as_of), events=event_ids or ())
    except ClvFitError as error:
        logger.warning("The CLV model was not fitted (%s): %s The stored CLVs stay.", error.code, error)
        return None
    if event_ids:  # partners learn that the metrics got their CLV figures
        filled = EventMetrics.objects.filter(event_id__in=event_ids, computed_at=_as_of(as_of), retained_clv__isnull=False)
        for event_id in filled.values_list("event_id", flat=True):
            transaction.on_commit(partial(event_metrics_updated.send, sender=fit_clv_task, event_id=event_id))
    return model.pk if model is not None else None


@shared_task(name="scoring.recompute_late_data", bind=True, **REDELIVER_WHEN_LOST, **RETRY_WHEN_DOWN)
def recompute_late_data_task(self, event_id: int) -> int:
    """Late data of a completed event, debounced: scoring.services.late_data.recompute_late_data(),
    its claim naming this worker (none in-process)."""
    worker = running_worker(self)
    return recompute_late_data(event_id, worker=worker, worker_boot=WORKER_BOOT if worker else "")


@shared_task(name="scoring.nightly_recompute", **REDELIVER_WHEN_LOST, **RETRY_WHEN_DOWN)
def nightly_recompute_task(only_if_missed: bool = False) -> int:
    """Decay moves every score without new data: on PostgreSQL one arithmetic UPDATE per range
    of contacts, the full path for those whose data changed (scoring.services.nightly), the
    ranges fanned out over the workers; elsewhere every contact by the full path, in chunks.
    `only_if_missed`: beat's catch-up entries, which run it only when the night's run did not
    happen (nightly.missed_tonight()).

    Safe to redeliver (acks_late): it only queues range tasks, which are idempotent; a second
    delivery queues them again with a later as-of, and the later result wins.
    """
    as_of = timezone.now()
    if only_if_missed and not nightly.missed_tonight(as_of):
        return 0
    plan = nightly.plan_nightly(as_of, active_parameters()) if connection.vendor == "postgresql" else None
    if plan is None:
        return _fan_out_all_contacts(ScoreTrigger.NIGHTLY)
    rows = outbox.request_ranges(nightly.nightly_ranges(), as_of=as_of, trigger=ScoreTrigger.NIGHTLY)

    def range_task(row):
        ids = range(row.contact_ids[0], row.contact_ids[-1] + 1)
        changed = [[contact_id, at.isoformat()] for contact_id, at in plan.within(ids).items()]
        return nightly_range_task.si(ids[0], ids[-1], as_of.isoformat(), changed, request_id=row.pk)

    outbox.send(rows, range_task)
    return len(rows)


@shared_task(name="scoring.nightly_range", base=OutboxTask, **REDELIVER_WHEN_LOST, **RETRY_WHEN_LOCKED)
def nightly_range_task(first_id: int, last_id: int, as_of: str, changed: list[list], request_id: int | None = None) -> int:
    """One range of the nightly run: decayed by arithmetic, changed contacts by the full path.
    Its outbox request, sent again if this task is lost, scores the range by the full path."""
    outcome = nightly.nightly_range(
        range(first_id, last_id + 1), _as_of(as_of), active_parameters(),
        {contact_id: datetime.fromisoformat(at) for contact_id, at in changed},
    )
    outbox.done(request_id)
    return len(outcome["changes"])


@shared_task(name="scoring.recompute_all", base=OutboxTask, **REDELIVER_WHEN_LOST, **RETRY_WHEN_DOWN)
def recompute_all_task(trigger: str, request_id: int | None = None) -> int:
    """Every contact again, now (keep-in-touch cadences changed, say): the nightly run's fan-out."""
    count = _fan_out_all_contacts(trigger)
    outbox.done(request_id)
    return count


def _fan_out_all_contacts(trigger: str) -> int:
    """Every contact in ranges, one outbox request each (their tasks sent now, again if lost)."""
    rows = outbox.request_ranges(all_contact_id_chunks(chunk_size_setting()), as_of=timezone.now(), trigger=trigger)
    outbox.send(rows)
    return len(rows)


@shared_task(name="scoring.sweep_outbox")
def sweep_outbox_task() -> dict[str, int]:
    """Every minute (beat) and when a worker starts: send scoring work due and not done."""
    return outbox.sweep()


@worker_ready.connect
def sweep_outbox_when_a_worker_starts(sender=None, **kwargs) -> None:
    """Work asked for while no worker (or no broker) ran is sent as soon as one is ready."""
    queue.publish(sweep_outbox_task.delay, what="the outbox sweep at worker start")


@shared_task(name="scoring.profile_whatif")
def profile_whatif_task(profile_id: int, key: str, run_id: str) -> bool:
    """The what-if of a profile for the admin page (scoring.services.whatif): writes nothing but the
    cache. Not redelivered when lost: a run without progress goes stale and the page starts another."""
    from scoring.services.whatif import run_whatif

    return run_whatif(profile_id, key, run_id)
