"""As of T means as of T (README "Scoring as of a time").

As of T the product knows exactly: touchpoints with their time ≤ T, attendances of events
that ended (or were completed) by T, the events completed by T as completed editions. So
scoring and event metrics as of T on the whole data equal those on a copy of the data cut
at T, to the last digit: checked with hypothesis on random histories and random T, on the
database the suite runs on, and on SQLite as well when that is PostgreSQL.
"""

import os
import random
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Contact, FollowUp, Referral
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from scoring.models import EventMetrics, ScoreSnapshot, ScoringProfile
from scoring.services import compute_event_metrics, compute_scores, recompute_contacts
from scoring.services.profile import ScoringParameters, default_profile_values
from tests.conftest import PROJECT_ROOT

START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_DAYS = 900
PARAMS = ScoringParameters.from_profile(ScoringProfile(**default_profile_values()))
ROLES = ["attendee", "speaker", "vip", "sponsor", "exhibitor"]
STATUSES = ["invited", "registered", "waitlisted", "attended", "attended", "no_show", "cancelled"]
OUTCOMES = ["positive", "neutral", "negative", "no_response", ""]


def moment(rng: random.Random) -> datetime:
    return START + timedelta(days=rng.uniform(0, SPAN_DAYS))


def build_history(seed: int, contacts: int) -> list[int]:
    """A random agency whose history runs past any T: events completed on time, late, early
    (forced) or never, editions of two series, and every kind of touchpoint at any time."""
    rng = random.Random(seed)
    series = [EventSeries.objects.create(name=f"Series {seed}-{n}") for n in range(2)]
    events = []
    for index in range(rng.randint(2, 8)):
        starts_at = moment(rng)
        ends_at = starts_at + timedelta(hours=rng.choice([2, 8, 30]))
        completion = rng.choice(["on time", "late", "early", None, "cancelled"])
        completed_at = {
            "on time": ends_at + timedelta(minutes=5), "late": ends_at + timedelta(days=rng.uniform(1, 60)),
            "early": starts_at + timedelta(hours=1),
        }.get(completion)
        events.append(Event.objects.create(
            name=f"Event {index}", series=rng.choice([None, *series]), starts_at=starts_at, ends_at=ends_at,
            status="completed" if completed_at else "cancelled" if completion == "cancelled" else "planned",
            completed_at=completed_at,
        ))
    people = Contact.objects.bulk_create(Contact(email=f"h{seed}-{n}@example.com") for n in range(contacts))
    attendances, interactions, follow_ups, feedback, referrals = [], [], [], [], []
    for person in people:
        for event in rng.sample(events, rng.randint(0, len(events))):
            status = rng.choice(STATUSES)
            attendances.append(Attendance(
                event=event, contact=person, role=rng.choice(ROLES), status=status,
                checked_in_at=event.starts_at if status == "attended" and rng.random() < 0.5 else None,
            ))
            if rng.random() < 0.4:
                feedback.append(Feedback(event=event, contact=person, nps=rng.choice([None, *range(11)]),
                                         satisfaction=rng.choice([None, 3, 8]),
                                         submitted_at=event.ends_at + timedelta(days=rng.uniform(0, 200))))
        for _ in range(rng.randint(0, 4)):
            event = rng.choice(events)
            interactions.append(Interaction(
                event=event, contact=person, kind="meeting",
                counterpart=rng.choice([None, *(other for other in people if other != person)]),
                occurred_at=rng.choice([event.starts_at + timedelta(hours=1), moment(rng)]),
                quality=rng.choice([None, 1, 3, 5]), duration_minutes=rng.choice([None, 5, 90]),
            ))
        for _ in range(rng.randint(0, 3)):
            event = rng.choice([None, *events])
            done = rng.random() < 0.7
            base = event.ends_at if event is not None else moment(rng)
            follow_ups.append(FollowUp(
                contact=person, event=event, status="done" if done else "planned",
                completed_at=base + timedelta(hours=rng.choice([3, 30, 100, 2000])) if done else None,
                outcome=rng.choice(OUTCOMES), deal_value=rng.choice([None, 1000]),
                deal_status=rng.choice(["none", "open", "won"]),
            ))
        if rng.random() < 0.3:
            referrals.append(Referral(referrer=person, referred_email="friend@example.com",
                                      event=rng.choice([None, *events]), created_at=moment(rng)))
    Attendance.objects.bulk_create(attendances)
    Interaction.objects.bulk_create(interactions)
    FollowUp.objects.bulk_create(follow_ups)
    Feedback.objects.bulk_create(feedback)
    Referral.objects.bulk_create(referrals)
    # Follow-ups are known from their creation (or their done time): planned a while before, or any time.
    for follow_up in FollowUp.objects.filter(contact__in=people):
        planned = (follow_up.completed_at or moment(rng)) - timedelta(days=rng.uniform(0, 90))
        FollowUp.objects.filter(pk=follow_up.pk).update(created_at=rng.choice([planned, moment(rng)]))
    contact_ids = [person.pk for person in people]
    # Score history (the churn rule reads the snapshots 90 days back), written as of past times.
    for days in sorted(rng.sample(range(0, SPAN_DAYS, 30), 4)):
        recompute_contacts(contact_ids, as_of=START + timedelta(days=days), params=PARAMS)
    return contact_ids


