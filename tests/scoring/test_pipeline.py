"""From "the event is over" to scores, snapshots and metrics: the triggers and tasks.

The first tests run the tasks in-process (eager Celery); the last ones go through Redis to a
real worker process on the PostgreSQL test database, as in production.
"""

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Contact
from events import services as event_services
from events.models import Attendance, Event, EventSeries, Interaction
from scoring.models import ContactScore, EventMetrics, PendingRecompute, RecomputeRequest, ScoreSnapshot
from scoring.services import (
    active_parameters,
    all_contact_id_chunks,
    compute_event_metrics,
    compute_scores,
    recompute_contacts,
    writes,
)
from scoring.services.recompute import even_chunks
from scoring.services.writes import ContactsLocked, save_scores
from scoring.signals import event_metrics_updated
from scoring.tasks import compute_event_metrics_task, nightly_recompute_task, recompute_late_data_task


def make_event(name="Summit", **fields) -> Event:
    ends_at = fields.pop("ends_at", timezone.now() - timedelta(hours=2))
    return Event.objects.create(name=name, starts_at=ends_at - timedelta(hours=8), ends_at=ends_at, **fields)


def make_attendees(event: Event, count: int, status="attended") -> list[Contact]:
    people = [Contact.objects.create(email=f"{status}{n}-{event.pk}@example.com") for n in range(count)]
    Attendance.objects.bulk_create(Attendance(event=event, contact=person, status=status) for person in people)
    return people


