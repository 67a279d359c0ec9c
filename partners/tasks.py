import json
from datetime import datetime, timedelta

from celery import shared_task
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from partners.models import EmittedUntil, IdempotencyRecord, WebhookDelivery
from partners.webhooks import attempt_delivery
from ror_crm import queue

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 30
# A delivery whose next send is this late was lost on the way: not queued (the broker was down
# when it was emitted), or its retry lost with a worker or with Redis. The sweep sends it.
UNSENT_AFTER = timedelta(seconds=60)
RESEND_BATCH = 500


def retry_delay(attempts: int) -> timedelta:
    """How long after its failed attempt number `attempts` a delivery is tried again: 30 s, 1, 2, 4, 8 min."""
    return timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))


@shared_task(name="partners.deliver_webhook", bind=True, max_retries=MAX_ATTEMPTS - 1)
def deliver_webhook_task(self, delivery_id: int, attempts: int | None = None) -> str:
    """One attempt per run; failures retry with exponential backoff (retry_delay()).

    `attempts`: how many attempts the delivery had when this run was queued. A run finding more
    does nothing (another run went first: a retry late on a busy worker and the sweep's resend of
    it make one attempt, not two chains). The row stays locked during the attempt for the same reason.
    Receivers must de-duplicate by X-RoR-Delivery: a retry after a lost answer sends again.
    """
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("subscription").filter(pk=delivery_id).first())
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return "skipped"
        if attempts is not None and delivery.attempts != attempts:
            return "skipped"
        if delivery.attempts < MAX_ATTEMPTS and attempt_delivery(delivery):
            return "succeeded"
        if delivery.attempts >= MAX_ATTEMPTS:  # (also a run killed after its last attempt, sent by the sweep)
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.save(update_fields=["status"])
            return "failed"
    raise self.retry(countdown=retry_delay(delivery.attempts).total_seconds(), kwargs={"attempts": delivery.attempts})


@shared_task(name="partners.emit_overdue_followups")
def emit_overdue_followups_task() -> int:
    """followup.overdue once per follow-up that fell due: the planned ones whose due time passed
    since the previous run (an hour back on the first), however late this run is (Celery beat,
    hourly; partners.models.EmittedUntil), and those logged since then with a due time already
    before it (a call entered after the fact). One transaction: a run that fails emits nothing and
    moves nothing."""
    from contacts.models import FollowUp
    from partners.webhooks import emit_many

    with transaction.atomic():
        now = timezone.now()
        position, _ = EmittedUntil.objects.select_for_update().get_or_create(
            event_type="followup.overdue", defaults={"until": now - timedelta(hours=1)})
        if position.until >= now:
            return 0
        # A row is seen when its transaction commits, a moment after its times were taken: the
        # window reaches OVERDUE_COMMIT_LAG back, and what a run before announced is left out.
        since = position.until - OVERDUE_COMMIT_LAG
        fell_due = Q(due_at__gte=since)
        # created_at can only be set by hand in imports and backfills; updated_at (indexed, never
        # before created_at) keeps the scan to the rows written since the previous run.
        logged_overdue = Q(due_at__lt=since, created_at__gte=since, updated_at__gte=since)
        follow_ups = list(FollowUp.objects.overdue(now).filter(fell_due | logged_overdue).order_by("due_at", "pk").values(
            "id", "contact_id", "event_id", "owner_id", "due_at", "channel"))
        announced = _announced_overdue([follow_up["id"] for follow_up in follow_ups], since=now - timedelta(days=1))
        follow_ups = [follow_up for follow_up in follow_ups
                      if (follow_up["id"], _as_sent(follow_up["due_at"])) not in announced]
        emit_many("followup.overdue", follow_ups)
        position.until = now
        position.save(update_fields=["until"])
    return len(follow_ups)


OVERDUE_COMMIT_LAG = timedelta(minutes=5)


def _announced_overdue(follow_up_ids: list[int], *, since) -> set[tuple[int, str]]:
    """(id, due_at as sent) of these follow-ups announced overdue since then (to any subscriber)."""
    if not follow_up_ids:
        return set()
    return set(WebhookDelivery.objects.filter(event_type="followup.overdue", created_at__gte=since,
                                              payload__id__in=follow_up_ids)
               .values_list("payload__id", "payload__due_at"))


def _as_sent(value) -> str:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


@shared_task(name="partners.purge_idempotency_records")
def purge_idempotency_records_task() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - timedelta(hours=24)).delete()
    return deleted


def unsent_deliveries(now: datetime):
    """Pending deliveries whose next send is overdue by UNSENT_AFTER: never attempted, or retried
    later than their backoff said (the retry's message lost), or past their last attempt."""
    lost_retry = Q(attempts__gte=MAX_ATTEMPTS)
    for attempts in range(1, MAX_ATTEMPTS):
        lost_retry |= Q(attempts=attempts, last_attempt_at__lt=now - retry_delay(attempts) - UNSENT_AFTER)
    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, created_at__lt=now - UNSENT_AFTER).filter(
        Q(attempts=0) | lost_retry
    ).order_by("created_at", "pk")


@shared_task(name="partners.send_unsent_deliveries")
def send_unsent_deliveries_task() -> int:
    """Beat, every minute: queue the deliveries whose sending failed when they were emitted (Redis
    down) or whose retry was lost. A delivery queued twice is sent twice at most; receivers
    de-duplicate by X-RoR-Delivery."""
    due = list(unsent_deliveries(timezone.now()).values_list("pk", "attempts")[:RESEND_BATCH])
    return sum(
        queue.publish(lambda delivery_id=delivery_id, attempts=attempts: deliver_webhook_task.delay(delivery_id, attempts),
                      what=f"webhook delivery {delivery_id}")
        for delivery_id, attempts in due
    )
