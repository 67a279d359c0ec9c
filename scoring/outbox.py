"""The outbox of scoring: recomputes asked for are rows first, Celery messages second.

A request (RecomputeRequest; PendingRecompute for late data) is written in the transaction
of the data that asks for it, and sent after commit. The broker may be down then, or lose the
message later (a Redis restart), or a worker may die midway: the row stays until the task
that does the work deletes it, and the sweeper (`sweep()`, every minute from beat and once
when a worker starts) sends again whatever is due and not done. Every scoring task is
idempotent, so a request sent twice costs time, never correctness. A run over every contact
(nightly, or by hand) writes a request per range of contacts it fans out.

A task at work on a request claims it (`claim()`: its worker, which start of that worker, the
task) until it ends (`release()`). A worker killed midway leaves its messages unacknowledged in
Redis, handed out again only after the visibility timeout (half an hour by default); the sweep
sends a request again as soon as a worker holding it is gone: started anew, or its heartbeat
lapsed (ror_crm.health).
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import Error, IntegrityError, transaction
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from events.models import Event
from ror_crm import health, queue
from scoring.choices import RecomputeKind, ScoreTrigger
from scoring.models import PendingRecompute, RecomputeClaim, RecomputeRequest

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500  # requests sent per sweep; the next sweep sends the rest


def grace_seconds() -> int:
    """How old an unsent row must be before the sweeper sends it (the commit's own send first)."""
    return int(getattr(settings, "SCORING_OUTBOX_GRACE_SECONDS", 30))


def resend_seconds() -> int:
    """After how long a sent request still not done is sent again (its message was lost, or
    its work gave up): beyond the broker's visibility timeout, which redelivers on its own."""
    return int(getattr(settings, "SCORING_OUTBOX_RESEND_SECONDS", 2 * settings.CELERY_TASK_TIME_LIMIT))


def max_sends() -> int:
    """How often the sweep sends a request whose work keeps failing before it leaves it (logged,
    counted in the backlog): ten sends, about ten hours apart from the first by default.
    `manage.py scoring_outbox --resend-all` sends it again."""
    return int(settings.SCORING_OUTBOX_MAX_SENDS)


def request_recompute(
    kind: str, *, event_id: int | None = None, contact_ids: Iterable[int] = (), trigger: str = ScoreTrigger.MANUAL
) -> RecomputeRequest | None:
    """Write the request now (in the caller's transaction) and send it after commit; None when
    its event was deleted meanwhile (a task working on late data races a partner's DELETE)."""
    try:
        with transaction.atomic():
            row = RecomputeRequest.objects.create(
                kind=kind, event_id=event_id, contact_ids=list(contact_ids), trigger=trigger)
    except IntegrityError:
        if event_id is not None and not Event.objects.filter(pk=event_id).exists():
            logger.info("Event %s was deleted: no %s recompute requested for it.", event_id, kind)
            return None
        raise
    transaction.on_commit(lambda: send([row]))
    return row


def request_ranges(ranges: Iterable[range], *, as_of: datetime, trigger: str) -> list[RecomputeRequest]:
    """A request per range of contacts to score as of `as_of`: the ranges of a run over every
    contact, written before their tasks are sent (send()). A range whose task is lost with its
    message (a worker killed after taking it from Redis and before recording it as taken) stays
    and is sent again by the sweeper: its contacts by the full path, as of the same moment."""
    return RecomputeRequest.objects.bulk_create(
        RecomputeRequest(kind=RecomputeKind.RANGE, contact_ids=[ids[0], ids[-1]], as_of=as_of, trigger=trigger)
        for ids in ranges
    )


def signature(row: RecomputeRequest):
    """The Celery task that does the work of `row` and deletes it when done."""
    from scoring import tasks

    if row.kind == RecomputeKind.EVENT:
        return tasks.recompute_event_task.si(row.event_id, None, row.trigger, request_id=row.pk)
    if row.kind == RecomputeKind.CONTACTS:
        return tasks.recompute_contacts_task.si(row.contact_ids, None, row.trigger, request_id=row.pk)
    if row.kind == RecomputeKind.ALL:
        return tasks.recompute_all_task.si(row.trigger, request_id=row.pk)
    if row.kind == RecomputeKind.RANGE:
        first_id, last_id = row.contact_ids
        as_of = row.as_of.isoformat() if row.as_of else None
        return tasks.recompute_contact_range_task.si(first_id, last_id, as_of, row.trigger, request_id=row.pk)
    return tasks.compute_event_metrics_task.si(row.event_id, request_id=row.pk)


def send(rows: Iterable[RecomputeRequest], task_of: Callable[[RecomputeRequest], Any] = signature) -> int:
    """Send the rows' tasks (`task_of` a row: its signature()); the number sent. A row the
    broker did not take stays unsent."""
    sent = 0
    for row in rows:
        if queue.publish(task_of(row).apply_async, what=f"recompute request {row.pk} ({row})"):
            # Eager Celery (the demo) has done the work and deleted the row already: no-op then.
            RecomputeRequest.objects.filter(pk=row.pk).update(sent_at=timezone.now(), send_count=F("send_count") + 1)
            sent += 1
    return sent


def done(request_id: int | None) -> None:
    """The work of this request ran: it leaves the outbox, with its claims. The row is locked
    first, so that a claim written meanwhile waits and finds it gone (claim())."""
    if request_id is None:
        return
    with transaction.atomic():
        for row in RecomputeRequest.objects.select_for_update().filter(pk=request_id).only("pk"):
            row.delete()


def claim(request_id: int, *, worker: str, boot: str, task_id: str) -> None:
    """A task (`task_id`) of `worker` (its node name; `boot`: this start of it) takes up the
    request's work. Until release(), the sweep sends the request again once that worker is gone.
    A request done meanwhile (its row deleted) has nothing to claim."""
    try:
        RecomputeClaim.objects.create(request_id=request_id, worker=worker, boot=boot, task_id=task_id)
    except IntegrityError:
        pass
    except Error as error:  # the database unreachable (any of PEP 249's): the task meets it too and retries
        logger.warning("Could not claim recompute request %s for %s: %s", request_id, worker, error)


def release(request_id: int, *, boot: str, task_id: str) -> None:
    """The task ended (done, failed or to be retried): its claim goes."""
    try:
        RecomputeClaim.objects.filter(request_id=request_id, boot=boot, task_id=task_id).delete()
    except Error as error:  # left behind, it only makes the sweep send the request once more
        logger.warning("Could not release the claim of recompute request %s: %s", request_id, error)


def gone_workers(claims: Iterable[tuple[str, str, datetime]], now: datetime) -> set[tuple[str, str]]:
    """ror_crm.health.gone_workers(), or none when the cache cannot say."""
    try:
        return queue.guarded_redis_call(lambda: health.gone_workers(claims, now))
    except queue.CACHE_ERRORS as error:
        logger.warning("Could not read the workers' heartbeats; claims are not checked this time: %s", error)
        return set()


def lost_claims(now=None) -> list[int]:
    """The ids of the claims whose worker is gone (gone_workers())."""
    now = now or timezone.now()
    claims = list(RecomputeClaim.objects.values_list("pk", "worker", "boot", "claimed_at"))
    gone = gone_workers(((worker, boot, claimed_at) for _, worker, boot, claimed_at in claims), now)
    return [pk for pk, worker, boot, _ in claims if (worker, boot) in gone]


def due_requests(now=None, lost_claim_ids: Iterable[int] = ()) -> QuerySet[RecomputeRequest]:
    """Requests never sent (beyond the grace time), sent long ago and still not done, or held
    by a worker that is gone (one of `lost_claim_ids`, from lost_claims(), still there: a
    concurrent sweep that sent the request again has deleted it)."""
    now = now or timezone.now()
    lost = RecomputeClaim.objects.filter(request=OuterRef("pk"), pk__in=list(lost_claim_ids))
    return RecomputeRequest.objects.filter(
        Q(sent_at__isnull=True, created_at__lte=now - timedelta(seconds=grace_seconds()))
        | Q(sent_at__lte=now - timedelta(seconds=resend_seconds()))
        | Q(Exists(lost))
    ).filter(send_count__lt=max_sends())


def waiting_late_data_events(now=None) -> list[int]:
    """Events with late data that waited past its debounce and is not being recomputed: rows not
    claimed, claimed long ago, or claimed by a worker that is gone (gone_workers())."""
    now = now or timezone.now()
    debounce = int(getattr(settings, "SCORING_LATE_DATA_DEBOUNCE_SECONDS", 30))
    rows = PendingRecompute.objects.filter(created_at__lte=now - timedelta(seconds=debounce + grace_seconds()))
    events = set(rows.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lte=now - timedelta(seconds=resend_seconds()))
    ).values_list("event_id", flat=True))
    claims = list(rows.filter(claimed_at__isnull=False).exclude(worker="").exclude(event_id__in=events)
                  .values_list("event_id", "worker", "worker_boot").annotate(claimed_at=Min("claimed_at")).order_by())
    gone = gone_workers(((worker, boot, claimed_at) for _, worker, boot, claimed_at in claims), now)
    events |= {event_id for event_id, worker, boot, _ in claims if (worker, boot) in gone}
    return sorted(events)


