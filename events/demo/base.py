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
