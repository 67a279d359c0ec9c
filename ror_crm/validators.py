"""Validators shared by every edge (API, admin forms, CSV import)."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Times outside these years are typos or fuzz: Berlin had no standard time zone before 1893
# (its local mean time would come back as an offset like +00:53:28), and the far future
# overflows when shifted between time zones.
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2200, 1, 1, tzinfo=UTC)


def validate_plausible_moment(value: datetime) -> None:
    if value is not None and not EARLIEST_MOMENT <= value < LATEST_MOMENT:
        raise ValidationError(_("Give a time between the years 1900 and 2199."), code="out_of_range")
