"""The nightly run's arithmetic (scoring.services.nightly) equals the full recompute.

A random history (test_as_of.build_history, with planned follow-ups falling due, contacts who
asked not to be contacted and consent to invitations) is scored as of T0 by the full path; then
nightly runs as of later times take the arithmetic path where only time passed and the full path
where data changed. The stored scores, sums, stages, churn risks, next actions, reasons and the
snapshot history must equal what the full path alone writes at the same times.
"""

import os
import random
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contacts.models import Contact, FollowUp, Referral
from events.models import Attendance, Event, Feedback, Interaction
from scoring import outbox
from scoring.choices import NextAction, ScoreTrigger
from scoring.models import ContactScore, KeepInTouchCadence, PendingRecompute, RecomputeRequest, ScoreSnapshot
from scoring.services import nightly, recompute_contacts
from scoring.services.contact_scores import DECAYING_SUMS
from scoring.services.nightly import decay_range, nightly_recompute, plan_nightly
from scoring.tasks import nightly_recompute_task
from tests.scoring.test_as_of import PARAMS, SPAN_DAYS, START, build_history

FLOAT_COLUMNS = (*DECAYING_SUMS, "churn_reference_score")
# build_history() writes score history up to this day; a first score before it would not be stored.
LAST_HISTORY_SCORE = 870


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the nightly arithmetic is PostgreSQL's; SQLite runs the full path")


def as_written_then(seed: int) -> None:
    """Every row's updated_at when it would have been written in real life (not today): the
    nightly run reads what changed since a score by updated_at."""
    rng = random.Random(seed)
    Contact.objects.update(created_at=START - timedelta(days=30), updated_at=START - timedelta(days=30))
    KeepInTouchCadence.objects.update(updated_at=START - timedelta(days=30))
    for event in Event.objects.all():
        written = event.completed_at or event.starts_at - timedelta(days=30)
        Event.objects.filter(pk=event.pk).update(updated_at=written)
        # created when last written (an invitation counts as an agency touch at its created_at)
        attended_at = event.completed_at or event.ends_at
        Attendance.objects.filter(event=event, status__in=["attended", "no_show"]).update(
            created_at=attended_at, updated_at=attended_at)
        Attendance.objects.filter(event=event).exclude(status__in=["attended", "no_show"]).update(
            created_at=event.starts_at - timedelta(days=10), updated_at=event.starts_at - timedelta(days=10))
    Interaction.objects.update(updated_at=F("occurred_at"))
    Feedback.objects.update(updated_at=F("submitted_at"))
    Referral.objects.update(updated_at=F("created_at"))
    FollowUp.objects.filter(status="done").update(updated_at=F("completed_at"))
    for follow_up in FollowUp.objects.filter(status="planned"):
        due = follow_up.created_at + timedelta(days=rng.uniform(1, 120)) if rng.random() < 0.8 else None
        FollowUp.objects.filter(pk=follow_up.pk).update(due_at=due, updated_at=follow_up.created_at)
    for contact_id in Contact.objects.values_list("pk", flat=True):
        Contact.objects.filter(pk=contact_id).update(
            do_not_contact=rng.random() < 0.1, marketing_consent=rng.random() < 0.6)


def scored_agency(seed: int, contacts: int, as_of) -> list[int]:
    """A random history dated as written, every contact scored by the full path as of `as_of`."""
    contact_ids = build_history(seed, contacts)
    as_written_then(seed)
    recompute_contacts(contact_ids, as_of=as_of, params=PARAMS)
    return contact_ids


def stored_state() -> tuple[dict, list, dict]:
    rows = {row["contact_id"]: row for row in ContactScore.objects.values()}
    snapshots = sorted(
        (row["contact_id"], row["computed_at"], row["score"], row["previous_score"], row["stage"], row["trigger"])
        for row in ScoreSnapshot.objects.values()
    )
    return rows, snapshots, {pk: row["updated_at"] for pk, row in rows.items()}


