"""GET /api/v1/reports/cohorts/?series=: the cohort retention matrix of a series (scoring.services.cohorts)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from events.models import EventSeries
from partners.serializers import MomentField, WholeNumberField
from ror_crm.validators import MAX_ID
from scoring.models import EventMetrics
from scoring.services.cohorts import cohort_matrix


class CohortQuerySerializer(serializers.Serializer):
    series = WholeNumberField(min_value=1, max_value=MAX_ID, help_text="The series (its id). Required.")
    as_of = MomentField(
        required=False, require_offset=False,
        help_text="Compute the matrix as of this moment (ISO 8601; without an offset, the site's time zone). "
        "Default: now.",
    )


class CohortEditionSerializer(serializers.Serializer):
    event = serializers.IntegerField(source="event_id", help_text="The edition's event id.")
    name = serializers.CharField(help_text="The event's name.")
    starts_at = serializers.DateTimeField(help_text="When the edition started; editions are in this order.")
    status = serializers.CharField(help_text="The event's status (`completed`, or `planned`/`live` when it ended "
                                   "without being completed).")
    attended = serializers.IntegerField(help_text="E: contacts with status `attended` at this edition.")
    new = serializers.IntegerField(help_text="Contacts for whom this was their first edition of the series attended: "
                                   "the size of its cohort.")
    previous_edition = serializers.IntegerField(
        source="previous_event_id", allow_null=True,
        help_text="The edition CRR compares with: the latest edition completed by `as_of` that starts before this "
        "one; null for none.",
    )
    previous_attended = serializers.IntegerField(
        allow_null=True, help_text="S: contacts who attended the previous edition; null without one."
    )
    not_at_previous = serializers.IntegerField(
        allow_null=True, help_text="N: contacts who attended this edition but not the previous one; null without one."
    )
    series_retention_rate = serializers.FloatField(
        source="retention_rate", allow_null=True,
        help_text="CRR in percent, ((E − N) / S) × 100; null without a previous edition or when S is 0. The same "
        "figure as the event's metrics (`events/{id}/metrics/`).",
    )


class CohortCellSerializer(serializers.Serializer):
    edition = serializers.IntegerField(source="event_id", help_text="The later edition's event id.")
    count = serializers.IntegerField(help_text="Contacts of the cohort who attended that edition.")
    share = serializers.FloatField(allow_null=True, help_text="count / the cohort's size (0–1, 4 decimals); null for "
                                   "an empty cohort.")


class CohortSerializer(serializers.Serializer):
    edition = serializers.IntegerField(source="event_id", help_text="The cohort's edition: where its contacts first "
                                       "attended the series.")
    name = serializers.CharField(help_text="That edition's name.")
    starts_at = serializers.DateTimeField(help_text="When that edition started.")
    size = serializers.IntegerField(help_text="Contacts in the cohort.")
    cells = CohortCellSerializer(many=True, help_text="One per later edition, in edition order.")


class CohortMatrixSerializer(serializers.Serializer):
    series = serializers.IntegerField(source="series_id", help_text="The series' id.")
    name = serializers.CharField(source="series_name", help_text="The series' name.")
    as_of = serializers.DateTimeField(help_text="The moment the matrix was computed as of.")
    contacts = serializers.IntegerField(help_text="Distinct contacts who attended an edition: the cohorts' sizes "
                                        "summed.")
    editions = CohortEditionSerializer(many=True, help_text="The columns, with the CRR line beneath the matrix.")
    cohorts = CohortSerializer(many=True, help_text="The rows: one cohort per edition (empty ones too), in edition "
                               "order.")


COHORTS_DESCRIPTION = """\
Cohort retention of an event series: which share of the contacts who first came to the series at
one edition came back to each later edition, with the series' retention rate (CRR) per edition.

- **Editions** as of `as_of` (default now): the series' events whose attendance is known then, as
  scoring counts it: the event ended, or was completed, by `as_of`. Cancelled events are no
  editions. Ordered by `starts_at`.
