"""Shared personas and the real Celery worker.

Personas: `staff_user` (agency staff: runs events, every permission of the CRM apps) and
`sales_user` (logs follow-ups). Both log in to the admin with PERSONA_PASSWORD.

Celery: tests run with eager Celery (tasks run in-process after commit, as in the demo),
also when REDIS_URL is set, so a test behaves the same under `pytest` and `make test`.
Tests that take `live_worker` (or `celery_worker_process`) or carry the `services` marker
get the real broker instead: a `celery -A ror_crm worker` subprocess against the same Redis
and the same PostgreSQL test database. Those tests need committed data (`live_worker`
brings `transactional_db`) and are marked `services` automatically. Without the services
they are skipped locally and fail in CI (env CI set): a CI run must not pass by skipping.
`make test` starts throwaway PostgreSQL and Redis servers for them.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Tests run with DEBUG off (as production) but need a key; the settings test checks the failure.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PERSONA_PASSWORD = "persona-pw-123"
WORKER_START_TIMEOUT = 60  # seconds; a cold start imports Django and every app
WORKER_STOP_TIMEOUT = 20


def services_missing() -> str | None:
    """Why the real services cannot be used, or None when they can."""
    if not os.environ.get("REDIS_URL"):
        return "REDIS_URL is not set (run `make test`, which starts PostgreSQL and Redis)"
    from django.db import connection

    if connection.vendor != "postgresql":
        return (
            f"the database is {connection.vendor}; the worker needs a database both processes can open "
            "(set DATABASE_URL to PostgreSQL, or run `make test`)"
        )
    return None


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"services test in CI, but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items):
    for item in items:
        if "celery_worker_process" in item.fixturenames:
            item.add_marker(pytest.mark.services)


def pytest_runtest_setup(item):
    if item.get_closest_marker("services") is not None:
        reason = services_missing()
        if reason:
            unavailable(reason)


@pytest.fixture(autouse=True)
def _eager_celery_unless_services(request):
    """Without a worker, a task sent to Redis would wait forever: run it in-process instead."""
    from django.conf import settings

    wants_broker = "celery_worker_process" in request.fixturenames or request.node.get_closest_marker("services")
    if wants_broker or settings.CELERY_TASK_ALWAYS_EAGER:
        yield
        return
    django_settings = request.getfixturevalue("settings")
    django_settings.CELERY_TASK_ALWAYS_EAGER = True
    django_settings.CELERY_TASK_EAGER_PROPAGATES = True
    yield


@pytest.fixture(autouse=True)
def _redis_breaker_closed():
    """Each test starts as if Redis had not failed a moment ago (ror_crm.queue.redis_breaker is
    the process's: an earlier test's outage would skip this test's calls)."""
    from ror_crm.queue import redis_breaker

    redis_breaker.reset()
    yield
    redis_breaker.reset()


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language, whatever an earlier test in the same worker
    process left active (a German page rendered in-process keeps German for the thread)."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def staff_user(django_user_model):
    from django.contrib.auth.models import Group

    from contacts.roles import AGENCY_STAFF

    user = django_user_model.objects.create_user(
        "anna", "anna@agency.example", PERSONA_PASSWORD, first_name="Anna", last_name="Agency", is_staff=True
    )
    user.groups.add(Group.objects.get(name=AGENCY_STAFF))
    return user


@pytest.fixture
def sales_user(django_user_model):
    from django.contrib.auth.models import Group

    from contacts.roles import SALES

    user = django_user_model.objects.create_user(
        "sven", "sven@agency.example", PERSONA_PASSWORD, first_name="Sven", last_name="Sales", is_staff=True
    )
    user.groups.add(Group.objects.get(name=SALES))
    return user


@dataclass
class WorkerProcess:
    nodename: str
    database_url: str
    logfile: Path
    console_log: Path
    process: subprocess.Popen

    def log(self) -> str:
        """Everything the worker wrote so far: its log, then its stdout/stderr (e-mails of the console backend)."""
        parts = []
        for path in (self.logfile, self.console_log):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def wait_for_log(self, text: str, timeout: float = 10) -> bool:
        """The worker writes its log lines a moment after it stores a result: wait for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            time.sleep(0.1)
        return False


def _die_with_parent() -> None:
    """Linux: SIGTERM the worker if pytest dies without running its teardown (e.g. SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def worker_database_url(database_name: str) -> str:
    """DATABASE_URL with the database replaced by pytest-django's test database (test_<name>)."""
    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{database_name}").geturl()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, tmp_path_factory):
    """A real `celery -A ror_crm worker` against Redis and the PostgreSQL *test* database.

    It starts after pytest-django created the test database, so its DATABASE_URL can name
    it, and stops before that database is dropped (teardown runs in reverse order).
    """
    reason = services_missing()
    if reason:
        unavailable(reason)
    from django.db import connection

    from ror_crm.celery import app

    # Tasks sent to the broker while no worker ran (none should be) would run against rows
    # that are gone; start from an empty queue.
    app.control.purge()

    log_dir = tmp_path_factory.mktemp("celery-worker")
    nodename = f"ror-test-{os.getpid()}-{uuid.uuid4().hex[:6]}@%h"
    database_url = worker_database_url(connection.settings_dict["NAME"])
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    logfile = log_dir / "worker.log"
    console_log = log_dir / "worker-console.log"
    # Prefork with two processes: two tasks can run at once, as in production. No -Q: the
    # worker consumes the app's default queue, wherever settings route tasks by default.
    command = [
        sys.executable, "-m", "celery", "-A", "ror_crm", "worker", "--pool=prefork", "--concurrency=2",
        "--loglevel=INFO", f"--logfile={logfile}", "-n", nodename,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]
    with console_log.open("wb") as console:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    worker = WorkerProcess(
        nodename=nodename.replace("%h", socket.gethostname()), database_url=database_url, logfile=logfile,
        console_log=console_log, process=process,
    )
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while not app.control.ping(destination=[worker.nodename], timeout=0.5):
            if process.poll() is not None:
                pytest.fail(f"The Celery worker exited with code {process.returncode}:\n{worker.log()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not answer a ping within {WORKER_START_TIMEOUT} s:\n{worker.log()[-4000:]}")
        yield worker
    finally:
        process.terminate()  # SIGTERM: warm shutdown, running tasks finish
        try:
            process.wait(timeout=WORKER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def live_worker(celery_worker_process, transactional_db, settings):
    """The real worker for one test; the test's data is committed, so the worker sees it."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return celery_worker_process
