"""Serializer building blocks shared by the resource APIs."""

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from operator import attrgetter
from typing import Any, ClassVar

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import relations, serializers
from rest_framework.fields import SkipField
from rest_framework.settings import api_settings

from ror_crm.validators import NO_OFFSET_MESSAGE, lacks_offset, validate_plausible_moment


class MomentField(serializers.DateTimeField):
    """An ISO 8601 date-time with offset, between 1900 and 2199. A time without an offset is
    refused (API.md: times with offset): read in the site's zone it would shift a partner's UTC
    times by an hour or two, silently."""

    default_error_messages = {"no_offset": NO_OFFSET_MESSAGE}

    def __init__(self, *, require_offset: bool = True, **kwargs):
        """`require_offset` False: a query parameter's time, which README documents as read in the
        site's zone without one (as the list filters read theirs)."""
        self.require_offset = require_offset
        kwargs["validators"] = [*kwargs.get("validators", []), validate_plausible_moment]
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if self.require_offset and in_json_body(self) and lacks_offset(value):
            self.fail("no_offset")
        return super().to_internal_value(value)


class WholeNumberField(serializers.IntegerField):
    """A whole number of a query string: digits only. DRF's IntegerField takes "5.0" as 5, which
    the schema (an integer) and the id filters (partners.filters.IdFilter) refuse."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not WHOLE_NUMBER.fullmatch(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class QueryBooleanField(serializers.BooleanField):
    """A boolean of a query string as the list filters read one (partners.filters.BooleanFilter):
    `true`/`false` (or `1`/`0`); DRF's field also takes yes, on, t, null and more."""

    TRUE_VALUES = {"true", "True", "1"}
    FALSE_VALUES = {"false", "False", "0"}
    NULL_VALUES = {"", None}
    default_error_messages = {"invalid": "Give true or false."}

    @staticmethod
    def _lower_if_str(value):  # DRF's lowers the text first: "TRUE" would pass
        return value


class TextOnlyMixin:
    """Only JSON strings are text: DRF would turn `42` or `1.5` into "42" and "1.5". The
    schema's maxLength counts the text as sent: DRF would check it after trimming whitespace."""

    def run_validation(self, data=serializers.empty):
        # Before DRF's, which takes text of whitespace alone for blank without measuring it.
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(TextOnlyMixin, serializers.CharField):
    """With `null_as_blank`, null is read as "": the model keeps "" for no value, and a partner's
    missing value often arrives as null (PartnerModelSerializer sets it for such columns)."""

    def __init__(self, *, null_as_blank: bool = False, **kwargs):
        self.null_as_blank = null_as_blank
        if null_as_blank:
            kwargs["allow_null"] = True
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data is None and self.null_as_blank:
            return (False, "")  # then validated as "" (required, blank and length rules)
        return super().validate_empty_values(data)


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


class IntegerField(serializers.IntegerField):
    """In a JSON body a number, not "9" (the schema says integer, as for ids) nor true. Forms
    (the browsable API) send text, which keeps DRF's reading."""

    def to_internal_value(self, data):
        if in_json_body(self) and (isinstance(data, bool | str)):
            self.fail("invalid")
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
    """In a JSON body a number, as the schema says (not "1e3", nor true); no value is null, not
    "" (which DRF reads as null for forms)."""

    def validate_empty_values(self, data):
        if isinstance(data, str | bool) and in_json_body(self):
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


SKIP = object()  # a field DRF leaves out of this row (SkipField)


def drf_representation(field: serializers.Field, instance: Any) -> Any:
    """DRF's own reading of a field (the body of Serializer.to_representation's loop)."""
    try:
        attribute = field.get_attribute(instance)
    except SkipField:
        return SKIP
    check = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
    return None if check is None else field.to_representation(attribute)


# DRF fields whose representation of a value needs nothing but the value (no request, no parent).
CONTEXT_FREE_REPRESENTATIONS = {
    cls.to_representation for cls in (
        serializers.CharField, serializers.IntegerField, serializers.FloatField, serializers.BooleanField,
        serializers.ChoiceField, serializers.DecimalField, serializers.JSONField, serializers.DateField,
        serializers.DateTimeField, serializers.UUIDField,
    )
}


def is_context_free(field: serializers.Field) -> bool:
    if isinstance(field, serializers.ListField):
        return type(field).to_representation is serializers.ListField.to_representation and is_context_free(field.child)
    return type(field).to_representation in CONTEXT_FREE_REPRESENTATIONS


