"""The scoring outbox with Redis down: writes succeed, the work waits in rows, the sweep sends it.

"Redis down" here: every task publish raises kombu's OperationalError and every cache call
redis-py's ConnectionError, as they do when the server is gone (tests/test_faults.py does
it with a real Redis server stopped). Celery is eager, so a send that goes through runs the
task in-process.
"""

import contextlib
import time
import uuid
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
import redis.exceptions
from celery.app.task import Task
from django.core.cache import caches
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from contacts.models import Contact
from events import services as event_services
from events.models import Attendance, Event
from partners.models import PartnerAPIKey
from ror_crm import health, queue
from scoring import outbox
from scoring.choices import RecomputeKind
from scoring.models import ContactScore, EventMetrics, PendingRecompute, RecomputeClaim, RecomputeRequest
from scoring.tasks import (
    nightly_recompute_task,
    recompute_contact_range_task,
    recompute_late_data_task,
    sweep_outbox_task,
)

QUEUE_DOWN = "Saved; scoring will run when the queue is back."


@contextlib.contextmanager
def redis_down(monkeypatch):
    """Publishing and the cache fail as with the Redis server gone; undone on exit."""
    with monkeypatch.context() as patch:
        def refuse_publish(*args, **kwargs):
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        def refuse_cache(*args, **kwargs):
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        patch.setattr(Task, "apply_async", refuse_publish)
        for method in ("add", "get", "get_many", "set", "incr", "delete"):
            patch.setattr(type(caches["default"]), method, refuse_cache)
        yield
    queue.redis_breaker.reset()  # back: not a moment ago (the breaker would skip the next seconds' calls)


@pytest.fixture(autouse=True)
def _no_grace(settings):
    settings.SCORING_OUTBOX_GRACE_SECONDS = 0
    settings.SCORING_LATE_DATA_DEBOUNCE_SECONDS = 0


def ended_event(name="Summit") -> Event:
    ends_at = timezone.now() - timedelta(hours=2)
    return Event.objects.create(name=name, starts_at=ends_at - timedelta(hours=8), ends_at=ends_at)


def attendees(event: Event, count: int, status="attended") -> list[Contact]:
    people = [Contact.objects.create(email=f"{status}{n}-{event.pk}@example.com") for n in range(count)]
    Attendance.objects.bulk_create(Attendance(event=event, contact=person, status=status) for person in people)
    return people


@pytest.fixture
def write_client(db) -> APIClient:
    key = PartnerAPIKey.objects.create_key(name="Ticketing", can_read=True, can_write=True)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.mark.django_db
class TestRequestsAreRowsFirst:
    def test_completing_writes_a_request_that_its_task_deletes_when_done(self, django_capture_on_commit_callbacks):
        event = ended_event()
        people = attendees(event, 2)

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            event_services.complete_event(event)
        request = RecomputeRequest.objects.get()
        assert (request.kind, request.event_id, request.sent_at) == (RecomputeKind.EVENT, event.pk, None)

        for callback in callbacks:  # the commit: sent, and eager Celery does the work
            callback()
        assert not RecomputeRequest.objects.exists()
        assert ContactScore.objects.filter(contact__in=people).count() == 2
        assert EventMetrics.objects.filter(event=event).exists()

    def test_a_request_whose_work_failed_stays_for_the_sweep(self, monkeypatch, django_capture_on_commit_callbacks):
        event = ended_event()
        attendees(event, 1)

        def fail(*args, **kwargs):
            raise RuntimeError("worker died")

        monkeypatch.setattr("scoring.tasks.compute_event_metrics", fail)
        with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)  # eager tasks propagate in tests

        assert RecomputeRequest.objects.filter(event=event).exists()


