"""Properties of the scoring computation, checked with hypothesis.

The pure function `score_contact()` is fuzzed with arbitrary aggregates; the database path
(`load_chunk()`, `compute_scores()`, `recompute_contacts()`) with random small agencies, each
example in a savepoint that is rolled back, and held against the naive per-contact loop.
"""

import random
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Contact, FollowUp, Referral
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from scoring.models import ContactScore, ScoreSnapshot, ScoringProfile
from scoring.services import compute_scores, recompute_contacts, score_contact
from scoring.services.contact_scores import ContactAggregates, load_chunk
from scoring.services.profile import ScoringParameters, default_profile_values
from tests.scoring.naive import naive_aggregates

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PARAMS = ScoringParameters.from_profile(ScoringProfile(**default_profile_values()))

ROLES = ["attendee", "speaker", "vip", "sponsor", "exhibitor"]
STATUSES = ["invited", "registered", "waitlisted", "attended", "no_show", "cancelled"]
OUTCOMES = ["positive", "neutral", "negative", "no_response", ""]

moments = st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC))
raw_sums = st.floats(0, 1e6)
counts = st.integers(0, 500)
aggregates = st.builds(
    ContactAggregates,
    attended_raw=raw_sums, no_show_raw=raw_sums, care_weight=raw_sums, networking_raw=raw_sums, dialogue_raw=raw_sums,
    referral_raw=raw_sums, latest_nps=st.none() | st.integers(0, 10), last_touch_at=st.none() | moments,
    events_invited=counts, events_registered=counts, events_attended=counts, no_shows=counts, series_attended=counts,
    first_attended_at=st.none() | moments, last_attended_at=st.none() | moments, current_streak=counts,
    longest_streak=counts, score_90_days_ago=st.none() | st.floats(0, 100),
).map(lambda data: replace(data, care_hits=data.care_weight * 0.5))
as_of_times = st.datetimes(min_value=datetime(2017, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC))


@given(data=aggregates, as_of=as_of_times)
def test_score_and_components_stay_in_range(data, as_of):
    result = score_contact(1, data, PARAMS, as_of)

    assert 0.0 <= result.score <= 100.0
    assert all(0.0 <= value <= 1.0 for value in result.components.values())
    assert result.score == round(result.score, 1)
    assert result.show_rate is None or 0.0 <= result.show_rate <= 1.0


# The database path ------------------------------------------------------------------------


def build_agency(seed: int, contacts: int) -> list[int]:
    """A small random agency: a series with editions, one-off events, every kind of row."""
    rng = random.Random(seed)
    series = EventSeries.objects.create(name=f"Series {seed}")
    events = []
    for index in range(rng.randint(1, 6)):
        ends_at = T - timedelta(days=rng.randint(0, 900), hours=rng.randint(0, 23))
        status = rng.choice(["completed", "completed", "completed", "planned", "cancelled"])
        events.append(Event.objects.create(
            name=f"Event {index}", series=series if rng.random() < 0.6 else None, starts_at=ends_at - timedelta(hours=8),
            ends_at=ends_at, status=status, completed_at=ends_at if status == "completed" else None,
        ))
    people = Contact.objects.bulk_create(Contact(email=f"p{seed}-{n}@example.com") for n in range(contacts))
    attendances, interactions, follow_ups, feedback, referrals = [], [], [], [], []
    for person in people:
        for event in rng.sample(events, rng.randint(0, len(events))):
            attendances.append(Attendance(event=event, contact=person, role=rng.choice(ROLES), status=rng.choice(STATUSES)))
            if rng.random() < 0.3:
                feedback.append(Feedback(event=event, contact=person, nps=rng.choice([None, *range(11)]),
                                         submitted_at=min(event.ends_at + timedelta(days=1), T)))  # every row by T
        for _ in range(rng.randint(0, 4)):
            interactions.append(Interaction(
                event=rng.choice(events), contact=person, kind="meeting",
                counterpart=rng.choice([None, *(other for other in people if other != person)]),
                occurred_at=T - timedelta(days=rng.randint(0, 700)), quality=rng.choice([None, 1, 2, 3, 4, 5]),
                duration_minutes=rng.choice([None, 5, 30, 90]),
            ))
        for _ in range(rng.randint(0, 3)):
            done = rng.random() < 0.7
            follow_ups.append(FollowUp(
                contact=person, event=rng.choice([None, *events]), status="done" if done else "planned",
                completed_at=T - timedelta(days=rng.randint(0, 400)) if done else None,
                outcome=rng.choice(OUTCOMES),
            ))
        if rng.random() < 0.2:
            referrals.append(Referral(referrer=person, referred_email="friend@example.com",
                                      created_at=T - timedelta(days=rng.randint(0, 500))))
    Attendance.objects.bulk_create(attendances)
    Interaction.objects.bulk_create(interactions)
    FollowUp.objects.bulk_create(follow_ups)
    Feedback.objects.bulk_create(feedback)
    Referral.objects.bulk_create(referrals)
    return [person.pk for person in people]