@dataclass(frozen=True)
class FieldRead:
    """How a serializer class reads one field: `kind` is "method" (a SerializerMethodField),
    "id" (a related row's id column), "moment" (a date-time column shown as DRF's default),
    "column" (a column shown by `field`, an unbound copy) or "drf" (DRF's own reading)."""

    name: str
    kind: str
    get: Callable[[Any], Any] | None = None
    field: serializers.Field | None = None
    method: str = ""


# The resource serializers' base. Reads are DRF's output built in one pass: DRF builds every
# field of the serializer anew for each request (the model's fields introspected) and asks each
# field of each row for its attribute and its representation through several calls and type
# checks; that was most of a 50-row page's serialization. Here a serializer class works out once
# how each readable field is read: a column as it is (shown by its field when that needs no
# request), a related row by its id column, a moment formatted with the zone looked up once
# per response, a method field by its method; any other field (nested, hyperlinked, one with a
# representation of its own) goes through DRF as before. Writes are DRF's.
# tests/partners/test_serializer_reads.py checks the output equals DRF's for every resource.
# (A comment, not a docstring: drf-spectacular would show it on every resource's schema.)
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
        **{model_field: IntegerField for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
           if field is serializers.IntegerField},
    }
    read_plans: ClassVar[dict[type, list[FieldRead]]] = {}

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if issubclass(field_class, TextField) and model_field.blank and not model_field.null \
                and not field_kwargs.get("read_only"):
            field_kwargs["null_as_blank"] = True  # a text column that keeps "" for no value takes null for it
        return field_class, field_kwargs

    def to_representation(self, instance) -> dict:
        if not isinstance(instance, models.Model):  # e.g. validated data: DRF's reading
            return super().to_representation(instance)
        readers = self.__dict__.get("_readers")
        if readers is None:
            plan = self.read_plan()
            readers = self._readers = [(read.name, self._reader(read)) for read in plan]
            self._may_skip = any(read.kind == "drf" for read in plan)
        data = {name: read(instance) for name, read in readers}
        if self._may_skip and SKIP in data.values():
            return {name: value for name, value in data.items() if value is not SKIP}
        return data

    @property
    def zone(self) -> tzinfo:
        """The time zone moments are shown in (the site's, as DRF's DateTimeField uses)."""
        if "_zone" not in self.__dict__:
            self._zone = timezone.get_current_timezone()
        return self._zone

    def read_plan(self) -> list[FieldRead]:
        cls = type(self)
        if cls not in self.read_plans:
            self.read_plans[cls] = [self._field_read(field) for field in self._readable_fields]
        return self.read_plans[cls]

    def _field_read(self, field: serializers.Field) -> FieldRead:
        name = field.field_name
        if isinstance(field, serializers.SerializerMethodField):
            return FieldRead(name, "method", method=field.method_name)
        model_field = self._model_field(field)
        if model_field is None:
            return self._drf_read(field)
        get = attrgetter(model_field.attname)  # what DRF's get_attribute() reads for a column
        if model_field.is_relation:
            if isinstance(field, relations.PrimaryKeyRelatedField) and field.use_pk_only_optimization() \
                    and not field.pk_field \
                    and type(field).to_representation is relations.PrimaryKeyRelatedField.to_representation:
                return FieldRead(name, "id", get)  # the id column, as DRF's pk-only optimization reads it
            return self._drf_read(field)
        if not is_context_free(field):
            return self._drf_read(field)
        return FieldRead(name, "moment" if is_plain_moment_field(field) else "column", get, copy.deepcopy(field))

    @staticmethod
    def _drf_read(field: serializers.Field) -> FieldRead:
        """DRF's own reading; for a field that needs no request (e.g. a column of a related row,
        `source="lifetime_value.clv"`) through an unbound copy, so that no response builds the
        serializer's fields for it."""
        if not is_context_free(field) or type(field).get_attribute is not serializers.Field.get_attribute \
                or field.default is not serializers.empty:
            return FieldRead(field.field_name, "drf")
        unbound = copy.deepcopy(field)
        unbound.field_name, unbound.source_attrs = field.field_name, field.source_attrs
        return FieldRead(field.field_name, "drf", field=unbound)

    def _reader(self, read: FieldRead) -> Callable[[Any], Any]:
        if read.kind == "method":
            return getattr(self, read.method)
        if read.kind == "id":
            return read.get
        if read.kind == "drf":
            return partial(drf_representation, read.field or self.fields[read.name])
        get, field = read.get, read.field
        if read.kind == "moment":
            zone = self.zone

            def read_moment(instance):
                value = get(instance)
                if isinstance(value, datetime) and value.tzinfo is not None:
                    return moment_text(value, zone)
                return None if value is None else field.to_representation(value)

            return read_moment

        def read_column(instance):
            value = get(instance)
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
