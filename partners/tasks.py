from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from partners.models import IdempotencyRecord, WebhookDelivery
from partners.webhooks import attempt_delivery
from ror_crm import queue

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 30
# A delivery not attempted this long after it was recorded was not queued (the broker was down
# when it was emitted): the sweep sends it.
UNSENT_AFTER = timedelta(seconds=60)
RESEND_BATCH = 500


@shared_task(name="partners.deliver_webhook", bind=True, max_retries=MAX_ATTEMPTS - 1)
def deliver_webhook_task(self, delivery_id: int) -> str:
    """One attempt per run; failures retry with exponential backoff (30 s, 1, 2, 4, 8 min).

    Receivers must de-duplicate by X-RoR-Delivery: a retry after a lost answer sends again.
    """
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == WebhookDelivery.Status.SUCCEEDED:
        return "skipped"
    if attempt_delivery(delivery):
        return "succeeded"
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.save(update_fields=["status"])
        return "failed"
    raise self.retry(countdown=BACKOFF_BASE_SECONDS * 2 ** (delivery.attempts - 1))


@shared_task(name="partners.emit_overdue_followups")
def emit_overdue_followups_task() -> int:
    """followup.overdue once per follow-up: those that fell due since the previous hourly run."""
    from contacts.models import FollowUp
    from partners.webhooks import emit

    now = timezone.now()
    since = now - timedelta(hours=1)
    count = 0
    for follow_up in FollowUp.objects.overdue(now).filter(due_at__gte=since).values(
        "id", "contact_id", "event_id", "owner_id", "due_at", "channel"
    ):
        emit("followup.overdue", follow_up)
        count += 1
    return count


@shared_task(name="partners.purge_idempotency_records")
def purge_idempotency_records_task() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - timedelta(hours=24)).delete()
    return deleted


def unsent_deliveries(now: datetime):
    """Pending deliveries never attempted, recorded more than UNSENT_AFTER ago: lost on the way to the queue."""
    return WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, attempts=0, created_at__lt=now - UNSENT_AFTER
    ).order_by("created_at", "pk")


@shared_task(name="partners.send_unsent_deliveries")
def send_unsent_deliveries_task() -> int:
    """Beat, every minute: queue the deliveries whose sending failed when they were emitted (Redis
    down). A delivery queued twice is sent twice at most; receivers de-duplicate by X-RoR-Delivery."""
    ids = list(unsent_deliveries(timezone.now()).values_list("pk", flat=True)[:RESEND_BATCH])
    return sum(
        queue.publish(lambda delivery_id=delivery_id: deliver_webhook_task.delay(delivery_id),
                      what=f"webhook delivery {delivery_id}")
        for delivery_id in ids
    )
