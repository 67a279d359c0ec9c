"""Webhooks for partners: signed JSON POSTs, delivered by Celery after commit, with retries."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from partners.models import WebhookDelivery, WebhookSubscription

TIMEOUT_SECONDS = 10


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

    transaction.on_commit(lambda: [deliver_webhook_task.delay(delivery_id) for delivery_id in ids])
    return ids


def attempt_delivery(delivery: WebhookDelivery) -> bool:
    """POST the delivery once; record the outcome. True when the receiver answered 2xx."""
    body = json.dumps(
        {"id": delivery.pk, "type": delivery.event_type, "created_at": delivery.created_at.isoformat(), "data": delivery.payload},
        cls=DjangoJSONEncoder,
    ).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        delivery.subscription.url, data=body, method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "RoR-CRM-Webhooks/1",
            "X-RoR-Event": delivery.event_type,
            "X-RoR-Delivery": str(delivery.pk),
            "X-RoR-Timestamp": timestamp,
            "X-RoR-Signature": "sha256=" + sign(delivery.subscription.secret, timestamp, body),
        },
    )
    delivery.attempts += 1
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            delivery.last_status_code = response.status
            delivery.last_error = ""
    except urllib.error.HTTPError as error:
        delivery.last_status_code, delivery.last_error = error.code, str(error)[:2000]
    except (urllib.error.URLError, OSError, ValueError) as error:
        delivery.last_status_code, delivery.last_error = None, str(error)[:2000]
    succeeded = delivery.last_status_code is not None and 200 <= delivery.last_status_code < 300
    if succeeded:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.SUCCEEDED, timezone.now()
    delivery.save(update_fields=["attempts", "last_status_code", "last_error", "status", "delivered_at"])
    return succeeded