def assert_same_rows(arithmetic: dict, full: dict) -> None:
    assert arithmetic.keys() == full.keys()
    for contact_id, expected in full.items():
        row = arithmetic[contact_id]
        for column, value in expected.items():
            if column == "updated_at":
                continue
            if column in FLOAT_COLUMNS and value is not None:
                assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-12), (contact_id, column)
            elif column == "components":
                assert row[column] == pytest.approx(value, abs=2e-6), (contact_id, column)
            else:
                assert row[column] == value, (contact_id, column, row[column], value)


@pytest.mark.django_db
@settings(max_examples=int(os.environ.get("NIGHTLY_EXAMPLES", 12)), deadline=None, print_blob=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), contacts=st.integers(1, 12), day=st.floats(LAST_HISTORY_SCORE, SPAN_DAYS + 300),
       nights=st.lists(st.floats(0.01, 120), min_size=1, max_size=3),
       # the default caps, and ones low enough that many contacts rest (and stop resting) between nights
       fatigue_caps=st.sampled_from([[(7, 3), (30, 6)], [(30, 1), (365, 2)]]))
def test_the_nightly_arithmetic_writes_what_the_full_recompute_writes(seed, contacts, day, nights, fatigue_caps):
    first = START + timedelta(days=day)
    times = [first + timedelta(days=sum(nights[: index + 1])) for index in range(len(nights))]
    with override_settings(CONTACT_FATIGUE_CAPS=fatigue_caps), transaction.atomic():
        contact_ids = build_history(seed, contacts)
        as_written_then(seed)
        recompute_contacts(contact_ids, as_of=first, params=PARAMS)
        before = stored_state()[2]

        savepoint = transaction.savepoint()
        for as_of in times:
            nightly_recompute(as_of, params=PARAMS)
        arithmetic, arithmetic_snapshots, arithmetic_updated = stored_state()
        transaction.savepoint_rollback(savepoint)

        for as_of in times:
            recompute_contacts(contact_ids, as_of=as_of, params=PARAMS, trigger=ScoreTrigger.NIGHTLY)
        full, full_snapshots, full_updated = stored_state()

        assert_same_rows(arithmetic, full)
        assert arithmetic_snapshots == full_snapshots
        moved = {pk for pk, at in full_updated.items() if at != before[pk]}
        assert {pk for pk, at in arithmetic_updated.items() if at != before[pk]} == moved
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_most_contacts_take_the_arithmetic_path_and_unchanged_ones_write_no_history():
    with transaction.atomic():
        as_of = START + timedelta(days=SPAN_DAYS + 400)  # after every touchpoint of the history
        contact_ids = scored_agency(5, 30, as_of)
        rows, snapshots, updated = stored_state()

        outcome = nightly_recompute(as_of + timedelta(days=1), params=PARAMS)

        after, after_snapshots, after_updated = stored_state()
        assert outcome["decayed"] == len(contact_ids) - outcome["rescored"] > 0
        churn_moved = {pk for pk in after if after[pk]["churn_risk"] != rows[pk]["churn_risk"]}
        action_moved = {pk for pk in after if after[pk]["next_action"] != rows[pk]["next_action"]}
        assert len(after_snapshots) - len(snapshots) == len(churn_moved)
        assert {pk for pk in after if after_updated[pk] != updated[pk]} == churn_moved | action_moved
        assert sum(after[pk]["score"] != rows[pk]["score"] for pk in after) > 0  # decay moved scores
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_new_data_takes_the_full_path():
    with transaction.atomic():
        as_of = timezone.now() - timedelta(days=1)
        contact_ids = scored_agency(8, 10, as_of)
        person = contact_ids[0]
        Interaction.objects.create(event=Event.objects.first(), contact_id=person, kind="meeting", quality=5,
                                   occurred_at=as_of + timedelta(hours=2))  # written now: after the score
        newcomer = Contact.objects.create(email="newcomer@example.com")  # never scored
        tonight = timezone.now()

        plan = plan_nightly(tonight, PARAMS)
        assert person in plan.changed
        assert newcomer.pk in plan.changed
        outcome = nightly_recompute(tonight, params=PARAMS)

        assert outcome["rescored"] >= 1
        score = ContactScore.objects.get(contact_id=person)
        assert score.computed_at == tonight
        assert score.last_touch_at == as_of + timedelta(hours=2)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_range_is_one_statement_whatever_its_size():
    counts = []
    with transaction.atomic():
        for contacts in (5, 40):
            contact_ids = build_history(seed=contacts, contacts=contacts)
            as_written_then(contacts)
            as_of = START + timedelta(days=SPAN_DAYS + 400)
            recompute_contacts(contact_ids, as_of=as_of, params=PARAMS)
            with CaptureQueriesContext(connection) as queries:
                decay_range(range(min(contact_ids), max(contact_ids) + 1), as_of + timedelta(days=1), PARAMS, {})
            counts.append(len(queries))
            ContactScore.objects.all().delete()
        transaction.set_rollback(True)
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_the_nightly_task_decays_the_stored_scores_range_by_range(settings, monkeypatch):
    settings.SCORING_NIGHTLY_RANGE_SIZE = 4
    as_of = START + timedelta(days=SPAN_DAYS + 400)
    contact_ids = scored_agency(21, 10, as_of)
    monkeypatch.setattr("scoring.tasks.active_parameters", lambda: PARAMS)
    tonight = as_of + timedelta(days=1)
    monkeypatch.setattr("scoring.tasks.timezone.now", lambda: tonight)
    snapshots = ScoreSnapshot.objects.count()
    full_path = []
    recompute = nightly.recompute_contacts
    monkeypatch.setattr(nightly, "recompute_contacts", lambda ids, **kwargs: full_path.extend(ids) or recompute(ids, **kwargs))

    requested = []
    request_ranges = outbox.request_ranges
    monkeypatch.setattr(outbox, "request_ranges", lambda *args, **kwargs: requested.extend(request_ranges(*args, **kwargs))
                        or requested)

    assert nightly_recompute_task.delay().get() == 3  # ranges of four contacts each

    # an outbox request per range, as of tonight, each deleted by its range's task
    assert [(row.kind, row.as_of) for row in requested] == [("range", tonight)] * 3
    assert not RecomputeRequest.objects.exists()
    assert set(ContactScore.objects.values_list("computed_at", flat=True)) == {tonight}
    churn_moved = ScoreSnapshot.objects.filter(computed_at=tonight).count()
    assert ScoreSnapshot.objects.count() - snapshots == churn_moved < len(contact_ids)  # decay wrote no history
    assert len(full_path) < len(contact_ids)  # the rest by arithmetic


