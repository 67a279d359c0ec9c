"""Webhook deliveries against a real HTTP receiver on localhost: signed, retried, logged."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from events import services as event_services
from events.models import Event
from partners.models import WebhookDelivery, WebhookSubscription
from partners.webhooks import MAX_ATTEMPTS

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    """The receiver below listens on plain http on loopback, which production refuses (test_webhook_urls.py)."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    requests: list[tuple[Message, bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((self.headers, body))  # case-insensitive lookups
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"boom")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def subscribe(url: str, *event_types: str) -> WebhookSubscription:
    return WebhookSubscription.objects.create(name="Ticketing", url=url, secret=SECRET, event_types=list(event_types))


def completed_event(django_capture_on_commit_callbacks) -> Event:
    ends_at = timezone.now() - timedelta(hours=1)
    event = Event.objects.create(name="Summit", starts_at=ends_at - timedelta(hours=6), ends_at=ends_at)
    with django_capture_on_commit_callbacks(execute=True):
        return event_services.complete_event(event)


def verify(headers: Message, body: bytes, secret: str = SECRET) -> bool:
    """What a partner does with a delivery: recompute the HMAC over "{timestamp}.{body}"."""
    expected = hmac.new(secret.encode(), f"{headers['X-RoR-Timestamp']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-RoR-Signature"], f"sha256={expected}")


def test_a_completed_event_is_delivered_signed(receiver, django_capture_on_commit_callbacks):
    subscribe(receiver.url, "event.completed")

    event = completed_event(django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert verify(headers, body)
    assert not verify(headers, body, secret="another-secret")
    assert not verify(headers, body.replace(b"event.completed", b"event.cancelled"))
    assert headers["X-RoR-Event"] == "event.completed"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["type"] == "event.completed"
    assert payload["data"] == {"event": event.pk}
    delivery = WebhookDelivery.objects.get()
    assert headers["X-RoR-Delivery"] == str(delivery.pk) == str(payload["id"])
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.delivered_at is not None


def test_only_subscribed_event_types_are_sent(receiver, django_capture_on_commit_callbacks):
    subscribe(receiver.url, "event.metrics_updated")
    WebhookSubscription.objects.create(name="Off", url=receiver.url, secret=SECRET,
                                       event_types=["event.completed"], is_active=False)

    completed_event(django_capture_on_commit_callbacks)

    assert [headers["X-RoR-Event"] for headers, _ in receiver.requests] == ["event.metrics_updated"]


@pytest.fixture
def product_eager_celery(settings):
    """The embedded default: a failed attempt schedules its retry instead of failing the request."""
    settings.CELERY_TASK_EAGER_PROPAGATES = False


@pytest.mark.usefixtures("product_eager_celery")
def test_a_failing_receiver_is_retried_until_it_answers(receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500, 503]
    subscribe(receiver.url, "event.completed")

    completed_event(django_capture_on_commit_callbacks)  # eager Celery runs the retries at once

    delivery = WebhookDelivery.objects.get()
    assert len(receiver.requests) == 3
    assert len({headers["X-RoR-Delivery"] for headers, _ in receiver.requests}) == 1  # one delivery id to de-duplicate
    assert all(verify(headers, body) for headers, body in receiver.requests)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)


