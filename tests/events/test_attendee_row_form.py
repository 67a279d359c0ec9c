"""The attendee row form shares its fields between instances (no per-row deep copy): forms
validated side by side still keep their own data, cleaned values and errors."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.forms import ATTENDEE_ROW_FIELDS, AttendeeRowForm, clean_attendee_row


def test_forms_sharing_their_fields_keep_their_own_data_and_errors():
    good = AttendeeRowForm({"email": "Anna@Example.com", "status": "attended", "checked_in_at": "2026-01-05T10:00:00Z"})
    bad = AttendeeRowForm({"email": "not an e-mail", "status": "sleeping", "first_name": "x" * 101})
    other = AttendeeRowForm({"email": "ben@example.com", "first_name": 7})

    assert not bad.is_valid()
    assert good.is_valid()
    assert not other.is_valid()

    assert good.fields is bad.fields  # shared, not copied per row
    assert good.errors == {}
    assert good.cleaned_data["status"] == "attended"
    assert good.cleaned_data["checked_in_at"].year == 2026
    assert set(bad.errors) == {"email", "status", "first_name"}
    assert set(other.errors) == {"first_name"}  # "Must be a string.", not the other form's errors
    assert "status" not in other.errors


# Values a list or a partner sends: good ones, bad ones, lone surrogates, blanks.
ROW_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "anna@example.com", " Ben@Example.COM ", "not an e-mail", "a@b", "attended",
                     "registered", "sleeping", "speaker", "2026-01-05T10:00:00Z", "2026-01-05 10:00", "1899-01-01",
                     "2999-01-01T00:00:00Z", "x" * 101, "x" * 201, " " + "x" * 100 + "\t", "x" * 200 + " ", "a\x00b",
                     "\x00", "\ud800", "Nína\udfff", "T-1"]),
    st.text(max_size=12),
)
ROWS = st.dictionaries(st.sampled_from([*ATTENDEE_ROW_FIELDS, "extra"]), ROW_VALUES, max_size=6)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS)
def test_the_row_validator_judges_every_row_as_the_form_does(row):
    form = AttendeeRowForm(row)
    valid = form.is_valid()
    cleaned, errors = clean_attendee_row(row)

    assert errors == {name: [str(message) for message in messages] for name, messages in form.errors.items()}
    assert not errors == valid
    if valid:
        assert cleaned == {name: value for name, value in form.cleaned_data.items() if name in row or name == "email"}


def test_a_value_that_is_no_text_is_only_must_be_a_string():
    """The form says two things of a number where a choice goes, and fails on one where a time goes."""
    cleaned, errors = clean_attendee_row({"email": "anna@example.com", "status": 5, "checked_in_at": 7, "first_name": True})

    assert errors == {name: ["Must be a string."] for name in ("first_name", "status", "checked_in_at")}
    assert cleaned["email"] == "anna@example.com"
