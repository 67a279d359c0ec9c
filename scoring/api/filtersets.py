from django_filters import rest_framework as filters

from partners.filters import BooleanFilter, BoundedNumberFilter, UpdatedSinceFilterSet
from scoring.choices import ChurnRisk, LifecycleStage
from scoring.models import ContactScore


class ContactScoreFilterSet(UpdatedSinceFilterSet):
    stage = filters.ChoiceFilter(choices=LifecycleStage.choices)
    churn_risk = filters.ChoiceFilter(choices=ChurnRisk.choices)
    score_min = BoundedNumberFilter(field_name="score", lookup_expr="gte")
    score_max = BoundedNumberFilter(field_name="score", lookup_expr="lte")
    is_returning = BooleanFilter()

    class Meta:
        model = ContactScore
        fields: list[str] = []
