"""Helpers shared by the demo generators: the reference clock and seeded random draws."""

import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal


@dataclass(frozen=True)
class Clock:
    """Anchors the demo on a reference date; everything that "already happened" lies before `now`.

    `now` is midnight at the start of the reference day, so reruns on the same day give the same
    timestamps to the second, whatever the hour.
    """

    today: date
    tz: tzinfo

    @property
    def now(self) -> datetime:
        return self.at(0, 0, 0)

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(self.today + timedelta(days=day), time(hour, minute), tzinfo=self.tz)

    def past(self, moment: datetime, rng: random.Random, *, max_hours: float = 48) -> datetime:
        """`moment` if it already happened, else a recent moment before `now`."""
        if moment < self.now:
            return moment
        return self.now - timedelta(minutes=rng.uniform(10, max_hours * 60))

    def workday(self, day: int, *, forward: bool = True) -> int:
        """`day` (relative to today) if it is a weekday, else the next (or previous) Monday to Friday."""
        step = 1 if forward else -1
        while (self.today + timedelta(days=day)).weekday() >= 5:
            day += step
        return day

    def event_day(self, day: int, span: int) -> int:
        """The weekday start nearest to `day` for an event of `span` calendar days (1–5): Saturday
        moves back to Friday, Sunday on to Monday, and a two-day event never runs into the weekend."""
        for shift in (0, 1, -1, 2, -2, 3, -3, 4, -4):
            start = self.today + timedelta(days=day + shift)
            if all((start + timedelta(days=offset)).weekday() < 5 for offset in range(span)):
                return day + shift
        return day

    def day_of(self, moment: datetime) -> int:
        """The day of `moment` relative to the reference date (site time zone)."""
        return (moment.astimezone(self.tz).date() - self.today).days

    def office_time(self, day: int, rng: random.Random, *, forward: bool = True) -> datetime:
        """A time as people set it: on a weekday (`day`, else the next or previous one), in office hours,
        on the quarter hour."""
        hour = rng.choice(DUE_HOURS)
        return self.at(self.workday(day, forward=forward), hour, rng.choice((0, 15, 30, 45)))

    def office_after(self, moment: datetime, rng: random.Random) -> datetime:
        """`moment` if it falls in office hours, else a moment early on the next working morning."""
        local = moment.astimezone(self.tz)
        if in_office_hours(local):
            return moment
        day = self.day_of(local)
        if local.weekday() >= 5 or local.time() >= time(OFFICE_HOURS[1]):
            day += 1
        opening = self.at(self.workday(day), OFFICE_HOURS[0])
        return opening + timedelta(minutes=rng.uniform(0, 150))

    def office_before_now(self, rng: random.Random) -> datetime:
        """A moment during the last working day before the reference day."""
        return self.at(self.workday(-1, forward=False), OFFICE_HOURS[0]) + timedelta(
            minutes=rng.uniform(0, (OFFICE_HOURS[1] - OFFICE_HOURS[0]) * 60 - 1)
        )


# Office hours, Monday to Friday in the site's time zone: when people work their follow-ups.
OFFICE_HOURS = (8, 18)
# The hours people pick when they schedule a call.
DUE_HOURS = (9, 9, 10, 10, 11, 11, 13, 14, 14, 15, 15, 16, 17)


def in_office_hours(moment: datetime) -> bool:
    """Monday to Friday, 08:00 to 18:00 (`moment` in the site's time zone)."""
    return moment.weekday() < 5 and time(OFFICE_HOURS[0]) <= moment.time() < time(OFFICE_HOURS[1])


def pick(rng: random.Random, weighted: dict[str, float]) -> str:
    """One key of `weighted`, drawn by weight (dicts keep insertion order, so this is deterministic)."""
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def spare(rows: list, key) -> list:
    """Rows whose `key` value occurs more than once: relabelling one of them loses no value."""
    counts = Counter(key(row) for row in rows)
    return [row for row in rows if counts[key(row)] > 1]


def money(rng: random.Random, low: int, high: int, step: int = 250) -> Decimal:
    return Decimal(rng.randrange(low, high + 1, step)).quantize(Decimal("0.01"))


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


_GERMAN_LETTERS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
# Letters that Unicode does not decompose into a base letter plus accent.
_OTHER_LETTERS = str.maketrans({"ł": "l", "Ł": "L", "ı": "i", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "đ": "d", "Đ": "D"})


def ascii_slug(text: str, *, german: bool) -> str:
    """The e-mail form of a name: Müller -> mueller (German convention), Łukasz -> lukasz, O'Brien -> obrien."""
    if german:
        text = text.translate(_GERMAN_LETTERS)
    text = unicodedata.normalize("NFKD", text.translate(_OTHER_LETTERS)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]", "", text.lower())
