"""Logging filters: what must not reach the logs."""

import logging
import re

# "GET /api/v1/contacts/?email=anna%40example.com HTTP/1.1" → "GET /api/v1/contacts/?… HTTP/1.1"
QUERY_STRING = re.compile(r"\?[^\s\"]*")


class MaskQueryStrings(logging.Filter):
    """Request lines logged without their query strings (`?email=…` filters, admin searches
    carry personal data). For Django's development server log (`django.server`); gunicorn's
    access log leaves them out by its format (gunicorn.conf.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = QUERY_STRING.sub("?…", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(QUERY_STRING.sub("?…", arg) if isinstance(arg, str) else arg for arg in record.args)
        return True
