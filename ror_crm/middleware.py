"""Request-wide plumbing: a request id in every log line, and 503 (not 500) when Redis or
PostgreSQL is unreachable."""

import contextvars
import logging
import re
import uuid

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from ror_crm import queue
from ror_crm.queue import BROKER_ERRORS

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id (a proxy's, a partner's) is kept when it looks like one; anything else is replaced.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
RETRY_AFTER_SECONDS = 30

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class RequestIDMiddleware:
    """Takes X-Request-ID from the request or makes one; puts it on the response and, through
    RequestIDLogFilter, into every log record written while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if VALID_REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        # Not reset afterwards: Django logs a failed request after the middleware returned, and
        # the next request in this thread (or task) sets its own.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIDLogFilter(logging.Filter):
    """Adds `request_id` to each record ("-" outside a request), for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


def service_unavailable(error: BaseException | None) -> bool:
    """Redis or PostgreSQL could not be reached (down, restarting): the request may simply be
    tried again."""
    return isinstance(error, BROKER_ERRORS) or (error is not None and queue.database_unreachable(error))


def service_unavailable_response(request, error: BaseException) -> HttpResponse:
    """503 with Retry-After: JSON under /api/ (API.md: errors are JSON), plain text elsewhere."""
    logger.warning("A service was unreachable while serving %s %s: %r", request.method, request.path, error)
    message = "A service this request needs is unavailable; try again shortly."
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ServiceUnavailableMiddleware:
    """A view that found Redis or PostgreSQL down answers 503 with Retry-After, never 500.

    Writes never need Redis (scoring waits in the outbox, the API throttle lets requests
    through); this catches the rest, e.g. a page reading the cache directly, and every request
    while the database is unreachable. (What a middleware raises reaches ror_crm.urls.server_error,
    which answers the same.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return service_unavailable_response(request, exception) if service_unavailable(exception) else None


class QueueDownAdminMessageMiddleware:
    """An admin change whose background work could not be queued (Redis down) says so: saved,
    and the work runs when the queue is back (its outbox row waits for the sweeper)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST" or not request.path.startswith("/admin/"):
            return self.get_response(request)
        with queue.watch() as sends:
            response = self.get_response(request)
        if sends.deferred and hasattr(request, "_messages"):
            messages.warning(request, queue_down_message())
        return response


def queue_down_message() -> str:
    return _("Saved; scoring will run when the queue is back.")
