import binascii
import math
from base64 import b64decode, b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, TypeVar
from urllib import parse

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, models
from django.db.models import F, Q
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.sql.constants import INNER
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, pagination
from rest_framework.utils.urls import remove_query_param, replace_query_param

# Larger values are clamped to 500, not refused: no maximum in the contract.
PAGE_SIZE_SCHEMA = {"type": "integer", "minimum": 1}
PAGE_SIZE_DESCRIPTION = "Results per page: default 50; values above 500 count as 500."
# For views that paginate by hand (their schema names the parameters itself).
PAGE_SIZE_PARAMETER = OpenApiParameter("page_size", PAGE_SIZE_SCHEMA, description=PAGE_SIZE_DESCRIPTION)
CURSOR_PARAMETER = OpenApiParameter("cursor", OpenApiTypes.STR, description="The cursor of a `next` or `previous` link.")

T = TypeVar("T")


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination on every list (API.md): `?cursor=…&page_size=N`, default 50, max 500.

    Larger page sizes are clamped to 500; a page size that is not a positive number falls back
    to the default. Order by non-null columns only: views annotate nullable sort keys with
    Coalesce, so the cursor position is always comparable.
    """

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = "-pk"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise exceptions.ValidationError({"page_size": [_("A whole number from 1 to 500.")]}) from None
        if size < 1:
            raise exceptions.ValidationError({"page_size": [_("A whole number from 1 to 500.")]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"], parameter["description"] = PAGE_SIZE_SCHEMA, PAGE_SIZE_DESCRIPTION
        return parameters

    def get_paginated_response_schema(self, schema):
        # Every page has both links (null at either end); DRF's schema leaves them optional.
        page = super().get_paginated_response_schema(schema)
        page["required"] = ["next", "previous", "results"]
        for name in ("next", "previous"):
            page["properties"][name]["example"] = "https://crm.example.com/api/v1/contacts/?cursor=cD00ODY%3D"
        return page

    def decode_cursor(self, request):
        # DRF's decoder skips what is not base64 and reads nothing as the first page: a cursor
        # garbled on its way ("!!!") would silently start a sync over.
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded and not self._well_formed(encoded):
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]})
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]}) from None
        except (ValueError, OverflowError, UnicodeError):
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]}) from None

    @staticmethod
    def _well_formed(encoded: str) -> bool:
        """Whether a cursor is one DRF's encode_cursor() writes: base64 of `o`, `r`, `p` fields."""
        try:
            fields = parse.parse_qs(b64decode(encoded.encode("ascii"), validate=True).decode("ascii"),
                                    keep_blank_values=True, strict_parsing=True)
        except (ValueError, UnicodeError, binascii.Error):
            return False
        return bool(fields) and set(fields) <= {"o", "r", "p"}

    def paginate_queryset(self, queryset, request, view=None):
        # A decoded cursor holds a position of the client's choosing: a value that does not fit
        # the sort column fails when the page is read, and is the client's error.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError, DataError):
            if request.query_params.get(self.cursor_query_param) is None:
                raise
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]}) from None


def paginate_computed_list(items: Sequence[T], request) -> tuple[Sequence[T], str | None, str | None]:
    """A page of a list computed for this request (a report, not a queryset), with its `next` and
    `previous` links: cursor pages as every list has (`cursor`, `page_size`; API.md).

    The cursor holds the offset of the page in the list's order. Each page computes the list
    again, so what changed meanwhile (an attendee registered) can shift later pages by as many
    rows; the list's own `count` says how long it is now."""
    size = CursorPagination().get_page_size(request)
    raw = request.query_params.get("cursor")
    offset = 0
    if raw is not None:
        try:
            offset = int(parse.parse_qs(b64decode(raw.encode("ascii"), validate=True).decode("ascii"),
                                        strict_parsing=True)["o"][0])
        except (ValueError, KeyError, UnicodeError, binascii.Error):
            offset = -1
        if offset < 0:
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]})
    url = request.build_absolute_uri()

    def link(at: int) -> str:
        if at <= 0:
            return remove_query_param(url, "cursor")
        return replace_query_param(url, "cursor", b64encode(parse.urlencode({"o": at}).encode("ascii")).decode("ascii"))

    next_url = link(offset + size) if offset + size < len(items) else None
    previous_url = link(offset - size) if offset > 0 else None
    return items[offset:offset + size], next_url, previous_url


