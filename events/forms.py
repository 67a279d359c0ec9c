from django import forms
from django.utils.translation import gettext_lazy as _

from events.choices import AttendanceRole, AttendanceStatus
from ror_crm.validators import LONE_SURROGATE, validate_not_future, validate_plausible_moment

# The columns of an attendee list row (API.md: attendances/bulk/), shared by the bulk API and
# the admin's CSV/XLSX import.
ATTENDEE_ROW_FIELDS = (
    "email", "first_name", "last_name", "organization", "job_title",
    "role", "status", "checked_in_at", "external_id", "source",
)


class SharedFields(dict):
    """A form's fields that every instance shares instead of deep-copying them (Django copies
    base_fields per instance so that one form may change its own): for a form that changes none,
    the copy was two thirds of validating a 1,000-row attendee list."""

    def __deepcopy__(self, memo: dict) -> "SharedFields":
        return self


class AttendeeRowForm(forms.Form):
    """Validates one attendee row; blank optional values mean "leave as it is"."""

    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    organization = forms.CharField(max_length=200, required=False)
    job_title = forms.CharField(max_length=200, required=False)
    role = forms.ChoiceField(choices=AttendanceRole.choices, required=False)
    status = forms.ChoiceField(choices=AttendanceStatus.choices, required=False)
    checked_in_at = forms.DateTimeField(required=False, validators=[validate_plausible_moment, validate_not_future])
    external_id = forms.CharField(max_length=200, required=False)
    source = forms.CharField(max_length=100, required=False)

    def __init__(self, row: dict, **kwargs):
        # Lone surrogates (JSON's "\ud800") cannot be stored or encoded as UTF-8; such values are
        # refused before the fields see them, as the API's serializers do, and never echoed.
        self._surrogates = {
            name: match.group() for name, value in row.items()
            if isinstance(value, str) and (match := LONE_SURROGATE.search(value))
        }
        super().__init__(data={name: value for name, value in row.items() if name not in self._surrogates}, **kwargs)
        self._row = row

    def clean(self):
        cleaned = super().clean()
        for name in ATTENDEE_ROW_FIELDS:
            value = self._row.get(name)
            if name in self._surrogates:
                self.errors.pop(name, None)  # e.g. "required" for the e-mail left out above
                self.add_error(name, _("Surrogate characters are not allowed: U+%(code)X.")
                               % {"code": ord(self._surrogates[name])})
            elif value is not None and not isinstance(value, str):
                self.add_error(name, _("Must be a string."))
        return cleaned


# Validating a row changes no field (no widget, choice or attribute is set per instance).
AttendeeRowForm.base_fields = SharedFields(AttendeeRowForm.base_fields)
