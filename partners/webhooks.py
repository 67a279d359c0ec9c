"""Webhooks for partners: signed JSON POSTs, delivered by Celery after commit, with retries."""

import hashlib
import hmac
import json
import time
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from partners.models import WebhookDelivery, WebhookSubscription
from partners.outbound import DeliveryFailed, UnsafeURL, post
from ror_crm import queue

TIMEOUT_SECONDS = 10
# The same text for every failed connection: which failure it was would map the network.
COULD_NOT_DELIVER = "Could not deliver: no answer from the receiver."


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
