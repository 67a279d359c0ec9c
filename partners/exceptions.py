"""One place where domain errors become HTTP answers (API.md: Errors)."""

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler

from partners.renderers import JSONRenderer
from ror_crm.exceptions import DomainError

logger = logging.getLogger(__name__)

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back.
TRANSIENT_CONFLICTS = {"40P01", "40001"}


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "payload_too_large"


def validation_error_body(error: DjangoValidationError) -> dict | list:
    if hasattr(error, "error_dict"):
        return {("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
                for field, messages in error.message_dict.items()}
    return {"non_field_errors": [str(message) for message in error.messages]}


def api_exception_handler(exc, context):
    """The error's answer, always JSON (API.md: "JSON in and out"), also to a client asking for
    HTML, which the browsable API would otherwise give an HTML page."""
    response = _error_response(exc, context)
    request = context.get("request")
    if response is not None and request is not None and not isinstance(
            getattr(request, "accepted_renderer", None), JSONRenderer):
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
    return response


def _error_response(exc, context):
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.existing_id is not None:
            body["id"] = exc.existing_id
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        return Response(validation_error_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        # A constraint the services did not check first, e.g. a row deleted by a concurrent
        # request: the same documented 409 shape as the services' own conflicts.
        logger.warning("Answered 409 to a constraint violation: %s", exc)
        return Response({"detail": "The change conflicts with existing data.", "code": "conflict"},
                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) in TRANSIENT_CONFLICTS:
        # Two requests wrote the same rows in opposite orders (PostgreSQL broke the deadlock by
        # aborting this one) or under one snapshot: nothing was written; the client may retry.
        logger.warning("Answered 409 to a transient conflict: %s", exc)
        return Response({"detail": "The change collided with a concurrent change; nothing was written, retry.",
                         "code": "conflict"}, status=status.HTTP_409_CONFLICT, headers={"Retry-After": "1"})
    if isinstance(exc, Http404 | ObjectDoesNotExist):  # e.g. deleted by a concurrent request mid-update
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    response = exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_400_BAD_REQUEST:
        # A 400 has field errors or non_field_errors (API.md: Errors): a bare list of messages
        # (DRF's search filter on a null character, `raise ValidationError("…")` in a view)
        # and a {"detail": …} (a body that is not JSON) get that shape.
        if isinstance(response.data, list):
            response.data = {"non_field_errors": response.data}
        elif set(response.data) == {"detail"}:
            response.data = {"non_field_errors": [response.data["detail"]]}
        response.data = {field: _item_messages(errors) for field, errors in response.data.items()}
    return response


def _item_messages(errors):
    """A list field's errors by item index (`{"2": ["Enter a valid email address."]}`) as the
    field's messages, each naming its item: `["[2]: Enter a valid email address."]`; an item
    that is an object names its field too: `["[2] email: Enter a valid email address."]`."""
    if not isinstance(errors, dict) or not errors or not all(str(key).isdigit() for key in errors):
        return errors
    flat = []
    for index, item_errors in errors.items():
        by_field = item_errors if isinstance(item_errors, dict) else {"": item_errors}
        for field, messages in by_field.items():
            for message in messages if isinstance(messages, list) else [messages]:
                flat.append(f"[{index}] {field}: {message}" if field else f"[{index}]: {message}")
    return flat
