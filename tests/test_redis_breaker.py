"""A hung Redis (its socket accepts and never answers) costs each call its socket timeout: after
one call fails, the process skips Redis for a few seconds (ror_crm.queue.redis_breaker), so a
request making several calls answers in seconds instead of outlasting the web server's timeout."""

import pytest
import redis.exceptions
from celery.app.task import Task
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import Event
from partners.models import PartnerAPIKey
from ror_crm import queue


def test_a_failed_call_skips_the_next_ones_for_a_moment(monkeypatch):
    made = []

    def hung():
        made.append("hung")
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    with pytest.raises(redis.exceptions.TimeoutError):
        queue.guarded_redis_call(hung)
    with pytest.raises(queue.RedisSkipped):
        queue.guarded_redis_call(lambda: made.append("skipped"))
    assert made == ["hung"]
    assert isinstance(queue.RedisSkipped(), queue.CACHE_ERRORS)  # callers treat it as Redis down

    later = queue.time.monotonic() + queue.redis_breaker.seconds + 1
    monkeypatch.setattr(queue.time, "monotonic", lambda: later)
    assert queue.guarded_redis_call(lambda: "answered") == "answered"


@pytest.mark.django_db
def test_a_request_meets_a_hung_redis_once(monkeypatch, django_capture_on_commit_callbacks):
    """Completing an event reads the throttle and sends its recompute and its webhook: with Redis
    hung, only the first of those calls waits for the socket; the write is saved and answered."""
    calls = []

    def hung(name):
        def call(*args, **kwargs):
            calls.append(name)
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        return call

    key = PartnerAPIKey.objects.create_key(name="Ticketing", can_read=True, can_write=True)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    now = timezone.now()
    event = Event.objects.create(name="Summit", starts_at=now - timezone.timedelta(hours=8),
                                 ends_at=now - timezone.timedelta(hours=1))
    cache = type(caches["default"])
    for method in ("add", "get", "get_many", "set", "incr", "delete"):
        monkeypatch.setattr(cache, method, hung(f"cache.{method}"))
    monkeypatch.setattr(Task, "apply_async", hung("publish"))

    with django_capture_on_commit_callbacks(execute=True):
        completed = client.post(f"/api/v1/events/{event.pk}/complete/", {}, format="json")
        listed = client.get("/api/v1/contacts/")

    assert (completed.status_code, listed.status_code) == (200, 200)
    assert Event.objects.get(pk=event.pk).status == "completed"
    assert len(calls) == 1, calls
