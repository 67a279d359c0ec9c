"""German dates as the agency writes them: 05.12.2026 and 05.12.2026 14:30 everywhere. Django's
German long form ("5. Dezember 2026 14:30") appeared beside the short one on the same pages (read-only
fields, history, imports); long and short forms are the same here, as in English. Numbers and what
may be typed keep Django's German formats."""

DATE_FORMAT = "d.m.Y"  # 05.12.2026
DATETIME_FORMAT = "d.m.Y H:i"  # 05.12.2026 14:30
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
