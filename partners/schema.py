"""OpenAPI: the Api-Key scheme and the error answers every operation can give (API.md: Errors)."""

import inspect
import json
from typing import Any

from django.utils import translation
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


UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds until requests are let through again."}}


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "partners.authentication.APIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`, from `manage.py create_api_key` or the admin."}


# What the standard actions of a resource do, for its summary and description.
STANDARD_ACTIONS = {
    "list": ("List {plural}", "{Plural}, newest first, in pages: follow `next` until it is null (`page_size` "
             "default 50, max 500). `updated_since=<time>` gives only rows changed since then (incremental sync)."),
    "retrieve": ("Get {a} {singular}", "One {singular} by id; 404 if there is none."),
    "create": ("Create {a} {singular}", "Creates {a} {singular} from the body; answers 201 with it. Invalid fields are "
               "a 400 naming them."),
    "update": ("Replace {a} {singular}", "Sets every writable field of the {singular} from the body (PUT); prefer "
               "PATCH, which changes only the fields sent."),
    "partial_update": ("Update {a} {singular}", "Changes the fields sent in the body and keeps the others (PATCH)."),
    "destroy": ("Delete {a} {singular}", "Deletes the {singular}; answers 204. Figures computed from it are "
                "recomputed after the deletion."),
}
EXAMPLE_VALUES = {
    serializers.EmailField: "anna.mueller@example.com", serializers.DateTimeField: "2026-05-20T09:00:00+02:00",
    serializers.IntegerField: 1, serializers.FloatField: 1.0, serializers.DecimalField: 1000,
    serializers.BooleanField: True, serializers.RelatedField: 1, serializers.ListField: [],
}


def _own_doc(target: object) -> str:
    """A docstring written for this class or function itself (a class's is not inherited), cleaned."""
    if inspect.isclass(target):
        doc = target.__dict__.get("__doc__")
    else:
        doc = getattr(target, "__doc__", None)
    return inspect.cleandoc(doc) if doc else ""


def _example_value(field: serializers.Field) -> Any:
    if isinstance(field, serializers.ChoiceField):
        return next(iter(field.choices))
    for field_type, value in EXAMPLE_VALUES.items():
        if isinstance(field, field_type):
            return value
    return "…"


