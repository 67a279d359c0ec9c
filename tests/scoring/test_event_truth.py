"""What an event's completion tells: relationship lift as a counterfactual, computed by hand;
the people who did not come back re-scored in the same run and listed; no no-show rate
without check-in."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from events import selectors
from events import services as event_services
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from scoring.models import ContactScore, EventMetrics
from scoring.services import active_parameters, compute_event_metrics
from scoring.services.contact_scores import compute_scores

ENDS = datetime(2026, 3, 10, 18, tzinfo=UTC)
COMPLETED = ENDS + timedelta(hours=1)
EARLIER_ENDS = ENDS - timedelta(days=100)


def decay(days: float) -> float:
    return 0.5 ** (days / 180)


def sat(x: float, k: float) -> float:
    return 1 - math.exp(-x / k)


def score(attendance: float = 0, networking: float = 0, recency_days: float | None = None) -> float:
    """DOMAIN.md's default profile, written out: 0.30 attendance + 0.20 networking + 0.10 recency here."""
    recency = decay(recency_days) if recency_days is not None else 0.0
    return round(100 * (0.3 * sat(attendance, 2) + 0.2 * sat(networking, 4) + 0.1 * recency), 1)


@pytest.mark.django_db
def test_relationship_lift_is_with_the_event_minus_without_it_as_of_completion():
    earlier = Event.objects.create(name="Spring", starts_at=EARLIER_ENDS - timedelta(hours=8), ends_at=EARLIER_ENDS,
                                   status="completed", completed_at=EARLIER_ENDS)
    event = Event.objects.create(name="Summit", starts_at=ENDS - timedelta(hours=8), ends_at=ENDS,
                                 status="completed", completed_at=COMPLETED)
    anna, ben, carl = (Contact.objects.create(email=f"{name}@example.com") for name in ("anna", "ben", "carl"))
    Attendance.objects.create(event=event, contact=anna, status="attended")  # her first touchpoint
    Attendance.objects.create(event=earlier, contact=ben, status="attended")
    Attendance.objects.create(event=event, contact=ben, status="attended", role="speaker")
    Interaction.objects.create(event=event, contact=ben, kind="meeting", occurred_at=ENDS - timedelta(hours=2),
                               quality=5, duration_minutes=30)
    Attendance.objects.create(event=event, contact=carl, status="no_show")  # no attendee: not in the lift
    # after the completion: as of the completion it has not happened, so it changes nothing
    Interaction.objects.create(event=event, contact=anna, kind="meeting", occurred_at=COMPLETED + timedelta(days=3))

    metrics = compute_event_metrics(event.pk, as_of=timezone.now())

    hour = 1 / 24
    anna_with = score(attendance=decay(hour), recency_days=hour)
    anna_without = 0.0  # nothing else known of her
    ben_with = score(attendance=decay(100 + hour) + 1.5 * decay(hour), networking=decay(2 * hour + hour) * (5 / 3) * 1,
                     recency_days=hour)
    ben_without = score(attendance=decay(100 + hour), recency_days=100 + hour)
    lifts = sorted([anna_with - anna_without, ben_with - ben_without])
    assert metrics.relationship_lift == round(sum(lifts) / 2, 2)
    assert metrics.relationship_lift_median == round(sum(lifts) / 2, 2)  # the median of two is their mean
    assert metrics.relationship_lift_positive_share == 1.0
    # independent of when the recompute runs
    later = compute_event_metrics(event.pk, as_of=timezone.now() + timedelta(minutes=1))
    assert later.relationship_lift == metrics.relationship_lift