def scores_by_contact(contact_ids: Sequence[int], chunk_size: int) -> dict:
    results = {}
    for start in range(0, len(contact_ids), chunk_size):
        for result in compute_scores(contact_ids[start : start + chunk_size], T, PARAMS):
            results[result.contact_id] = result
    return results


def stored_scores() -> dict:
    """Everything a recompute decides; updated_at only says when the row was last written."""
    return {row.pop("contact_id"): row for row in ContactScore.objects.values() if row.pop("updated_at")}


database_examples = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.django_db
@database_examples
@given(seed=st.integers(0, 10**6), contacts=st.integers(1, 25), chunk_size=st.integers(1, 30))
def test_results_do_not_depend_on_chunk_size_or_contact_order(seed, contacts, chunk_size):
    with transaction.atomic():
        contact_ids = build_agency(seed, contacts)
        whole = scores_by_contact(contact_ids, len(contact_ids))
        shuffled = contact_ids[:]
        random.Random(seed).shuffle(shuffled)

        assert scores_by_contact(shuffled, chunk_size) == whole
        # the all-contacts run's chunks: ranges of ids (here with nothing in between)
        assert scores_by_contact(range(min(contact_ids), max(contact_ids) + 1), chunk_size) == whole
        transaction.set_rollback(True)


@pytest.mark.django_db
@database_examples
@given(seed=st.integers(0, 10**6), contacts=st.integers(1, 20))
def test_recompute_is_idempotent(seed, contacts):
    with transaction.atomic():
        contact_ids = build_agency(seed, contacts)
        first = recompute_contacts(contact_ids, as_of=T, chunk_size=7)
        stored, snapshots = stored_scores(), ScoreSnapshot.objects.count()

        second = recompute_contacts(list(reversed(contact_ids)), as_of=T, chunk_size=3)

        assert first["contacts"] == second["contacts"] == contacts
        assert second["changed"] == 0
        assert ScoreSnapshot.objects.count() == snapshots
        assert stored_scores() == stored
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("step", ["compute", "compute range", "recompute"])
def test_a_chunk_costs_the_same_queries_for_10_and_1000_contacts(step):
    if step == "recompute" and connection.vendor != "postgresql":
        pytest.skip("Django caps SQLite statements at 999 parameters, so writes there batch by row count")
    small = build_agency(seed=1, contacts=10)
    large = build_agency(seed=2, contacts=1000)

    def queries(contact_ids: list[int]) -> int:
        with CaptureQueriesContext(connection) as captured:
            if step == "compute":
                compute_scores(contact_ids, T, PARAMS)
            elif step == "compute range":
                assert len(compute_scores(range(contact_ids[0], contact_ids[-1] + 1), T, PARAMS)) == len(contact_ids)
            else:
                recompute_contacts(contact_ids, as_of=T, chunk_size=len(contact_ids), params=PARAMS)
        return len(captured)

    assert queries(small) == queries(large)


@pytest.mark.django_db
@database_examples
@given(seed=st.integers(0, 10**6), contacts=st.integers(1, 15))
def test_the_aggregation_in_the_database_equals_the_naive_loop(seed, contacts):
    with transaction.atomic():
        contact_ids = build_agency(seed, contacts)
        recompute_contacts(contact_ids[: len(contact_ids) // 2], as_of=T - timedelta(days=120))  # old snapshots
        chunk = load_chunk(contact_ids, T, PARAMS)

        assert sorted(chunk) == sorted(contact_ids)
        for contact_id in contact_ids:
            expected = asdict(naive_aggregates(contact_id, T, PARAMS))
            for name, value in asdict(chunk[contact_id]).items():
                if isinstance(value, float):
                    assert value == pytest.approx(expected[name], rel=1e-12, abs=1e-12), name
                else:
                    assert value == expected[name], name
        transaction.set_rollback(True)


@pytest.mark.django_db
@database_examples
@given(seed=st.integers(0, 10**6), contacts=st.integers(1, 10), role=st.sampled_from(ROLES),
       days_ago=st.integers(0, 2000), data=st.data())  # an event that has ended by T
def test_an_extra_attended_event_never_lowers_the_attendance_component(seed, contacts, role, days_ago, data):
    with transaction.atomic():
        contact_ids = build_agency(seed, contacts)
        contact_id = data.draw(st.sampled_from(contact_ids))
        [before] = compute_scores([contact_id], T, PARAMS)
        ends_at = T - timedelta(days=days_ago)
        extra = Event.objects.create(name="Extra", starts_at=ends_at - timedelta(hours=8), ends_at=ends_at,
                                     status="completed", completed_at=ends_at)
        Attendance.objects.create(event=extra, contact_id=contact_id, role=role, status="attended")
        [after] = compute_scores([contact_id], T, PARAMS)

        assert after.components["attendance"] >= before.components["attendance"]
        assert after.events_attended == before.events_attended + 1
        transaction.set_rollback(True)
