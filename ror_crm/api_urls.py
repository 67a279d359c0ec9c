"""The partner API: /api/v1/ resources, the OpenAPI schema and its docs (API.md)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from partners.views import APIRootView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start script as a file (?script), not inline: the CSP allows no inline scripts.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/", APIRootView.as_view(), name="api-root"),
    path("v1/", include("contacts.api.urls")),
    path("v1/", include("events.api.urls")),
    path("v1/", include("scoring.api.urls")),
]
