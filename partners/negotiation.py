"""Content negotiation of the partner API."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from partners.authentication import presented_key


class PartnerKeyNegotiation(DefaultContentNegotiation):
    """A request with a partner key gets JSON where the browsable API is the other choice, whatever
    it accepts (API.md: JSON in and out); that page is for staff signed in to the admin. Other
    views keep their own choice (the schema: YAML or JSON). Negotiation runs before
    authentication, so the header says who asks."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if presented_key(request.META.get("HTTP_AUTHORIZATION", "")) is not None \
                and any(isinstance(renderer, BrowsableAPIRenderer) for renderer in renderers):
            for renderer in renderers:
                if isinstance(renderer, JSONRenderer):
                    return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
