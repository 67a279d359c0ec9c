"""Scoring profiles as staff change them: every parameter validated, exactly one active, and a
profile version always names the same parameters (DOMAIN.md: results carry the version)."""

import copy
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet

from contacts.models import Contact
from events.models import Attendance, Event
from scoring.models import ContactScore, ScoreSnapshot, ScoringProfile
from scoring.services import active_parameters, recompute_contacts
from scoring.services.profile import (
    ScoringParameters,
    create_profile,
    default_profile_values,
    delete_profile,
    update_profile,
)

pytestmark = pytest.mark.django_db

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def v1() -> ScoringProfile:
    return ScoringProfile.objects.get(version=1)


def parameters(**changes) -> dict:
    """The parameters of the default profile v1, with some changed."""
    values = copy.deepcopy(default_profile_values())
    return {name: values[name] for name in (
        "weights", "half_life_days", "saturation", "role_weights", "outcome_weights", "stage_thresholds")} | changes


def thresholds(**changes) -> dict:
    return {**default_profile_values()["stage_thresholds"], **changes}


def messages_of(profile: ScoringProfile) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        profile.full_clean()
    return caught.value.message_dict


def scored_contact() -> Contact:
    anna = Contact.objects.create(email="anna@example.com")
    event = Event.objects.create(name="Summit", starts_at=T - timedelta(days=10, hours=8), ends_at=T - timedelta(days=10),
                                 status="completed", completed_at=T - timedelta(days=10))
    Attendance.objects.create(event=event, contact=anna, status="attended")
    recompute_contacts([anna.pk], as_of=T)
    return anna


INVALID = [
    # (field, value, a part of the message on that field)
    ("stage_thresholds", {"at_risk_days": "abc"}, "Missing: “maturity_min_events”"),
    ("stage_thresholds", {"at_risk_days": "abc"}, "“at_risk_days” must be a number from 0 to 3650 (it is \"abc\")."),
    ("stage_thresholds", thresholds(at_risk_days="abc"), "“at_risk_days” must be a number"),
    ("stage_thresholds", thresholds(at_risk_days="270"), "“at_risk_days” must be a number"),
    ("stage_thresholds", thresholds(at_risk_days=True), "“at_risk_days” must be a number"),
    ("stage_thresholds", thresholds(at_risk_days=-1), "“at_risk_days” must be a number from 0 to 3650"),
    ("stage_thresholds", thresholds(churn_drop_lookback_days=1e9), "“churn_drop_lookback_days” must be"),
    ("stage_thresholds", thresholds(maturity_min_score=101), "“maturity_min_score” must be a number from 0 to 100"),
    ("stage_thresholds", thresholds(maturity_min_events=2.5), "“maturity_min_events” must be a whole number."),
    ("stage_thresholds", thresholds(maturity_min_events=0), "“maturity_min_events” must be a number from 1"),
    ("stage_thresholds", thresholds(no_show_penalty=None), "“no_show_penalty” must be a number"),
    ("stage_thresholds", thresholds(churn_medium_days=400), "“churn_medium_days” cannot be above “churn_high_days”."),
    ("stage_thresholds", thresholds(care_full_hours=200), "“care_full_hours” cannot be longer than “care_half_days”."),
    ("stage_thresholds", thresholds(at_risk_weeks=40), "Unknown: “at_risk_weeks”"),
    ("stage_thresholds", [270], "Give an object with the keys “at_risk_days”"),
    ("saturation", {"attendance": 2.0, "networking": 4.0, "dialogue": 3.0}, "Missing: “referrals”."),
    ("saturation", {"attendance": 0, "networking": 4.0, "dialogue": 3.0, "referrals": 1.0},
     "“attendance” must be a number above 0, at most 1000 (it is 0)."),
    ("saturation", {"attendance": -2, "networking": 4.0, "dialogue": 3.0, "referrals": 1.0}, "“attendance” must be"),
    ("saturation", {"attendance": "x", "networking": 4.0, "dialogue": 3.0, "referrals": 1.0}, "“attendance” must be"),
    ("role_weights", {"attendee": 1.0, "speaker": 1.5}, "Missing: “vip”, “sponsor”, “exhibitor”."),
    ("role_weights", {**default_profile_values()["role_weights"], "keynote": 2.0}, "Unknown: “keynote”"),
    ("role_weights", {**default_profile_values()["role_weights"], "vip": -1}, "“vip” must be a number from 0 to 10"),
    ("outcome_weights", {"positive": 1.5, "neutral": 1.0, "negative": 0.5, "no_response": 0.25}, "Missing: “”."),
    ("outcome_weights", {**default_profile_values()["outcome_weights"], "neutral": "1"}, "“neutral” must be a number"),
    ("weights", {**default_profile_values()["weights"], "care": "0.1"}, "“care” must be a number from 0 to 1"),
    ("weights", {**default_profile_values()["weights"], "care": 1.1, "recency": -1.0}, "“recency” must be a number"),
    ("weights", {"attendance": 1.0}, "Give one weight for each of"),
    ("half_life_days", 0, "The half-life must be positive."),
    ("half_life_days", -180, "The half-life must be positive."),
    ("half_life_days", 1, "The half-life must be from 30 to 3650 days."),
    ("half_life_days", float("inf"), "The half-life must be from 30 to 3650 days."),
]


