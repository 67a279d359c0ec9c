"""URLs of the server benchmarks/api.py starts: the product's, plus two constant views that are
the API's floors (not part of the product; only benchmarks/api_settings.py selects this module).

- `api/bench/drf-constant/`: a DRF view with the project's default authentication, permission
  and throttle classes (settings.REST_FRAMEWORK), answering a constant dict;
- `api/bench/django-constant/`: a plain Django view answering the same dict as JsonResponse.

Both live under `api/`, so they pass the same middleware as the partner API's endpoints.
"""

from django.http import JsonResponse
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

CONSTANT = {"detail": "constant", "items": [1, 2, 3]}


class DRFConstantView(APIView):
    """API-key authentication, the read scope and the per-key throttle, as every API endpoint."""

    def get(self, request):
        return Response(CONSTANT)


def django_constant(request):
    return JsonResponse(CONSTANT)


urlpatterns = [
    path("api/bench/drf-constant/", DRFConstantView.as_view(), name="bench-drf-constant"),
    path("api/bench/django-constant/", django_constant, name="bench-django-constant"),
    path("", include("ror_crm.urls")),
]
