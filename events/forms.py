from functools import lru_cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from events.choices import AttendanceRole, AttendanceStatus
from ror_crm.validators import LONE_SURROGATE, validate_email, validate_not_future, validate_plausible_moment

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


class EmailField(forms.EmailField):
    default_validators = [validate_email]  # Django's verdicts, faster (ror_crm.validators)


class RowChoiceField(forms.ChoiceField):
    """A choice column of an attendee row: a value it does not know is refused naming those it takes."""

    def validate(self, value):
        try:
            super().validate(value)
        except ValidationError as error:
            if error.code != "invalid_choice":
                raise
            raise ValidationError(
                _("“%(value)s” is not one of %(choices)s."), code="invalid_choice",
                params={"value": value, "choices": ", ".join(str(choice) for choice, _label in self.choices)},
            ) from None


class AttendeeRowForm(forms.Form):
    """Validates one attendee row; blank optional values mean "leave as it is"."""

    email = EmailField(max_length=254)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    organization = forms.CharField(max_length=200, required=False)
    job_title = forms.CharField(max_length=200, required=False)
    role = RowChoiceField(choices=AttendanceRole.choices, required=False)
    status = RowChoiceField(choices=AttendanceStatus.choices, required=False)
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
                self.add_error(name, SURROGATE_MESSAGE % {"code": ord(self._surrogates[name])})
            elif value is not None and not isinstance(value, str):
                self.add_error(name, NOT_A_STRING_MESSAGE)
        return cleaned


# Validating a row changes no field (no widget, choice or attribute is set per instance).
AttendeeRowForm.base_fields = SharedFields(AttendeeRowForm.base_fields)


SURROGATE_MESSAGE = _("Surrogate characters are not allowed: U+%(code)X.")
NOT_A_STRING_MESSAGE = _("Must be a string.")


def clean_attendee_row(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(cleaned values of the row's fields, errors by field) of one row, as AttendeeRowForm(row)
    judges a row of text (a value that is no text is only "Must be a string."), without a form
    per row: the form's own fields clean the values. A list of a hundred thousand rows spent most
    of its validation on the form machinery around them (bound fields, error lists)."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    # One search of the row for a lone surrogate; its fields are searched only when it has one.
    texts = [value for value in row.values() if type(value) is str]
    suspect = bool(LONE_SURROGATE.search("".join(texts))) or len(texts) != len(row)
    for name, form_field in AttendeeRowForm.base_fields.items():
        if name not in row and not form_field.required:
            continue  # a column the row does not have: nothing to clean (the upsert only reads the row's)
        value = row.get(name)
        if suspect:
            surrogate = LONE_SURROGATE.search(value) if isinstance(value, str) else None
            if surrogate:
                errors[name] = [str(SURROGATE_MESSAGE % {"code": ord(surrogate.group())})]
                continue
            if value is not None and not isinstance(value, str):
                errors[name] = [str(NOT_A_STRING_MESSAGE)]  # (the form's date field would raise on a number)
                continue
        max_length = PLAIN_TEXT_FIELDS.get(name)
        if max_length is not None and value is not None:
            text = value.strip()
            if len(text) <= max_length and "\x00" not in text:
                cleaned[name] = text  # the field's verdict, without its calls (a third of a row's)
                continue
        try:
            cleaned[name] = _clean_choice(name, value) if name in CHOICE_FIELDS else form_field.clean(value)
        except ValidationError as error:
            errors[name] = list(error.messages)
    return cleaned, errors


CHOICE_FIELDS = frozenset({"role", "status"})


def _plain_text(field: forms.Field) -> bool:
    """Whether the field's verdict on a text is only: stripped, at most max_length characters, no
    NUL character (Django's CharField with its two default validators, not required)."""
    return (
        type(field) is forms.CharField and field.strip and not field.required and field.min_length is None
        and field.empty_value == "" and field.max_length is not None
        and sorted(type(validator).__name__ for validator in field.validators)
        == ["MaxLengthValidator", "ProhibitNullCharactersValidator"]
    )


# The row's plain text fields by name, with their max_length: cleaned in clean_attendee_row()
# by what their verdict is; a value they refuse goes to the field itself, for its message.
PLAIN_TEXT_FIELDS = {
    name: field.max_length for name, field in AttendeeRowForm.base_fields.items() if _plain_text(field)
}


@lru_cache(maxsize=64)
def _clean_choice(name: str, value: str | None) -> str:
    """A choice column's cleaned value: a list repeats a handful of them ("registered" a
    thousand times), each cleaned once. Refusals raise and are not kept."""
    return AttendeeRowForm.base_fields[name].clean(value)
