"""Validators shared by every edge (API, admin forms, CSV import)."""

import re
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

# Times outside these years are typos or fuzz: Berlin had no standard time zone before 1893
# (its local mean time would come back as an offset like +00:53:28), and the far future
# overflows when shifted between time zones.
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2200, 1, 1, tzinfo=UTC)


# The largest id a database row can have (a signed 64-bit integer).
MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]+")


def parse_id(value: object) -> int | None:
    """An id as a query string or form sends it: ASCII digits within a database id, else None.
    str.isdigit() takes "²", which int() refuses, and "١", which int() reads as 1."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


class EagerEmailValidator(EmailValidator):
    """Django's e-mail validator with its patterns compiled once, at import: Django's reaches
    them through lazy objects on every call, whose attribute lookups were a tenth of importing
    an attendee list. The same patterns, so the same verdicts."""

    user_regex = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
    domain_regex = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
    literal_regex = re.compile(EmailValidator.literal_regex.pattern, EmailValidator.literal_regex.flags)


validate_email = EagerEmailValidator()


# API.md: times with offset. One without, read in the site's zone, would shift a partner's UTC times
# by an hour or two, silently; the admin's forms and imports take local times (the staff's own zone).
NO_OFFSET_MESSAGE = "Give the time with its offset, as in 2026-05-04T09:30:00+02:00 or 2026-05-04T07:30:00Z."


def lacks_offset(value: object) -> bool:
    """Whether a value is an ISO 8601 date-time text without an offset."""
    if not isinstance(value, str):
        return False
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:  # well formed, but no such time (the field says so)
        return False
    return parsed is not None and parsed.tzinfo is None


# Clocks of partner systems, browsers and the server differ a little.
CLOCK_SKEW = timedelta(minutes=5)


def validate_not_future(value: datetime | None) -> None:
    """Touchpoints (a check-in, a meeting, a conversation, an answer) are in the past: a future
    one would count as fresh for years and keep its contact from ever turning at risk."""
    if value is not None and value > timezone.now() + CLOCK_SKEW:
        raise ValidationError(_("This time is in the future: it cannot have happened yet."), code="future")


def validate_happened(instance: models.Model, *field_names: str) -> None:
    """validate_not_future() on these fields of a model instance, as field errors."""
    errors = {}
    for name in field_names:
        try:
            validate_not_future(getattr(instance, name))
        except ValidationError as error:
            errors[name] = error
    if errors:
        raise ValidationError(errors)


def validate_plausible_moment(value: datetime) -> None:
    if value is not None and not EARLIEST_MOMENT <= value < LATEST_MOMENT:
        raise ValidationError(_("Give a time between the years 1900 and 2199."), code="out_of_range")


# Free text (notes, summaries, comments, descriptions): about ten pages, far more than anyone
# types into a CRM, and it keeps a 1 MB body from becoming one note (API, admin, worklist).
FREE_TEXT_MAX_LENGTH = 10_000
# TextField's max_length limits forms and serializers only; this also holds for full_clean().
validate_free_text_length = MaxLengthValidator(FREE_TEXT_MAX_LENGTH)

# Half of a UTF-16 pair on its own (JSON's "\ud800"): no UTF-8 encoding exists for it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