@pytest.mark.django_db
def test_a_range_rolled_back_by_a_deadlock_is_retried_like_locked_contacts(monkeypatch):
    import psycopg
    from django.db import OperationalError

    from scoring.services.writes import ContactsLocked

    deadlock = OperationalError("deadlock detected")
    deadlock.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")

    def statement(params):
        raise deadlock

    monkeypatch.setattr(nightly, "_decay_sql", statement)
    with pytest.raises(ContactsLocked):
        decay_range(range(1, 10), START, PARAMS, {})


@pytest.mark.django_db
def test_an_edition_that_starts_sends_only_its_list_and_its_invitees_the_full_path():
    from contacts.models import Contact
    from events.models import EventSeries

    scored_at = timezone.now() - timedelta(days=10)
    tonight = scored_at + timedelta(days=1)
    series = EventSeries.objects.create(name="Forum")

    def edition(name, starts_at, status):
        return Event.objects.create(name=name, series=series, starts_at=starts_at, ends_at=starts_at + timedelta(hours=6),
                                    status=status, completed_at=starts_at + timedelta(hours=6) if status == "completed" else None)

    past = [edition(f"Forum {n}", scored_at - timedelta(days=days), "completed") for n, days in ((1, 400), (2, 200))]
    starting = edition("Forum 3", scored_at + timedelta(hours=12), "planned")  # starts between the two runs
    following = edition("Forum 4", scored_at + timedelta(days=60), "planned")
    invited, registered, no_consent = (
        Contact.objects.create(email=f"{name}@example.com", marketing_consent=name != "no-consent")
        for name in ("invited", "registered", "no-consent"))
    for contact in (invited, registered, no_consent):
        for event in past:
            Attendance.objects.create(event=event, contact=contact, status="attended")
    Attendance.objects.create(event=starting, contact=registered, status="registered")
    long_ago = scored_at - timedelta(days=30)  # nothing written since the scores
    for model in (Contact, Event, Attendance, KeepInTouchCadence):
        model.objects.update(updated_at=long_ago)
    everyone = [invited.pk, registered.pk, no_consent.pk]
    recompute_contacts(everyone, as_of=scored_at, params=PARAMS)
    PendingRecompute.objects.all().delete()  # the outbox drained by that recompute
    assert ContactScore.objects.get(contact=invited).next_action_figures["next_edition"]["id"] == starting.pk
    assert ContactScore.objects.get(contact=registered).next_action != NextAction.INVITE  # on its list

    plan = plan_nightly(tonight, PARAMS)
    assert {invited.pk, registered.pk} <= plan.changed.keys()
    assert no_consent.pk not in plan.changed  # attended the series, but nothing of it moves
    with transaction.atomic():
        savepoint = transaction.savepoint()
        nightly_recompute(tonight, params=PARAMS)
        arithmetic = stored_state()[0]
        transaction.savepoint_rollback(savepoint)
        recompute_contacts(everyone, as_of=tonight, params=PARAMS, trigger=ScoreTrigger.NIGHTLY)
        assert_same_rows(arithmetic, stored_state()[0])
        transaction.set_rollback(True)
    for contact in (invited, registered):
        assert arithmetic[contact.pk]["next_action"] == NextAction.INVITE
        assert arithmetic[contact.pk]["next_action_figures"]["next_edition"]["id"] == following.pk


