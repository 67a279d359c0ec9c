from datetime import UTC, datetime

from django.db.models import Value
from django.db.models.functions import Coalesce
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from scoring.api.filtersets import ContactScoreFilterSet
from scoring.api.serializers import ContactScoreSerializer
from scoring.models import ContactScore


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Contact id")]
    )
)
class ContactScoreViewSet(viewsets.ReadOnlyModelViewSet):
    """Current scores (computed, read-only); looked up by contact id."""

    serializer_class = ContactScoreSerializer
    filterset_class = ContactScoreFilterSet
    ordering = ["-pk"]
    ordering_map = {"score": "score", "last_touch_at": "last_touch_sort"}

    def get_queryset(self):
        return ContactScore.objects.annotate(
            last_touch_sort=Coalesce("last_touch_at", Value(datetime(1900, 1, 1, tzinfo=UTC))),
        )
