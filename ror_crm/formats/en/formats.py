"""English dates as the agency writes them: short dates in ISO form, like the date fields of
every form (YYYY-MM-DD), long ones day first, a 24-hour clock, weeks from Monday. Django's
default English mixes US dates (12/02/2026) with the ISO dates its own forms expect.
Numbers keep Django's English formats."""

DATE_FORMAT = "j M Y"  # 2 Dec 2026
DATETIME_FORMAT = "j M Y, H:i"  # 2 Dec 2026, 14:30
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
FIRST_DAY_OF_WEEK = 1