@pytest.mark.django_db
class TestRedisDown:
    def test_the_api_completes_an_event_and_takes_late_data_and_the_sweep_catches_up(
        self, monkeypatch, write_client, django_capture_on_commit_callbacks
    ):
        event = ended_event()
        present = attendees(event, 2)
        late = attendees(event, 1, status="registered")[0]

        with redis_down(monkeypatch), django_capture_on_commit_callbacks(execute=True):
            completed = write_client.post(f"/api/v1/events/{event.pk}/complete/", {}, format="json")
            checked_in = write_client.post(
                f"/api/v1/events/{event.pk}/check-ins/", {"emails": [late.email]}, format="json"
            )
            listed = write_client.get("/api/v1/contacts/")  # reads need only PostgreSQL, throttle or not

        assert (completed.status_code, checked_in.status_code, listed.status_code) == (200, 200, 200)
        assert RecomputeRequest.objects.filter(event=event, sent_at=None).count() == 1
        assert PendingRecompute.objects.filter(event=event, contact=late).exists()
        assert not ContactScore.objects.exists()

        result = sweep_outbox_task.apply().get()  # Redis is back: the minute sweep

        assert result["sent"] == 1
        assert result["late_data_sent"] == 1
        assert not RecomputeRequest.objects.exists()
        assert not PendingRecompute.objects.exists()
        scores = {score.contact_id: score for score in ContactScore.objects.all()}
        assert set(scores) == {person.pk for person in [*present, late]}
        assert scores[late.pk].events_attended == 1
        assert EventMetrics.objects.get(event=event).attended == 3

    def test_a_send_fails_fast_and_is_logged_not_raised(self, monkeypatch, caplog, django_capture_on_commit_callbacks):
        event = ended_event()
        with redis_down(monkeypatch), queue.watch() as sends, django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)
            event_services.request_event_recompute(event)

        assert (sends.sent, sends.deferred) == (0, 2)
        assert "it waits for the sweeper" in caplog.text
        assert RecomputeRequest.objects.filter(sent_at=None).count() == 2

    def test_deleting_a_contact_and_event_leaves_refresh_requests(self, monkeypatch, django_capture_on_commit_callbacks):
        event = ended_event()
        anna, ben = attendees(event, 2)
        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)

        with redis_down(monkeypatch), django_capture_on_commit_callbacks(execute=True):
            from contacts.services import delete_contact

            delete_contact(ben)

        assert list(RecomputeRequest.objects.values_list("kind", "event_id")) == [(RecomputeKind.METRICS, event.pk)]
        outbox.sweep()
        assert EventMetrics.objects.get(event=event).attended == 1
        assert not RecomputeRequest.objects.exists()


@pytest.mark.django_db(transaction=True)  # commits happen inside the request, as in production
class TestAdminWithRedisDown:
    def test_completing_says_saved_and_scoring_runs_when_the_queue_is_back(self, admin_client, monkeypatch):
        event = ended_event()
        attendees(event, 1)

        with redis_down(monkeypatch):
            response = admin_client.post(reverse("admin:events_event_complete", args=[event.pk]), follow=True)

        assert response.status_code == 200
        texts = [(message.level_tag, str(message)) for message in response.context["messages"]]
        assert ("success", "Completed 1 event.") in texts
        assert ("warning", QUEUE_DOWN) in texts
        event.refresh_from_db()
        assert event.status == "completed"
        assert RecomputeRequest.objects.filter(event=event).exists()

    def test_recomputing_contacts_by_hand_waits_in_the_outbox(self, admin_client, monkeypatch):
        people = attendees(ended_event(), 3)
        changelist = reverse("admin:contacts_contact_changelist")

        with redis_down(monkeypatch):
            response = admin_client.post(
                changelist, {"action": "recompute_scores", "_selected_action": [person.pk for person in people]},
                follow=True,
            )

        assert response.status_code == 200
        assert [str(message) for message in response.context["messages"]] == [QUEUE_DOWN]
        request = RecomputeRequest.objects.get()
        assert sorted(request.contact_ids) == sorted(person.pk for person in people)
        outbox.sweep()
        assert ContactScore.objects.filter(contact__in=people).count() == 3

    def test_in_german(self, admin_client, monkeypatch):
        event = ended_event()
        with redis_down(monkeypatch):
            response = admin_client.post(
                reverse("admin:events_event_complete", args=[event.pk]), follow=True, HTTP_ACCEPT_LANGUAGE="de"
            )
        assert "Gespeichert; die Bewertung läuft, sobald die Warteschlange wieder da ist." in [
            str(message) for message in response.context["messages"]
        ]


