"""gunicorn settings; gunicorn reads ./gunicorn.conf.py by default (the image's /app).

Access log lines name the path without the query string and leave out the referrer: list
filters (`contacts/?email=…`, `?search=…`) and admin searches carry personal data, which
would otherwise stay in every log long after the person was erased. Whether and where the
access log is written stays on the command line (`--access-logfile -`).
"""

import json
import sys

from gunicorn import util

# remote address, time, "METHOD /path PROTOCOL", status, bytes, duration (µs), user agent
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)s "%(a)s"'

# A request line of up to 8 KB (gunicorn's most; its default 4 KB): a list filtered by many ids
# (`?contact=…&contact=…`) is a legitimate partner request.
limit_request_line = 8190


# What a request the worker timeout ended is answered with (see write_json_error).
TIMED_OUT = ("The request did not finish in time: a service it needs did not answer. Try again shortly; a write "
             "sent without an Idempotency-Key may have been saved.")
RETRY_AFTER_SECONDS = 30


def write_json_error(sock, status_int, reason, mesg):
    """What gunicorn refuses before the app sees it (a request line or header too large, a
    malformed Content-Length) is answered as JSON like every other API error (README "Errors"),
    not with gunicorn's HTML page.

    A request still running at the worker timeout, which gunicorn ends by aborting its worker
    (SystemExit), was waiting on a service that did not answer, e.g. a hung PostgreSQL behind a
    kept connection: 503 with Retry-After, as when a service is down, not gunicorn's 500. A write
    sent with an Idempotency-Key ran in one transaction, which was not committed: its retry with the
    same key is safe. (gunicorn's access log still says 500: it writes the line first.)"""
    extra = ""
    if status_int == 500 and isinstance(sys.exc_info()[1], SystemExit):
        status_int, reason, mesg = 503, "Service Unavailable", TIMED_OUT
        extra = f"Retry-After: {RETRY_AFTER_SECONDS}\r\n"
    body = json.dumps({"detail": mesg if extra else f"{reason}: {mesg}" if mesg else reason}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = write_json_error  # the workers' error path looks it up on the module


def post_worker_init(worker):
    """Each web worker, once it has loaded the app, keeps it out of full collections."""
    from django.urls import get_resolver

    from ror_crm.processes import freeze_loaded_objects

    # The URLconf and the views it imports, which the first request would load otherwise.
    get_resolver().url_patterns  # noqa: B018
    freeze_loaded_objects()
