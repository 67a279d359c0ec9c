"""Figures as a reader rounds them: half away from zero, to the digits shown.

Django's number_format cuts digits off (247.9 → "247") and Python's format() rounds the
binary value half to even (28.65 → "28.6"); the dashboard and the event page both round here.
"""

from decimal import ROUND_HALF_UP, Context, Decimal

from django.utils.formats import number_format

# Enough digits for any float written out in full, so quantize() never runs out of precision.
_CONTEXT = Context(prec=400, rounding=ROUND_HALF_UP)


def round_half_up(value: float | int | Decimal, digits: int = 0) -> Decimal:
    """`value` rounded half away from zero to `digits` decimals; never −0.

    A float is read as it prints (28.65, not 28.6499999…), so 28.65 → 28.7 and 16.75 → 16.8.
    """
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    rounded = number.quantize(Decimal(1).scaleb(-digits), context=_CONTEXT)
    return abs(rounded) if rounded.is_zero() else rounded


def localized(value: float | int | Decimal, digits: int = 0) -> str:
    """Rounded half away from zero and written as the active language writes numbers, with
    thousands grouped: 334,500.00 in English, 334.500,00 in German."""
    return number_format(round_half_up(value, digits), digits, force_grouping=True)


def signed(value: float | int | Decimal, digits: int = 0) -> str:
    """A change or a net score with its sign: +16.8, −1 → "-1", and 0 as "+0" (localized)."""
    rounded = round_half_up(value, digits)
    return ("-" if rounded < 0 else "+") + localized(abs(rounded), digits)
