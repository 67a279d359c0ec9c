"""ror_crm.validators.validate_email: Django's e-mail validator with its patterns compiled up front
gives Django's verdict on every value."""

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email as django_validate_email
from hypothesis import given
from hypothesis import strategies as st

from events.forms import AttendeeRowForm
from ror_crm.validators import MAX_ID, parse_id, validate_email

ADDRESSES = [
    "anna@example.com", "Anna.Beck+events@sub.example.de", "x@localhost", "x@[127.0.0.1]", "x@[::1]",
    "x@[999.1.1.1]", '"quoted user"@example.com', "a@b", "a@-example.com", "@example.com", "a@", "",
    "no-at-sign", "a@example..com", "ü@example.com", "a@exämple.de", "a" * 65 + "@example.com",
    "a@" + "b" * 64 + ".com", "a@example.com\n", "a b@example.com",
]


def verdict(validator, value: str) -> str:
    try:
        validator(value)
    except ValidationError as error:
        return error.code
    return "valid"


@pytest.mark.parametrize("value", ADDRESSES)
def test_the_same_verdict_as_djangos_validator(value):
    assert verdict(validate_email, value) == verdict(django_validate_email, value)


@given(st.from_regex(r"\A[\w.+\"\[\]:-]{0,12}@[\w.\[\]:-]{0,16}\Z") | st.text(max_size=30))
def test_the_same_verdict_on_any_text(value):
    assert verdict(validate_email, value) == verdict(django_validate_email, value)


def test_the_attendee_row_form_uses_it():
    validators = AttendeeRowForm.base_fields["email"].validators
    # (identity: an EmailValidator equals another of the same message, code and allowlist)
    assert any(v is validate_email for v in validators)
    assert not any(v is django_validate_email for v in validators)


@pytest.mark.parametrize(("value", "expected"), [
    ("42", 42), (42, 42), ("0", 0), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("", None), (None, None),
    ("²", None), ("١", None), ("-1", None), ("+1", None), (" 1", None), ("1.0", None), (True, None), ("4\n", None),
])
def test_parse_id_takes_ascii_digits_within_a_database_id(value, expected):
    assert parse_id(value) == expected