@pytest.mark.django_db
class TestLateData:
    def test_data_arriving_during_a_run_keeps_its_row_for_the_next_run(self, monkeypatch):
        event = ended_event()
        anna, ben = attendees(event, 2)
        Event.objects.filter(pk=event.pk).update(status="completed", completed_at=timezone.now())
        PendingRecompute.objects.create(event=event, contact=anna)
        from scoring import triggers
        from scoring.services import late_data

        real = late_data.recompute_contacts

        def recompute_while_ben_checks_in(contact_ids, **kwargs):
            result = real(contact_ids, **kwargs)
            triggers.data_changed(event.pk, [anna.pk, ben.pk])  # after the run read the data
            return result

        monkeypatch.setattr(late_data, "recompute_contacts", recompute_while_ben_checks_in)
        monkeypatch.setattr(triggers, "enqueue_late_data", lambda event_id, **kwargs: False)
        recompute_late_data_task(event.pk)

        waiting = PendingRecompute.objects.filter(event=event)
        assert sorted(waiting.values_list("contact_id", flat=True)) == [anna.pk, ben.pk]
        assert set(waiting.values_list("claimed_at", flat=True)) == {None}

    def test_a_run_killed_midway_leaves_its_rows(self, monkeypatch):
        event = ended_event()
        anna = attendees(event, 1)[0]
        Event.objects.filter(pk=event.pk).update(status="completed", completed_at=timezone.now())
        PendingRecompute.objects.create(event=event, contact=anna)

        def killed(*args, **kwargs):
            raise SystemExit("kill -9")

        monkeypatch.setattr("scoring.services.late_data.compute_event_metrics", killed)
        with pytest.raises(SystemExit):
            recompute_late_data_task(event.pk)
        assert PendingRecompute.objects.filter(event=event, contact=anna).exists()

        monkeypatch.undo()
        recompute_late_data_task(event.pk)  # the redelivery
        assert not PendingRecompute.objects.exists()
        assert ContactScore.objects.filter(contact=anna).exists()

    def test_the_sweep_leaves_late_data_still_in_its_debounce_window(self, settings):
        settings.SCORING_LATE_DATA_DEBOUNCE_SECONDS = 300
        event = ended_event()
        PendingRecompute.objects.create(event=event, contact=attendees(event, 1)[0])
        assert outbox.waiting_late_data_events() == []
        assert outbox.waiting_late_data_events(timezone.now() + timedelta(seconds=301)) == [event.pk]