@pytest.mark.django_db
class TestInProcess:
    def test_completing_an_event_scores_its_attendees_and_computes_its_metrics(self, django_capture_on_commit_callbacks):
        event = make_event()
        attendees = make_attendees(event, 3)
        no_show = make_attendees(event, 1, status="no_show")[0]

        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)

        scores = ContactScore.objects.filter(contact__in=[*attendees, no_show])
        assert scores.count() == 4
        assert {score.events_attended for score in scores if score.contact_id != no_show.pk} == {1}
        # Every first score is history, the no-show's 0.0 included.
        assert ScoreSnapshot.objects.filter(trigger="event", trigger_event=event).count() == 4
        metrics = EventMetrics.objects.get(event=event)
        assert (metrics.attended, metrics.no_shows, metrics.new_attendees) == (3, 1, 3)
        assert metrics.relationship_lift == pytest.approx(21.8, abs=0.2)  # from no score to a fresh single attendance

    def test_completing_an_earlier_edition_after_a_later_one_gives_the_later_its_retention(
        self, django_capture_on_commit_callbacks
    ):
        series = EventSeries.objects.create(name="Forum")
        first = make_event("Forum 1", series=series, ends_at=timezone.now() - timedelta(days=60))
        second = make_event("Forum 2", series=series)
        kim, lea = make_attendees(first, 2)
        Attendance.objects.create(event=second, contact=lea, status="attended")
        make_attendees(second, 1)
        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(second)
        assert EventMetrics.objects.get(event=second).series_retention_rate is None  # no completed edition before

        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(first)

        metrics = EventMetrics.objects.get(event=second)
        # S = 2 came to the first, E = 2 to the second, N = 1 of them new to the series: ((2 − 1) / 2) × 100
        assert (metrics.previous_edition_id, metrics.retained_attendees, metrics.series_retention_rate) == (
            first.pk, 1, 50.0)

    def test_editing_a_completed_event_recomputes_what_read_the_old_values(self, django_capture_on_commit_callbacks):
        event = make_event(cost=Decimal("1000.00"))
        anna = make_attendees(event, 1)[0]
        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)
        before = ContactScore.objects.get(contact=anna)

        with django_capture_on_commit_callbacks(execute=True):
            event_services.update_event(event, cost=Decimal("2000.00"))
        assert EventMetrics.objects.get(event=event).cost == Decimal("2000.00")

        # 60 days earlier: the attendance has decayed, as a score computed now with it says.
        with django_capture_on_commit_callbacks(execute=True):
            event_services.update_event(event, starts_at=event.starts_at - timedelta(days=60),
                                        ends_at=event.ends_at - timedelta(days=60))
        after = ContactScore.objects.get(contact=anna)
        assert after.score < before.score
        assert after.score == pytest.approx(compute_scores([anna.pk], after.computed_at, active_parameters())[0].score, abs=1e-9)

    def test_a_name_change_recomputes_nothing(self, django_capture_on_commit_callbacks):
        event = make_event()
        make_attendees(event, 1)
        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            event_services.update_event(event, name="Summit 2026", venue="Elbphilharmonie")
        assert callbacks == []

    def test_moving_a_completed_edition_to_another_series_refreshes_both_series(self, django_capture_on_commit_callbacks):
        forum, expo = EventSeries.objects.create(name="Forum"), EventSeries.objects.create(name="Expo")
        first = make_event("Forum 1", series=forum, ends_at=timezone.now() - timedelta(days=60))
        second = make_event("Forum 2", series=forum)
        kim = make_attendees(first, 1)[0]
        Attendance.objects.create(event=second, contact=kim, status="attended")
        for edition in (first, second):
            with django_capture_on_commit_callbacks(execute=True):
                event_services.complete_event(edition)
        assert EventMetrics.objects.get(event=second).series_retention_rate == 100.0
        assert ContactScore.objects.get(contact=kim).current_streak == 2

        with django_capture_on_commit_callbacks(execute=True):
            event_services.update_event(first, series=expo)

        assert EventMetrics.objects.get(event=second).series_retention_rate is None  # no earlier Forum edition
        assert ContactScore.objects.get(contact=kim).current_streak == 1

    def test_the_median_hours_to_the_first_follow_up_count_one_done_before_the_end_as_0(
        self, django_capture_on_commit_callbacks
    ):
        event = make_event(ends_at=timezone.now() - timedelta(days=3))
        early, late, none = make_attendees(event, 3)
        for person, hours in ((early, -2), (late, 10)):
            contact_services.create_follow_up(contact=person, event=event, status="done",
                                              completed_at=event.ends_at + timedelta(hours=hours))
        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)

        metrics = EventMetrics.objects.get(event=event)
        assert metrics.median_first_followup_hours == 5.0  # median of 0 and 10, not of −2 and 10
        assert (metrics.followup_coverage, metrics.followed_up_within_48h_share) == (2 / 3, 2 / 3)

    def test_late_data_recomputes_the_affected_contact_once(self, django_capture_on_commit_callbacks):
        event = make_event()
        anna, ben = make_attendees(event, 2)
        with django_capture_on_commit_callbacks(execute=True):
            event = event_services.complete_event(event)
        before = ContactScore.objects.get(contact=anna).score

        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(2):  # two pieces of late data for one contact, one recompute
                contact_services.create_follow_up(contact=anna, event=event, status="done", outcome="positive")

        late = ScoreSnapshot.objects.filter(trigger="late_data")
        assert list(late.values_list("contact_id", flat=True)) == [anna.pk]
        assert late.get().score > before
        assert not ScoreSnapshot.objects.filter(contact=ben, trigger="late_data").exists()
        assert not PendingRecompute.objects.exists()
        assert EventMetrics.objects.get(event=event).followup_coverage == 0.5

    def test_data_of_an_event_that_has_ended_waits_for_its_completion(self, django_capture_on_commit_callbacks):
        event = make_event(status="planned")
        anna, ben, cleo = make_attendees(event, 3)
        dora = Contact.objects.create(email="dora@example.com")  # followed up, never registered
        with django_capture_on_commit_callbacks(execute=True):
            event_services.check_in(event, emails=[ben.email])
            contact_services.create_follow_up(contact=anna, event=event, status="planned")
            for person in (cleo, dora):
                contact_services.create_follow_up(contact=person, event=event, status="done", outcome="positive")

        # Ended but not completed: every touch at it, follow-ups too, waits for its completion,
        # which then scores all of them with the event as the trigger of their history.
        assert not PendingRecompute.objects.exists()
        assert not ContactScore.objects.exists()
        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)
        assert set(ScoreSnapshot.objects.values_list("contact_id", "trigger", "trigger_event")) == {
            (person.pk, "event", event.pk) for person in (anna, ben, cleo, dora)}

    def test_registrations_for_an_event_ahead_rescore_their_contacts_alone(self, django_capture_on_commit_callbacks):
        event = make_event(status="planned", ends_at=timezone.now() + timedelta(days=30))
        anna = Contact.objects.create(email="anna@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            event_services.create_attendance(event=event, contact=anna, status="registered")

        # No late data and no metrics for the event; the contact's next best action reads
        # registrations (an invitation is not due for an edition they registered for).
        assert not PendingRecompute.objects.exists()
        assert not EventMetrics.objects.exists()
        assert ContactScore.objects.get(contact=anna).events_registered == 0  # not known before the event

    def test_a_follow_up_of_an_event_ahead_or_of_none_rescores_its_contact_at_once(
        self, django_capture_on_commit_callbacks
    ):
        ahead = make_event(status="planned", ends_at=timezone.now() + timedelta(days=10))
        anna = make_attendees(ahead, 1)[0]
        ben = Contact.objects.create(email="ben@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            contact_services.create_follow_up(contact=anna, event=ahead, status="planned",
                                              due_at=ahead.ends_at + timedelta(days=1))
            called = contact_services.create_follow_up(contact=ben, status="done", outcome="positive")

        assert not PendingRecompute.objects.exists()  # no late data: no event with metrics
        assert ContactScore.objects.get(contact=ben).last_touch_at == called.completed_at
        # Anna's planned follow-up moves her next action: scored at once too
        assert set(ScoreSnapshot.objects.values_list("contact_id", "trigger")) == {
            (anna.pk, "late_data"), (ben.pk, "late_data")}

    def test_completing_twice_and_recomputing_again_changes_nothing(self, django_capture_on_commit_callbacks):
        event = make_event()
        make_attendees(event, 3)
        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(event)
        scores = list(ContactScore.objects.values_list("contact_id", "score", "stage").order_by("contact_id"))
        snapshots = ScoreSnapshot.objects.count()

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            event_services.complete_event(event)
        assert callbacks == []  # nothing queued the second time
        with django_capture_on_commit_callbacks(execute=True):
            call_command("recompute_scores", "--event", str(event.pk), stdout=StringIO(), verbosity=0)

        assert list(ContactScore.objects.values_list("contact_id", "score", "stage").order_by("contact_id")) == scores
        assert ScoreSnapshot.objects.count() == snapshots

    def test_an_older_result_never_overwrites_a_newer_one(self):
        event = make_event(status="completed", completed_at=timezone.now())
        anna = make_attendees(event, 1)[0]
        now = timezone.now()
        recompute_contacts([anna.pk], as_of=now)
        newer = ContactScore.objects.get(contact=anna)

        result = recompute_contacts([anna.pk], as_of=now - timedelta(days=400))  # a late, stale task

        assert result["changed"] == 0
        stored = ContactScore.objects.get(contact=anna)
        assert (stored.computed_at, stored.score) == (newer.computed_at, newer.score)
        assert ScoreSnapshot.objects.filter(contact=anna).count() == 1


@pytest.mark.django_db
class TestDeletedMeanwhile:
    """Rows deleted by another request between computing a chunk and writing it."""

    def test_a_contact_deleted_meanwhile_drops_out_of_the_chunk(self):
        event = make_event(status="completed", completed_at=timezone.now())
        anna, ben = make_attendees(event, 2)
        results = compute_scores([anna.pk, ben.pk], timezone.now(), active_parameters())
        ben.delete()

        changes = save_scores(results, trigger="event", trigger_event_id=event.pk)

        assert [change["contact_id"] for change in changes] == [anna.pk]
        assert list(ContactScore.objects.values_list("contact_id", flat=True)) == [anna.pk]

    def test_an_event_deleted_meanwhile_leaves_the_snapshots_without_it(self):
        event = make_event(status="completed", completed_at=timezone.now())
        [anna] = make_attendees(event, 1)
        results = compute_scores([anna.pk], timezone.now(), active_parameters())
        Event.objects.filter(pk=event.pk).delete()

        save_scores(results, trigger="late_data", trigger_event_id=event.pk)

        assert list(ScoreSnapshot.objects.values_list("contact_id", "trigger_event")) == [(anna.pk, None)]
        assert compute_event_metrics(event.pk) is None
        assert not EventMetrics.objects.exists()

    def test_no_metrics_update_is_announced_for_an_event_that_is_gone(self, django_capture_on_commit_callbacks):
        event = make_event(status="completed", completed_at=timezone.now())
        Event.objects.filter(pk=event.pk).delete()
        announced = []

        def receiver(sender, event_id, **kwargs):
            announced.append(event_id)

        event_metrics_updated.connect(receiver)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                compute_event_metrics_task(event.pk)
                recompute_late_data_task(event.pk)
        finally:
            event_metrics_updated.disconnect(receiver)

        assert announced == []


@pytest.mark.django_db
class TestAllContacts:
    def test_ranges_hold_the_chunk_size_of_contacts_and_cover_every_one(self):
        people = make_attendees(make_event(), 10)
        for gone in people[2:5]:
            gone.delete()
        remaining = sorted(person.pk for person in people[:2] + people[5:])

        chunks = list(all_contact_id_chunks(3))

        assert all(isinstance(ids, range) and ids.step == 1 for ids in chunks)
        assert [[pk for pk in remaining if pk in ids] for ids in chunks] == [remaining[:3], remaining[3:6], remaining[6:]]
        assert chunks[0].start == 1
        assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:], strict=False))
        assert chunks[-1][-1] == remaining[-1]

    def test_no_contacts_no_chunks(self):
        assert list(all_contact_id_chunks(100)) == []

    def test_an_events_contacts_fan_out_in_chunks_of_equal_length(self):
        """5,401 contacts in chunks of at most 5,000: two of 2,701 and 2,700, not 5,000 and 401,
        so that two workers finish together; in order, each id once."""
        ids = list(range(1, 5402))
        chunks = even_chunks(ids, 5000)
        assert [len(chunk) for chunk in chunks] == [2701, 2700]
        assert [contact_id for chunk in chunks for contact_id in chunk] == ids
        assert [len(chunk) for chunk in even_chunks(ids[:10], 3)] == [3, 3, 2, 2]
        assert even_chunks(ids[:5000], 5000) == [ids[:5000]]
        assert even_chunks([], 5000) == []

    def test_a_range_of_sparse_ids_is_split_by_contacts_not_by_ids(self, monkeypatch):
        """A nightly chunk's range holds the chunk size of contacts, but may span many more ids
        (deleted contacts, spent ids): it must not run an empty chunk per `size` ids."""
        from scoring.services import recompute as recompute_module

        people = make_attendees(make_event(status="completed", completed_at=timezone.now()), 40)
        for gone in people[1:-3]:
            gone.delete()
        kept = [people[0].pk, *(person.pk for person in people[-3:])]
        chunks_read = []
        compute_scores = recompute_module.compute_scores
        monkeypatch.setattr(recompute_module, "compute_scores",
                            lambda chunk, *args, **kwargs: chunks_read.append(chunk) or compute_scores(chunk, *args, **kwargs))

        assert recompute_contacts(range(kept[0], kept[-1] + 1), chunk_size=2)["contacts"] == 4
        assert len(chunks_read) == 2  # 4 contacts in chunks of 2, whatever the 40 ids between
        assert set(ContactScore.objects.values_list("contact_id", flat=True)) == set(kept)

    def test_the_nightly_task_scores_every_contact(self, settings):
        settings.SCORING_CHUNK_SIZE = 2
        event = make_event(status="completed", completed_at=timezone.now())
        people = make_attendees(event, 5)
        people[1].delete()

        assert nightly_recompute_task.delay().get() == 2  # ranges of two contacts each

        assert set(ContactScore.objects.values_list("contact_id", flat=True)) == {p.pk for p in people if p.pk}
        assert set(ScoreSnapshot.objects.values_list("trigger", flat=True)) == {"nightly"}
        assert not ScoreSnapshot.objects.filter(trigger_event__isnull=False).exists()


