"""The API's front door: GET /api/v1/ lists its resources."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# Resource name → URL name of its list (the routers' basenames) or report.
RESOURCES = {
    "organizations": "organization-list", "contacts": "contact-list", "follow-ups": "follow-up-list",
    "referrals": "referral-list", "series": "series-list", "events": "event-list", "attendances": "attendance-list",
    "interactions": "interaction-list", "feedback": "feedback-list", "scores": "score-list",
    "follow-ups/missed": "follow-up-missed",
    "reports/score-validity": "score-validity-report", "reports/cohorts": "cohorts-report",
    "reports/follow-up-performance": "follow-up-performance-report",
}


class APIRootView(APIView):
    """The resources of the partner API v1, each with its URL; the OpenAPI schema and its docs too.
    Needs a key with scope `read`, like every resource."""

    @extend_schema(
        summary="List the API's resources",
        responses={200: inline_serializer("APIRoot", {name: serializers.URLField() for name in [*RESOURCES, "schema", "docs"]})},
    )
    def get(self, request):
        links = {name: reverse(url_name, request=request) for name, url_name in RESOURCES.items()}
        links["schema"] = reverse("api-schema", request=request)
        links["docs"] = reverse("api-docs", request=request)
        return Response(links)
