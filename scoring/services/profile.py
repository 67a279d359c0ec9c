"""The scoring profile: the parameters of the active one for the computation, and the
writes of staff (create, edit, delete) that keep DOMAIN.md's rules about profiles."""

import importlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from scoring import triggers
from scoring.models import ContactScore, ScoreSnapshot, ScoringProfile

# What a profile computes with; its name and whether it is active are not parameters.
PARAMETER_FIELDS = (
    "weights", "half_life_days", "saturation", "role_weights", "outcome_weights", "stage_thresholds",
    "converted_referral_weight",
)


@dataclass(frozen=True)
class ScoringParameters:
    version: int
    weights: dict[str, float]
    half_life_days: float
    saturation: dict[str, float]
    role_weights: dict[str, float]
    outcome_weights: dict[str, float]
    thresholds: dict[str, float]
    # A converted referral's weight in advocacy (docs/referrals.md); 1 = like any referral.
    converted_referral_weight: float = 1.0

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
            converted_referral_weight=float(profile.converted_referral_weight),
        )

    def threshold(self, name: str, default: float) -> float:
        return self.thresholds.get(name, default)


def default_profile_values() -> dict:
    """DOMAIN.md's profile v1, as its data migration creates it (one definition)."""
    migration = importlib.import_module("scoring.migrations.0002_default_scoring_profile")
    # Parameters added after v1 (migration 0009 on) have the default that keeps v1's numbers.
    return {"converted_referral_weight": 1.0, **migration.DEFAULT_PROFILE_V1}


def active_parameters() -> ScoringParameters:
    """The active profile. A database with no profile at all (flushed, say) gets v1 again;
    profiles with none active are a choice staff made, so that is an error that says so.

    Two callers (workers, threads) that find no profile at once both try to create v1: one
    wins, the other's insert fails on the unique version / one-active-profile constraints,
    and both read the winner's profile.
    """
    profile = ScoringProfile.objects.filter(is_active=True).first()
    if profile is None:
        if not ScoringProfile.objects.exists():
            try:
                with transaction.atomic():
                    ScoringProfile.objects.create(**default_profile_values())
            except IntegrityError:
                pass  # a concurrent caller created it first
        # Read again: the one just created, or one a concurrent caller committed meanwhile.
        profile = ScoringProfile.objects.filter(is_active=True).first()
        if profile is None:
            raise ScoringProfile.DoesNotExist("No active scoring profile: activate one in the admin.")
    return ScoringParameters.from_profile(profile)


# Writes ----------------------------------------------------------------------------------


def create_profile(**fields) -> ScoringProfile:
    """A new profile, numbered after the highest version. Saved active, it becomes the active one."""
    with transaction.atomic():
        _lock_profiles()
        profile = ScoringProfile(**fields)
        profile.version = _next_version()
        _validate(profile)
        return _save(profile)


def active_version() -> int | None:
    """The active profile's version (None before any profile exists)."""
    return ScoringProfile.objects.filter(is_active=True).values_list("version", flat=True).first()


def update_profile(profile: ScoringProfile, **changes) -> ScoringProfile:
    """Apply staff's changes to a profile; returns the profile as saved, maybe a new version.

    DOMAIN.md stores the profile version with every score and snapshot, so a version always
    means the same parameters: new parameters for a profile that is active or that results
    carry are saved as a new version (a new row, active if this one was or is being activated),
    and the edited row stays as it was, the record of what its results were computed with.
    A draft that nothing was computed with is edited in place. Activating a profile deactivates
    the active one; the active one cannot be deactivated otherwise (ScoringProfile.clean()).
    """
    with transaction.atomic():
        _lock_profiles()
        profile = ScoringProfile.objects.get(pk=profile.pk)  # the stored state, now locked
        parameters_before, was_active = _parameters(profile), profile.is_active
        for name, value in changes.items():
            setattr(profile, name, value)
        _validate(profile)  # still as the stored row: clean() sees whether it was the active one
        if _parameters(profile) != parameters_before and (was_active or _has_results(profile.version)):
            profile.pk, profile.created_at, profile._state.adding = None, None, True
            profile.version = _next_version()
        return _save(profile)


def delete_profile(profile: ScoringProfile) -> None:
    """Delete a draft. The active profile stays (scoring always has one), and so does a profile
    that results were computed with: it is their record."""
    with transaction.atomic():
        _lock_profiles()
        profile = ScoringProfile.objects.get(pk=profile.pk)
        if profile.is_active:
            raise ValidationError(
                _("%(profile)s is the active profile: activate another profile before deleting it.")
                % {"profile": profile}, code="active_profile",
            )
        if _has_results(profile.version):
            raise ValidationError(
                _("Scores were computed with %(profile)s: it stays as the record of their parameters.")
                % {"profile": profile}, code="profile_in_use",
            )
        profile.delete()


def _lock_profiles() -> None:
    """Serialise profile writes (version numbers, the one active profile); a handful of rows."""
    list(ScoringProfile.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def _next_version() -> int:
    # A query of its own, after the lock: on PostgreSQL it sees a version committed meanwhile.
    return (ScoringProfile.objects.aggregate(highest=Max("version"))["highest"] or 0) + 1


def _parameters(profile: ScoringProfile) -> dict:
    return {name: getattr(profile, name) for name in PARAMETER_FIELDS}


def _has_results(version: int) -> bool:
    return (
        ContactScore.objects.filter(profile_version=version).exists()
        or ScoreSnapshot.objects.filter(profile_version=version).exists()
    )


def _validate(profile: ScoringProfile) -> None:
    # Not is_active: a second active profile is a switch _save() makes, not an error.
    profile.full_clean(exclude=["is_active"])


def _save(profile: ScoringProfile) -> ScoringProfile:
    """Save the profile; when that changes which parameters score (another version active), every
    contact is re-scored with them (after commit, through the outbox)."""
    active_before = active_version()
    others = ScoringProfile.objects.filter(is_active=True)
    if profile.pk is not None:
        others = others.exclude(pk=profile.pk)
    if profile.is_active:
        others.update(is_active=False)  # first: the database holds one active profile at a time
    elif not others.exists():
        profile.is_active = True  # scoring needs one (DOMAIN.md): e.g. the first of an empty table
    profile.save()
    if active_before is not None and active_version() != active_before:
        triggers.schedule_all_contacts_recompute()
    return profile