@pytest.mark.usefixtures("product_eager_celery")
def test_a_receiver_that_keeps_failing_ends_as_failed(receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500] * (MAX_ATTEMPTS + 2)
    subscribe(receiver.url, "event.completed")

    completed_event(django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", MAX_ATTEMPTS, 500)


@pytest.mark.usefixtures("product_eager_celery")
def test_an_unreachable_receiver_is_logged(django_capture_on_commit_callbacks):
    subscribe("http://127.0.0.1:9/nothing-listens-here", "event.completed")

    completed_event(django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.last_status_code is None
    assert delivery.last_error


@pytest.mark.django_db
def test_deliveries_emitted_while_the_broker_was_down_are_sent_by_the_sweep(receiver):
    from partners.tasks import send_unsent_deliveries_task

    subscription = subscribe(receiver.url, "event.completed")
    old, fresh, tried = (WebhookDelivery.objects.create(subscription=subscription, event_type="event.completed",
                                                        payload={"event": n}) for n in range(3))
    WebhookDelivery.objects.filter(pk__in=[old.pk, tried.pk]).update(created_at=timezone.now() - timedelta(minutes=5))
    WebhookDelivery.objects.filter(pk=tried.pk).update(attempts=2)

    assert send_unsent_deliveries_task() == 1  # eager here: sent at once

    assert [headers["X-RoR-Delivery"] for headers, _ in receiver.requests] == [str(old.pk)]
    states = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert states == {old.pk: "succeeded", fresh.pk: "pending", tried.pk: "pending"}  # the fresh one's send may come


@pytest.mark.django_db
def test_a_retry_lost_with_its_worker_or_redis_is_sent_by_the_sweep(receiver):
    """A retry's message lives in Redis and in the worker that holds it till its time: lost with
    either, the delivery would stay pending. The sweep sends it once it is a minute overdue, and
    fails a delivery whose last attempt was made by a run that died before saying so."""
    from partners.tasks import send_unsent_deliveries_task
    from partners.webhooks import UNSENT_AFTER, retry_delay

    subscription = subscribe(receiver.url, "event.completed")
    long_ago = timezone.now() - timedelta(hours=1)
    lost, waiting, exhausted = (WebhookDelivery.objects.create(subscription=subscription, event_type="event.completed",
                                                               payload={"event": n}) for n in range(3))
    WebhookDelivery.objects.update(created_at=long_ago)
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=lost.pk).update(
        attempts=2, last_attempt_at=now - retry_delay(2) - UNSENT_AFTER - timedelta(seconds=5))
    WebhookDelivery.objects.filter(pk=waiting.pk).update(attempts=2, last_attempt_at=now - retry_delay(2))
    WebhookDelivery.objects.filter(pk=exhausted.pk).update(attempts=MAX_ATTEMPTS, last_attempt_at=long_ago)

    assert send_unsent_deliveries_task() == 2

    assert [headers["X-RoR-Delivery"] for headers, _ in receiver.requests] == [str(lost.pk)]
    states = {pk: (status, attempts) for pk, status, attempts in WebhookDelivery.objects.values_list(
        "pk", "status", "attempts")}
    assert states == {lost.pk: ("succeeded", 3), waiting.pk: ("pending", 2), exhausted.pk: ("failed", MAX_ATTEMPTS)}


@pytest.mark.django_db
def test_a_run_queued_before_another_attempt_does_nothing(receiver):
    """A retry late on a busy worker and the sweep's resend of it: the second finds the attempt
    made and sends nothing, so one delivery never runs two retry chains."""
    from partners.tasks import deliver_webhook_task

    subscription = subscribe(receiver.url, "event.completed")
    delivery = WebhookDelivery.objects.create(subscription=subscription, event_type="event.completed",
                                              payload={"event": 1}, attempts=2, last_attempt_at=timezone.now())

    assert deliver_webhook_task.apply(args=[delivery.pk], kwargs={"attempts": 1}).get() == "skipped"
    assert receiver.requests == []
    assert deliver_webhook_task.apply(args=[delivery.pk], kwargs={"attempts": 2}).get() == "succeeded"
    assert len(receiver.requests) == 1


def test_followup_overdue_is_emitted_once_per_follow_up_however_late_the_hourly_runs_are(monkeypatch):
    """Beat runs the emitter hourly; a run an hour late (the broker was down) or one twice in a row
    must neither miss a follow-up that fell due nor send one twice."""
    from contacts.models import Contact, FollowUp
    from partners.tasks import emit_overdue_followups_task

    subscribe("https://partner.example/hooks", "followup.overdue")
    start = timezone.now() - timedelta(days=1)
    clock = {"now": start}
    monkeypatch.setattr("partners.webhooks.timezone.now", lambda: clock["now"])
    contact = Contact.objects.create(email="due@example.com")
    due = {name: FollowUp.objects.create(contact=contact, due_at=start + timedelta(minutes=minutes))
           for name, minutes in (("before the first run", -30), ("in the first hour", 30), ("in the gap", 100),
                                 ("just before the late run", 179), ("later", 300))}
    FollowUp.objects.create(contact=contact, due_at=start + timedelta(minutes=50), status="cancelled")
    FollowUp.objects.update(created_at=start - timedelta(hours=2), updated_at=start - timedelta(hours=2))

    def log_at(minutes: int, name: str, due_minutes: int) -> None:
        """A follow-up entered at `minutes` with its due time then (possibly already past)."""
        at = start + timedelta(minutes=minutes)
        due[name] = FollowUp.objects.create(contact=contact, due_at=start + timedelta(minutes=due_minutes))
        FollowUp.objects.filter(pk=due[name].pk).update(created_at=at, updated_at=at)

    def run_at(minutes: int) -> set[str]:
        clock["now"] = start + timedelta(minutes=minutes)
        before = set(WebhookDelivery.objects.values_list("pk", flat=True))
        emit_overdue_followups_task()
        emitted = [row.payload["id"] for row in WebhookDelivery.objects.exclude(pk__in=before)]
        assert len(emitted) == len(set(emitted))
        return {name for name, follow_up in due.items() if follow_up.pk in emitted}

    assert run_at(0) == {"before the first run"}  # the first run looks an hour back
    assert run_at(60) == {"in the first hour"}
    assert run_at(60) == set()  # the same hour twice: nothing again
    log_at(150, "logged in the gap, due in the first hour", 20)  # a call entered after the fact
    log_at(150, "logged in the gap, due before the first run", -90)
    assert run_at(180) == {"in the gap", "just before the late run", "logged in the gap, due in the first hour",
                           "logged in the gap, due before the first run"}  # the 2:00 run did not happen
    assert run_at(240) == set()
    # An announced one edited later is not announced again; one logged due later waits for its time.
    FollowUp.objects.filter(pk=due["logged in the gap, due in the first hour"].pk).update(
        summary="Left a voicemail", updated_at=start + timedelta(minutes=250))
    log_at(250, "logged due ahead", 290)
    assert run_at(270) == set()
    assert run_at(301) == {"later", "logged due ahead"}
    # Rows committed a moment after a run read (their times taken before it): the next run has them,
    # and what the run before announced within that moment is not announced again.
    due["due at 356, seen by the 6:00 run"] = FollowUp.objects.create(contact=contact, due_at=start + timedelta(minutes=356))
    FollowUp.objects.filter(pk=due["due at 356, seen by the 6:00 run"].pk).update(
        created_at=start + timedelta(minutes=300), updated_at=start + timedelta(minutes=300))
    assert run_at(360) == {"due at 356, seen by the 6:00 run"}
    log_at(358, "due at 357, committed after the 6:00 run", 357)
    log_at(359, "logged at 359 due at 100, committed after the 6:00 run", 100)
    assert run_at(420) == {"due at 357, committed after the 6:00 run",
                           "logged at 359 due at 100, committed after the 6:00 run"}
    assert WebhookDelivery.objects.filter(event_type="followup.overdue").count() == len(due)
