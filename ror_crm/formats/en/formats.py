"""English dates as the agency writes them: ISO dates everywhere, like the date fields of every
form (YYYY-MM-DD), a 24-hour clock, weeks from Monday. Django's default English mixes US dates
(12/02/2026) with the ISO dates its own forms expect; long and short forms are the same here, so
a page never shows "2 Dec 2026" beside "2026-12-07". Numbers keep Django's English formats."""

DATE_FORMAT = "Y-m-d"  # 2026-12-02
DATETIME_FORMAT = "Y-m-d H:i"  # 2026-12-02 14:30
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
FIRST_DAY_OF_WEEK = 1
# What a typed date may look like: ISO, or day first with dots. Django's English adds month-first
# US dates (12/05/2026 read as 5 December), which a European agency types as 12 May: refused
# as no date instead of read the other way round.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
]