@dataclass(frozen=True)
class NullableSortKey:
    """A sort key a view annotates as COALESCE(`column`, a constant) so that rows without a value
    (no joined row, or a null) sort as the lowest (or, with `nulls_lowest=False`, the highest)."""

    column: str
    nulls_lowest: bool = True
    tiebreak: str = "pk"  # the id of the column's own row, so that one index on (column, id) serves
    # A condition every row without a value meets, which a small (partial) index serves: without
    # it, proving that no row lacks a value reads every row.
    nulls_within: Q | None = None


@dataclass(frozen=True)
class KeysetPosition:
    segment: int  # 0 or 1: the rows with a value, or the rows without, in the order they are listed
    value: float | datetime | None
    pk: int


class KeysetCursorPagination(CursorPagination):
    """Cursor pages for orderings on a nullable column reached through a join (a contact's score),
    answered from indexes on (column, id) whatever the depth.

    A COALESCE sort key (`nullable_sort_keys` of the view) is an expression no index serves: every
    page, the deep ones too, joined and sorted the whole matching set. Here the list is two
    segments in the order of the key: the rows with a value, by (column, id), read from the index
    on those columns with a row comparison (`(column, id) < (value, id)`) as the cursor; and the
    rows without, by id. A page takes from the next segment when the first runs out. The order is
    the COALESCE order exactly. Other orderings are paged as by CursorPagination.

    A key that is not unique needs this too, nullable or not: DRF's cursor holds the first key's
    value and an offset into the rows that share it; past `offset_cutoff` (1,000) equal values
    its `next` link points at the page itself, for ever, and its `previous` links skip rows of a
    tie. The keys come from the view (`nullable_sort_keys`) or the paginator (`sort_keys`, for
    lists a view's action pages by hand); a key may be an annotation of the queryset.
    """

    sort_keys: ClassVar[dict[str, NullableSortKey]] = {}

    def paginate_queryset(self, queryset, request, view=None):
        ordering = self.get_ordering(request, queryset, view)
        keys = {**self.sort_keys, **getattr(view, "nullable_sort_keys", {})}
        self.sort_key = keys.get(ordering[0].lstrip("-"))
        if self.sort_key is None:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = ordering
        self.descending = ordering[0].startswith("-")
        annotation = queryset.query.annotations.get(self.sort_key.column)
        self.column_field = annotation.output_field if annotation is not None else self._field(
            queryset.model, self.sort_key.column)
        # Descending with nulls as the lowest (or ascending with nulls as the highest): values first.
        values_first = self.descending == self.sort_key.nulls_lowest
        self.segments = ("values", "nulls") if values_first else ("nulls", "values")
        if self._nulls_impossible(queryset):
            self.segments = ("values",)
        reverse, position = self._decode(request)
        try:
            rows = self._read(queryset, position, reverse)
        except (ValueError, TypeError, OverflowError, DjangoValidationError, DataError):
            if position is None:
                raise
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]}) from None
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
        self.first_position = rows[0][0] if rows else position
        self.last_position = rows[-1][0] if rows else position
        self.has_next = more if not reverse else position is not None
        self.has_previous = more if reverse else position is not None
        return [row for _, row in rows]

    def _nulls_impossible(self, queryset) -> bool:
        """The column is NOT NULL and is the listed model's own, or the filters already join its
        table (inner join): no row lacks a value, and the null segment need not be read."""
        if self.column_field.null:
            return False
        if "__" not in self.sort_key.column:
            return True
        table = self.column_field.model._meta.db_table
        return any(join.table_name == table and join.join_type == INNER for join in queryset.query.alias_map.values())

    @staticmethod
    def _field(model, column: str) -> models.Field:
        *path, name = column.split("__")
        for relation in path:
            model = model._meta.get_field(relation).related_model
        return model._meta.get_field(name)

    def _read(self, queryset, position: KeysetPosition | None, reverse: bool) -> list[tuple[KeysetPosition, object]]:
        """Up to page size + 1 rows after `position` (before it when `reverse`), in list order."""
        wanted = self.page_size + 1
        indexes = range(len(self.segments))
        indexes = indexes if not reverse else reversed(indexes)
        rows: list[tuple[KeysetPosition, object]] = []
        for index in indexes:
            if position is not None and (index < position.segment if not reverse else index > position.segment):
                continue
            after = position if position is not None and position.segment == index else None
            rows += self._read_segment(queryset, index, after, reverse, wanted - len(rows))
            if len(rows) >= wanted:
                break
        return rows

    def _read_segment(self, queryset, index: int, after: KeysetPosition | None, reverse: bool, limit: int):
        column = self.sort_key.column
        descending = self.descending != reverse  # the direction this read walks in
        sign = "-" if descending else ""
        if self.segments[index] == "values":
            rows = queryset.filter(**{f"{column}__isnull": False}).annotate(keyset_value=F(column))
            if after is not None:
                keys = Tuple(F(column), F(self.sort_key.tiebreak))
                bound = (after.value, after.pk)
                rows = rows.filter((TupleLessThan if descending else TupleGreaterThan)(keys, bound))
            rows = rows.order_by(f"{sign}{column}", f"{sign}{self.sort_key.tiebreak}")
        else:
            rows = queryset.filter(**{f"{column}__isnull": True})
            if self.sort_key.nulls_within is not None:
                rows = rows.filter(self.sort_key.nulls_within)
            if after is not None:
                rows = rows.filter(**{"pk__lt" if descending else "pk__gt": after.pk})
            rows = rows.order_by(f"{sign}pk")
        return [(KeysetPosition(index, getattr(row, "keyset_value", None), row.pk), row) for row in rows[:limit]]

    def _decode(self, request) -> tuple[bool, KeysetPosition | None]:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return False, None
        try:
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii")).decode("ascii"), keep_blank_values=True)
            segment, pk = int(tokens["s"][0]), int(tokens["i"][0])
            raw = tokens.get("v", [None])[0]
            value = None if raw is None else self._decode_value(raw)
            if not 0 <= pk < 2**63 or not 0 <= segment < len(self.segments) \
                    or (self.segments[segment] == "values") == (value is None):
                raise ValueError("cursor out of range")
            return tokens.get("r", ["0"])[0] == "1", KeysetPosition(segment, value, pk)
        except (KeyError, TypeError, ValueError, UnicodeError, binascii.Error):
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]}) from None

    def _decode_value(self, raw: str) -> float | datetime:
        """A position's value, of the column's type: an aware time or a finite number."""
        if isinstance(self.column_field, models.DateTimeField):
            value = datetime.fromisoformat(raw.removeprefix("d:"))
            if not raw.startswith("d:") or value.tzinfo is None:
                raise ValueError("not an aware time")
            return value
        number = float(raw.removeprefix("f:"))
        if not raw.startswith("f:") or not math.isfinite(number):
            raise ValueError("not a finite number")
        return number

    def _link(self, position: KeysetPosition, reverse: bool) -> str:
        tokens = {"s": str(position.segment), "i": str(position.pk)}
        if position.value is not None:
            tokens["v"] = f"d:{position.value.isoformat()}" if isinstance(position.value, datetime) else f"f:{position.value!r}"
        if reverse:
            tokens["r"] = "1"
        encoded = b64encode(parse.urlencode(tokens).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def get_next_link(self):
        if getattr(self, "sort_key", None) is None:
            return super().get_next_link()
        return self._link(self.last_position, reverse=False) if self.has_next and self.last_position else None

    def get_previous_link(self):
        if getattr(self, "sort_key", None) is None:
            return super().get_previous_link()
        return self._link(self.first_position, reverse=True) if self.has_previous and self.first_position else None
