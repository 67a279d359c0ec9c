"""Fixed-window rate limits counted atomically in the shared cache (Redis in production).

A window is `period` seconds long; its counter lives under a key naming the window, so a new
window starts from zero without anyone resetting it. `cache.add` + `cache.incr` is atomic in
Redis (INCR) and in the local-memory cache (one lock per process), so N+k concurrent requests
at a limit of N let exactly N through. (DRF's SimpleRateThrottle reads, changes and writes a list
of timestamps, and concurrent requests overwrite each other's counts.)
"""

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle

from partners.models import PartnerAPIKey
from ror_crm.queue import CACHE_ERRORS, guarded_redis_call

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds to the end of the window


def parse_rate(rate: str) -> tuple[int, int]:
    """Requests per period in seconds: "1000/min" → (1000, 60); periods s, min, h, day."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[0]]


def count_hit(key: str, timeout: int, delta: int = 1) -> int:
    """Add `delta` hits to `key`; the count so far. The throttle's only cache access.

    With Redis one round trip: the window's counter is created if it is missing (SET NX with its
    expiry) and incremented (INCRBY), both in one pipeline. Other caches (local memory without
    Redis): an INCR, and an `add` for the first hit of a window (atomic: of two first hits, one
    creates it and the other counts on it). (The failed-authentication count is read together with
    the keys' version: read_shared().)"""
    backend = caches["default"]  # `cache` is a proxy to it
    if isinstance(backend, RedisCache):
        # Django's RedisCache.incr() asks whether the key exists first: two round trips.
        name = backend.make_and_validate_key(key)
        with backend._cache.get_client(name, write=True).pipeline(transaction=False) as pipeline:
            pipeline.set(name, 0, ex=timeout, nx=True)
            pipeline.incrby(name, delta)
            return pipeline.execute()[1]
    try:
        return cache.incr(key, delta)
    except ValueError:  # no counter yet in this window (or evicted by the local-memory cache)
        if cache.add(key, delta, timeout):
            return delta
        return cache.incr(key, delta)


def read_shared(keys: list[str]) -> dict | None:
    """The values of `keys` in the shared cache in one round trip (MGET); None when it cannot be
    reached (then the limits fail open, see hit())."""
    try:
        return guarded_redis_call(lambda: cache.get_many(keys))
    except CACHE_ERRORS as error:
        logger.warning("Cache unreachable (%s): failed authentications not checked, keys read from the database.", error)
        return None


def window(scope: str, ident: str, period: int, now: float) -> tuple[str, int]:
    """The counter key of the window holding `now`, and the seconds left in it."""
    number = int(now // period)
    return f"ratelimit:{scope}:{ident}:{number}", max(1, math.ceil((number + 1) * period - now))


def hit(scope: str, ident: str, rate: str) -> Verdict:
    """Count a request of `ident` and say whether it is within `rate`."""
    limit, period = parse_rate(rate)
    key, seconds_left = window(scope, ident, period, time.time())
    # The counter outlives its window by a little, so it never expires while still counted.
    try:
        hits = guarded_redis_call(lambda: count_hit(key, seconds_left + 1))
    except CACHE_ERRORS as error:
        # Redis down: fail open. Reads and writes need only PostgreSQL; refusing every request
        # for want of a counter would take the whole API down with the cache.
        logger.warning("Rate limit %s not counted (cache unreachable: %s); request let through.", scope, error)
        return Verdict(allowed=True, retry_after=seconds_left)
    return Verdict(allowed=hits <= limit, retry_after=seconds_left)


class APIKeyRateThrottle(BaseThrottle):
    """API_THROTTLE_RATE requests per key (per user for sessions, per address otherwise)."""

    def allow_request(self, request, view) -> bool:
        if isinstance(request.auth, PartnerAPIKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        verdict = hit("api", ident, settings.API_THROTTLE_RATE)
        self.retry_after = verdict.retry_after
        return verdict.allowed

    def wait(self) -> int:
        return self.retry_after
