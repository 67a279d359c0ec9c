from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from partners.middleware import IDEMPOTENCY_TTL
from partners.models import IdempotencyRecord, WebhookDelivery
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
    """Hourly (Celery beat): partners.webhooks.emit_overdue_follow_ups()."""
    from partners.webhooks import emit_overdue_follow_ups

    return emit_overdue_follow_ups()


@shared_task(name="partners.purge_idempotency_records")
def purge_idempotency_records_task() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
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