@pytest.mark.django_db
def test_the_event_recompute_takes_the_lift_its_chunks_computed(monkeypatch, settings):
    """The chunks (in parallel on the workers) compute the lift of their attendees; the metrics
    after them use it as it is, and compute it themselves only for an attendee it lacks."""
    from scoring.services import event_metrics
    from scoring.tasks import recompute_event_task

    settings.SCORING_CHUNK_SIZE = 2  # five contacts: three chunks
    event = Event.objects.create(name="Summit", starts_at=ENDS - timedelta(hours=8), ends_at=ENDS,
                                 status="completed", completed_at=COMPLETED)
    people = [Contact.objects.create(email=f"p{n}@example.com") for n in range(5)]
    for person in people[:4]:
        Attendance.objects.create(event=event, contact=person, status="attended")
    Attendance.objects.create(event=event, contact=people[4], status="no_show")
    Interaction.objects.create(event=event, contact=people[0], counterpart=people[1], occurred_at=ENDS - timedelta(hours=1),
                               quality=5)
    expected = compute_event_metrics(event.pk, as_of=COMPLETED + timedelta(days=1))
    EventMetrics.objects.all().delete()
    computed_by_the_metrics = []
    attendee_lifts = event_metrics.attendee_lifts

    def spy(event, attendee_ids, params=None):
        attendee_ids = set(attendee_ids)
        if attendee_ids:
            computed_by_the_metrics.append(attendee_ids)
        return attendee_lifts(event, attendee_ids, params)

    with monkeypatch.context() as patch:
        patch.setattr(event_metrics, "_compute_event_metrics", spying_on_the_metrics(event_metrics, spy))
        recompute_event_task.delay(event.pk, (COMPLETED + timedelta(days=1)).isoformat())  # eager: chunks, then the metrics
    metrics = EventMetrics.objects.get(event=event)
    assert computed_by_the_metrics == []  # every attendee's lift came from the chunks
    assert (metrics.relationship_lift, metrics.relationship_lift_median, metrics.relationship_lift_positive_share) == (
        expected.relationship_lift, expected.relationship_lift_median, expected.relationship_lift_positive_share)
    assert metrics.relationship_lift > 0

    partial = event_metrics.chunk_attendee_lifts(event.pk, [person.pk for person in people[:3]])
    assert sorted(partial) == [person.pk for person in people[:3]]  # attendees only, of these contacts
    assert event_metrics.chunk_attendee_lifts(event.pk, [people[4].pk]) == {}  # a no-show has no lift
    monkeypatch.setattr(event_metrics, "attendee_lifts", spy)
    again = compute_event_metrics(event.pk, as_of=COMPLETED + timedelta(days=2), lifts=partial)
    assert computed_by_the_metrics == [{people[3].pk}]  # only the attendee the chunks' lift lacked
    assert again.relationship_lift == expected.relationship_lift


@pytest.mark.django_db
def test_metrics_as_of_an_earlier_time_never_overwrite_later_ones():
    """A chord's metrics finishing after the late-data run's (computed as of a later time) leave
    the later figures, as a score's older result never overwrites a newer one."""
    event = Event.objects.create(name="Summit", starts_at=ENDS - timedelta(hours=8), ends_at=ENDS,
                                 status="completed", completed_at=COMPLETED)
    Attendance.objects.create(event=event, contact=Contact.objects.create(email="a@example.com"), status="attended")
    later = compute_event_metrics(event.pk, as_of=COMPLETED + timedelta(days=2))
    Attendance.objects.create(event=event, contact=Contact.objects.create(email="b@example.com"), status="attended")

    earlier = compute_event_metrics(event.pk, as_of=COMPLETED + timedelta(days=1))

    assert (earlier.pk, earlier.computed_at, earlier.attended) == (later.pk, COMPLETED + timedelta(days=2), 1)
    assert EventMetrics.objects.get(event=event).attended == 1
    assert compute_event_metrics(event.pk, as_of=COMPLETED + timedelta(days=3)).attended == 2


