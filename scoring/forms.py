"""The scoring profile form of the admin: each parameter a number field of its own."""

from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.choices import FollowUpOutcome
from events.choices import AttendanceRole
from ror_crm.admin_tools import LocalizedFloatField
from scoring.models import COMPONENTS, OUTCOME_KEYS, ROLE_KEYS, SATURATION_KEYS, STAGE_THRESHOLDS, ScoringProfile
from scoring.views import component_labels

THRESHOLD_LABELS = {
    "at_risk_days": _("At risk after (days without a touch)"),
    "maturity_min_events": _("Maturity from (events attended)"),
    "maturity_min_score": _("Maturity from (score)"),
    "churn_high_days": _("High churn risk after (days without a touch)"),
    "churn_medium_days": _("Medium churn risk after (days without a touch)"),
    "churn_drop_points": _("Medium churn risk for a score fall of (points)"),
    "churn_drop_lookback_days": _("Score fall against the score of (days before)"),
    "care_full_hours": _("Follow-up counts fully within (hours after the event)"),
    "care_half_days": _("Follow-up counts half within (days after the event)"),
    "no_show_penalty": _("No-show penalty (against 1 for an attendance)"),
}


def localized_number_input() -> forms.TextInput:
    """A text input showing and taking a number as the admin's language writes it (0,35 in
    German), as the admin's other decimal fields: a browser's number input follows the browser's
    locale, not the page's, and turned a German 0,35 into 035."""
    widget = forms.TextInput(attrs={"inputmode": "decimal"})
    widget.is_localized = True
    return widget


class NumbersByKeyWidget(forms.MultiWidget):
    """One labelled number input per key of a JSON object of numbers."""

    template_name = "scoring/widgets/numbers_by_key.html"

    class Media:
        css = {"all": ["admin-ror/admin.css"]}

    def __init__(self, labels: dict, attrs=None):
        self.keys, self.labels = list(labels), list(labels.values())
        super().__init__([localized_number_input() for _ in self.keys], attrs)

    def decompress(self, value):
        value = value if isinstance(value, dict) else {}
        return [value.get(key) for key in self.keys]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["labelled"] = list(zip(self.labels, context["widget"]["subwidgets"], strict=True))
        return context


class NumbersByKeyField(forms.MultiValueField):
    """A JSON object of numbers, typed as one number per key (ScoringProfile.clean() checks the ranges)."""

    def __init__(self, labels: dict, **kwargs):
        self.keys, self.labels = list(labels), list(labels.values())
        fields = [LocalizedFloatField(label=label, localize=True) for label in labels.values()]  # as the admin's
        super().__init__(fields, widget=NumbersByKeyWidget(labels), require_all_fields=True, **kwargs)

    def in_words(self, message: str) -> str:
        """A message of ScoringProfile.clean(), which names keys (“at_risk_days”), naming the inputs' labels."""
        for key, label in zip(self.keys, self.labels, strict=True):
            for opening, closing in (("“", "”"), ("„", "“")):  # English and German quotes
                message = message.replace(f"{opening}{key}{closing}", f"{opening}{label}{closing}")
        return message

    def compress(self, values):
        # 90, not 90.0: the stored JSON reads as it was typed
        return {key: int(value) if value.is_integer() else value for key, value in zip(self.keys, values, strict=True)}


def keyed_parameter_labels() -> dict[str, dict[str, str]]:
    """The profile's parameters that hold a number per key, each key with its label in words."""
    components = component_labels()
    roles, outcomes = dict(AttendanceRole.choices), {**dict(FollowUpOutcome.choices), "": _("No outcome given")}
    return {
        "weights": {key: components[key] for key in COMPONENTS},
        "saturation": {key: components.get(key, _("Referrals")) for key in SATURATION_KEYS},
        "role_weights": {key: roles[key] for key in ROLE_KEYS},
        "outcome_weights": {key: outcomes[key] for key in OUTCOME_KEYS},
        "stage_thresholds": {key: THRESHOLD_LABELS[key] for key in STAGE_THRESHOLDS},
    }


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
            "weights": _("Each part's share of the score, from 0 to 1; together 1."),
            "saturation": _(
                "How fast each part fills its share of the score: the raw value (above 0) at which it reaches "
                "about two thirds of its points. Larger: slower."
            ),
            "role_weights": _("How much an attendance in each role counts, from 0 to 10."),
            "outcome_weights": _("How much a follow-up conversation with each outcome counts, from 0 to 10."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, labels in keyed_parameter_labels().items():
            if name not in self.fields:  # read-only for this user: the admin shows the stored values
                continue
            model_field = self.fields[name]
            self.fields[name] = NumbersByKeyField(labels, label=model_field.label, help_text=model_field.help_text,
                                                  disabled=model_field.disabled)

    def _post_clean(self):
        own_errors = {name: len(errors) for name, errors in self._errors.items()}  # "This field is required."
        super()._post_clean()  # the model's clean(): its messages name the keys
        for name, field in self.fields.items():
            if isinstance(field, NumbersByKeyField) and name in self._errors:
                # A field that failed on its own keeps its message; the model's would say it again in keys.
                messages = list(self._errors[name])[:own_errors[name]] if own_errors.get(name) else self._errors[name]
                self._errors[name] = self.error_class([field.in_words(message) for message in messages])

    def _get_validation_exclusions(self):
        # The one-active-profile constraint would refuse activating this profile while another
        # is active; saving it deactivates the other instead (services.profile). Deactivating
        # the active profile is still refused, by ScoringProfile.clean().
        exclusions = super()._get_validation_exclusions()
        exclusions.add("is_active")
        return exclusions
