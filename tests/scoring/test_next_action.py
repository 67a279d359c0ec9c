"""Keep-in-touch cadences and the next best action: each rule by hand, then stored by a recompute."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Contact, FollowUp, Organization
from events.models import Attendance, Event, EventSeries
from scoring.choices import CadenceSegment, NextAction
from scoring.models import DEFAULT_STAGE_CADENCE_DAYS, ContactScore, KeepInTouchCadence
from scoring.services import recompute_contacts
from scoring.services.next_action import RULES, ActionFacts, Cadences, decide, reason_text

T = datetime(2026, 6, 1, 12, tzinfo=UTC)


def facts(**overrides) -> ActionFacts:
    """A contact nothing is due for: touched 10 days ago, 90-day cadence."""
    values = {
        "as_of": T, "score": 50.0, "score_90_days_ago": 50.0, "events_attended": 3,
        "last_touch_at": T - timedelta(days=10), "next_touch_due": T + timedelta(days=80), "cadence_days": 90,
        "marketing_consent": True, "last_dialogue_at": T - timedelta(days=10), "last_dialogue_outcome": "neutral",
    }
    return ActionFacts(**(values | overrides))


LOSING_TOUCH = {"next_touch_due": T - timedelta(days=12)}
NEXT_EDITION = {"id": 7, "name": "Summit 2027", "starts_at": T + timedelta(days=30), "series": "Summit"}
FATIGUE = {"days": 30, "touches": 6, "cap": 6}


class TestRules:
    def test_nothing_due_is_wait_with_the_due_date(self):
        action, figures = decide(facts())
        assert action == NextAction.WAIT
        assert figures == {"next_touch_due": T + timedelta(days=80)}

    def test_do_not_contact_and_erased_do_nothing_whatever_else_holds(self):
        busy = {"last_dialogue_outcome": "positive", "overdue_follow_up_due_at": T - timedelta(days=1),
                "next_edition": NEXT_EDITION, "fatigue": FATIGUE, **LOSING_TOUCH}
        assert decide(facts(do_not_contact=True, **busy)) == (NextAction.DO_NOTHING, {"do_not_contact": True})
        assert decide(facts(erased=True, **busy)) == (NextAction.DO_NOTHING, {"erased": True})

    def test_fatigue_means_rest_before_any_action(self):
        action, figures = decide(facts(fatigue=FATIGUE, last_dialogue_outcome="positive",
                                       overdue_follow_up_due_at=T - timedelta(days=1)))
        assert (action, figures) == (NextAction.REST, FATIGUE)

    def test_call_now_needs_a_positive_last_conversation_and_an_overdue_follow_up(self):
        overdue = T - timedelta(days=2)
        assert decide(facts(last_dialogue_outcome="positive", overdue_follow_up_due_at=overdue))[0] == NextAction.CALL_NOW
        assert decide(facts(last_dialogue_outcome="neutral", overdue_follow_up_due_at=overdue))[0] != NextAction.CALL_NOW
        assert decide(facts(last_dialogue_outcome="positive"))[0] == NextAction.WAIT

    @pytest.mark.parametrize("outcome", ["neutral", "negative", ""])
    def test_follow_up_when_a_planned_follow_up_is_overdue_after_no_positive_conversation(self, outcome):
        overdue = T - timedelta(days=2)
        action, figures = decide(facts(last_dialogue_outcome=outcome, overdue_follow_up_due_at=overdue,
                                       next_edition=NEXT_EDITION, **LOSING_TOUCH))
        assert (action, figures) == (NextAction.FOLLOW_UP, {"follow_up_due_at": overdue})
        # Never "nothing due" while a promised touch is overdue.
        assert decide(facts(last_dialogue_outcome=outcome))[0] == NextAction.WAIT

    def test_invite_a_returning_attendee_with_consent_to_the_next_edition(self):
        action, figures = decide(facts(next_edition=NEXT_EDITION))
        assert action == NextAction.INVITE
        assert figures == {"next_edition": NEXT_EDITION, "events_attended": 3}
        # One event is not yet returning; without consent, never invited (but still scored).
        assert decide(facts(next_edition=NEXT_EDITION, events_attended=1))[0] != NextAction.INVITE
        assert decide(facts(next_edition=NEXT_EDITION, marketing_consent=False))[0] == NextAction.WAIT

    def test_re_engage_when_losing_touch_and_the_score_fell(self):
        action, figures = decide(facts(score=40.0, score_90_days_ago=48.5, **LOSING_TOUCH))
        assert action == NextAction.RE_ENGAGE
        assert figures == {"days_overdue": 12, "score_fell_by": 8.5, "score_90_days_ago": 48.5}
        # Past the cadence with a steady score: a check-in, not a rescue.
        assert decide(facts(score=50.0, score_90_days_ago=50.4, **LOSING_TOUCH))[0] == NextAction.CHECK_IN
        assert decide(facts(score=40.0, score_90_days_ago=None, **LOSING_TOUCH))[0] == NextAction.CHECK_IN

    def test_nurture_a_first_timer_nobody_has_talked_to(self):
        assert decide(facts(events_attended=1, last_dialogue_at=None, last_dialogue_outcome=""))[0] == NextAction.NURTURE
        assert decide(facts(events_attended=1))[0] == NextAction.WAIT  # a conversation happened
        assert decide(facts(events_attended=2, last_dialogue_at=None))[0] == NextAction.WAIT

    def test_check_in_when_past_the_cadence(self):
        action, figures = decide(facts(**LOSING_TOUCH))
        assert (action, figures) == (NextAction.CHECK_IN, {"days_overdue": 12})

    def test_the_order_is_the_rules_table(self):
        assert [rule.action for rule in RULES] == [
            NextAction.DO_NOTHING, NextAction.REST, NextAction.CALL_NOW, NextAction.FOLLOW_UP, NextAction.INVITE,
            NextAction.RE_ENGAGE, NextAction.NURTURE, NextAction.CHECK_IN, NextAction.WAIT,
        ]
        # call now beats invite, invite beats re-engage, re-engage beats check-in
        everything = {"last_dialogue_outcome": "positive", "overdue_follow_up_due_at": T - timedelta(days=1),
                      "next_edition": NEXT_EDITION, "score": 30.0, **LOSING_TOUCH}
        assert decide(facts(**everything))[0] == NextAction.CALL_NOW
        assert decide(facts(**{**everything, "last_dialogue_outcome": "neutral"}))[0] == NextAction.FOLLOW_UP
        del everything["overdue_follow_up_due_at"]
        assert decide(facts(**everything))[0] == NextAction.INVITE
        del everything["next_edition"]
        assert decide(facts(**everything))[0] == NextAction.RE_ENGAGE

    def test_every_action_has_a_reason_in_words(self):
        examples = {
            NextAction.DO_NOTHING: {"do_not_contact": True}, NextAction.REST: FATIGUE,
            NextAction.CALL_NOW: {"last_dialogue_at": T.isoformat(), "follow_up_due_at": T.isoformat()},
            NextAction.FOLLOW_UP: {"follow_up_due_at": T.isoformat()},
            NextAction.INVITE: {"next_edition": {**NEXT_EDITION, "starts_at": NEXT_EDITION["starts_at"].isoformat()},
                                "events_attended": 3},
            NextAction.RE_ENGAGE: {"days_overdue": 12, "score_fell_by": 8.5}, NextAction.NURTURE: {},
            NextAction.CHECK_IN: {"days_overdue": 12}, NextAction.WAIT: {"next_touch_due": T.isoformat()},
        }
        texts = {action: reason_text(action, figures) for action, figures in examples.items()}
        assert texts[NextAction.REST] == "6 agency touches in the last 30 days (cap 6): give them a rest."
        assert texts[NextAction.FOLLOW_UP] == "The follow-up due 2026-06-01 is overdue."
        assert "Summit 2027" in texts[NextAction.INVITE]
        assert "2026-07-01" in texts[NextAction.INVITE]
        assert texts[NextAction.RE_ENGAGE] == "12 days past their cadence; the score fell by 8.5 points in 90 days."
        assert all(texts.values())
        one_day = {"days_overdue": 1, "score_fell_by": 8.5}
        assert reason_text(NextAction.RE_ENGAGE, one_day) == (
            "1 day past their cadence; the score fell by 8.5 points in 90 days.")
        assert reason_text(NextAction.CHECK_IN, one_day, translate=False) == "1 day past their keep-in-touch cadence."


@pytest.mark.django_db
class TestCadences:
    def test_every_stage_has_a_cadence_out_of_the_box(self):
        rows = dict(KeepInTouchCadence.objects.filter(segment=CadenceSegment.STAGE).values_list("stage", "days"))
        assert rows == {str(stage): days for stage, days in DEFAULT_STAGE_CADENCE_DAYS.items()}
        assert rows["maturity"] == 60
        assert rows["growth"] == 90
        assert rows["at_risk"] == 180

    def test_own_cadence_then_the_shortest_segment_then_the_stage(self):
        acme = Organization.objects.create(name="Acme")
        KeepInTouchCadence.objects.create(segment=CadenceSegment.ORGANIZATION, organization=acme, days=45)
        KeepInTouchCadence.objects.create(segment=CadenceSegment.TAG, tag="vip", days=30)
        KeepInTouchCadence.objects.filter(stage="growth").update(days=75)
        cadences = Cadences.load()
        resolve = cadences.resolve
        assert resolve(own_days=10, organization_id=acme.pk, tags=["VIP"], stage="growth") == (10, "contact")
        assert resolve(own_days=None, organization_id=acme.pk, tags=["VIP"], stage="growth") == (30, "tag")
        assert resolve(own_days=None, organization_id=acme.pk, tags=["other"], stage="growth") == (45, "organization")
        assert resolve(own_days=None, organization_id=None, tags=[], stage="growth") == (75, "stage")
        # A stage whose row staff deleted keeps its cadence out of the box.
        KeepInTouchCadence.objects.filter(stage="maturity").delete()
        assert Cadences.load().resolve(own_days=None, organization_id=None, tags=[], stage="maturity") == (60, "stage")

    def test_a_cadence_names_exactly_one_segment(self):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            KeepInTouchCadence(segment=CadenceSegment.TAG, tag="", days=30).full_clean()
        with pytest.raises(ValidationError):
            KeepInTouchCadence(segment=CadenceSegment.STAGE, stage="growth", days=0).full_clean()
        with pytest.raises(ValidationError):  # growth has its row already
            KeepInTouchCadence(segment=CadenceSegment.STAGE, stage="growth", days=10).full_clean()


def _event(name, *, days_ago, series=None, status="completed"):
    ends_at = timezone.now() - timedelta(days=days_ago)
    return Event.objects.create(
        name=name, series=series, starts_at=ends_at - timedelta(hours=6), ends_at=ends_at, status=status,
        completed_at=ends_at if status == "completed" else None,
    )


@pytest.mark.django_db
class TestStored:
    def test_a_recompute_stores_cadence_next_touch_and_action(self):
        series = EventSeries.objects.create(name="Forum")
        first, second = _event("Forum 1", days_ago=400, series=series), _event("Forum 2", days_ago=200, series=series)
        _event("Forum 3", days_ago=-60, series=series, status="planned")
        loyal = Contact.objects.create(email="loyal@example.com", marketing_consent=True)
        quiet = Contact.objects.create(email="quiet@example.com", tags=["VIP"])
        blocked = Contact.objects.create(email="blocked@example.com", do_not_contact=True)
        for contact in (loyal, quiet, blocked):
            Attendance.objects.create(event=first, contact=contact, status="attended")
        Attendance.objects.create(event=second, contact=loyal, status="attended")
        KeepInTouchCadence.objects.create(segment=CadenceSegment.TAG, tag="vip", days=30)

        recompute_contacts([loyal.pk, quiet.pk, blocked.pk])

        loyal_score, quiet_score, blocked_score = (ContactScore.objects.get(contact=c) for c in (loyal, quiet, blocked))
        assert loyal_score.next_action == NextAction.INVITE
        assert loyal_score.next_action_figures["next_edition"]["name"] == "Forum 3"
        assert "Forum 3" in loyal_score.next_action_reason
        assert quiet_score.cadence_days == 30
        assert quiet_score.cadence_source == "tag"
        assert quiet_score.next_touch_due == first.ends_at + timedelta(days=30)
        assert quiet_score.next_action == NextAction.NURTURE  # one event, nobody talked to them yet
        assert quiet_score.next_action_figures["days_overdue"] == (timezone.now() - quiet_score.next_touch_due).days
        assert blocked_score.next_action == NextAction.DO_NOTHING
        assert blocked_score.next_touch_due is None

    def test_a_touch_resets_the_clock_at_once(self, django_capture_on_commit_callbacks):
        event = _event("Dinner", days_ago=150)
        contact = Contact.objects.create(email="anna@example.com")
        Attendance.objects.create(event=event, contact=contact, status="attended")
        recompute_contacts([contact.pk])
        assert ContactScore.objects.get(contact=contact).next_touch_due < timezone.now()  # socialization: 120 days

        with django_capture_on_commit_callbacks(execute=True):
            contact_services.create_follow_up(contact=contact, status="done", completed_at=timezone.now(),
                                              outcome="positive")

        score = ContactScore.objects.get(contact=contact)
        assert score.next_touch_due > timezone.now() + timedelta(days=100)
        assert score.next_action == NextAction.WAIT

    def test_a_planned_follow_up_moves_the_next_action(self, django_capture_on_commit_callbacks):
        contact = Contact.objects.create(email="bea@example.com")
        Attendance.objects.create(event=_event("Fair", days_ago=20), contact=contact, status="attended")
        FollowUp.objects.create(contact=contact, status="done", completed_at=timezone.now() - timedelta(days=15),
                                outcome="positive")
        recompute_contacts([contact.pk])
        assert ContactScore.objects.get(contact=contact).next_action == NextAction.WAIT

        with django_capture_on_commit_callbacks(execute=True):
            contact_services.create_follow_up(contact=contact, status="planned",
                                              due_at=timezone.now() - timedelta(hours=1))

        assert ContactScore.objects.get(contact=contact).next_action == NextAction.CALL_NOW

    def test_changing_a_contacts_own_cadence_rescores_it(self, django_capture_on_commit_callbacks):
        contact = Contact.objects.create(email="cem@example.com")
        Attendance.objects.create(event=_event("Fair", days_ago=20), contact=contact, status="attended")
        recompute_contacts([contact.pk])
        with django_capture_on_commit_callbacks(execute=True):
            contact_services.update_contact(contact, cadence_days=7)
        score = ContactScore.objects.get(contact=contact)
        assert (score.cadence_days, score.cadence_source) == (7, "contact")
        assert score.next_action == NextAction.NURTURE  # one event, nobody talked to them yet

    def test_the_queries_do_not_grow_with_the_chunk(self):
        series = EventSeries.objects.create(name="Expo")
        past, _planned = _event("Expo 1", days_ago=100, series=series), _event("Expo 2", days_ago=-30, series=series,
                                                                                 status="planned")

        def people(count, offset):
            contacts = [Contact.objects.create(email=f"p{offset + n}@example.com", tags=["a", "b"]) for n in range(count)]
            for contact in contacts:
                Attendance.objects.create(event=past, contact=contact, status="attended")
                FollowUp.objects.create(contact=contact, status="planned", due_at=timezone.now() - timedelta(days=1))
            return [contact.pk for contact in contacts]

        def queries(ids):
            with CaptureQueriesContext(connection) as captured:
                recompute_contacts(ids)
            return len(captured)

        # (20: SQLite takes at most 999 parameters a statement; more rows split the upsert.)
        assert queries(people(2, 0)) == queries(people(20, 100))


@pytest.mark.django_db
def test_the_upgrade_rescores_who_the_follow_up_rule_comes_first_for_and_the_downgrade_undoes_it():
    """Migration scoring 0019 (the "follow up" rule): stored actions it comes before, with an
    overdue planned follow-up, get a recompute request, which the sweep sends; nobody else.
    Going back, "follow up" rows wait and are rescored by the older rules."""
    from django.apps import apps

    from scoring.models import RecomputeRequest

    upgrade = importlib.import_module("scoring.migrations.0019_next_action_follow_up")
    names = ("waiting", "inviting", "checking", "ahead", "resting", "acted")
    people = dict(zip(names, (Contact.objects.create(email=f"{name}@example.com") for name in names), strict=True))
    for name, contact in people.items():
        days = 2 if name == "ahead" else -2
        FollowUp.objects.create(contact=contact, status="planned", due_at=timezone.now() + timedelta(days=days))
    recompute_contacts([contact.pk for contact in people.values()])
    assert ContactScore.objects.get(contact=people["acted"]).next_action == NextAction.FOLLOW_UP
    stored_before = {"waiting": NextAction.WAIT, "inviting": NextAction.INVITE, "checking": NextAction.CHECK_IN,
                     "ahead": NextAction.WAIT, "resting": NextAction.REST}
    for name, action in stored_before.items():
        ContactScore.objects.filter(contact=people[name]).update(next_action=action)
    RecomputeRequest.objects.all().delete()

    upgrade.rescore_overdue(apps, None)

    assert list(RecomputeRequest.objects.values_list("kind", "contact_ids")) == [
        ("contacts", sorted(people[name].pk for name in ("waiting", "inviting", "checking")))]
    RecomputeRequest.objects.all().delete()

    upgrade.forget_follow_up(apps, None)

    assert ContactScore.objects.get(contact=people["acted"]).next_action == NextAction.WAIT
    assert list(RecomputeRequest.objects.values_list("contact_ids", flat=True)) == [[people["acted"].pk]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans of PostgreSQL")
@pytest.mark.django_db
def test_on_postgresql_the_contacts_invited_to_an_edition_come_from_their_own_index():
    """invited_to() runs with every completed, started or deleted event: it reads the invitations
    to that edition from a partial index, not every invitation's figures."""
    from scoring.services.next_action import invited_to

    people = Contact.objects.bulk_create(Contact(email=f"p{n}@example.com") for n in range(300))
    ContactScore.objects.bulk_create(
        ContactScore(contact=person, score=50, components={}, stage="growth", churn_risk="low", computed_at=T,
                     profile_version=1, next_action=NextAction.INVITE,
                     next_action_figures={"next_edition": {"id": n % 30, "name": f"Edition {n % 30}"}})
        for n, person in enumerate(people)
    )
    with CaptureQueriesContext(connection) as captured:
        assert invited_to([7]) == {person.pk for n, person in enumerate(people) if n % 30 == 7}
    [statement] = [query["sql"] for query in captured.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the question: can an index serve it (not which plan 300 rows favour)
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "contact_score_invited_to_idx" in plan, plan
