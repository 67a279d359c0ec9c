"""Days in the site's time zone (TIME_ZONE, Berlin): where one begins."""

from datetime import date, datetime, time

from django.utils import timezone


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day`, in the site's time zone (aware)."""
    return timezone.make_aware(datetime.combine(day, time.min))