class TestEveryParameterIsValidated:
    @pytest.mark.parametrize(("field", "value", "message"), INVALID, ids=lambda value: str(value)[:40])
    def test_an_invalid_value_is_a_clear_error_on_its_field(self, field, value, message):
        profile = v1()
        setattr(profile, field, value)

        errors = messages_of(profile)

        assert any(message in text for text in errors.get(field, [])), errors

    def test_the_default_profile_is_valid_and_all_its_errors_come_at_once(self):
        profile = v1()
        profile.full_clean()
        profile.saturation, profile.stage_thresholds = {}, {}

        assert set(messages_of(profile)) == {"saturation", "stage_thresholds"}

    def test_what_validation_accepts_scoring_can_compute_with(self):
        # The edges of every range: scoring reads them and computes a score without an error.
        edge = parameters(
            half_life_days=30, saturation={"attendance": 1e-9, "networking": 1000, "dialogue": 3, "referrals": 1},
            role_weights=dict.fromkeys(default_profile_values()["role_weights"], 0),
            stage_thresholds=thresholds(at_risk_days=0, churn_drop_lookback_days=3650, care_full_hours=0,
                                        care_half_days=0, maturity_min_events=1, no_show_penalty=10),
        )
        profile = update_profile(v1(), **edge)
        profile.full_clean()

        anna = scored_contact()

        assert active_parameters() == ScoringParameters.from_profile(profile)
        assert ContactScore.objects.get(contact=anna).profile_version == profile.version


class TestOneActiveProfile:
    def test_the_active_profile_cannot_be_deactivated(self):
        profile = v1()
        profile.is_active = False

        assert "activate another profile instead" in messages_of(profile)["is_active"][0]
        with pytest.raises(ValidationError):
            update_profile(v1(), is_active=False)
        assert v1().is_active

    def test_an_inactive_profile_can_stay_inactive(self):
        draft = create_profile(name="Draft", is_active=False, **parameters())
        draft.full_clean()
        update_profile(draft, name="Draft 2")

        assert not ScoringProfile.objects.get(pk=draft.pk).is_active

    def test_activating_a_profile_deactivates_the_active_one(self):
        draft = create_profile(name="Draft", is_active=False, **parameters(half_life_days=90))

        update_profile(draft, is_active=True)

        assert list(ScoringProfile.objects.filter(is_active=True).values_list("version", flat=True)) == [2]
        assert active_parameters().half_life_days == 90

    def test_creating_an_active_profile_deactivates_the_active_one(self):
        create_profile(name="Tuned", is_active=True, **parameters(half_life_days=90))

        assert list(ScoringProfile.objects.filter(is_active=True).values_list("version", flat=True)) == [2]

    def test_the_first_profile_of_an_empty_table_is_the_active_one(self):
        ScoringProfile.objects.all().delete()

        profile = create_profile(name="Fresh", is_active=False, **parameters())

        assert profile.is_active
        assert active_parameters().version == profile.version == 1

    def test_the_active_profile_and_profiles_with_results_are_not_deleted(self):
        scored_contact()  # results of v1
        with pytest.raises(ValidationError, match="is the active profile"):
            delete_profile(v1())
        update_profile(create_profile(name="Tuned", is_active=False, **parameters()), is_active=True)

        with pytest.raises(ValidationError, match="Scores were computed with Default v1"):
            delete_profile(v1())
        draft = create_profile(name="Draft", is_active=False, **parameters())
        delete_profile(draft)

        assert list(ScoringProfile.objects.values_list("version", flat=True)) == [2, 1]


