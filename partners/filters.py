"""Filters shared by the resource APIs (kept apart from viewsets: DRF settings import them early)."""

from django_filters import rest_framework as filters
from rest_framework.filters import OrderingFilter


class UpdatedSinceFilterSet(filters.FilterSet):
    """Incremental sync: every list takes `updated_since` (API.md)."""

    updated_since = filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")


class PublicOrderingFilter(OrderingFilter):
    """`?ordering=score` / `-score` etc., mapped to sortable expressions, always with an id tiebreak.

    Views set `ordering_map = {"score": "score_sort", …}`, where the targets are non-null
    annotations or fields, so cursor positions stay comparable.
    """

    def get_ordering(self, request, queryset, view):
        mapping = getattr(view, "ordering_map", {})
        raw = request.query_params.get(self.ordering_param, "")
        for term in (part.strip() for part in raw.split(",")):
            descending = term.startswith("-")
            name = term.lstrip("-")
            if name in mapping:
                target = mapping[name]
                return [f"-{target}", "-pk"] if descending else [target, "pk"]
        return list(getattr(view, "ordering", None) or ["-pk"])

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        names = sorted(getattr(view, "ordering_map", {}))
        for parameter in parameters:
            if parameter["name"] == self.ordering_param and names:
                parameter["schema"] = {"type": "string", "enum": [*names, *(f"-{name}" for name in names)]}
        return parameters





class IdFilter(filters.NumberFilter):
    """A foreign-key id in a query string; out-of-range numbers are a 400, not a database error."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 2**63 - 1)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)


class BoundedNumberFilter(filters.NumberFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -1_000_000)
        kwargs.setdefault("max_value", 1_000_000)
        super().__init__(*args, **kwargs)
