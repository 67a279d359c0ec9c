from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from partners.filters import BooleanFilter, BoundedNumberFilter, UpdatedSinceFilterSet
from scoring.choices import ChurnRisk, LifecycleStage, NextAction
from scoring.models import ContactScore


class ContactScoreFilterSet(UpdatedSinceFilterSet):
    stage = filters.ChoiceFilter(choices=LifecycleStage.choices)
    churn_risk = filters.ChoiceFilter(choices=ChurnRisk.choices)
    score_min = BoundedNumberFilter(field_name="score", lookup_expr="gte")
    score_max = BoundedNumberFilter(field_name="score", lookup_expr="lte")
    is_returning = BooleanFilter()
    losing_touch = BooleanFilter(
        method="filter_losing_touch",
        help_text="`true`: contacts past their keep-in-touch cadence now (`next_touch_due` before this request), the "
                  "most valuable first unless `ordering` says otherwise; `false`: the others.",
    )
    next_action = filters.ChoiceFilter(
        choices=NextAction.choices, help_text="Contacts whose stored next best action is this one (`?next_action=invite`)."
    )

    class Meta:
        model = ContactScore
        fields: list[str] = []

    def filter_losing_touch(self, queryset, name, value):
        return filter_losing_touch(queryset, value)


def filter_losing_touch(queryset, value: bool, prefix: str = ""):
    """Past the cadence as of now: next_touch_due has passed (null: do-not-contact, erased, unscored)."""
    overdue = {f"{prefix}next_touch_due__lt": timezone.now()}
    return queryset.filter(**overdue) if value else queryset.exclude(**overdue)


# The keep-in-touch filters with examples, for the lists of contacts and scores (OpenAPI).
NEXT_ACTION_PARAMETERS = [
    OpenApiParameter(
        "losing_touch", OpenApiTypes.BOOL,
        description="`true`: contacts past their keep-in-touch cadence now (`next_touch_due` before this request), "
                    "the most valuable (highest score) first unless `ordering` says otherwise; `false`: the others.",
        examples=[
            OpenApiExample("Losing touch, most valuable first", value=True),
            OpenApiExample("Still in touch", value=False),
        ],
    ),
    OpenApiParameter(
        "next_action", OpenApiTypes.STR, enum=NextAction.values,
        description="Contacts whose stored next best action is this one.",
        examples=[
            OpenApiExample("Whom to invite to the next edition", value="invite"),
            OpenApiExample("Warm leads waiting for a call", value="call_now"),
        ],
    ),
]
