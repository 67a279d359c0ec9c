"""The scoring profile form of the admin."""

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from scoring.models import OUTCOME_KEYS, ROLE_KEYS, SATURATION_KEYS, STAGE_THRESHOLDS, ScoringProfile


def _keys(names) -> str:
    return ", ".join(f"“{name}”" for name in names)


class ScoringProfileForm(forms.ModelForm):
    """Validated by ScoringProfile.clean(); saved by services.profile (a new version when
    parameters that results were computed with change; activating switches the active one)."""

    class Meta:
        model = ScoringProfile
        fields = (
            "name", "is_active", "weights", "half_life_days", "saturation", "role_weights", "outcome_weights",
            "stage_thresholds", "converted_referral_weight",
        )
        help_texts = {
            "is_active": _(
                "Exactly one profile is active: activating this one deactivates the other. Changing the "
                "parameters of a profile that is active or has scores saves them as a new version."
            ),
            "saturation": format_lazy(_(
                "How fast each part fills its share of the score: for each of {keys}, the raw value k (above 0) at "
                "which it reaches about two thirds of its points (1 − e^(−x/k)). Larger: slower."
            ), keys=_keys(SATURATION_KEYS)),
            "role_weights": format_lazy(_("A weight for each of {keys}."), keys=_keys(ROLE_KEYS)),
            "outcome_weights": format_lazy(_("A weight for each of {keys} (“”: no outcome given)."),
                                           keys=_keys(OUTCOME_KEYS)),
            "stage_thresholds": format_lazy(_("A number for each of {keys}."), keys=_keys(STAGE_THRESHOLDS)),
        }

    def _get_validation_exclusions(self):
        # The one-active-profile constraint would refuse activating this profile while another
        # is active; saving it deactivates the other instead (services.profile). Deactivating
        # the active profile is still refused, by ScoringProfile.clean().
        exclusions = super()._get_validation_exclusions()
        exclusions.add("is_active")
        return exclusions