@pytest.mark.django_db
class TestSweep:
    def test_only_due_requests_are_sent(self, settings):
        settings.SCORING_OUTBOX_GRACE_SECONDS = 30
        settings.SCORING_OUTBOX_RESEND_SECONDS = 600
        event = ended_event()
        now = timezone.now()
        fresh = RecomputeRequest.objects.create(kind=RecomputeKind.METRICS, event=event)
        unsent = RecomputeRequest.objects.create(kind=RecomputeKind.METRICS, event=event)
        in_flight = RecomputeRequest.objects.create(kind=RecomputeKind.METRICS, event=event, sent_at=now)
        lost = RecomputeRequest.objects.create(kind=RecomputeKind.METRICS, event=event, sent_at=now - timedelta(hours=1))
        RecomputeRequest.objects.filter(pk__in=[unsent.pk, in_flight.pk, lost.pk]).update(
            created_at=now - timedelta(hours=2)
        )

        assert sorted(outbox.due_requests().values_list("pk", flat=True)) == [unsent.pk, lost.pk]
        assert fresh.pk not in outbox.due_requests().values_list("pk", flat=True)

    def test_a_request_whose_work_keeps_failing_is_left_after_its_last_send(self, settings, monkeypatch, caplog):
        settings.SCORING_OUTBOX_MAX_SENDS = 3
        settings.SCORING_OUTBOX_RESEND_SECONDS = 600
        event = ended_event()
        poison = RecomputeRequest.objects.create(kind=RecomputeKind.METRICS, event=event, send_count=1)
        # The broker takes every message; the work fails on the worker each time (the row stays).
        monkeypatch.setattr(outbox.queue, "publish", lambda send, what: True)
        for sends in (2, 3):
            RecomputeRequest.objects.filter(pk=poison.pk).update(sent_at=timezone.now() - timedelta(hours=1))
            assert outbox.sweep()["sent"] == 1
            assert RecomputeRequest.objects.get(pk=poison.pk).send_count == sends
        assert "was sent 3 times and is still not done" in caplog.text

        RecomputeRequest.objects.filter(pk=poison.pk).update(sent_at=timezone.now() - timedelta(hours=1))
        assert outbox.sweep()["requests"] == 0  # left: no fourth send
        assert outbox.backlog()["left"] == 1
        out = StringIO()
        call_command("scoring_outbox", stdout=out)
        assert "1 left by it after 3 sends" in out.getvalue()

    def test_a_nightly_run_beat_could_not_send_is_sent_by_a_catch_up_hour(self, settings, monkeypatch):
        from scoring.services import recompute_contacts

        entry = settings.CELERY_BEAT_SCHEDULE["nightly-score-recompute-catch-up"]
        assert (entry["task"], entry["kwargs"]) == ("scoring.nightly_recompute", {"only_if_missed": True})
        people = [person.pk for person in attendees(ended_event(), 2)]
        today = timezone.localtime(timezone.now() - timedelta(days=2))
        last_night = today.replace(hour=3, minute=15, second=0, microsecond=0) - timedelta(days=1)
        recompute_contacts(people, as_of=last_night + timedelta(minutes=1))  # last night's run; tonight's never came

        def nightly_at(moment) -> int:
            monkeypatch.setattr("scoring.tasks.timezone.now", lambda: moment)
            return nightly_recompute_task(only_if_missed=True)

        assert nightly_at(today.replace(hour=2, minute=15)) == 0  # before tonight's start: last night's ran
        RecomputeRequest.objects.create(kind=RecomputeKind.RANGE, contact_ids=[1, 1])  # a run under way
        assert nightly_at(today.replace(hour=4, minute=15)) == 0
        RecomputeRequest.objects.all().delete()

        catch_up = today.replace(hour=4, minute=15)
        assert nightly_at(catch_up) > 0
        assert set(ContactScore.objects.values_list("computed_at", flat=True)) == {catch_up}
        assert nightly_at(today.replace(hour=5, minute=15)) == 0  # done: the next hour sends nothing

    def test_the_sweep_runs_every_minute_and_when_a_worker_starts(self, settings, monkeypatch):
        from celery.signals import worker_ready

        entry = settings.CELERY_BEAT_SCHEDULE["scoring-outbox-sweep"]
        assert (entry["task"], entry["schedule"]) == ("scoring.sweep_outbox", 60.0)

        sent = []
        monkeypatch.setattr(sweep_outbox_task, "delay", lambda: sent.append("sweep"))
        worker_ready.send(sender=None)
        assert sent == ["sweep"]

    def test_a_worker_starting_with_redis_down_does_not_crash(self, monkeypatch):
        from celery.signals import worker_ready

        with redis_down(monkeypatch):
            worker_ready.send(sender=None)

    def test_the_command_shows_the_backlog_and_replays_it(self):
        event = ended_event()
        person = attendees(event, 1)[0]
        RecomputeRequest.objects.create(kind=RecomputeKind.CONTACTS, contact_ids=[person.pk])
        PendingRecompute.objects.create(event=event, contact=person)

        out = StringIO()
        call_command("scoring_outbox", stdout=out)
        assert "Recompute requests waiting: 1 (1 never sent" in out.getvalue()
        assert "Late data waiting: 1 contacts of 1 events." in out.getvalue()

        out = StringIO()
        call_command("scoring_outbox", "--resend-all", stdout=out)
        assert "Sent 1 of 1 requests and 1 of 1 late-data runs." in out.getvalue()
        assert "Recompute requests waiting: 0" in out.getvalue()
        assert ContactScore.objects.filter(contact=person).exists()

    def test_the_outbox_is_visible_read_only_in_the_admin(self, admin_client):
        RecomputeRequest.objects.create(kind=RecomputeKind.CONTACTS, contact_ids=[1, 2])
        taken = RecomputeRequest.objects.create(kind=RecomputeKind.CONTACTS, contact_ids=[3])
        for task_id in ("chunk-1", "chunk-2"):  # two tasks of one worker at it
            outbox.claim(taken.pk, worker="worker-7@host", boot="boot-a", task_id=task_id)
        response = admin_client.get(reverse("admin:scoring_recomputerequest_changelist"))
        assert response.status_code == 200
        assert b"2 contacts" in response.content
        assert response.content.count(b"worker-7@host") == 1
        assert admin_client.get(reverse("admin:scoring_recomputerequest_add")).status_code == 403
        assert admin_client.get(reverse("admin:scoring_pendingrecompute_changelist")).status_code == 200


