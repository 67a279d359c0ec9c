"""API keys this process has verified, so that most requests skip the key's query.

Authenticating a request looked its key up in PostgreSQL every time: about half of what the API's
authentication and throttle cost a request. Here a process keeps the keys it found, by prefix, with
the *version of the keys* it read them at: a token in the shared cache (Redis) that changes with
every write of a key (created, revoked, re-scoped, expired by hand, deleted: the model's signals and
its queryset's update(); partners.receivers, partners.models). Each request reads the version in the
same round trip as its failed-authentication count, and a kept key is used only while the version
is the one it was read at, its secret still matches its hash, and it is younger than
API_KEY_CACHE_SECONDS (a bound for changes that bypass the model, such as SQL by hand; 0 turns the
keeping off).

Only with a cache every process shares: with each process's own memory (the embedded default
without Redis) a key revoked in one process would stay valid in the others, so keys are then read
from the database every time, as they are when Redis cannot be reached.
"""

import contextlib
import secrets
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

from ror_crm.queue import CACHE_ERRORS

if TYPE_CHECKING:
    from partners.models import PartnerAPIKey

VERSION_KEY = "api-keys:version"

# prefix -> (keys' version, when read (monotonic), the key's row)
_verified: dict[str, tuple[str, float, "PartnerAPIKey"]] = {}


def shared_cache() -> bool:
    return isinstance(caches["default"], RedisCache)


def keeping_keys() -> bool:
    return settings.API_KEY_CACHE_SECONDS > 0 and shared_cache()


def keys_changed() -> None:
    """A key was written: every process reads keys from the database again, now and once the
    write is committed (a process that read the old row in between kept it under the new version)."""
    _new_version()
    transaction.on_commit(_new_version)


def _new_version() -> None:
    with contextlib.suppress(*CACHE_ERRORS):
        cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None)


def verified_key(key: str, version: str | None) -> "PartnerAPIKey":
    """The usable key whose secret is `key` (PartnerAPIKey.DoesNotExist if none is). `version` is
    the keys' version read at the start of the request: "" when there is none yet (Redis emptied),
    None when the cache could not be reached."""
    from partners.models import PartnerAPIKey

    prefix = key.partition(".")[0]
    use_cache = bool(version) and keeping_keys()
    if use_cache:
        known = _verified.get(prefix)
        if known is not None and known[0] == version and time.monotonic() - known[1] < settings.API_KEY_CACHE_SECONDS \
                and known[2].is_valid(key):
            return known[2]
    api_key = PartnerAPIKey.objects.get_from_key(key)
    if use_cache:
        _verified[prefix] = (version, time.monotonic(), api_key)
    elif version == "" and keeping_keys():
        with contextlib.suppress(*CACHE_ERRORS):
            cache.add(VERSION_KEY, secrets.token_hex(8), timeout=None)  # the first version
    return api_key
