"""OpenAPI: the Api-Key scheme and the error answers every operation can give (API.md: Errors)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorDetail = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
Conflict = inline_serializer("Conflict", {
    "detail": serializers.CharField(), "code": serializers.CharField(), "id": serializers.IntegerField(required=False),
})
ValidationErrors = inline_serializer(
    "ValidationErrors", {"non_field_errors": serializers.ListField(child=serializers.CharField(), required=False)}
)


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "partners.authentication.APIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`, from `manage.py create_api_key` or the admin."}


class PartnerAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        extra = {
            "400": OpenApiResponse(ValidationErrors, description="Invalid input: field → messages."),
            "401": OpenApiResponse(ErrorDetail, description="No, an invalid, revoked or expired API key."),
            "403": OpenApiResponse(ErrorDetail, description="The key lacks the scope."),
            "404": OpenApiResponse(ErrorDetail, description="Not found."),
            "429": OpenApiResponse(ErrorDetail, description="Throttled; see Retry-After."),
        }
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            extra["409"] = OpenApiResponse(Conflict, description="Conflicts with existing data; `id` names the existing row.")
            extra["413"] = OpenApiResponse(ErrorDetail, description="Request too large.")
            extra["422"] = OpenApiResponse(ErrorDetail, description="Idempotency-Key reused for another request.")
        for code, response in extra.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses


# Query parameters whose empty value is refused (`?page_size=` is a 400).
NON_EMPTY_QUERY_PARAMETERS = {"page_size"}


def allow_empty_query_values(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """An empty filter in a query string (`?kind=`, `?updated_since=`) means "no filter", as an
    empty field of a filter form does; the schema says so with `allowEmptyValue`."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if (
                    parameter.get("in") == "query"
                    and not parameter.get("required")
                    and parameter["name"] not in NON_EMPTY_QUERY_PARAMETERS
                ):
                    parameter["allowEmptyValue"] = True
    return result


def erased_contacts_have_null_personal_data(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """An erased contact reads with its personal fields null (API.md), which its serializer
    cannot say by itself: those fields are not nullable on input."""
    from contacts.api.serializers import PERSONAL_FIELDS

    properties = result.get("components", {}).get("schemas", {}).get("Contact", {}).get("properties", {})
    for name in PERSONAL_FIELDS:
        if name in properties:
            properties[name]["nullable"] = True
    return result


def bulk_rows_are_checked_one_by_one(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """`attendances/bulk/` takes any row and reports the ones that do not fit AttendeeRow in
    `errors` (API.md: partial success), so a row is documented as AttendeeRow or anything else."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("BulkAttendancesRequestRequest", "BulkAttendancesRequest"):
        rows = schemas.get(name, {}).get("properties", {}).get("rows")
        if rows and "items" in rows:
            rows["items"] = {"anyOf": [rows["items"], {}]}
            rows["description"] = (
                "Attendee rows. Each is checked on its own: a row that is not a valid AttendeeRow "
                "is skipped and reported in `errors`, the valid ones are applied."
            )
    return result
