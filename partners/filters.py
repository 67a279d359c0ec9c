"""Filters shared by the resource APIs (kept apart from viewsets: DRF settings import them early)."""

from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_filters.utils import translate_validation
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from ror_crm.validators import MAX_ID, validate_plausible_moment


class StrictNullBooleanField(forms.NullBooleanField):
    """`true`/`false` (or `1`/`0`); empty means no filter; anything else is a 400, where
    Django's field would quietly read it as "unknown" and filter nothing."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in (True, "true", "True", "1"):
            return True
        if value in (False, "false", "False", "0"):
            return False
        raise forms.ValidationError(_("Give true or false."), code="invalid")

    def validate(self, value):
        pass


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictNullBooleanField

    def __init__(self, *args, **kwargs):
        # django-filter's widget would turn unknown values into "unknown" before the field sees them.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class MomentFormField(IsoDateTimeField):
    """An ISO 8601 time between 1900 and 2199, in UTC: PostgreSQL refuses offsets beyond ±15:59
    that Python parses (`+17:22`), and far-off years overflow when shifted."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        validate_plausible_moment(moment)
        return moment.astimezone(UTC)


class MomentFilter(filters.IsoDateTimeFilter):
    field_class = MomentFormField


UPDATED_SINCE_HELP = (
    "Only rows changed at or after this time (ISO 8601 with offset; one without, or a date, is read in the "
    "agency's time zone, Europe/Berlin): incremental sync. For the next sync pass the "
    "time this one started minus a few minutes, not the latest `updated_at` you saw: a row's `updated_at` is when "
    "it was written, and a write is seen when its transaction commits (a bulk of 1,000 rows: a few seconds later). "
    "Rows read twice are harmless: match them by `id`."
)


def updated_since(request) -> datetime | None:
    """`updated_since` of a list without a filter set (API.md: every list takes it), read as the
    filter sets read it; None when it is not given or empty, a 400 naming it when it is no time."""
    raw = request.query_params.get("updated_since")
    if not raw:
        return None
    try:
        return MomentFormField().clean(raw)
    except DjangoValidationError as error:
        raise ValidationError({"updated_since": error.messages}) from None


class UpdatedSinceFilterSet(filters.FilterSet):
    """Incremental sync: every list takes `updated_since` (API.md). The base of every filter set
    of the API."""

    updated_since = MomentFilter(field_name="updated_at", lookup_expr="gte")

    given: frozenset[str] | None = None  # the parameters a request gives (FilterBackend); None: all

    def get_form_class(self):
        # Built once per filter set and set of parameters, not per request (its fields depend on
        # the class alone). Filtering a request needs only the fields of the parameters it gives:
        # the others are empty and filter nothing.
        names = frozenset(self.filters) if self.given is None else self.given
        form_class = FORM_CLASSES.get((type(self), names))
        if form_class is None:
            if len(FORM_CLASSES) >= MAX_FORM_CLASSES:  # a client cycling through combinations
                FORM_CLASSES.clear()
            fields = {name: filter_.field for name, filter_ in self.filters.items() if name in names}
            form_class = FORM_CLASSES[type(self), names] = type(f"{type(self).__name__}Form", (self._meta.form,), fields)
        return form_class


FORM_CLASSES: dict[tuple[type[UpdatedSinceFilterSet], frozenset[str]], type[forms.Form]] = {}
MAX_FORM_CLASSES = 256


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, with a form of only the filter parameters the request gives, and
    none when it gives none: building and validating a form of every filter cost more than the
    rest of a filtered page's query. (The browsable API's filter form still shows every filter.)"""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        given = frozenset(request.query_params.keys() & filterset_class.base_filters.keys())
        if not given:
            return queryset
        filterset = filterset_class(**self.get_filterset_kwargs(request, queryset, view))
        filterset.given = given
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return filterset.qs


class PublicOrderingFilter(OrderingFilter):
    """`?ordering=score` / `-score` etc., mapped to sortable expressions, always with an id tiebreak.

    Views set `ordering_map = {"score": "score_sort", …}`, where the targets are non-null
    annotations or fields, so cursor positions stay comparable; a target written "-name" sorts
    the other way round. A view's `default_ordering(request)` orders a request without one.
    """

    def get_ordering(self, request, queryset, view):
        mapping = getattr(view, "ordering_map", {}) if not getattr(view, "detail", False) else {}
        term = request.query_params.get(self.ordering_param, "").strip()  # (a detail page has no order)
        if term and mapping:
            name = term[1:] if term[0] in "+-" else term  # ± prefix (API.md); + is ascending, as no prefix
            if name not in mapping:
                choices = ", ".join(sorted(mapping))
                message = _("Order by one of %(choices)s, with - for descending (+ or nothing for ascending).") % {
                    "choices": choices}
                raise ValidationError({self.ordering_param: [message]})
            target, descending = mapping[name], term.startswith("-")
            if target.startswith("-"):  # a key that grows as the column falls (days overdue: due time)
                target, descending = target[1:], not descending
            return [f"-{target}", "-pk"] if descending else [target, "pk"]
        if hasattr(view, "default_ordering"):
            return view.default_ordering(request)
        return list(getattr(view, "ordering", None) or ["-pk"])

    def get_schema_operation_parameters(self, view):
        names = sorted(getattr(view, "ordering_map", {}))
        if not names:
            return []  # a list in its one order (newest first) takes no `ordering`
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.ordering_param:
                parameter["schema"] = {"type": "string",
                                       "enum": [*names, *(f"-{name}" for name in names), *(f"+{name}" for name in names)]}
                parameter["description"] = "Which field to order by: `-` before it for descending, `+` or nothing " \
                                           "for ascending."
        return parameters


class AsciiDecimalField(forms.DecimalField):
    """A number written with ASCII digits: Python's Decimal reads "١٢" (Arabic-Indic) as 12."""

    def to_python(self, value):
        if isinstance(value, str) and not value.isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class NumberWithinFilter(filters.NumberFilter):
    """A number filter whose `min_value` and `max_value` are its only bounds (django-filter adds a
    maximum of 1e50, which a value beyond both named as a second, contradictory limit)."""

    field_class = AsciiDecimalField

    def get_max_validator(self):
        return None


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_ID})
class IdFilter(NumberWithinFilter):
    """A foreign-key id in a query string; out-of-range numbers are a 400, not a database error."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "number", "minimum": -1_000_000, "maximum": 1_000_000})
class BoundedNumberFilter(NumberWithinFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -1_000_000)
        kwargs.setdefault("max_value", 1_000_000)
        super().__init__(*args, **kwargs)
