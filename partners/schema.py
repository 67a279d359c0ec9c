"""OpenAPI: the Api-Key scheme and the error answers every operation can give (API.md: Errors)."""

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
