"""The attendee row form shares its fields between instances (no per-row deep copy): forms
validated side by side still keep their own data, cleaned values and errors."""

from events.forms import AttendeeRowForm


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