class TestVersions:
    def test_new_parameters_of_the_active_profile_are_a_new_version_and_scores_carry_it(self):
        anna = scored_contact()
        assert ContactScore.objects.get(contact=anna).profile_version == 1
        before = parameters()

        saved = update_profile(v1(), half_life_days=90, stage_thresholds=thresholds(at_risk_days=200))

        assert (saved.version, saved.is_active, saved.half_life_days) == (2, True, 90)
        old = v1()
        assert not old.is_active
        assert {name: getattr(old, name) for name in before} == before  # the record of v1's results
        recompute_contacts([anna.pk], as_of=T + timedelta(days=1))
        assert ContactScore.objects.get(contact=anna).profile_version == 2
        assert list(ScoreSnapshot.objects.filter(contact=anna).values_list("profile_version", flat=True)) == [2, 1]

    def test_the_active_profile_gets_a_new_version_even_without_results_yet(self):
        # A scoring task may have read it already and will write its version.
        saved = update_profile(v1(), half_life_days=90)

        assert saved.version == 2
        assert v1().half_life_days == 180

    def test_a_new_name_or_the_same_numbers_keep_the_version(self):
        scored_contact()

        saved = update_profile(v1(), name="Default (agency)", half_life_days=180.0,
                               weights={**default_profile_values()["weights"]})

        assert (saved.pk, saved.version, saved.name) == (v1().pk, 1, "Default (agency)")
        assert ScoringProfile.objects.count() == 1

    def test_a_draft_nothing_was_computed_with_is_edited_in_place(self):
        draft = create_profile(name="Draft", is_active=False, **parameters())

        saved = update_profile(draft, half_life_days=90)

        assert (saved.pk, saved.version) == (draft.pk, 2)
        assert ScoringProfile.objects.count() == 2

    def test_an_inactive_profile_with_results_gets_a_new_inactive_version(self):
        scored_contact()  # results of v1
        update_profile(create_profile(name="Tuned", is_active=False, **parameters()), is_active=True)  # v2 active

        saved = update_profile(v1(), half_life_days=90)

        assert (saved.version, saved.is_active) == (3, False)
        assert v1().half_life_days == 180
        assert ScoringProfile.objects.get(is_active=True).version == 2

    def test_new_parameters_and_activation_at_once(self):
        scored_contact()
        update_profile(create_profile(name="Tuned", is_active=False, **parameters()), is_active=True)  # v2 active

        saved = update_profile(v1(), half_life_days=90, is_active=True)

        assert (saved.version, saved.is_active) == (3, True)
        assert list(ScoringProfile.objects.filter(is_active=True).values_list("version", flat=True)) == [3]

    def test_invalid_changes_save_nothing(self):
        with pytest.raises(ValidationError):
            update_profile(v1(), stage_thresholds={"at_risk_days": "abc"})

        assert list(ScoringProfile.objects.values_list("version", "is_active")) == [(1, True)]
        assert v1().stage_thresholds == default_profile_values()["stage_thresholds"]
        assert active_parameters().version == 1



def test_a_profile_a_concurrent_caller_made_meanwhile_is_used(monkeypatch):
    """The window of two workers on a flushed database, played in one thread: this caller found
    no active profile; before it looked again, the other one made v1 and committed. It used
    to fail with "No active scoring profile"."""
    ScoringProfile.objects.all().delete()
    real_exists = QuerySet.exists

    def exists_after_the_other_caller(queryset):
        if queryset.model is ScoringProfile and not real_exists(ScoringProfile.objects.all()):
            ScoringProfile.objects.create(**default_profile_values())  # the other worker, meanwhile
        return real_exists(queryset)

    monkeypatch.setattr(QuerySet, "exists", exists_after_the_other_caller)

    assert active_parameters().version == 1
    assert list(ScoringProfile.objects.values_list("version", "is_active")) == [(1, True)]


def versions_read_at_once(callers: int) -> list[int]:
    """active_parameters() in `callers` threads released together; their profile versions."""
    start = threading.Barrier(callers)
    versions, errors = [], []

    def read_parameters():
        try:
            start.wait()
            versions.append(active_parameters().version)
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=read_parameters) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return versions


@pytest.mark.django_db(transaction=True)
def test_two_callers_finding_no_profile_at_once_both_get_v1():
    """A flushed database: two workers that find no profile at once both make v1; one insert
    wins and both compute with it, whichever way their queries interleave."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time anyway")
    for _round in range(5):  # the window is narrow: a few tries
        ScoringProfile.objects.all().delete()

        assert versions_read_at_once(2) == [1, 1]
        assert list(ScoringProfile.objects.values_list("version", "is_active")) == [(1, True)]
