"""gunicorn settings; gunicorn reads ./gunicorn.conf.py by default (the image's /app).

Access log lines name the path without the query string and leave out the referrer: list
filters (`contacts/?email=…`, `?search=…`) and admin searches carry personal data, which
would otherwise stay in every log long after the person was erased. Whether and where the
access log is written stays on the command line (`--access-logfile -`).
"""

# remote address, time, "METHOD /path PROTOCOL", status, bytes, duration (µs), user agent
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)s "%(a)s"'


def post_worker_init(worker):
    """Each web worker, once it has loaded the app, keeps it out of full collections."""
    from django.urls import get_resolver

    from ror_crm.processes import freeze_loaded_objects

    # The URLconf and the views it imports, which the first request would load otherwise.
    get_resolver().url_patterns  # noqa: B018
    freeze_loaded_objects()
