from datetime import UTC, datetime

from django.db.models import Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, viewsets
from rest_framework.response import Response

from events.models import EventSeries
from partners.pagination import KeysetCursorPagination, NullableSortKey
from partners.viewsets import ID_IN_PATH
from scoring.api.filtersets import NEXT_ACTION_PARAMETERS, ContactScoreFilterSet
from scoring.api.serializers import (
    ContactScoreSerializer,
    ScoreValidityQuerySerializer,
    ScoreValidityReportSerializer,
)
from scoring.models import ContactScore
from scoring.services.validity import score_validity_report


@extend_schema_view(
    list=extend_schema(parameters=NEXT_ACTION_PARAMETERS),
    retrieve=extend_schema(
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Contact id")]
    ),
)
class ContactScoreViewSet(viewsets.ReadOnlyModelViewSet):
    """Current scores (computed, read-only); looked up by contact id."""

    serializer_class = ContactScoreSerializer
    filterset_class = ContactScoreFilterSet
    lookup_value_regex = ID_IN_PATH
    ordering = ["-pk"]
    ordering_map = {"score": "score", "last_touch_at": "last_touch_sort", "days_overdue": "-touch_due_sort"}
    pagination_class = KeysetCursorPagination  # nullable keys paged from their (column, contact) indexes
    nullable_sort_keys = {
        "score": NullableSortKey("score"),  # not null, but many equal (0 for every no-show)
        "last_touch_sort": NullableSortKey("last_touch_at"),
        "touch_due_sort": NullableSortKey("next_touch_due", nulls_lowest=False),
    }

    def get_queryset(self):
        return ContactScore.objects.select_related("lifetime_value").alias(
            last_touch_sort=Coalesce("last_touch_at", Value(datetime(1900, 1, 1, tzinfo=UTC))),
            touch_due_sort=Coalesce("next_touch_due", Value(datetime(9999, 1, 1, tzinfo=UTC))),
        )

    def get_object(self):
        # The contact id is a foreign key, whose lookup lacks Django's check of an integer's range:
        # an id beyond 64 bits reached the database driver (a 500 instead of a 404).
        try:
            beyond = not -(2**63) <= int(self.kwargs.get("pk", "")) < 2**63  # int() takes "+9…" and " 9…" too
        except ValueError:
            beyond = False  # no number: the lookup's own 404
        if beyond:
            raise Http404
        return super().get_object()

    def default_ordering(self, request) -> list[str]:
        # The losing-touch list: the most valuable relationships first.
        if request.query_params.get("losing_touch", "").lower() in ("true", "1"):
            return ["-score", "-pk"]
        return list(self.ordering)


SCORE_VALIDITY_DESCRIPTION = """\
How well the relationship score predicts that a contact attends the next edition of a series,
beside two baselines it has to beat.

- **Editions N+1**: every completed event of a series that has an earlier event of the series.
  T = its `starts_at` minus 1 microsecond; everything is computed exactly as of T, so the
  edition's own attendance never counts.
- **Population** of an edition N+1: the contacts with status `attended` at an earlier event of
  the series whose attendance is known at T (the event ended, or was completed, by T).
  Erased contacts are included: they keep their (anonymous) rows.
- **Outcome**: status `attended` at N+1.
- **Predictors** as of T: the score; each of its six components alone; the baselines
  `days_since_last_attendance` (since the end of the contact's last attended event, any
  series; fewer days rank higher) and `editions_attended` (earlier editions of this series
  attended; more rank higher).
- **AUC**: Mann–Whitney, the chance that a contact who came back ranks above one who did not,
  ties counted half; null when one class is empty. A contact counts once per edition (a pair);
  per series the pairs of its editions are pooled, `overall` pools all pairs.
- **Calibration**: the pairs sorted by score, cut by rank into 10 groups as equal as possible.

A score that loses to a baseline is reported as such (`score_beaten_by`). Reports are cached
per data version: the first request after a change computes it again.

Example: `GET /api/v1/reports/score-validity/?series=3`
"""


class ScoreValidityView(generics.GenericAPIView):
    """The score validity report (issue "Scores that tell the truth")."""

    # Staff sessions need view permission on scores; the queryset only names the model.
    queryset = ContactScore.objects.none()
    serializer_class = ScoreValidityReportSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        operation_id="reports_score_validity",
        summary="Score validity report",
        description=SCORE_VALIDITY_DESCRIPTION,
        parameters=[ScoreValidityQuerySerializer],
        responses={200: ScoreValidityReportSerializer},
    )
    def get(self, request):
        # An empty `?series=` means all series, as an empty filter does everywhere in the API.
        query = ScoreValidityQuerySerializer(data={key: value for key, value in request.query_params.items() if value})
        query.is_valid(raise_exception=True)
        series_id = query.validated_data.get("series")
        if series_id is not None and not EventSeries.objects.filter(pk=series_id).exists():
            raise serializers.ValidationError({"series": [_("No series with id %(id)s.") % {"id": series_id}]})
        return Response(self.get_serializer(score_validity_report(series_id=series_id)).data)
