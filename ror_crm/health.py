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
from datetime import datetime, timedelta

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


# Since when heartbeats have been written without a gap (no TTL): a worker's heartbeat missing
# is news only after three beats of that (Redis restarted empty, or back after an outage, has
# lost or let lapse the heartbeats of workers that are alive).
HEARTBEATS_SINCE_KEY = "health:worker-heartbeats-since"


def worker_key(hostname: str) -> str:
    """The latest start of the worker of this name: {"boot", "started"}."""
    return f"health:worker:{hostname}"


def boot_key(boot: str) -> str:
    """One start of a worker beating: {"worker", "at"}, lapsing three beats after its last."""
    return f"health:worker-boot:{boot}"


def record_worker_heartbeat(hostname: str, boot: str, *, started: float, resumed: bool = False) -> bool:
    """A worker is alive (called by its heartbeat thread every HEARTBEAT_SECONDS): the latest
    heartbeat of any worker, for the health check; this start of it (`boot`, since `started`);
    and since when heartbeats come without a gap (`resumed`: the last write failed). False when
    Redis is down (logged, not raised)."""
    now = time.time()
    try:
        latest = cache.get(worker_key(hostname))
        if latest and latest["boot"] != boot:
            other = cache.get(boot_key(latest["boot"]))
            if other and other["at"] > started:  # it beat after this one started: both alive
                logger.error("Two workers named %s are running; give each its own name (celery worker -n).", hostname)
        cache.set(HEARTBEAT_KEY, {"at": now, "worker": hostname}, settings.HEALTH_WORKER_MAX_AGE_SECONDS * 2)
        cache.set_many({worker_key(hostname): {"boot": boot, "started": started},
                        boot_key(boot): {"worker": hostname, "at": now}}, HEARTBEAT_SECONDS * 3)
        if resumed:
            cache.set(HEARTBEATS_SINCE_KEY, now, None)
        else:
            cache.add(HEARTBEATS_SINCE_KEY, now, None)
    except CACHE_ERRORS as error:
        logger.warning("Could not write the worker heartbeat: %s", error)
        return False
    return True


def gone_workers(claims: Iterable[tuple[str, str, datetime]], now: datetime) -> set[tuple[str, str]]:
    """The (worker, boot) pairs among the claims' (worker, boot, claimed at) whose worker is gone:
    started anew since that boot last beat, or silent for three beats (a claim younger than two
    beats waits: its worker's first heartbeat may be on its way). Raises the cache's errors."""
    claims = list(claims)
    if not claims:
        return set()
    keys = {worker_key(worker) for worker, _, _ in claims} | {boot_key(boot) for _, boot, _ in claims}
    beats = cache.get_many([*keys, HEARTBEATS_SINCE_KEY])
    since = beats.get(HEARTBEATS_SINCE_KEY)
    silence_tells = since is not None and since <= now.timestamp() - HEARTBEAT_SECONDS * 3
    young = now - timedelta(seconds=HEARTBEAT_SECONDS * 2)
    gone = set()
    for worker, boot, claimed_at in claims:
        latest, beat = beats.get(worker_key(worker)), beats.get(boot_key(boot))
        restarted = latest is not None and latest["boot"] != boot and (beat is None or beat["at"] < latest["started"])
        silent = beat is None and silence_tells and claimed_at <= young
        if restarted or silent:
            gone.add((worker, boot))
    return gone


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
