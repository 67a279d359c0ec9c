from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination


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
                # Larger values are clamped to 500, not refused: no maximum in the contract.
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = "Results per page: default 50; values above 500 count as 500."
        return parameters

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]}) from None
        except (ValueError, OverflowError, UnicodeError):
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]}) from None

    def paginate_queryset(self, queryset, request, view=None):
        # A decoded cursor holds a position of the client's choosing: a value that does not fit
        # the sort column fails when the page is read, and is the client's error.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError, DataError):
            if request.query_params.get(self.cursor_query_param) is None:
                raise
            raise exceptions.ValidationError({"cursor": [_("Invalid cursor.")]}) from None
