"""Keys a process verified are used again while the keys' version holds (partners.verified_keys):
a request then skips the key's query, and any write of a key refuses the next request at once."""

import os
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from partners.models import PartnerAPIKey
from partners.verified_keys import VERSION_KEY

pytestmark = pytest.mark.django_db

REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ.get("REDIS_URL")}}
LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def redis_cache(settings):
    if not os.environ.get("REDIS_URL"):
        reason = "the shared cache is Redis: REDIS_URL is not set (run `make test`)"
        pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)
    settings.CACHES = REDIS
    settings.API_KEY_CACHE_SECONDS = 60
    cache.clear()


@pytest.fixture
def key_client():
    api_key, key = PartnerAPIKey.objects.create_key(name="Sync", can_read=True, can_write=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    client.api_key = api_key
    return client


def key_queries(client: APIClient) -> int:
    """The request's queries of the key table (it must answer 200)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/series/").status_code == 200
    return sum(PartnerAPIKey._meta.db_table in query["sql"] for query in queries)


def test_a_verified_key_is_not_read_again(redis_cache, key_client):
    assert key_queries(key_client) == 1
    assert key_queries(key_client) == 0
    assert key_queries(key_client) == 0


@pytest.mark.parametrize("write", ["save", "update", "delete", "expire"])
def test_a_written_key_is_read_again_and_refused_at_once(redis_cache, key_client, write):
    key_queries(key_client)
    api_key = PartnerAPIKey.objects.get(pk=key_client.api_key.pk)
    match write:
        case "save":
            api_key.revoked = True
            api_key.save()
        case "update":
            PartnerAPIKey.objects.filter(pk=api_key.pk).update(revoked=True)
        case "delete":
            api_key.delete()
        case "expire":
            PartnerAPIKey.objects.filter(pk=api_key.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))

    assert key_client.get("/api/v1/series/").status_code == 401


def test_a_wrong_secret_with_a_known_prefix_is_refused(redis_cache, key_client):
    key_queries(key_client)
    prefix = key_client.api_key.prefix
    key_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {prefix}.{'x' * 32}")

    assert key_client.get("/api/v1/series/").status_code == 401


def test_without_a_version_keys_are_read_and_a_version_begins(redis_cache, key_client):
    cache.delete(VERSION_KEY)  # e.g. Redis restarted empty

    assert key_queries(key_client) == 1
    assert cache.get(VERSION_KEY)
    assert key_queries(key_client) == 1  # read at the version just begun
    assert key_queries(key_client) == 0


def test_with_each_process_its_own_cache_every_request_reads_its_key(settings, key_client):
    settings.CACHES = LOCAL  # a key revoked in one process would stay valid in the others
    settings.API_KEY_CACHE_SECONDS = 60

    assert [key_queries(key_client) for _ in range(3)] == [1, 1, 1]


def test_keeping_keys_can_be_turned_off(redis_cache, settings, key_client):
    settings.API_KEY_CACHE_SECONDS = 0

    assert [key_queries(key_client) for _ in range(3)] == [1, 1, 1]


def test_a_version_redis_comes_back_with_drops_the_keys_read_since(redis_cache, key_client):
    key_queries(key_client)
    before = cache.get(VERSION_KEY)
    api_key = PartnerAPIKey.objects.get(pk=key_client.api_key.pk)
    api_key.revoked = True
    api_key.save()
    assert key_client.get("/api/v1/series/").status_code == 401  # this process saw the new version

    cache.set(VERSION_KEY, before, timeout=None)  # Redis restored from a snapshot older than the revocation

    assert key_client.get("/api/v1/series/").status_code == 401


def test_a_version_change_redis_refuses_is_logged(redis_cache, key_client, caplog, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    def unreachable(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(RedisCache, "set", unreachable)  # the class: nothing is left on the shared cache object
    PartnerAPIKey.objects.filter(pk=key_client.api_key.pk).update(revoked=True)

    assert "its version in Redis could not be changed" in caplog.text