- **Cohort** of an edition: the contacts whose first attended edition of the series (status
  `attended`) is that edition. Erased contacts count: they keep their (anonymous) rows.
- **Cells**: per cohort and later edition, `count` of the cohort who attended that edition and
  `share` = count / cohort size.
- **CRR** per edition (`editions[].series_retention_rate`): `((E − N) / S) × 100` with S = attended
  the previous edition, E = attended this one, N = attended this one but not the previous one;
  the previous edition is the latest edition completed by `as_of` that starts before it. It equals
  the event's stored metrics (`GET /api/v1/events/{id}/metrics/`) computed as of the same moment.

Errors: 400 with `series` when it is missing, not a number or no series' id; 400 with `as_of`
when it is not a date-time or lies outside 1900–2199.

Example: `GET /api/v1/reports/cohorts/?series=3&as_of=2026-06-01T00:00:00Z`
"""

COHORTS_EXAMPLE = OpenApiExample(
    "Three editions", response_only=True, status_codes=["200"],
    value={
        "series": 3, "name": "Hamburg Summit", "as_of": "2026-06-01T02:00:00+02:00", "contacts": 6,
        "editions": [
            {"event": 11, "name": "Summit 2024", "starts_at": "2024-05-14T09:00:00+02:00", "status": "completed",
             "attended": 4, "new": 4, "previous_edition": None, "previous_attended": None, "not_at_previous": None,
             "series_retention_rate": None},
            {"event": 12, "name": "Summit 2025", "starts_at": "2025-05-13T09:00:00+02:00", "status": "completed",
             "attended": 3, "new": 1, "previous_edition": 11, "previous_attended": 4, "not_at_previous": 1,
             "series_retention_rate": 50.0},
            {"event": 13, "name": "Summit 2026", "starts_at": "2026-05-12T09:00:00+02:00", "status": "completed",
             "attended": 4, "new": 1, "previous_edition": 12, "previous_attended": 3, "not_at_previous": 2,
             "series_retention_rate": 66.66666666666667},
        ],
        "cohorts": [
            {"edition": 11, "name": "Summit 2024", "starts_at": "2024-05-14T09:00:00+02:00", "size": 4,
             "cells": [{"edition": 12, "count": 2, "share": 0.5}, {"edition": 13, "count": 2, "share": 0.5}]},
            {"edition": 12, "name": "Summit 2025", "starts_at": "2025-05-13T09:00:00+02:00", "size": 1,
             "cells": [{"edition": 13, "count": 1, "share": 1.0}]},
            {"edition": 13, "name": "Summit 2026", "starts_at": "2026-05-12T09:00:00+02:00", "size": 1, "cells": []},
        ],
    },
)


class CohortMatrixView(generics.GenericAPIView):
    """The cohort retention report (issue "Prove the return on relationship", part 1)."""

    # Staff sessions need view permission on event metrics, as for the RoR dashboard; the
    # queryset only names the model.
    queryset = EventMetrics.objects.none()
    serializer_class = CohortMatrixSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        operation_id="reports_cohorts",
        summary="Cohort retention matrix of a series",
        description=COHORTS_DESCRIPTION,
        parameters=[CohortQuerySerializer],
        responses={200: CohortMatrixSerializer},
        examples=[COHORTS_EXAMPLE],
    )
    def get(self, request):
        # An empty value is no value (partners.schema.allow_empty_query_values): `?series=` is missing.
        query = CohortQuerySerializer(data={key: value for key, value in request.query_params.items() if value})
        query.is_valid(raise_exception=True)
        series_id = query.validated_data["series"]
        try:
            matrix = cohort_matrix(series_id, as_of=query.validated_data.get("as_of"))
        except EventSeries.DoesNotExist:
            raise serializers.ValidationError({"series": [_("No series with id %(id)s.") % {"id": series_id}]}) from None
        return Response(self.get_serializer(matrix).data)
