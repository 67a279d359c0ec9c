"""API keys this process has verified, so that most requests skip the key's query.

Authenticating a request looked its key up in PostgreSQL every time: about half of what the API's
authentication and throttle cost a request. Here a process keeps the keys it found, by prefix, with
the *version of the keys* it read them at: a token in the shared cache (Redis) that changes with
every write of a key (created, revoked, re-scoped, expired by hand, deleted: the model's signals and
its queryset's update(); partners.receivers, partners.models). Each request reads the version in the
same round trip as its failed-authentication count, and a kept key is used only while the version
is the one it was read at, its secret still matches its hash, and it is younger than
API_KEY_CACHE_SECONDS (0 turns the keeping off). A request that reads another version than the
process's last one (newer; older, as when Redis comes back from an older snapshot; none) drops every
kept key. What API_KEY_CACHE_SECONDS bounds: changes that bypass the model (SQL by hand, a process
writing keys without this Redis) and a version change Redis lost (down at that moment, or restored
from before it, without this process having seen the newer version).

Only with a cache every process shares: with each process's own memory (the embedded default
without Redis) a key revoked in one process would stay valid in the others, so keys are then read
from the database every time, as they are when Redis cannot be reached.
"""

import contextlib
import logging
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

logger = logging.getLogger(__name__)

VERSION_KEY = "api-keys:version"

# prefix -> (keys' version, when read (monotonic), the key's row)
_verified: dict[str, tuple[str, float, "PartnerAPIKey"]] = {}
# The version the last request of this process read: any other one (a newer one, an older one
# Redis came back with, none) drops every kept key.
_last_version: list[str | None] = [None]


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
    try:
        cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None)
    except CACHE_ERRORS as error:
        logger.error(
            "An API key was written, but its version in Redis could not be changed (%s): web processes may accept "
            "the key as it was for up to API_KEY_CACHE_SECONDS.", error,
        )


def verified_key(key: str, version: str | None) -> "PartnerAPIKey":
    """The usable key whose secret is `key` (PartnerAPIKey.DoesNotExist if none is). `version` is
    the keys' version read at the start of the request: "" when there is none yet (Redis emptied),
    None when the cache could not be reached."""
    from partners.models import PartnerAPIKey

    prefix = key.partition(".")[0]
    if version != _last_version[0]:
        _verified.clear()
        _last_version[0] = version
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