@pytest.mark.django_db
class TestRangesOfAnAllContactsRun:
    def test_the_nightly_run_writes_a_request_per_range_that_its_task_deletes(self, settings, monkeypatch):
        settings.SCORING_CHUNK_SIZE = 2
        people = attendees(ended_event(), 5)
        requested = []
        request_ranges = outbox.request_ranges
        monkeypatch.setattr(outbox, "request_ranges", lambda *args, **kwargs: requested.extend(
            request_ranges(*args, **kwargs)) or requested)

        assert nightly_recompute_task.delay().get() == 3  # eager: each range's task runs as it is sent

        assert [row.kind for row in requested] == [RecomputeKind.RANGE] * 3
        assert RecomputeRequest.objects.count() == 0  # each deleted by its task
        assert ContactScore.objects.filter(contact__in=people).count() == 5

    def test_a_range_lost_with_its_message_is_scored_by_the_sweep_as_of_the_run(self, settings, monkeypatch):
        settings.SCORING_OUTBOX_RESEND_SECONDS = 600
        people = attendees(ended_event(), 3)
        as_of = timezone.now() - timedelta(hours=2)
        with redis_down(monkeypatch):  # the message never arrives
            [row] = outbox.request_ranges([range(people[0].pk, people[-1].pk + 1)], as_of=as_of, trigger="nightly")
            assert outbox.send([row]) == 0
        RecomputeRequest.objects.filter(pk=row.pk).update(created_at=as_of, sent_at=as_of)  # sent, and lost
        assert str(RecomputeRequest.objects.get()) == f"A range of contacts' scores: contacts {people[0].pk}–{people[-1].pk}"

        assert sweep_outbox_task.delay().get()["sent"] == 1

        assert RecomputeRequest.objects.count() == 0
        assert set(ContactScore.objects.values_list("contact_id", "computed_at")) == {
            (person.pk, as_of) for person in people}  # the full path, as of the run's moment

    def test_a_range_sent_twice_scores_only_what_the_first_did_not(self):
        from scoring.services.recompute import not_scored_since

        people = attendees(ended_event(), 3)
        ids = range(people[0].pk, people[-1].pk + 1)
        as_of = timezone.now() - timedelta(hours=1)
        assert not_scored_since(ids, as_of) is ids  # none scored yet: the range as it is

        recompute_contact_range_task.delay(ids[0], ids[-1], as_of.isoformat(), "nightly")
        assert not_scored_since(ids, as_of) == []
        assert list(not_scored_since(ids, as_of + timedelta(seconds=1))) == [person.pk for person in people]
        ContactScore.objects.filter(contact=people[1]).update(computed_at=as_of - timedelta(days=1))
        assert not_scored_since(ids, as_of) == [people[1].pk]

    def test_recomputing_everyone_by_hand_leaves_a_request_per_range_until_done(self, settings, monkeypatch):
        settings.SCORING_CHUNK_SIZE = 2
        attendees(ended_event(), 3)
        with redis_down(monkeypatch):
            outbox.request_recompute(RecomputeKind.ALL)
        assert list(RecomputeRequest.objects.values_list("kind", flat=True)) == [RecomputeKind.ALL]

        sweep_outbox_task.delay()  # the fan-out runs: its ranges are requests of their own, each done

        assert RecomputeRequest.objects.count() == 0
        assert ContactScore.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_request_for_an_event_deleted_meanwhile_is_dropped_not_raised():
    """A late-data task asks for the metrics of an event a partner has just deleted (seen under
    schemathesis on PostgreSQL): the foreign key refuses the row, and nothing is left to do."""
    event = Event.objects.create(name="Gone", starts_at=timezone.now(), ends_at=timezone.now())
    event_id = event.pk
    event.delete()

    assert outbox.request_recompute(RecomputeKind.METRICS, event_id=event_id) is None
    assert not RecomputeRequest.objects.exists()


