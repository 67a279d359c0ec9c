"""The parameters of the active ScoringProfile, as plain numbers for the computation."""

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


def active_parameters() -> ScoringParameters:
    """The active profile; a database without one is misconfigured, so say so."""
    profile = ScoringProfile.objects.filter(is_active=True).first()
    if profile is None:
        raise ScoringProfile.DoesNotExist("No active scoring profile: activate one in the admin.")
    return ScoringParameters.from_profile(profile)
