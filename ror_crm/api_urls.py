"""The partner API: /api/v1/ resources, the OpenAPI schema and its docs (API.md)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/", include("contacts.api.urls")),
    path("v1/", include("events.api.urls")),
    path("v1/", include("scoring.api.urls")),
]
