"""Serializer building blocks shared by the resource APIs."""

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ror_crm.validators import validate_plausible_moment


class MomentField(serializers.DateTimeField):
    """An ISO 8601 date-time with offset, between 1900 and 2199."""

    def __init__(self, **kwargs):
        kwargs["validators"] = [*kwargs.get("validators", []), validate_plausible_moment]
        super().__init__(**kwargs)


class TextOnlyMixin:
    """Only JSON strings are text: DRF would turn `42` or `1.5` into "42" and "1.5"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(TextOnlyMixin, serializers.CharField):
    pass


class EmailField(TextOnlyMixin, serializers.EmailField):
    pass


def in_json_body(field: serializers.Field) -> bool:
    """Whether the field reads a JSON body (or plain data), where types are exact; forms (the
    browsable API) send everything as text."""
    request = field.context.get("request")
    return request is None or (request.content_type or "").startswith("application/json")


class BooleanField(serializers.BooleanField):
    """In a JSON body only true and false: DRF would also take 0, 1 and "yes". Forms (the
    browsable API) send text, which keeps DRF's reading."""

    def to_internal_value(self, data):
        if in_json_body(self) and not isinstance(data, bool):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related row by its id: in a JSON body a number, not "12" (the schema says integer),
    and none is null, not "" (which DRF reads as null for forms)."""

    def run_validation(self, data=serializers.empty):
        if data == "" and in_json_body(self):
            self.fail("incorrect_type", data_type="str")
        return super().run_validation(data)

    def to_internal_value(self, data):
        if in_json_body(self) and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class DecimalField(serializers.DecimalField):
    """In a JSON body a number or a numeric string; no value is null, not "" (which DRF reads
    as null for forms)."""

    def validate_empty_values(self, data):
        if data == "" and in_json_body(self):
            self.fail("invalid")
        return super().validate_empty_values(data)


class PartnerModelSerializer(serializers.ModelSerializer):
    serializer_related_field = IdRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: MomentField,
        models.CharField: TextField,
        models.TextField: TextField,
        models.EmailField: EmailField,
        models.BooleanField: BooleanField,
        models.DecimalField: DecimalField,
    }


# No top-level "type": spectacular would add `format: email` beside the anyOf, refusing "".
@extend_schema_field({
    "anyOf": [{"type": "string", "format": "email", "maxLength": 254}, {"type": "string", "maxLength": 0}],
})
class OptionalEmailField(EmailField):
    """An e-mail address or "" (none known)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
