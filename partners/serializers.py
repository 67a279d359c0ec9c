"""Serializer building blocks shared by the resource APIs."""

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import partial
from operator import attrgetter
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import relations, serializers
from rest_framework.settings import api_settings

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


def moment_text(moment: datetime, zone: tzinfo) -> str:
    """An aware moment as DRF's DateTimeField shows it (ISO 8601 in the site's time zone, UTC as
    "Z"), with the zone looked up once, not per value."""
    text = moment.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def is_plain_moment_field(field: serializers.Field) -> bool:
    """A DateTimeField showing ISO 8601 in the current time zone (DRF's defaults)."""
    return (
        type(field).to_representation is serializers.DateTimeField.to_representation
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == "iso-8601"
        and not hasattr(field, "timezone")
    )


def drf_representation(field: serializers.Field, instance: Any) -> Any:
    """DRF's own reading of a field (the body of Serializer.to_representation's loop)."""
    attribute = field.get_attribute(instance)
    check = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
    return None if check is None else field.to_representation(attribute)


class PartnerModelSerializer(serializers.ModelSerializer):
    """The resource serializers' base. Reads are DRF's output built in one pass: DRF asks every
    field of every row for its attribute and its representation through several calls and type
    checks, which was most of a 50-row page's serialization. Here each readable field is
    resolved once per serializer to a reader: a plain column is read as it is, a related row
    by its id column, a moment formatted with the zone looked up once; any other field (nested,
    decimal, list, one with its own representation) goes through DRF as before.
    tests/partners/test_serializer_reads.py checks the output equals DRF's for every resource."""

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

    def to_representation(self, instance) -> dict:
        readers = self.__dict__.get("_readers")
        if readers is None:
            readers = self._readers = [(field.field_name, self._reader(field)) for field in self._readable_fields]
        return {name: read(instance) for name, read in readers}

    @property
    def zone(self) -> tzinfo:
        """The time zone moments are shown in (the site's, as DRF's DateTimeField uses)."""
        if "_zone" not in self.__dict__:
            self._zone = timezone.get_current_timezone()
        return self._zone

    def _reader(self, field: serializers.Field) -> Callable[[Any], Any]:
        if isinstance(field, serializers.SerializerMethodField):
            return getattr(self, field.method_name)
        model_field = self._model_field(field)
        if model_field is None:
            return partial(drf_representation, field)
        get = attrgetter(model_field.attname)
        if model_field.is_relation:
            if isinstance(field, relations.PrimaryKeyRelatedField) and field.use_pk_only_optimization() \
                    and not field.pk_field:
                return get  # the id column, as DRF's pk-only optimization reads it
            return partial(drf_representation, field)
        if is_plain_moment_field(field):
            zone = self.zone

            def read_moment(instance):
                value = get(instance)
                if isinstance(value, datetime) and value.tzinfo is not None:
                    return moment_text(value, zone)
                return None if value is None else field.to_representation(value)

            return read_moment

        def read_column(instance):
            value = get(instance)  # what DRF's get_attribute() reads for a column
            return None if value is None else field.to_representation(value)

        return read_column

    def _model_field(self, field: serializers.Field) -> models.Field | None:
        """The model's own column a serializer field reads (its source one attribute)."""
        if len(field.source_attrs) != 1:
            return None
        try:
            model_field = self.Meta.model._meta.get_field(field.source_attrs[0])
        except FieldDoesNotExist:  # a property or an annotation
            return None
        return model_field if model_field.concrete and not model_field.many_to_many else None


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