def history_score(contact: Contact, event: Event) -> float:
    return ScoreSnapshot.objects.get(contact=contact, trigger_event=event).score


@pytest.mark.django_db
class TestRecomputeScoresCommand:
    def test_all_with_an_as_of_time(self):
        event = make_event(ends_at=datetime(2026, 5, 1, 18, tzinfo=UTC), status="completed",
                           completed_at=datetime(2026, 5, 1, 18, tzinfo=UTC))
        make_attendees(event, 4)
        out = StringIO()

        call_command("recompute_scores", "--all", "--as-of", "2026-05-01T18:00:00+00:00", "--chunk-size", "3",
                     "--with-metrics", stdout=out, verbosity=0)

        assert "Recomputed 4 contacts as of 2026-05-01T18:00:00+00:00: 4 changed, 1 event metrics" in out.getvalue()
        assert set(ContactScore.objects.values_list("score", flat=True)) == {21.8}
        assert EventMetrics.objects.filter(event=event).exists()

    def test_replaying_events_scores_each_as_of_its_completion_then_all_as_of_now(self):
        """Data loaded past the services (the demo): history and lift as if each event had been completed live."""
        now = timezone.now()
        first = make_event("Summit 1", ends_at=now - timedelta(days=60), status="completed",
                           completed_at=now - timedelta(days=59))
        second = make_event("Summit 2", ends_at=now - timedelta(days=10), status="completed",
                            completed_at=now - timedelta(days=9))
        anna = make_attendees(first, 1)[0]
        Attendance.objects.create(event=second, contact=anna, status="attended")
        out = StringIO()

        call_command("recompute_scores", "--all", "--replay-events", "--with-metrics", stdout=out, verbosity=0)

        assert "Replayed 2 completed events as of their completion." in out.getvalue()
        history = list(ScoreSnapshot.objects.filter(contact=anna).order_by("computed_at")
                       .values_list("trigger", "trigger_event_id", "computed_at"))
        assert history[:2] == [("event", first.pk, first.completed_at), ("event", second.pk, second.completed_at)]
        assert len(history) == 2  # then decayed to now: no snapshot for decay alone
        assert ContactScore.objects.get(contact=anna).computed_at > second.completed_at
        # the lift: with the event minus without it, both as of its completion (not the stored history)
        [without] = compute_scores([anna.pk], second.completed_at, active_parameters(), without_event=second.pk)
        lift = EventMetrics.objects.get(event=second).relationship_lift
        assert lift == round(history_score(anna, second) - without.score, 2)
        with pytest.raises(CommandError, match="--replay-events goes with --all"):
            call_command("recompute_scores", "--contact", str(anna.pk), "--replay-events", stdout=out, verbosity=0)

    def test_by_contact(self):
        event = make_event(status="completed", completed_at=timezone.now())
        anna, ben = make_attendees(event, 2)
        out = StringIO()
        call_command("recompute_scores", "--contact", str(anna.pk), stdout=out, verbosity=0)
        assert "Recomputed 1 contacts" in out.getvalue()
        assert list(ContactScore.objects.values_list("contact_id", flat=True)) == [anna.pk]

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["--all", "--as-of", "yesterday"], "--as-of must be an ISO 8601 time"),
            (["--all", "--as-of", "2999-01-01T00:00:00+00:00"], "--as-of must not be in the future"),
            (["--all", "--chunk-size", "0"], "--chunk-size must be between 1 and 100000"),
            (["--event", "999999"], "No event with id 999999"),
            (["--contact", "999998", "999999"], "No contact with id 999998, 999999"),
        ],
    )
    def test_bad_arguments_are_clear_errors(self, arguments, message):
        with pytest.raises(CommandError, match=message):
            call_command("recompute_scores", *arguments, stdout=StringIO(), verbosity=0)
        assert not ContactScore.objects.exists()

    def test_a_target_is_required(self):
        with pytest.raises(CommandError, match="one of the arguments --all --event --contact is required"):
            call_command("recompute_scores", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_two_recomputes_of_the_same_contacts_at_once_end_consistent():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time anyway")
    # A transactional test before this one flushed the migration's default profile: make it
    # again here, so the race below is the recompute's, whatever ran before.
    active_parameters()
    event = make_event(status="completed", completed_at=timezone.now())
    contact_ids = [person.pk for person in make_attendees(event, 300)]
    as_of = timezone.now()
    start = threading.Barrier(2)
    errors = []

    def recompute(ids):
        try:
            start.wait()
            recompute_contacts(ids, as_of=as_of, chunk_size=50)
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=recompute, args=(ids,)) for ids in (contact_ids, contact_ids[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ContactScore.objects.filter(computed_at=as_of).count() == 300
    assert ScoreSnapshot.objects.count() == 300  # each first score recorded once, not once per writer


@pytest.mark.django_db
def test_a_chunk_write_holds_as_many_server_locks_for_ten_contacts_as_for_a_thousand():
    """PostgreSQL's shared lock table holds about 64 locks per connection: a lock per contact
    (advisory locks) ran it out ("out of shared memory") once three workers wrote chunks at
    once. Row locks live in the rows; the locks left are the tables' and indexes'."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no lock table")
    event = make_event(status="completed", completed_at=timezone.now())
    people = make_attendees(event, 1000)

    def locks_held_by_a_write(contacts: list[Contact]) -> int:
        results = compute_scores([person.pk for person in contacts], timezone.now(), active_parameters())
        with transaction.atomic():
            save_scores(results, trigger="manual")
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()")
                return cursor.fetchone()[0]

    assert locks_held_by_a_write(people[:10]) == locks_held_by_a_write(people)


class HeldContacts:
    """Another connection's open transaction that has updated these contacts (as a request
    editing them does) and holds them until release()."""

    def __init__(self, *contacts: Contact):
        self.connection = connections.create_connection("default")
        self.connection.set_autocommit(False)
        with self.connection.cursor() as cursor:
            for contact in contacts:
                cursor.execute("UPDATE contacts_contact SET job_title = 'held' WHERE id = %s", [contact.pk])

    def update(self, contact: Contact) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("UPDATE contacts_contact SET job_title = 'held' WHERE id = %s", [contact.pk])

    def release(self) -> None:
        self.connection.commit()
        self.connection.close()


@pytest.mark.django_db(transaction=True)
class TestContactsLockedByARequest:
    @pytest.fixture(autouse=True)
    def postgresql_only(self):
        if connection.vendor != "postgresql":
            pytest.skip("SQLite runs one writer at a time")

    def test_a_chunk_gives_way_to_a_request_editing_its_contacts_and_writes_after_it(self):
        event = make_event(status="completed", completed_at=timezone.now())
        anna, ben = make_attendees(event, 2)
        results = compute_scores([anna.pk, ben.pk], timezone.now(), active_parameters())
        request = HeldContacts(ben)
        written = []
        chunk = threading.Thread(target=lambda: (written.extend(save_scores(results, trigger="manual")),
                                                 connection.close()))
        chunk.start()
        time.sleep(0.3)  # the chunk finds Ben locked and waits, holding nothing
        request.update(anna)  # would deadlock with a chunk holding Anna while waiting for Ben
        request.release()
        chunk.join(timeout=30)

        assert sorted(change["contact_id"] for change in written) == [anna.pk, ben.pk]
        assert ContactScore.objects.count() == 2
        assert set(Contact.objects.values_list("job_title", flat=True)) == {"held"}

    def test_a_chunk_whose_contacts_stay_locked_gives_up_and_writes_nothing(self, monkeypatch):
        monkeypatch.setattr(writes, "LOCK_ATTEMPTS", 3)
        monkeypatch.setattr(writes, "FIRST_LOCK_PAUSE_SECONDS", 0.01)
        event = make_event(status="completed", completed_at=timezone.now())
        anna, ben = make_attendees(event, 2)
        results = compute_scores([anna.pk, ben.pk], timezone.now(), active_parameters())
        request = HeldContacts(ben)
        try:
            with pytest.raises(ContactsLocked):
                save_scores(results, trigger="manual")
        finally:
            request.release()

        assert not ContactScore.objects.exists()
        assert not ScoreSnapshot.objects.exists()

    def test_late_data_finding_its_contacts_locked_waits_for_the_next_run(self, monkeypatch):
        monkeypatch.setattr(writes, "LOCK_ATTEMPTS", 2)
        monkeypatch.setattr(writes, "FIRST_LOCK_PAUSE_SECONDS", 0.01)
        event = make_event(status="completed", completed_at=timezone.now())
        [anna] = make_attendees(event, 1)
        PendingRecompute.objects.create(event=event, contact=anna)
        scheduled = []  # eager Celery would run the next run at once, and find Anna locked again
        monkeypatch.setattr(recompute_late_data_task, "apply_async", lambda args, countdown: scheduled.append(args))
        request = HeldContacts(anna)
        try:
            assert recompute_late_data_task(event.pk) == 0
        finally:
            request.release()

        assert scheduled == [(event.pk,)]
        assert list(PendingRecompute.objects.values_list("contact_id", flat=True)) == [anna.pk]
        assert not ContactScore.objects.exists()
        recompute_late_data_task(event.pk)
        assert ContactScore.objects.filter(contact=anna).exists()
        assert not PendingRecompute.objects.exists()


# The real stack: Redis broker, a worker process, PostgreSQL --------------------------------


def wait_for(condition, *, timeout: float = 60, what: str, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    log = worker.log()[-3000:] if worker else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{log}")


@pytest.mark.services
def test_the_worker_scores_a_completed_event_and_debounces_late_data(live_worker, settings):
    settings.SCORING_LATE_DATA_DEBOUNCE_SECONDS = 2
    event = make_event(name="Live summit")
    attendees = make_attendees(event, 5)
    anna = attendees[0]

    event = event_services.complete_event(event)  # commits; recompute_event_task goes through Redis

    metrics = wait_for(lambda: EventMetrics.objects.filter(event=event).first(), what="event metrics", worker=live_worker)
    assert metrics.attended == 5
    assert ContactScore.objects.filter(contact__in=attendees).count() == 5
    assert ScoreSnapshot.objects.filter(trigger="event", trigger_event=event).count() == 5
    assert live_worker.wait_for_log("scoring.recompute_event"), live_worker.log()[-2000:]
    before = ContactScore.objects.get(contact=anna).score

    # Late data: two follow-ups in separate requests inside one debounce window.
    contact_services.create_follow_up(contact=anna, event=event, status="done", outcome="positive")
    contact_services.create_follow_up(contact=anna, event=event, status="done", outcome="neutral")

    late = wait_for(lambda: ScoreSnapshot.objects.filter(contact=anna, trigger="late_data").first(),
                    what="the late-data recompute", worker=live_worker)
    wait_for(lambda: not PendingRecompute.objects.exists(), what="the pending rows to be claimed", worker=live_worker)
    time.sleep(settings.SCORING_LATE_DATA_DEBOUNCE_SECONDS + 1)  # a second, duplicate run would land by now
    assert ScoreSnapshot.objects.filter(trigger="late_data").count() == 1
    assert late.score > before
    assert ContactScore.objects.get(contact=anna).score == late.score
    wait_for(lambda: EventMetrics.objects.get(event=event).followup_coverage == 0.2,
             what="the refreshed follow-up coverage", worker=live_worker)

    # Running the event's recompute again changes nothing.
    from scoring.tasks import recompute_event_task

    snapshots = ScoreSnapshot.objects.count()
    scores = list(ContactScore.objects.values_list("contact_id", "score", "stage").order_by("contact_id"))
    metrics_computed_at = EventMetrics.objects.get(event=event).computed_at
    recompute_event_task.delay(event.pk)
    # The metrics run last in the chord: once they are newer, every chunk has been written.
    wait_for(lambda: EventMetrics.objects.get(event=event).computed_at > metrics_computed_at,
             what="the second event recompute", worker=live_worker)
    assert ScoreSnapshot.objects.count() == snapshots
    assert list(ContactScore.objects.values_list("contact_id", "score", "stage").order_by("contact_id")) == scores


@pytest.mark.django_db
def test_touchpoints_thousands_of_half_lives_old_weigh_nothing_instead_of_failing():
    """PostgreSQL's POWER() raises on underflow: 0.5 ** 1,500 half-lives must still be 0."""
    from dataclasses import replace

    event = make_event(ends_at=datetime(1901, 5, 1, 18, tzinfo=UTC), status="completed",
                       completed_at=datetime(1901, 5, 1, 18, tzinfo=UTC))
    [anna] = make_attendees(event, 1)
    params = replace(active_parameters(), half_life_days=30.0)

    [result] = compute_scores([anna.pk], timezone.now(), params)

    assert result.components["attendance"] == 0
    assert result.events_attended == 1


@pytest.mark.django_db
def test_deleting_a_contact_recomputes_the_metrics_of_its_events_and_the_scores_of_whom_it_met(
    django_capture_on_commit_callbacks,
):
    event = make_event(status="completed", completed_at=timezone.now())
    anna, ben, cleo = make_attendees(event, 3)
    Interaction.objects.create(event=event, contact=anna, counterpart=ben, kind="meeting",
                               occurred_at=event.ends_at - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        event_services.complete_event(event)  # already completed: nothing queued
        compute_event_metrics(event.pk)
        recompute_contacts([anna.pk, ben.pk, cleo.pk])
    ben_before = ContactScore.objects.get(contact=ben).components["networking"]
    assert EventMetrics.objects.get(event=event).attended == 3

    with django_capture_on_commit_callbacks(execute=True):
        contact_services.delete_contact(anna)

    assert EventMetrics.objects.get(event=event).attended == 2
    assert ContactScore.objects.get(contact=ben).components["networking"] < ben_before
    assert ScoreSnapshot.objects.filter(contact=ben, trigger="late_data").exists()


def two_completed_editions(now) -> tuple[EventSeries, Event, Event]:
    series = EventSeries.objects.create(name="Summit")
    first = make_event("Summit 1", series=series, ends_at=now - timedelta(days=300), status="completed",
                       completed_at=now - timedelta(days=299))
    second = make_event("Summit 2", series=series, ends_at=now - timedelta(days=30), status="completed",
                        completed_at=now - timedelta(days=29))
    return series, first, second


@pytest.mark.django_db
def test_deleting_an_edition_or_the_series_recomputes_retention_and_the_contacts(django_capture_on_commit_callbacks):
    now = timezone.now()
    series, first, second = two_completed_editions(now)
    anna, ben = make_attendees(first, 2)
    Attendance.objects.create(event=second, contact=anna, status="attended")
    with django_capture_on_commit_callbacks(execute=True):
        for event in (first, second):
            compute_event_metrics(event.pk)
        recompute_contacts([anna.pk, ben.pk])
    assert EventMetrics.objects.get(event=second).series_retention_rate == 50.0
    assert ContactScore.objects.get(contact=anna).series_attended == 1

    with django_capture_on_commit_callbacks(execute=True):
        event_services.delete_event(first)

    assert EventMetrics.objects.get(event=second).series_retention_rate is None  # no previous edition now
    assert ContactScore.objects.get(contact=ben).events_attended == 0

    with django_capture_on_commit_callbacks(execute=True):
        event_services.delete_series(series)

    assert ContactScore.objects.get(contact=anna).series_attended == 0
    assert EventMetrics.objects.get(event=second).computed_at > now


@pytest.mark.django_db(transaction=True)
class TestEventMetricsInOneSnapshot:
    @pytest.fixture(autouse=True)
    def postgresql_only(self):
        if connection.vendor != "postgresql":
            pytest.skip("SQLite runs one writer at a time")

    def test_the_figures_are_read_in_one_repeatable_read_snapshot(self, monkeypatch):
        from scoring.services import event_metrics

        event = make_event(status="completed", completed_at=timezone.now())
        make_attendees(event, 2)
        seen = []
        original = event_metrics._compute_event_metrics

        def compute(*args):
            with connection.cursor() as cursor:
                cursor.execute("SHOW transaction_isolation")
                seen.append(cursor.fetchone()[0])
            return original(*args)

        monkeypatch.setattr(event_metrics, "_compute_event_metrics", compute)
        assert compute_event_metrics(event.pk).attended == 2
        assert seen == ["repeatable read"]

    def test_an_event_changed_since_the_snapshot_began_is_read_again(self):
        event = make_event(status="completed", completed_at=timezone.now())
        make_attendees(event, 2)
        locked = threading.Event()

        def request_editing_the_event():
            request = connections.create_connection("default")
            request.set_autocommit(False)
            with request.cursor() as cursor:
                cursor.execute("UPDATE events_event SET venue = 'Hall B' WHERE id = %s", [event.pk])
            locked.set()
            time.sleep(0.5)
            request.commit()
            request.close()

        editor = threading.Thread(target=request_editing_the_event)
        editor.start()
        assert locked.wait(10)

        metrics = compute_event_metrics(event.pk)  # waits for the lock, then meets the commit

        editor.join(10)
        assert metrics.attended == 2
        assert Event.objects.get(pk=event.pk).venue == "Hall B"


    def test_two_computations_at_once_both_finish_and_the_later_as_of_stays(self, monkeypatch):
        """The second waits for the event's lock while the first inserts the event's first
        metrics row: once the first commits, the second's snapshot (begun before) cannot see
        that row and its insert collides; it starts again in a fresh snapshot and updates it."""
        from scoring.services import event_metrics

        active_parameters()  # made again if a transactional test before flushed it, not by both threads
        event = make_event(status="completed", completed_at=timezone.now() - timedelta(minutes=5))
        make_attendees(event, 2)
        computed, release = threading.Event(), threading.Event()
        original = event_metrics._compute_event_metrics

        def compute(*args):
            metrics = original(*args)
            if threading.current_thread().name == "first":
                computed.set()
                release.wait(10)  # the first's transaction stays open, the event locked
            return metrics

        monkeypatch.setattr(event_metrics, "_compute_event_metrics", compute)
        earlier, later = timezone.now() - timedelta(minutes=1), timezone.now()

        def first_computation():
            try:
                compute_event_metrics(event.pk, as_of=earlier)
            finally:
                connection.close()

        first = threading.Thread(target=first_computation, name="first")
        first.start()
        assert computed.wait(10)
        threading.Timer(0.5, release.set).start()  # while the second waits for the lock

        metrics = compute_event_metrics(event.pk, as_of=later)

        first.join(10)
        assert (metrics.computed_at, metrics.attended) == (later, 2)
        assert EventMetrics.objects.get(event=event).computed_at == later


@pytest.mark.django_db
def test_late_data_also_recomputes_the_events_whose_figures_read_it(django_capture_on_commit_callbacks):
    """A late attendee of edition 1 who also came to edition 2: edition 2's retention and new attendees change."""
    now = timezone.now()
    _, first, second = two_completed_editions(now)
    anna, ben = make_attendees(first, 2)
    cleo = make_attendees(second, 1)[0]
    Attendance.objects.create(event=second, contact=anna, status="attended")
    with django_capture_on_commit_callbacks(execute=True):
        for event in (first, second):
            compute_event_metrics(event.pk)
    before = EventMetrics.objects.get(event=second)
    assert (before.series_retention_rate, before.new_attendees) == (50.0, 1)  # anna came back; cleo is new

    with django_capture_on_commit_callbacks(execute=True):
        event_services.create_attendance(event=first, contact=cleo, status="attended")  # late data of edition 1

    after = EventMetrics.objects.get(event=second)
    assert (after.series_retention_rate, after.new_attendees) == (pytest.approx(200 / 3), 0)  # (3 - 1) / 3
    assert EventMetrics.objects.get(event=first).attended == 3


def invited_to_the_next_edition(capture) -> tuple[EventSeries, Event, Contact]:
    """A series with two completed editions and a planned one, and a returning contact with consent
    whose stored next action invites them to it: the first edition and another event attended,
    so not an attendee of the edition before the planned one."""
    now = timezone.now()
    series, first, _second = two_completed_editions(now)
    planned = make_event("Summit 3", series=series, ends_at=now + timedelta(days=60), status="planned")
    loyal = Contact.objects.create(email="loyal@example.com", marketing_consent=True)
    for event in (first, make_event("Dinner", ends_at=now - timedelta(days=100), status="completed",
                                    completed_at=now - timedelta(days=100))):
        Attendance.objects.create(event=event, contact=loyal, status="attended")
    with capture(execute=True):
        recompute_contacts([loyal.pk])
    invitation = ContactScore.objects.get(contact=loyal).next_action_figures["next_edition"]
    assert (invitation["id"], invitation["series"]) == (planned.pk, series.name)
    return series, planned, loyal


@pytest.mark.django_db
def test_deleting_a_planned_edition_rescores_the_contacts_invited_to_it(django_capture_on_commit_callbacks):
    _series, planned, loyal = invited_to_the_next_edition(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        event_services.delete_event(planned)  # not one of its contacts: only invited to it

    assert ContactScore.objects.get(contact=loyal).next_action != "invite"


@pytest.mark.django_db
def test_completing_the_edition_a_contact_is_invited_to_rescores_them_at_once(django_capture_on_commit_callbacks):
    """Not an attendee of it nor of the edition before: without this they kept inviting to a
    finished event until the nightly run."""
    _series, planned, loyal = invited_to_the_next_edition(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        event_services.complete_event(planned, force=True)

    score = ContactScore.objects.get(contact=loyal)
    assert score.next_action != "invite"
    assert "next_edition" not in score.next_action_figures


@pytest.mark.django_db
def test_renaming_a_series_rescores_the_contacts_invited_to_its_next_edition(django_capture_on_commit_callbacks):
    series, _planned, loyal = invited_to_the_next_edition(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        event_services.update_series(series, name="Summit Europe")

    assert ContactScore.objects.get(contact=loyal).next_action_figures["next_edition"]["series"] == "Summit Europe"
    with django_capture_on_commit_callbacks(execute=True):  # the same name again: nothing to re-score
        event_services.update_series(series, name="Summit Europe")
    assert not RecomputeRequest.objects.exists()
