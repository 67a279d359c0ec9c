"""The parameters of the active ScoringProfile, as plain numbers for the computation."""

import importlib
from dataclasses import dataclass

from scoring.models import ScoringProfile


@dataclass(frozen=True)
class ScoringParameters:
    version: int
    weights: dict[str, float]
    half_life_days: float
    saturation: dict[str, float]
    role_weights: dict[str, float]
    outcome_weights: dict[str, float]
    thresholds: dict[str, float]

    @classmethod
    def from_profile(cls, profile: ScoringProfile) -> "ScoringParameters":
        return cls(
            version=profile.version,
            weights={name: float(value) for name, value in profile.weights.items()},
            half_life_days=float(profile.half_life_days),
            saturation={name: float(value) for name, value in profile.saturation.items()},
            role_weights={name: float(value) for name, value in profile.role_weights.items()},
            outcome_weights={name: float(value) for name, value in profile.outcome_weights.items()},
            thresholds={name: float(value) for name, value in profile.stage_thresholds.items()},
        )

    def threshold(self, name: str, default: float) -> float:
        return self.thresholds.get(name, default)


def default_profile_values() -> dict:
    """DOMAIN.md's profile v1, as its data migration creates it (one definition)."""
    migration = importlib.import_module("scoring.migrations.0002_default_scoring_profile")
    return dict(migration.DEFAULT_PROFILE_V1)


def active_parameters() -> ScoringParameters:
    """The active profile. A database with no profile at all (flushed, say) gets v1 again;
    profiles with none active are a choice staff made, so that is an error that says so."""
    profile = ScoringProfile.objects.filter(is_active=True).first()
    if profile is None:
        if ScoringProfile.objects.exists():
            raise ScoringProfile.DoesNotExist("No active scoring profile: activate one in the admin.")
        profile, _ = ScoringProfile.objects.get_or_create(version=1, defaults=default_profile_values())
    return ScoringParameters.from_profile(profile)
