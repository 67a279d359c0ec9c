"""Celery tasks of the partner API: thin wrappers of partners.webhooks and partners.middleware."""

from celery import shared_task

from partners.middleware import purge_idempotency_records
from partners.webhooks import MAX_ATTEMPTS, deliver, emit_overdue_follow_ups, retry_delay, send_unsent_deliveries


@shared_task(name="partners.deliver_webhook", bind=True, max_retries=MAX_ATTEMPTS - 1)
def deliver_webhook_task(self, delivery_id: int, attempts: int | None = None) -> str:
    """One attempt per run (partners.webhooks.deliver()); a failure retries with exponential
    backoff (retry_delay()), naming the attempts it follows."""
    outcome, made = deliver(delivery_id, attempts)
    if outcome == "retry":
        raise self.retry(countdown=retry_delay(made).total_seconds(), kwargs={"attempts": made})
    return outcome


@shared_task(name="partners.emit_overdue_followups")
def emit_overdue_followups_task() -> int:
    """Hourly (Celery beat): partners.webhooks.emit_overdue_follow_ups()."""
    return emit_overdue_follow_ups()


@shared_task(name="partners.purge_idempotency_records")
def purge_idempotency_records_task() -> int:
    """Nightly (Celery beat): partners.middleware.purge_idempotency_records()."""
    return purge_idempotency_records()


@shared_task(name="partners.send_unsent_deliveries")
def send_unsent_deliveries_task() -> int:
    """Beat, every minute: partners.webhooks.send_unsent_deliveries()."""
    return send_unsent_deliveries()