def beat(worker: str, boot: str, *, started: float, at: float | None = None) -> None:
    """A heartbeat of `worker`'s start `boot` (ror_crm.health), written `at` (default now)."""
    if at is None:
        health.record_worker_heartbeat(worker, boot, started=started)
    else:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(health.time, "time", lambda: at)
            health.record_worker_heartbeat(worker, boot, started=started)


@pytest.fixture
def heartbeats_long_since():
    """Heartbeats have come without a gap for a while: a silent worker is news."""
    caches["default"].set(health.HEARTBEATS_SINCE_KEY, time.time() - 3600, None)
    yield
    caches["default"].delete(health.HEARTBEATS_SINCE_KEY)


@pytest.fixture
def names() -> SimpleNamespace:
    """Worker names and boot ids of this test's own (the heartbeats stay in the cache after it)."""
    suffix = uuid.uuid4().hex[:8]
    return SimpleNamespace(w1=f"worker-1-{suffix}@host", w2=f"worker-2-{suffix}@host",
                           a=f"boot-a-{suffix}", b=f"boot-b-{suffix}", c=f"boot-c-{suffix}")


@pytest.mark.django_db
class TestWorkerGone:
    """A worker killed midway leaves its messages to Redis's visibility timeout (half an hour): the
    sweep sends the requests it had taken up again once it started anew or fell silent."""

    @pytest.fixture
    def request_row(self):
        return RecomputeRequest.objects.create(kind=RecomputeKind.METRICS, event=ended_event(), sent_at=timezone.now())

    def test_a_task_on_a_worker_claims_its_request_while_it_runs_and_one_run_in_process_does_not(
        self, names, request_row, monkeypatch
    ):
        from ror_crm.celery import WORKER_BOOT
        from scoring.tasks import compute_event_metrics_task as task

        claims_during_run = []

        def metrics(event_id, **kwargs):
            claims_during_run.append(list(RecomputeClaim.objects.values_list("worker", "boot", "task_id")))
            raise RuntimeError("the work failed")

        monkeypatch.setattr("scoring.tasks.compute_event_metrics", metrics)
        with pytest.raises(RuntimeError):
            task(request_row.event_id, request_id=request_row.pk)  # in-process: no worker to lose
        task.push_request(hostname=names.w1, id="task-1", is_eager=False)
        try:
            with pytest.raises(RuntimeError):
                task(request_row.event_id, request_id=request_row.pk)
        finally:
            task.pop_request()

        assert claims_during_run == [[], [(names.w1, WORKER_BOOT, "task-1")]]
        assert not RecomputeClaim.objects.exists()  # released, though the work failed

    def test_a_claim_is_lost_when_its_worker_started_anew(self, names, request_row):
        now = time.time()
        outbox.claim(request_row.pk, worker=names.w1, boot=names.a, task_id="t1")
        beat(names.w1, names.a, started=now - 600, at=now - 5)
        assert outbox.lost_claims() == []  # at work

        beat(names.w1, names.b, started=now)  # restarted after boot-a's last beat
        assert outbox.lost_claims() == list(RecomputeClaim.objects.values_list("pk", flat=True))

    def test_a_claim_is_lost_when_its_worker_fell_silent_unless_every_heartbeat_did(
        self, names, request_row, monkeypatch
    ):
        outbox.claim(request_row.pk, worker=names.w1, boot=names.a, task_id="t1")
        later = timezone.now() + timedelta(minutes=2)  # no heartbeat of boot-a, the claim two beats old

        caches["default"].set(health.HEARTBEATS_SINCE_KEY, later.timestamp() - 30, None)  # Redis back 30 s ago
        assert outbox.lost_claims(later) == []  # live workers' heartbeats may still be coming back

        caches["default"].set(health.HEARTBEATS_SINCE_KEY, later.timestamp() - 3600, None)
        assert len(outbox.lost_claims(later)) == 1
        assert outbox.lost_claims(timezone.now()) == []  # a young claim: the first heartbeat may be on its way

        with redis_down(monkeypatch):
            assert outbox.lost_claims(later) == []  # the cache cannot say: nothing is taken for lost

    def test_two_live_workers_of_one_name_do_not_take_each_other_for_gone(self, names, request_row, caplog):
        now = time.time()
        outbox.claim(request_row.pk, worker=names.w1, boot=names.a, task_id="t1")
        beat(names.w1, names.a, started=now - 600, at=now - 20)
        beat(names.w1, names.b, started=now - 60)  # started before boot-a's last beat
        assert outbox.lost_claims() == []
        assert f"Two workers named {names.w1} are running" in caplog.text

    def test_the_sweep_sends_a_lost_request_once_and_drops_the_gone_workers_claim(
        self, names, request_row, heartbeats_long_since, monkeypatch, caplog
    ):
        sent = []
        monkeypatch.setattr(outbox.queue, "publish", lambda send, what: sent.append(what) or True)
        now = time.time()
        outbox.claim(request_row.pk, worker=names.w1, boot=names.a, task_id="t1")
        outbox.claim(request_row.pk, worker=names.w2, boot=names.c, task_id="t2")  # another chunk
        beat(names.w2, names.c, started=now - 600)
        beat(names.w1, names.a, started=now - 600, at=now - 5)
        assert outbox.sweep()["requests"] == 0  # sent a moment ago, both workers at it

        beat(names.w1, names.b, started=now)
        lost = outbox.lost_claims()
        assert outbox.sweep()["sent"] == 1
        assert len(sent) == 1
        assert "taken up by a worker that is gone; sent again" in caplog.text
        assert list(RecomputeClaim.objects.values_list("worker", flat=True)) == [names.w2]
        assert RecomputeRequest.objects.get(pk=request_row.pk).send_count == 1
        assert outbox.sweep()["requests"] == 0  # once
        # A sweep that found the claim lost before this one sent the request again does not send it twice.
        assert not outbox.due_requests(timezone.now(), lost).exists()

    def test_late_data_claimed_by_a_worker_that_is_gone_is_run_again(self, names, settings):
        settings.SCORING_LATE_DATA_DEBOUNCE_SECONDS = 0
        settings.SCORING_OUTBOX_RESEND_SECONDS = 3600
        event = ended_event()
        person = attendees(event, 1)[0]
        PendingRecompute.objects.create(event=event, contact=person, claimed_at=timezone.now(),
                                        worker=names.w1, worker_boot=names.a)
        now = time.time()
        beat(names.w1, names.a, started=now - 600, at=now - 5)
        assert outbox.waiting_late_data_events() == []  # its run is at work

        beat(names.w1, names.b, started=now)  # restarted mid-run
        assert outbox.waiting_late_data_events() == [event.pk]

        sweep_outbox_task.delay()  # eager: the run goes, the rows with it
        assert not PendingRecompute.objects.exists()
        assert ContactScore.objects.filter(contact=person).exists()

    def test_a_late_data_run_on_a_worker_names_it_in_its_claim(self, names, monkeypatch):
        from ror_crm.celery import WORKER_BOOT
        from scoring.tasks import recompute_late_data_task

        event = ended_event()
        PendingRecompute.objects.create(event=event, contact=attendees(event, 1)[0])
        seen = []

        def dies_midway(*args, **kwargs):  # the claims as the run leaves them when killed here
            seen.extend(PendingRecompute.objects.values_list("worker", "worker_boot"))
            raise SystemExit

        monkeypatch.setattr("scoring.services.late_data.late_data_referrers", dies_midway)
        recompute_late_data_task.push_request(hostname=names.w1, is_eager=False)
        try:
            with pytest.raises(SystemExit):
                recompute_late_data_task.run(event.pk)
        finally:
            recompute_late_data_task.pop_request()
        assert seen == [(names.w1, WORKER_BOOT)]


@pytest.mark.django_db(transaction=True)
def test_a_claim_of_a_request_done_meanwhile_is_nothing():

    row = RecomputeRequest.objects.create(kind=RecomputeKind.METRICS, event=ended_event())
    row_id = row.pk
    row.delete()  # the work ran (outbox.done()) before this task's claim

    outbox.claim(row_id, worker="worker-1@host", boot="boot-a", task_id="t1")
    assert not RecomputeClaim.objects.exists()