def cut_at(as_of: datetime) -> None:
    """Make the data what it was at T: what happened later is gone, what was later done is not yet."""
    known_attendance = Q(event__ends_at__lte=as_of) | Q(event__status="completed", event__completed_at__lte=as_of)
    Attendance.objects.exclude(known_attendance).delete()
    Interaction.objects.filter(occurred_at__gt=as_of).delete()
    Feedback.objects.filter(submitted_at__gt=as_of).delete()
    Referral.objects.filter(created_at__gt=as_of).delete()
    done_by_t = Q(status="done", completed_at__lte=as_of)
    FollowUp.objects.exclude(Q(created_at__lte=as_of) | done_by_t).delete()
    FollowUp.objects.filter(status="done", completed_at__gt=as_of).update(status="planned", completed_at=None)
    Event.objects.filter(status="completed", completed_at__gt=as_of).update(status="live", completed_at=None)
    ScoreSnapshot.objects.filter(computed_at__gt=as_of).delete()
    EventMetrics.objects.all().delete()


def everything_as_of(contact_ids: list[int], as_of: datetime) -> tuple[dict, dict]:
    scores = {result.contact_id: asdict(result) for result in compute_scores(contact_ids, as_of, PARAMS)}
    metrics = {}
    for event_id in Event.objects.values_list("pk", flat=True):
        computed = compute_event_metrics(event_id, as_of=as_of)
        if computed is not None:
            metrics[event_id] = {
                name: value for name, value in EventMetrics.objects.filter(pk=event_id).values().get().items()
                if name != "updated_at"
            }
    return scores, metrics


@pytest.mark.django_db
@settings(max_examples=int(os.environ.get("AS_OF_EXAMPLES", 15)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), contacts=st.integers(1, 12), day=st.floats(0, SPAN_DAYS))
def test_as_of_t_on_the_whole_data_equals_on_the_data_cut_at_t(seed, contacts, day, monkeypatch):
    monkeypatch.setattr("scoring.services.event_metrics.active_parameters", lambda: PARAMS)
    as_of = START + timedelta(days=day)
    with transaction.atomic():
        contact_ids = build_history(seed, contacts)
        whole = everything_as_of(contact_ids, as_of)
        cut_at(as_of)
        cut = everything_as_of(contact_ids, as_of)

        assert cut[0] == whole[0]
        assert cut[1] == whole[1]
        # An event completed early (forced) counts before its end, but its touch is not in the future.
        assert all(score["last_touch_at"] is None or score["last_touch_at"] <= as_of for score in whole[0].values())
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_nothing_counts_before_it_happened():
    """Scored as of a time before a contact's first touchpoint, a contact scores 0 and has attended nothing."""
    with transaction.atomic():
        contact_ids = build_history(seed=7, contacts=10)
        for result in compute_scores(contact_ids, START - timedelta(days=1), PARAMS):
            assert (result.score, result.events_attended, result.events_invited, result.last_touch_at) == (0, 0, 0, None)
            assert result.current_streak == result.longest_streak == 0
        transaction.set_rollback(True)


def test_the_property_holds_on_sqlite_too(tmp_path):
    """The suite runs on PostgreSQL in CI: the same property, run once more on SQLite."""
    if connection.vendor == "sqlite":
        pytest.skip("this run is on SQLite already")
    environment = {
        **os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'as-of.sqlite3'}", "AS_OF_EXAMPLES": "10",
    }
    environment.pop("REDIS_URL", None)
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         f"{__file__}::test_as_of_t_on_the_whole_data_equals_on_the_data_cut_at_t"],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=600,
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]
    assert "1 passed" in finished.stdout


@pytest.mark.django_db
def test_an_event_completed_before_its_end_counts_with_its_touch_at_t_not_in_the_future():
    """Forced completion: the attendance counts from the completion, undecayed, and the contact's
    last touch is T until the event ends (not its end in the future: the next touch due and the
    stage's days since the last touch count from it)."""
    as_of = START + timedelta(days=10)
    event = Event.objects.create(name="Early", starts_at=as_of - timedelta(hours=2), ends_at=as_of + timedelta(hours=6),
                                 status="completed", completed_at=as_of - timedelta(hours=1))
    person = Contact.objects.create(email="early@example.com")
    Attendance.objects.create(event=event, contact=person, status="attended")

    [during] = compute_scores([person.pk], as_of, PARAMS)
    [after] = compute_scores([person.pk], event.ends_at + timedelta(days=1), PARAMS)

    assert (during.events_attended, during.last_touch_at) == (1, as_of)
    assert during.components["recency"] == 1.0
    assert during.score > 0
    assert after.last_touch_at == event.ends_at