class PartnerAutoSchema(AutoSchema):
    """Every operation with a summary, a description a partner developer can use (what it does,
    its filters, its errors, an example) and the tag of its resource (`contacts`, `events`, …)."""

    def get_tags(self) -> list[str]:
        tokens = [token for token in self._tokenize_path() if token not in ("api", "v1")]
        return tokens[:1] or ["api"]

    def _names(self) -> dict[str, str]:
        model = getattr(getattr(self.view, "queryset", None), "model", None)
        if model is None:
            model = getattr(getattr(self.view.get_serializer_class(), "Meta", None), "model", None)
        with translation.override("en"):
            singular = str(model._meta.verbose_name) if model else "item"
            plural = str(model._meta.verbose_name_plural) if model else "items"
        article = "an" if singular[:1] in "aeiou" else "a"
        return {"singular": singular, "plural": plural, "Plural": plural[:1].upper() + plural[1:], "a": article}

    def _action(self) -> str | None:
        action = getattr(self.view, "action", None)
        if action == "list" and not self._is_list_view():
            return None
        return action

    def _action_doc(self) -> str:
        return _own_doc(getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None))

    def get_summary(self) -> str | None:
        action = self._action()
        if action in STANDARD_ACTIONS and not self._action_doc():
            return STANDARD_ACTIONS[action][0].format(**self._names())
        doc = self._action_doc() or _own_doc(self.view.__class__)
        first = doc.split("\n\n")[0].replace("\n", " ")
        for separator in (". ", "; ", ": ", " ("):
            first = first.split(separator)[0]
        return first.rstrip(".")[:120] or None

    def get_description(self) -> str:
        action = self._action()
        path = "/" + self.path.lstrip("/")
        if action not in STANDARD_ACTIONS or self._action_doc():
            description = self._action_doc() or _own_doc(self.view.__class__)
            if "Example:" not in description:
                description += f"\n\nExample: `{self.method} {path.replace('{id}', '42')}`"
            return description
        names = self._names()
        parts = [STANDARD_ACTIONS[action][1].format(**names), _own_doc(self.view.__class__)]
        if action == "list":
            filters = [name for name in getattr(getattr(self.view, "filterset_class", None), "base_filters", {})
                       if name != "updated_since"]
            query = f"{filters[0]}=…&" if filters else ""
            parts += [self._filters_text(), f"Example: `GET {path}?{query}page_size=100`"]
        elif action in ("create", "update", "partial_update"):
            example = self._body_example(partial=action == "partial_update")
            parts.append(f"Example: `{self.method} {path}` with `{json.dumps(example, ensure_ascii=False)}`")
        else:
            parts.append(f"Example: `{self.method} {path.replace('{id}', '42')}`")
        return "\n\n".join(part for part in parts if part)

    def _filters_text(self) -> str:
        names = list(getattr(getattr(self.view, "filterset_class", None), "base_filters", {}))
        if getattr(self.view, "search_fields", None):
            names.append("search")
        if getattr(self.view, "ordering_map", None):
            orderings = ", ".join(f"`{name}`" for name in sorted(self.view.ordering_map))
            names.append(f"ordering (by {orderings}, `-` for descending)")
        if not names:
            return ""
        filters = ", ".join(name if name.startswith("ordering") else f"`{name}`" for name in names)
        return f"Filters: {filters}. An invalid filter value is a 400 naming the parameter."

    def _body_example(self, *, partial: bool) -> dict[str, Any]:
        serializer = self._get_serializer()
        fields = getattr(serializer, "fields", {})
        writable = [(name, field) for name, field in fields.items() if not field.read_only]
        chosen = writable[:1] if partial else [(name, field) for name, field in writable if field.required]
        return {name: _example_value(field) for name, field in (chosen or writable[:2])}

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        extra = {
            "400": OpenApiResponse(ValidationErrors, description="Invalid input: field → messages."),
            "401": OpenApiResponse(ErrorDetail, description="No, an invalid, revoked or expired API key."),
            "403": OpenApiResponse(ErrorDetail, description="The key lacks the scope."),
            "404": OpenApiResponse(ErrorDetail, description="Not found."),
            "429": OpenApiResponse(ErrorDetail, description="Throttled; see Retry-After."),
        }
        if self.method in UNSAFE_METHODS:
            extra["409"] = OpenApiResponse(Conflict, description="Conflicts with existing data; `id` names the existing row.")
            extra["413"] = OpenApiResponse(ErrorDetail, description="Request too large.")
            if self.method != "DELETE":  # (a DELETE reads no body)
                extra["415"] = OpenApiResponse(ErrorDetail, description="The body is not JSON (application/json).")
            extra["422"] = OpenApiResponse(ErrorDetail, description=(
                "Idempotency-Key reused for another request. (Unsafe requests take an optional `Idempotency-Key` "
                "header of 1-255 characters: for 24 h the same key, per credential, with the same method, URL and "
                "body returns the first response again, header `Idempotent-Replayed: true`, and changes nothing; "
                "a second request while the first still runs waits for it and gets its answer; a request that "
                "failed, with a 5xx or cut off, left nothing: retry it with the same key.)"))
        for code, response in extra.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        if "429" in responses:
            responses["429"] = {**responses["429"], "headers": RETRY_AFTER}
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


def describe_updated_since(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """Every list's `updated_since` says how to sync with it (the filter sets' parameter comes
    without the description the filter carries)."""
    from partners.filters import UPDATED_SINCE_HELP

    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["name"] == "updated_since" and not parameter.get("description"):
                    parameter["description"] = UPDATED_SINCE_HELP
    return result


def erased_contacts_have_null_personal_data(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """An erased contact reads with its personal fields null (API.md), which its serializer
    cannot say by itself: those fields are not nullable on input."""
    from contacts.api.serializers import PERSONAL_FIELDS

    schemas = result.get("components", {}).get("schemas", {})
    for component in ("Contact", "LapsedContact"):  # every response schema of a contact
        properties = schemas.get(component, {}).get("properties", {})
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


def emails_may_have_international_domains(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """E-mail addresses are taken as Django checks them: the domain may be international
    (`anna@müller.example`), which JSON Schema calls `idn-email`, not `email`."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("format") == "email":
                node["format"] = "idn-email"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


def check_ins_name_people_one_way(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """A check-in names its people by `emails` or by `external_ids`, exactly one of them
    (CheckInSerializer.validate()), which the fields alone, each optional, cannot say."""
    check_in = result.get("components", {}).get("schemas", {}).get("CheckInRequest")
    if check_in is not None:
        check_in["oneOf"] = [{"required": ["emails"], "not": {"required": ["source"]}}, {"required": ["external_ids"]}]
    for operation in result.get("paths", {}).get("/api/v1/events/{id}/check-ins/", {}).values():
        if "requestBody" in operation:  # without one there is nobody to check in: a 400
            operation["requestBody"]["required"] = True
    return result