def spying_on_the_metrics(module, spy):
    """_compute_event_metrics with `spy` as the module's attendee_lifts while it runs (the chunks,
    which run before, use the real one)."""
    original = module._compute_event_metrics

    def compute(*args):
        real, module.attendee_lifts = module.attendee_lifts, spy
        try:
            return original(*args)
        finally:
            module.attendee_lifts = real

    return compute


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans of PostgreSQL")
@pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction
def test_on_postgresql_the_lift_counterfactual_reads_interactions_and_feedback_from_their_indexes_alone():
    """Without one event's rows, every other row is still read from the scoring's covering
    indexes: they hold the event (reading each row's table page took four times as long at 1M)."""
    event = Event.objects.create(name="Summit", starts_at=ENDS - timedelta(hours=8), ends_at=ENDS,
                                 status="completed", completed_at=COMPLETED)
    anna, ben = (Contact.objects.create(email=f"{name}@example.com") for name in ("anna", "ben"))
    Attendance.objects.create(event=event, contact=anna, status="attended")
    Interaction.objects.create(event=event, contact=anna, counterpart=ben, occurred_at=ENDS - timedelta(hours=1))
    Feedback.objects.create(event=event, contact=anna, nps=9, submitted_at=ENDS)
    # others' rows, so that reading the table's pages costs the planner something to weigh
    others = Contact.objects.bulk_create(Contact(email=f"other{n}@example.com") for n in range(200))
    Interaction.objects.bulk_create(
        Interaction(event=event, contact=others[n], counterpart=others[(n + 1) % 200], occurred_at=ENDS - timedelta(hours=2))
        for n in range(200) for _ in range(3)
    )
    Feedback.objects.bulk_create(Feedback(event=event, contact=person, nps=7, submitted_at=ENDS) for person in others)
    with connection.cursor() as cursor:  # the pages all visible, as in a table long written: the index alone answers
        cursor.execute("VACUUM ANALYZE events_interaction")
        cursor.execute("VACUUM ANALYZE events_feedback")
    with CaptureQueriesContext(connection) as captured:
        compute_scores([anna.pk, ben.pk], COMPLETED, active_parameters(), without_event=event.pk)
    [statement] = [query["sql"] for query in captured.captured_queries if "events_interaction" in query["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        # as the planner chooses at scale, where reading the table page by page loses
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + statement)
        plan = [row[0] for row in cursor.fetchall()]
    scans = [line.strip() for line in plan if " on events_interaction" in line or " on events_feedback" in line]
    assert len(scans) == 4, plan  # both sides of interactions, the latest feedback and its NPS
    assert all("Index Only Scan" in scan for scan in scans), scans


@pytest.mark.django_db
def test_no_no_show_rate_without_check_in():
    event = Event.objects.create(name="Dinner", starts_at=ENDS - timedelta(hours=3), ends_at=ENDS,
                                 status="completed", completed_at=COMPLETED)
    for n, status in enumerate(["attended", "registered", "no_show"]):
        Attendance.objects.create(event=event, contact=Contact.objects.create(email=f"d{n}@example.com"), status=status)

    metrics = compute_event_metrics(event.pk, as_of=timezone.now())
    assert (metrics.no_show_rate, metrics.no_show_rate_reason) == (None, "no_check_in")

    Attendance.objects.filter(status="attended").update(checked_in_at=ENDS - timedelta(hours=2))
    metrics = compute_event_metrics(event.pk, as_of=timezone.now())
    assert (metrics.no_shows, metrics.registered, metrics.no_show_rate_reason) == (1, 3, "")
    assert metrics.no_show_rate == pytest.approx(1 / 3)


def edition(series: EventSeries, number: int, days_ago: float) -> Event:
    ends_at = timezone.now() - timedelta(days=days_ago)
    return Event.objects.create(name=f"{series.name} {number}", series=series, starts_at=ends_at - timedelta(hours=8),
                                ends_at=ends_at)


@pytest.mark.django_db
def test_completing_edition_3_rescores_who_came_to_1_and_2_only_and_lists_them_as_lapsed(
    django_capture_on_commit_callbacks,
):
    series = EventSeries.objects.create(name="Summit")
    first, second, third = edition(series, 1, 400), edition(series, 2, 200), edition(series, 3, 1)
    loyal, lapsed, older = (Contact.objects.create(email=f"{name}@example.com") for name in ("loyal", "lapsed", "older"))
    for person, editions in ((loyal, (first, second, third)), (lapsed, (first, second)), (older, (first,))):
        for attended in editions:
            Attendance.objects.create(event=attended, contact=person, status="attended")
    for done in (first, second):
        with django_capture_on_commit_callbacks(execute=True):
            event_services.complete_event(done)
    assert ContactScore.objects.get(contact=lapsed).current_streak == 2

    with django_capture_on_commit_callbacks(execute=True):  # the after-the-event run, in-process
        event_services.complete_event(third)

    streaks = dict(ContactScore.objects.values_list("contact__email", "current_streak"))
    assert streaks == {"loyal@example.com": 3, "lapsed@example.com": 0, "older@example.com": 0}
    assert list(selectors.lapsed_attendees(third)) == [lapsed]
    assert EventMetrics.objects.get(event=third).series_retention_rate == 50.0  # S 2, E 1, N 0


@pytest.mark.django_db
def test_the_event_page_lists_who_did_not_come_back(client, django_user_model):
    series = EventSeries.objects.create(name="Forum")
    first, second = edition(series, 1, 300), edition(series, 2, 3)
    Event.objects.filter(pk__in=[first.pk, second.pk]).update(status="completed", completed_at=timezone.now())
    gone, stayed = Contact.objects.create(email="gone@example.com", first_name="Greta", last_name="Gone"), \
        Contact.objects.create(email="stayed@example.com")
    for person, editions in ((gone, (first,)), (stayed, (first, second))):
        for attended in editions:
            Attendance.objects.create(event=attended, contact=person, status="attended")
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123"))

    page = client.get(f"/admin/events/event/{second.pk}/change/").content.decode()

    assert "Did not come back: 1 attendee of" in page
    assert "Greta Gone" in page
    panel = page.split('id="ror-event-lapsed"')[1].split("</fieldset>")[0]
    assert "stayed@example.com" not in panel


@pytest.mark.django_db
def test_before_an_event_its_page_lists_who_is_not_registered_yet(client, django_user_model):
    series = EventSeries.objects.create(name="Dinner")
    first = edition(series, 1, 300)
    Event.objects.filter(pk=first.pk).update(status="completed", completed_at=timezone.now())
    upcoming = Event.objects.create(name="Dinner 2", series=series, starts_at=timezone.now() + timedelta(days=20),
                                    ends_at=timezone.now() + timedelta(days=20, hours=3))
    coming = Contact.objects.create(email="coming@example.com", first_name="Carla", last_name="Coming")
    invited = Contact.objects.create(email="invited@example.com", first_name="Ines", last_name="Invited")
    for person in (coming, invited):
        Attendance.objects.create(event=first, contact=person, status="attended")
    Attendance.objects.create(event=upcoming, contact=coming, status="registered")
    Attendance.objects.create(event=upcoming, contact=invited, status="invited")
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123"))

    page = client.get(f"/admin/events/event/{upcoming.pk}/change/").content.decode()

    panel = page.split('id="ror-event-lapsed"')[1].split("</fieldset>")[0]
    assert "Not registered yet: 1 attendee of" in panel
    assert "Ines Invited" in panel
    assert "Carla Coming" not in panel


@pytest.mark.django_db(transaction=True)  # scoring runs after commit
def test_an_older_event_loaded_after_a_newer_one_was_completed_refreshes_the_newer_ones_lift():
    """A backfill: Summit was completed on the day it ended; Spring, which ended before that day, is
    loaded and completed afterwards. Summit's lift scores Anna as of its completion with all data:
    Spring counts on both sides of it, and Summit's metrics are computed again when Spring completes."""
    spring = Event.objects.create(name="Spring", starts_at=EARLIER_ENDS - timedelta(hours=8), ends_at=EARLIER_ENDS)
    summit = Event.objects.create(name="Summit", starts_at=ENDS - timedelta(hours=8), ends_at=ENDS)
    anna = Contact.objects.create(email="anna@example.com")
    Attendance.objects.create(event=summit, contact=anna, status="attended")
    event_services.complete_event(summit, completed_at=COMPLETED)
    hour = 1 / 24
    assert EventMetrics.objects.get(event=summit).relationship_lift == pytest.approx(
        score(attendance=decay(hour), recency_days=hour), abs=0.05)

    Attendance.objects.create(event=spring, contact=anna, status="attended")
    event_services.complete_event(spring, completed_at=EARLIER_ENDS)

    spring_days = 100 + hour
    with_summit = score(attendance=decay(hour) + decay(spring_days), recency_days=hour)
    without_summit = score(attendance=decay(spring_days), recency_days=spring_days)
    assert EventMetrics.objects.get(event=summit).relationship_lift == pytest.approx(
        with_summit - without_summit, abs=0.05)