def nightly_as_the_full_path(everyone: list[int], tonight) -> dict:
    """The nightly run as of `tonight`, asserted equal to the full path at the same time; its rows."""
    with transaction.atomic():
        savepoint = transaction.savepoint()
        nightly_recompute(tonight, params=PARAMS)
        arithmetic = stored_state()[0]
        transaction.savepoint_rollback(savepoint)
        recompute_contacts(everyone, as_of=tonight, params=PARAMS, trigger=ScoreTrigger.NIGHTLY)
        assert_same_rows(arithmetic, stored_state()[0])
        transaction.set_rollback(True)
    return arithmetic


def planned_and_run(everyone: list[int], tonight, *, full_path: list[Contact], by_arithmetic: list[Contact]) -> dict:
    """The plan sends `full_path` the full path and leaves `by_arithmetic` to the UPDATE; the nightly
    run then writes what the full path writes (its rows returned)."""
    plan = plan_nightly(tonight, PARAMS)
    assert {contact.pk for contact in full_path} <= plan.changed.keys()
    assert not {contact.pk for contact in by_arithmetic} & plan.changed.keys()
    return nightly_as_the_full_path(everyone, tonight)


def two_nights():
    """A night ten days ago when every score was computed, and the next one."""
    scored_at = timezone.now() - timedelta(days=10)
    return scored_at, scored_at + timedelta(days=1)


def new_contacts(*names: str, **fields) -> list[Contact]:
    return [Contact.objects.create(email=f"{name}@example.com", **fields) for name in names]


def written_long_ago(scored_at) -> None:
    """Nothing written since the scores: the nightly run learns of changes by updated_at."""
    long_ago = scored_at - timedelta(days=60)
    for model in (Contact, Event, Attendance, FollowUp, Interaction, KeepInTouchCadence):
        model.objects.update(updated_at=long_ago)


def scored(contacts, scored_at) -> list[int]:
    everyone = [contact.pk for contact in contacts]
    written_long_ago(scored_at)
    recompute_contacts(everyone, as_of=scored_at, params=PARAMS)
    PendingRecompute.objects.all().delete()  # the outbox drained by that recompute
    return everyone


