import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy
from rest_framework import authentication, exceptions

from partners.models import PartnerAPIKey
from partners.throttling import hit, parse_rate, read_shared, window
from partners.verified_keys import VERSION_KEY, verified_key

KEYWORD = "Api-Key"


def presented_key(authorization: str) -> str | None:
    """The key of an `Authorization: Api-Key <key>` header as it is verified (the keyword in
    any case, the key without the spaces around it); None for another scheme."""
    keyword, _, key = authorization.partition(" ")
    return key.strip() if keyword.lower() == KEYWORD.lower() else None


class APIKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`; only the key's hash is stored (API.md: Authentication)."""

    def authenticate(self, request):
        key = presented_key(authentication.get_authorization_header(request).decode("latin-1"))
        if key is None:
            return None
        # An address that failed API_AUTH_FAILURE_RATE times in the window gets 429 for every key
        # that does not verify, so a client guessing keys is slowed down. A key that verifies is
        # still served: partners behind one address (a NAT, a shared integration host) must not be
        # locked out by another client's stale or wrong key. (A key's secret is far too long to
        # guess, so telling a right one from a wrong one helps nobody.) The same round trip reads
        # the keys' version (partners.verified_keys).
        address = request.META.get("REMOTE_ADDR", "")
        limit, period = parse_rate(settings.API_AUTH_FAILURE_RATE)
        failures_key, seconds_left = window("auth-failure", address, period, time.time())
        shared = read_shared([failures_key, VERSION_KEY])  # None: the cache is unreachable
        blocked = shared is not None and shared.get(failures_key, 0) >= limit
        api_key, refusal = self._verify(key, None if shared is None else shared.get(VERSION_KEY, ""))
        if refusal is not None:
            raise exceptions.Throttled(seconds_left) if blocked else self.failed(address, refusal)
        return AnonymousUser(), api_key

    @staticmethod
    def _verify(key: str, version: str | None) -> tuple[PartnerAPIKey | None, str | None]:
        """(the usable key, None), or (None, why it is refused)."""
        if not key:
            return None, gettext_lazy("No API key given.")
        try:
            api_key = verified_key(key, version)
        except PartnerAPIKey.DoesNotExist:
            return None, gettext_lazy("Invalid or revoked API key.")
        if api_key.has_expired:
            return None, gettext_lazy("This API key has expired.")
        return api_key, None

    @staticmethod
    def failed(address: str, message) -> exceptions.APIException:
        """A failed authentication, counted per address: 401, or 429 once over the rate."""
        verdict = hit("auth-failure", address, settings.API_AUTH_FAILURE_RATE)
        if not verdict.allowed:
            return exceptions.Throttled(verdict.retry_after)
        return exceptions.AuthenticationFailed(message)

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing.
        return KEYWORD
