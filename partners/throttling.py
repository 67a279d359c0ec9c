from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from partners.models import PartnerAPIKey


class APIKeyRateThrottle(SimpleRateThrottle):
    """Requests per key (per user for sessions), counted in the shared cache (Redis in production)."""

    scope = "api_key"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, PartnerAPIKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