@pytest.mark.django_db
def test_a_follow_up_falling_due_sends_its_contact_the_full_path():
    scored_at, tonight = two_nights()
    positive, neutral, later = new_contacts("positive", "neutral", "later")
    for contact, outcome in ((positive, "positive"), (neutral, "neutral"), (later, "neutral")):
        FollowUp.objects.create(contact=contact, status="done", outcome=outcome,
                                completed_at=scored_at - timedelta(days=40))
        due = scored_at + timedelta(days=5 if contact == later else 0.5)
        FollowUp.objects.create(contact=contact, status="planned", due_at=due)
    everyone = scored((positive, neutral, later), scored_at)
    assert {score.next_action for score in ContactScore.objects.all()} == {NextAction.WAIT}

    # a follow-up still ahead moves nothing
    arithmetic = planned_and_run(everyone, tonight, full_path=[positive, neutral], by_arithmetic=[later])
    assert arithmetic[positive.pk]["next_action"] == NextAction.CALL_NOW
    assert arithmetic[neutral.pk]["next_action"] == NextAction.FOLLOW_UP
    assert arithmetic[later.pk]["next_action"] == NextAction.WAIT


@pytest.mark.django_db
def test_a_planned_follow_up_entering_a_fatigue_window_sends_only_the_fatigued_the_full_path(settings):
    settings.CONTACT_FATIGUE_CAPS = [(7, 3), (30, 6)]
    scored_at, tonight = two_nights()
    busy, quiet = new_contacts("busy", "quiet")
    for days in (2, 3):
        FollowUp.objects.create(contact=busy, status="done", outcome="neutral", completed_at=scored_at - timedelta(days=days))
    for contact in (busy, quiet):  # enters the 7-day window ahead between the two runs
        FollowUp.objects.create(contact=contact, status="planned", due_at=tonight + timedelta(days=7, hours=-1))
    everyone = scored((busy, quiet), scored_at)
    assert ContactScore.objects.get(contact=busy).next_action != NextAction.REST

    # busy: three touches in seven days, the cap
    arithmetic = planned_and_run(everyone, tonight, full_path=[busy], by_arithmetic=[quiet])
    assert arithmetic[busy.pk]["next_action"] == NextAction.REST


@pytest.mark.django_db
def test_a_rest_that_holds_is_decayed_and_one_whose_touches_rolled_out_takes_the_full_path(settings):
    settings.CONTACT_FATIGUE_CAPS = [(7, 3), (30, 6)]
    scored_at, tonight = two_nights()
    resting, rested = new_contacts("resting", "rested")
    for contact, days in ((resting, 1), (rested, 6.5)):  # rested's touches leave the window by tonight
        for hours in (0, 1, 2):
            FollowUp.objects.create(contact=contact, status="done", outcome="neutral",
                                    completed_at=scored_at - timedelta(days=days, hours=hours))
    everyone = scored((resting, rested), scored_at)
    assert set(ContactScore.objects.values_list("next_action", flat=True)) == {NextAction.REST}

    arithmetic = planned_and_run(everyone, tonight, full_path=[rested], by_arithmetic=[resting])
    assert arithmetic[resting.pk]["next_action"] == NextAction.REST
    assert arithmetic[resting.pk]["computed_at"] == tonight
    assert arithmetic[rested.pk]["next_action"] != NextAction.REST


@pytest.mark.django_db
def test_an_edition_that_starts_without_a_later_one_planned_moves_only_its_invitees():
    from events.models import EventSeries

    scored_at, tonight = two_nights()
    series = EventSeries.objects.create(name="Summit")
    past = [Event.objects.create(name=f"Summit {n}", series=series, starts_at=scored_at - timedelta(days=days),
                                 ends_at=scored_at - timedelta(days=days, hours=-6), status="completed",
                                 completed_at=scored_at - timedelta(days=days, hours=-6)) for n, days in ((1, 400), (2, 200))]
    starting = Event.objects.create(name="Summit 3", series=series, starts_at=scored_at + timedelta(hours=12),
                                    ends_at=scored_at + timedelta(days=3), status="planned")
    invited, registered = new_contacts("invited", "registered", marketing_consent=True)
    for contact in (invited, registered):
        for event in past:
            Attendance.objects.create(event=event, contact=contact, status="attended")
    Attendance.objects.create(event=starting, contact=registered, status="registered")
    everyone = scored((invited, registered), scored_at)

    # invited: its invitation pointed at the edition that started; registered: no later edition to
    # invite to, and attendance counts at the end
    planned_and_run(everyone, tonight, full_path=[invited], by_arithmetic=[registered])


