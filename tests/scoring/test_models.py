"""Database rules of the scoring app: ScoringProfile, ContactScore, ScoreSnapshot.

ContactScore and ScoreSnapshot are computed by scoring and read-only to users, so their
rules guard against a bug in the computation, not against a user's typo.
"""

from math import isclose

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.models import Contact, Organization
from scoring.models import COMPONENTS, ContactScore, EventMetrics, KeepInTouchCadence, ScoreSnapshot, ScoringProfile
from tests.model_rules import Rule, all_messages, assert_db_rejects, assert_rule_holds, constraint_names

pytestmark = pytest.mark.django_db

# DOMAIN.md, "The default scoring profile (version 1)".
DOMAIN_WEIGHTS_V1 = {"attendance": 0.30, "networking": 0.20, "dialogue": 0.20, "care": 0.10, "advocacy": 0.10,
                     "recency": 0.10}


def default_profile() -> ScoringProfile:
    return ScoringProfile.objects.get(version=1)


def profile(**fields) -> ScoringProfile:
    """A copy of the default profile as a new, inactive version."""
    base = default_profile()
    values = {
        "name": "Tuned", "version": 2, "weights": dict(base.weights), "half_life_days": base.half_life_days,
        "saturation": base.saturation, "role_weights": base.role_weights, "outcome_weights": base.outcome_weights,
        "stage_thresholds": base.stage_thresholds, "is_active": False,
    }
    return ScoringProfile(**{**values, **fields})


def a_contact() -> Contact:
    return Contact.objects.create(email="anna@example.com")


def contact_score(**fields) -> ContactScore:
    values = {"score": 42.0, "components": dict.fromkeys(COMPONENTS, 0.5), "stage": "growth", "churn_risk": "low",
              "computed_at": timezone.now(), "profile_version": 1}
    return ContactScore(contact=a_contact(), **{**values, **fields})


def snapshot(**fields) -> ScoreSnapshot:
    values = {"score": 42.0, "components": dict.fromkeys(COMPONENTS, 0.5), "stage": "growth", "trigger": "event",
              "computed_at": timezone.now(), "profile_version": 1}
    return ScoreSnapshot(contact=a_contact(), **{**values, **fields})


RULES = [
    Rule("one_active_scoring_profile", lambda: profile(is_active=True), "Another scoring profile is already active."),
    Rule("scoring_profile_half_life_positive", lambda: profile(half_life_days=0), "The half-life must be positive."),
    # Computed rows have no form; full_clean() still names the rule that broke.
    Rule("contact_score_range", lambda: contact_score(score=100.1), "A score lies between 0 and 100."),
    Rule("contact_score_stage_valid", lambda: contact_score(stage="dormant"), "Value 'dormant' is not a valid choice."),
    Rule("contact_score_churn_valid", lambda: contact_score(churn_risk="extreme"), "Value 'extreme' is not a valid choice."),
    Rule("contact_score_show_rate_range", lambda: contact_score(show_rate=1.5), "The show rate lies between 0 and 1."),
    Rule("score_snapshot_score_range", lambda: snapshot(score=-0.1), "A score lies between 0 and 100."),
    Rule("score_snapshot_trigger_valid", lambda: snapshot(trigger="whim"), "Value 'whim' is not a valid choice."),
    Rule("contact_score_next_action_valid", lambda: contact_score(next_action="pray"),
         "Value 'pray' is not a valid choice."),
    # (A form's leftover stage or organization beside a tag is cleared by clean(), not refused.)
    Rule("cadence_one_segment", lambda: KeepInTouchCadence(segment="tag", tag="", days=30),
         "Say which tag this cadence applies to."),
    Rule("cadence_days_range", lambda: KeepInTouchCadence(segment="tag", tag="vip", days=3651),
         "Ensure this value is less than or equal to 3650."),
    Rule("cadence_stage_unique", lambda: KeepInTouchCadence(segment="stage", stage="growth", days=30),
         "This stage already has a cadence."),
    Rule("cadence_tag_unique", lambda: (KeepInTouchCadence.objects.create(segment="tag", tag="vip", days=30),
                                        KeepInTouchCadence(segment="tag", tag="VIP", days=20))[1],
         "This tag already has a cadence."),
    Rule("cadence_organization_unique", lambda: (lambda organization: (
        KeepInTouchCadence.objects.create(segment="organization", organization=organization, days=30),
        KeepInTouchCadence(segment="organization", organization=organization, days=20))[1])(
            Organization.objects.create(name="Acme")),
         "This organization already has a cadence."),
]


def test_every_database_rule_of_the_app_is_tested():
    assert constraint_names(
        ScoringProfile, ContactScore, ScoreSnapshot, EventMetrics, KeepInTouchCadence
    ) == {rule.constraint for rule in RULES}


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_database_rule(rule):
    assert_rule_holds(rule)


class TestDefaultProfile:
    def test_version_1_exists_after_migrations_and_is_the_active_one(self):
        assert list(ScoringProfile.objects.filter(is_active=True).values_list("version", flat=True)) == [1]

    def test_it_has_the_weights_of_domain_md_summing_to_1(self):
        weights = default_profile().weights

        assert weights == DOMAIN_WEIGHTS_V1
        assert isclose(sum(weights.values()), 1.0)
        assert default_profile().half_life_days == 180

    def test_it_passes_its_own_validation(self):
        default_profile().full_clean()


class TestOneActiveProfile:
    def test_an_inactive_second_profile_is_fine(self):
        profile().save()

        assert ScoringProfile.objects.count() == 2

    def test_activating_a_second_profile_by_update_is_rejected(self):
        second = profile()
        second.save()

        assert_db_rejects(lambda: ScoringProfile.objects.filter(pk=second.pk).update(is_active=True),
                          "one_active_scoring_profile")

    def test_switching_is_deactivate_then_activate(self):
        second = profile()
        second.save()
        ScoringProfile.objects.filter(is_active=True).update(is_active=False)
        ScoringProfile.objects.filter(pk=second.pk).update(is_active=True)

        assert ScoringProfile.objects.get(is_active=True).version == 2

    def test_versions_are_unique(self):
        assert_db_rejects(lambda: ScoringProfile.objects.bulk_create([profile(version=1)]), "version")


class TestWeights:
    def test_weights_not_summing_to_1_are_explained(self):
        skewed = profile(weights={**DOMAIN_WEIGHTS_V1, "recency": 0.2})

        with pytest.raises(ValidationError) as caught:
            skewed.full_clean()
        assert any(message.startswith("The weights must sum to 1") for message in all_messages(caught.value))

    def test_a_missing_component_is_explained(self):
        partial = profile(weights={"attendance": 1.0})

        with pytest.raises(ValidationError) as caught:
            partial.full_clean()
        assert "Give one weight for each of: attendance, networking, dialogue, care, advocacy, recency." in all_messages(
            caught.value
        )
