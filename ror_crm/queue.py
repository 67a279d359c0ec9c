"""Sending work to Celery without ever failing the request that asked for it.

The broker (Redis) may be down. Work that must not be lost is written to the database first
(an outbox row, e.g. scoring.RecomputeRequest) in the same transaction as the data; sending
it after commit is then only a shortcut: `publish()` catches the broker's errors, logs them
and says so, the row stays and a sweeper sends it once the broker is back.

`watch()` lets a caller (the admin's messages) learn whether anything it triggered could not
be sent, so it can say "saved; scoring will run when the queue is back" instead of failing.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import django.db
import psycopg
import redis.exceptions
from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# What a publish raises when Redis (broker, result backend or cache) cannot be reached:
# kombu wraps the transport's connection errors, the result backend and the cache raise
# redis-py's, a refused or reset socket is an OSError.
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuOperationalError, redis.exceptions.RedisError, OSError)
# What Django's Redis cache raises when Redis is down.
CACHE_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)

# For idempotent tasks: acked after the work, requeued when the worker process dies (killed, out
# of memory), so a task lost with its worker runs again on another.
REDELIVER_WHEN_LOST = {"acks_late": True, "reject_on_worker_lost": True}

# What PostgreSQL being unreachable raises: a refused or lost connection (OperationalError), a
# connection closed under Django (InterfaceError). Idempotent tasks retry on them (with backoff,
# a quarter of an hour in all) rather than wait for their outbox's next send.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (django.db.OperationalError, django.db.InterfaceError)
DATABASE_RETRY = {"retry_backoff": 5, "retry_backoff_max": 300, "max_retries": 8}
# PostgreSQL's connection_exception class, and its shutting down, crashed and starting up states.
UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def database_unreachable(error: BaseException) -> bool:
    """PostgreSQL could not be reached or dropped the connection (down, restarting, failed over),
    as opposed to an error of the statement itself: worth a 503 and a retry, not a 500."""
    if isinstance(error, django.db.InterfaceError):
        return True
    cause = error.__cause__ if isinstance(error, django.db.OperationalError) else None
    if not isinstance(cause, psycopg.OperationalError):
        return False
    return cause.sqlstate is None or cause.sqlstate.startswith(UNREACHABLE_SQLSTATES)


_local = threading.local()


class RedisBreaker:
    """After a call to Redis failed, this process skips its calls for a few seconds, as if they had
    failed too (each caller then does what it does with Redis down: the work waits for the sweeper,
    the limits fail open). A hung Redis (not down: its socket accepts and never answers) costs each
    call its socket timeout, and a request making several would outlast the web server's timeout."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.seconds

    def reset(self) -> None:
        self._open_until = 0.0


redis_breaker = RedisBreaker(seconds=5.0)


class RedisSkipped(redis.exceptions.ConnectionError):
    """A call not made: Redis failed a moment ago in this process (redis_breaker)."""


def guarded_redis_call(call: Callable[[], T]) -> T:
    """`call()` (a cache or broker operation), unless Redis failed a moment ago: then RedisSkipped,
    one of BROKER_ERRORS and CACHE_ERRORS, at once. A failure trips the breaker."""
    if redis_breaker.is_open():
        raise RedisSkipped("Redis failed a moment ago; not tried again yet")
    try:
        return call()
    except BROKER_ERRORS:
        redis_breaker.trip()
        raise


@dataclass
class SendReport:
    """What the work triggered inside one `watch()` block came to."""

    sent: int = 0
    deferred: int = 0


@contextlib.contextmanager
def watch() -> Iterator[SendReport]:
    """Count the sends (and the sends left for the sweeper) made in this thread meanwhile."""
    report = SendReport()
    reports = _reports()
    reports.append(report)
    try:
        yield report
    finally:
        reports.remove(report)


def current() -> SendReport | None:
    """The innermost `watch()` of this thread, if any."""
    reports = _reports()
    return reports[-1] if reports else None


def _reports() -> list[SendReport]:
    if not hasattr(_local, "reports"):
        _local.reports = []
    return _local.reports


def _record(*, sent: bool) -> None:
    for report in _reports():
        if sent:
            report.sent += 1
        else:
            report.deferred += 1


# Without a broker (the embedded default) Celery runs the work in the calling thread, and keeps
# whether a task may wait for results in one flag per process: two requests' work at once broke
# each other's chords ("Never call result.get() within a task!"), and an event completed beside
# another got no metrics. Eager work runs one piece at a time (re-entrant: a task's own sends nest).
EAGER_WORK = threading.RLock()


def publish(send: Callable[[], object], *, what: str) -> bool:
    """Run `send` (an apply_async/delay); False, logged, when the broker cannot be reached.

    Only for work kept in an outbox row (or otherwise swept up again): the caller leaves its
    row, and the sweeper sends it later.
    """
    try:
        with EAGER_WORK if settings.CELERY_TASK_ALWAYS_EAGER else contextlib.nullcontext():
            guarded_redis_call(send)
    except BROKER_ERRORS as error:
        deferred(what, error)
        return False
    _record(sent=True)
    return True


def deferred(what: str, error: BaseException) -> None:
    """Log that `what` was left for the sweeper because Redis could not be reached."""
    logger.warning("Could not queue %s (Redis unreachable: %s); it waits for the sweeper.", what, error)
    _record(sent=False)
