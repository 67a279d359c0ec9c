"""Health checks: PostgreSQL, Redis and a worker's heartbeat, for load balancers and compose.

    GET /health/                         every check; 200 when all pass, else 503
    GET /health/?check=database          only the named checks (repeat `check` for more)
    python -m ror_crm.health database cache worker     the same from a shell; exit code 0/1

The body names each check with `ok` and, when it failed, a short reason (no secrets, no
addresses). A worker writes its heartbeat to the cache every HEARTBEAT_SECONDS (a bootstep,
ror_crm.celery); the check fails when none is younger than HEALTH_WORKER_MAX_AGE_SECONDS.
"""

import logging
import sys
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ror_crm.queue import CACHE_ERRORS

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "health:worker-heartbeat"
HEARTBEAT_SECONDS = 30


def check_database() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def check_cache() -> str | None:
    cache.set("health:probe", 1, 10)
    return None if cache.get("health:probe") == 1 else "the cache did not keep a value"


def check_worker() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # no broker: tasks run in-process, there is no worker to be down
    beat = cache.get(HEARTBEAT_KEY)
    if beat is None:
        return "no worker heartbeat"
    age = time.time() - float(beat["at"])
    limit = settings.HEALTH_WORKER_MAX_AGE_SECONDS
    return None if age <= limit else f"the latest worker heartbeat is {age:.0f} s old (limit {limit} s)"


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": check_database,
    "cache": check_cache,
    "worker": check_worker,
}


def run_checks(names: Iterable[str] | None = None) -> dict[str, dict]:
    """{name: {"ok": bool, "error"?: str}} for the named checks (all by default)."""
    results = {}
    for name in names or CHECKS:
        try:
            error = CHECKS[name]()
        except Exception as exc:  # noqa: BLE001 - any failure of a dependency is the answer, not a 500
            logger.warning("Health check %s failed: %s", name, exc)
            error = f"{type(exc).__name__}"
        results[name] = {"ok": error is None, **({"error": error} if error else {})}
    return results


@never_cache
@require_GET
def health(request):
    names = request.GET.getlist("check") or list(CHECKS)
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        return JsonResponse({"detail": f"Unknown check: {', '.join(unknown)}.", "checks": sorted(CHECKS)}, status=400)
    results = run_checks(names)
    healthy = all(result["ok"] for result in results.values())
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": results}, status=200 if healthy else 503)


def worker_key(hostname: str) -> str:
    return f"health:worker:{hostname}"


def record_worker_heartbeat(hostname: str, boot: str) -> None:
    """A worker is alive (called by its heartbeat bootstep): the latest heartbeat of any worker, for
    the health check, and this worker's own, naming its start (`boot`), which lapses three beats
    after the worker stopped. Redis down is logged, not raised."""
    now = time.time()
    try:
        cache.set(HEARTBEAT_KEY, {"at": now, "worker": hostname}, settings.HEALTH_WORKER_MAX_AGE_SECONDS * 2)
        cache.set(worker_key(hostname), {"at": now, "boot": boot}, HEARTBEAT_SECONDS * 3)
    except CACHE_ERRORS as error:
        logger.warning("Could not write the worker heartbeat: %s", error)


def running_worker_boots(hostnames: Iterable[str]) -> dict[str, str]:
    """{worker: the start of it that beats now} for those of the workers whose heartbeat is live.
    Raises the cache's errors (the caller knows nothing then)."""
    hostnames = list(hostnames)
    beats = cache.get_many([worker_key(hostname) for hostname in hostnames])
    return {hostname: beat["boot"] for hostname in hostnames if (beat := beats.get(worker_key(hostname)))}


def main(argv: list[str]) -> int:
    results = run_checks(argv or None)
    for name, result in results.items():
        sys.stdout.write(f"{name}: {'ok' if result['ok'] else 'FAIL ' + result.get('error', '')}\n")
    return 0 if all(result["ok"] for result in results.values()) else 1


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ror_crm.settings")
    django.setup()
    sys.exit(main(sys.argv[1:]))