def sweep() -> dict[str, int]:
    """Send what is due and not done; safe to run anywhere, any number of times at once."""
    from scoring.triggers import enqueue_late_data

    started = timezone.now()
    lost = lost_claims(started)
    with transaction.atomic():
        # Concurrent sweeps take different rows (PostgreSQL); the sent_at stamp commits with them,
        # and so does the deletion of the gone workers' claims (the new work claims anew).
        rows = list(due_requests(started, lost).select_for_update(skip_locked=True)[:SWEEP_BATCH])
        abandoned = set(RecomputeClaim.objects.filter(pk__in=lost, request__in=rows).values_list("request_id", flat=True))
        sent = send(rows)
        RecomputeClaim.objects.filter(pk__in=lost, request__sent_at__gte=started).delete()
    for row in rows:
        if row.pk in abandoned:
            logger.warning("Outbox: %s was taken up by a worker that is gone; sent again.", row)
    for row in RecomputeRequest.objects.filter(pk__in=[row.pk for row in rows], send_count__gte=max_sends()):
        logger.error("Outbox: %s was sent %d times and is still not done; the sweep leaves it "
                     "(manage.py scoring_outbox --resend-all sends it again).", row, row.send_count)
    late = waiting_late_data_events()
    late_sent = sum(enqueue_late_data(event_id, countdown=0) for event_id in late)
    if rows or late:
        logger.info("Outbox sweep: sent %d of %d requests and %d of %d late-data runs.", sent, len(rows), late_sent, len(late))
    return {"requests": len(rows), "sent": sent, "late_data_events": len(late), "late_data_sent": late_sent}


def backlog() -> dict[str, int]:
    """What waits: requests not yet done (unsent among them) and late-data rows."""
    requests = RecomputeRequest.objects.all()
    return {
        "requests": requests.count(),
        "unsent": requests.filter(sent_at__isnull=True).count(),
        "due": due_requests().count(),
        "left": requests.filter(send_count__gte=max_sends()).count(),
        "late_data_rows": PendingRecompute.objects.count(),
        "late_data_events": PendingRecompute.objects.values("event_id").distinct().count(),
    }