@pytest.mark.django_db
def test_an_event_that_ended_sends_only_contacts_scored_before_its_end_the_full_path(monkeypatch):
    scored_at = timezone.now() - timedelta(days=10)
    ended = Event.objects.create(name="Gala", starts_at=scored_at + timedelta(hours=2),
                                 ends_at=scored_at + timedelta(hours=8), status="planned")
    before, after = new_contacts("before", "after")
    for contact in (before, after):
        Attendance.objects.create(event=ended, contact=contact, status="attended")
    everyone = scored((before, after), scored_at)
    recompute_contacts([after.pk], as_of=ended.ends_at + timedelta(hours=1), params=PARAMS)  # after its end
    PendingRecompute.objects.all().delete()
    tonight = scored_at + timedelta(days=1)

    plan = plan_nightly(tonight, PARAMS)
    assert plan.changed[before.pk] == plan.changed[after.pk] == ended.ends_at
    full_path = []
    recompute = nightly.recompute_contacts
    monkeypatch.setattr(nightly, "recompute_contacts", lambda ids, **kwargs: full_path.extend(ids) or recompute(ids, **kwargs))
    arithmetic = nightly_as_the_full_path(everyone, tonight)
    assert before.pk in full_path
    assert after.pk not in full_path  # its score holds the attendance: decayed by arithmetic
    assert arithmetic[after.pk]["events_attended"] == arithmetic[before.pk]["events_attended"] == 1


@pytest.mark.django_db
def test_a_follow_up_due_exactly_when_the_oldest_score_was_computed_falls_due_after_it():
    scored_at, tonight = two_nights()
    (positive,) = new_contacts("positive")
    FollowUp.objects.create(contact=positive, status="done", outcome="positive", completed_at=scored_at - timedelta(days=40))
    FollowUp.objects.create(contact=positive, status="planned", due_at=scored_at)  # not overdue yet then: due now
    everyone = scored((positive,), scored_at)
    assert ContactScore.objects.get(contact=positive).next_action != NextAction.CALL_NOW

    arithmetic = planned_and_run(everyone, tonight, full_path=[positive], by_arithmetic=[])
    assert arithmetic[positive.pk]["next_action"] == NextAction.CALL_NOW


@pytest.mark.django_db
def test_an_event_completed_before_its_end_sends_its_attendees_the_full_path_every_night_until_it_ends():
    """Completed early (forced), its attendances count at once with the weight of its end, which
    does not decay before the end: the stored sums' arithmetic would decay it."""
    scored_at, tonight = two_nights()
    event = Event.objects.create(name="Conference", starts_at=scored_at + timedelta(hours=1),
                                 ends_at=scored_at + timedelta(days=5), status="planned")
    early, late = new_contacts("early", "late")
    for contact in (early, late):
        Attendance.objects.create(event=event, contact=contact, status="attended")
    everyone = scored((early, late), scored_at)
    completed = scored_at + timedelta(hours=2)
    Event.objects.filter(pk=event.pk).update(status="completed", completed_at=completed, updated_at=completed)
    recompute_contacts([late.pk], as_of=completed + timedelta(hours=1), params=PARAMS)  # scored after the completion
    PendingRecompute.objects.all().delete()

    planned_and_run(everyone, tonight, full_path=[early, late], by_arithmetic=[])
    with transaction.atomic():  # the next night, the event still running: still the full path
        recompute_contacts(everyone, as_of=tonight, params=PARAMS, trigger=ScoreTrigger.NIGHTLY)
        arithmetic = planned_and_run(everyone, tonight + timedelta(days=1), full_path=[early, late], by_arithmetic=[])
        transaction.set_rollback(True)
    assert arithmetic[early.pk]["attended_raw"] == 1.0  # the end's weight, undecayed before the end
