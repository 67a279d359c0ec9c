"""Webhooks for partners: signed JSON POSTs, delivered by Celery after commit, with retries."""

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from partners.models import EmittedUntil, WebhookDelivery, WebhookSubscription
from partners.outbound import DeliveryFailed, UnsafeURL, post
from ror_crm import queue

TIMEOUT_SECONDS = 10
# The same text for every failed connection: which failure it was would map the network.
COULD_NOT_DELIVER = "Could not deliver: no answer from the receiver."


MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 30
# A delivery whose next send is this late was lost on the way: not queued (the broker was down
# when it was emitted), or its retry lost with a worker or with Redis. The sweep sends it.
UNSENT_AFTER = timedelta(seconds=60)
RESEND_BATCH = 500


def retry_delay(attempts: int) -> timedelta:
    """How long after its failed attempt number `attempts` a delivery is tried again: 30 s, 1, 2, 4, 8 min."""
    return timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "{timestamp}.{body}", hex; sent as `X-RoR-Signature: sha256=<hex>`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def emit(event_type: str, payload: dict[str, Any]) -> list[int]:
    return emit_many(event_type, [payload])


def emit_many(event_type: str, payloads: list[dict[str, Any]]) -> list[int]:
    """A delivery per active subscription to this event type and payload; sent after commit.

    Two queries whatever the number of payloads (scoring reports thousands of changes at once).
    """
    subscriptions = [
        subscription for subscription in WebhookSubscription.objects.filter(is_active=True)
        if event_type in (subscription.event_types or [])
    ]
    if not subscriptions or not payloads:
        return []
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(subscription=subscription, event_type=event_type,
                        payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)))
        for payload in payloads for subscription in subscriptions
    ])
    ids = [delivery.pk for delivery in deliveries if delivery.pk is not None]
    from partners.tasks import deliver_webhook_task

    # Redis down: the deliveries stay pending in the database; the request that emitted them goes on.
    transaction.on_commit(lambda: [
        queue.publish(lambda delivery_id=delivery_id: deliver_webhook_task.delay(delivery_id),
                      what=f"webhook delivery {delivery_id}")
        for delivery_id in ids
    ])
    return ids


def attempt_delivery(delivery: WebhookDelivery) -> bool:
    """POST the delivery once; record the outcome. True when the receiver answered 2xx.

    Only to a public address (partners/outbound.py); a redirect is a failed attempt, not followed.
    """
    body = json.dumps(
        {"id": delivery.pk, "type": delivery.event_type, "created_at": delivery.created_at.isoformat(), "data": delivery.payload},
        cls=DjangoJSONEncoder,
    ).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "RoR-CRM-Webhooks/1",
        "X-RoR-Event": delivery.event_type,
        "X-RoR-Delivery": str(delivery.pk),
        "X-RoR-Timestamp": timestamp,
        "X-RoR-Signature": "sha256=" + sign(delivery.subscription.secret, timestamp, body),
    }
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    try:
        status = post(delivery.subscription.url, body, headers, timeout=TIMEOUT_SECONDS)
    except UnsafeURL as refusal:
        delivery.last_status_code, delivery.last_error = None, f"Not sent: {refusal}"
    except DeliveryFailed:
        delivery.last_status_code, delivery.last_error = None, COULD_NOT_DELIVER
    else:
        delivery.last_status_code = status
        delivery.last_error = "" if 200 <= status < 300 else f"The receiver answered HTTP {status}."
    succeeded = delivery.last_status_code is not None and 200 <= delivery.last_status_code < 300
    if succeeded:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.SUCCEEDED, timezone.now()
    delivery.save(update_fields=["attempts", "last_attempt_at", "last_status_code", "last_error", "status", "delivered_at"])
    return succeeded


def deliver(delivery_id: int, attempts: int | None = None) -> tuple[str, int]:
    """One attempt at sending a pending delivery (partners.tasks.deliver_webhook_task runs it):
    its outcome, "succeeded", "retry" (the task tries again after retry_delay()), "failed" (its
    last attempt failed) or "skipped", with the attempts it has had.

    `attempts`: how many attempts the delivery had when this run was queued. A run finding more
    does nothing (another run went first: a retry late on a busy worker and the sweep's resend of
    it make one attempt, not two chains). The row stays locked during the attempt for the same reason.
    Receivers must de-duplicate by X-RoR-Delivery: a retry after a lost answer sends again.
    """
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("subscription").filter(pk=delivery_id).first())
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return "skipped", attempts or 0
        if attempts is not None and delivery.attempts != attempts:
            return "skipped", attempts
        if delivery.attempts < MAX_ATTEMPTS and attempt_delivery(delivery):
            return "succeeded", delivery.attempts
        if delivery.attempts >= MAX_ATTEMPTS:  # (also a run killed after its last attempt, sent by the sweep)
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.save(update_fields=["status"])
            return "failed", delivery.attempts
    return "retry", delivery.attempts


def unsent_deliveries(now: datetime):
    """Pending deliveries whose next send is overdue by UNSENT_AFTER: never attempted, or retried
    later than their backoff said (the retry's message lost), or past their last attempt."""
    lost_retry = Q(attempts__gte=MAX_ATTEMPTS)
    for attempts in range(1, MAX_ATTEMPTS):
        lost_retry |= Q(attempts=attempts, last_attempt_at__lt=now - retry_delay(attempts) - UNSENT_AFTER)
    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, created_at__lt=now - UNSENT_AFTER).filter(
        Q(attempts=0) | lost_retry
    ).order_by("created_at", "pk")


def send_unsent_deliveries() -> int:
    """Queue the deliveries whose sending failed when they were emitted (Redis down) or whose
    retry was lost (beat, every minute): how many were queued. A delivery queued twice is sent
    twice at most; receivers de-duplicate by X-RoR-Delivery."""
    from partners.tasks import deliver_webhook_task

    due = list(unsent_deliveries(timezone.now()).values_list("pk", "attempts")[:RESEND_BATCH])
    return sum(
        queue.publish(lambda delivery_id=delivery_id, attempts=attempts: deliver_webhook_task.delay(delivery_id, attempts),
                      what=f"webhook delivery {delivery_id}")
        for delivery_id, attempts in due
    )


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


def emit_overdue_follow_ups() -> int:
    """followup.overdue once per follow-up that fell due: the planned ones whose due time passed
    since the previous run (an hour back on the first), however late this run is (Celery beat,
    hourly; partners.models.EmittedUntil), and those logged since then with a due time already
    before it (a call entered after the fact). One transaction: a run that fails emits nothing and
    moves nothing."""
    from contacts.models import FollowUp  # partners depend on contacts only here, at run time

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
