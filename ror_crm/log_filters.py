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


class ServiceUnavailableAsWarning(logging.Filter):
    """Django logs every 5xx response at ERROR, with the traceback when a middleware raised. A 503
    for PostgreSQL or Redis being unreachable (ror_crm.middleware, /health/) is an outage already
    logged once per request as a warning naming the error: during an outage every request would
    otherwise add an ERROR and a traceback ("Service Unavailable: /api/…"). For `django.request`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 503 and record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.exc_info, record.exc_text = None, None
        return True
