"""The default scoring profile v1 of DOMAIN.md, active from the start."""

from django.db import migrations

DEFAULT_PROFILE_V1 = {
    "name": "Default",
    "version": 1,
    "weights": {
        "attendance": 0.30,
        "networking": 0.20,
        "dialogue": 0.20,
        "care": 0.10,
        "advocacy": 0.10,
        "recency": 0.10,
    },
    "half_life_days": 180.0,
    "saturation": {"attendance": 2.0, "networking": 4.0, "dialogue": 3.0, "referrals": 1.0},
    "role_weights": {"attendee": 1.0, "speaker": 1.5, "vip": 1.25, "sponsor": 1.25, "exhibitor": 1.25},
    "outcome_weights": {"positive": 1.5, "neutral": 1.0, "negative": 0.5, "no_response": 0.25, "": 1.0},
    "stage_thresholds": {
        "at_risk_days": 270,
        "maturity_min_events": 3,
        "maturity_min_score": 60,
        "churn_high_days": 365,
        "churn_medium_days": 180,
        "churn_drop_points": 10,
        "churn_drop_lookback_days": 90,
        "care_full_hours": 48,
        "care_half_days": 7,
        "no_show_penalty": 0.5,
    },
    "is_active": True,
}


def create_default_profile(apps, schema_editor):
    ScoringProfile = apps.get_model("scoring", "ScoringProfile")
    if not ScoringProfile.objects.filter(version=1).exists():
        ScoringProfile.objects.create(**DEFAULT_PROFILE_V1)


def remove_default_profile(apps, schema_editor):
    apps.get_model("scoring", "ScoringProfile").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]

    operations = [migrations.RunPython(create_default_profile, remove_default_profile)]
