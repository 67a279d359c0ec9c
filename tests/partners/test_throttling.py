"""Rate limits that hold under concurrency: per key, per session user, and failed authentications per address."""

import threading
import time
import types
import uuid

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from partners.models import PartnerAPIKey
from partners.throttling import hit, window


def concurrent_hits(ident: str, rate: str, calls: int) -> list[bool]:
    """`calls` threads released at once, each counting one request against `rate`."""
    start = threading.Barrier(calls)
    verdicts: list[bool] = []

    def one_request():
        start.wait()
        verdicts.append(hit("test", ident, rate).allowed)

    threads = [threading.Thread(target=one_request) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return verdicts


def test_concurrent_requests_beyond_the_rate_are_refused():
    verdicts = concurrent_hits(f"key:{uuid.uuid4().hex}", "40/day", 60)  # a day: no window ends mid-test

    assert verdicts.count(True) == 40
    assert verdicts.count(False) == 20


@pytest.mark.services
def test_concurrent_requests_are_counted_atomically_in_redis(settings):
    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()

    verdicts = concurrent_hits(f"key:{uuid.uuid4().hex}", "100/day", 150)

    assert verdicts.count(True) == 100


@pytest.mark.services
def test_a_count_sends_no_existence_check_and_its_counter_expires_with_the_window():
    backend = caches["default"]
    client = backend._cache.get_client(write=True)
    ident = f"key:{uuid.uuid4().hex}"

    def calls() -> dict[str, int]:
        stats = client.info("commandstats")
        return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("exists", "incrby", "set")}

    before = calls()
    assert hit("test", ident, "5/min").allowed
    after = calls()

    assert after["exists"] == before["exists"]  # Django's RedisCache.incr() would ask first
    assert after["incrby"] == before["incrby"] + 1
    key, seconds_left = window("test", ident, 60, time.time())
    assert backend.get(key) == 1
    assert 0 < client.ttl(backend.make_and_validate_key(key)) <= seconds_left + 1


def test_retry_after_is_the_time_to_the_end_of_the_window(monkeypatch):
    monkeypatch.setattr("partners.throttling.time", types.SimpleNamespace(time=lambda: 1_000_000_005.2))  # 45.2 s into a minute
    ident = f"key:{uuid.uuid4().hex}"

    assert hit("test", ident, "1/min").allowed
    refused = hit("test", ident, "1/min")

    assert not refused.allowed
    assert refused.retry_after == 15


def unique_address() -> str:
    """A client address of its own per test: counts in a shared Redis outlive the test."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture
def address() -> str:
    return unique_address()


def key_client(key: str, address: str) -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.mark.django_db
class TestThroughTheAPI:
    def test_each_key_has_its_own_budget_and_a_429_says_when_to_retry(self, settings, address):
        settings.API_THROTTLE_RATE = "2/min"
        first = key_client(PartnerAPIKey.objects.create_key(name="A")[1], address)
        second = key_client(PartnerAPIKey.objects.create_key(name="B")[1], address)

        assert [first.get("/api/v1/series/").status_code for _ in range(3)] == [200, 200, 429]
        refused = first.get("/api/v1/series/")
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 60
        assert refused.json()["detail"]
        assert second.get("/api/v1/series/").status_code == 200

    def test_sessions_are_counted_per_user(self, settings, staff_user, sales_user):
        settings.API_THROTTLE_RATE = "1/min"
        staff, sales = APIClient(), APIClient()
        staff.force_login(staff_user)
        sales.force_login(sales_user)

        assert [staff.get("/api/v1/series/").status_code for _ in range(2)] == [200, 429]
        assert sales.get("/api/v1/series/").status_code == 200

    def test_failed_authentications_are_throttled_per_address(self, settings, address):
        settings.API_AUTH_FAILURE_RATE = "3/min"
        settings.API_THROTTLE_RATE = "1000/min"
        good_key = PartnerAPIKey.objects.create_key(name="Ticketing")[1]
        assert key_client(good_key, address).get("/api/v1/series/").status_code == 200  # successes do not count

        statuses = [key_client(f"bogus.{n}", address).get("/api/v1/series/").status_code for n in range(5)]

        assert statuses == [401, 401, 401, 429, 429]
        refused = key_client("bogus.y", address).get("/api/v1/series/")
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 60
        # A key that verifies is served: another client's wrong keys do not lock a partner out.
        assert key_client(good_key, address).get("/api/v1/series/").status_code == 200
        assert key_client("", address).get("/api/v1/series/").status_code == 429
        other_address = unique_address()
        assert key_client(good_key, other_address).get("/api/v1/series/").status_code == 200
        assert key_client("bogus.x", other_address).get("/api/v1/series/").status_code == 401
