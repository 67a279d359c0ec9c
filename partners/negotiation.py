"""Content negotiation of the partner API."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

from partners.authentication import presented_key


class PartnerKeysGetJSON(DefaultContentNegotiation):
    """A request with a partner key is answered in JSON whatever it accepts (API.md: JSON in and
    out); the browsable API is for staff signed in to the admin. Negotiation runs before
    authentication, so the header says who asks."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if presented_key(request.META.get("HTTP_AUTHORIZATION", "")) is not None:
            for renderer in renderers:
                if isinstance(renderer, JSONRenderer):
                    return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
