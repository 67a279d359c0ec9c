"""HTTP edges of the partner API: JSON errors, body size, and Idempotency-Key replay."""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import JsonResponse
from django.urls import is_valid_path
from django.utils import timezone

from partners.authentication import KEYWORD, presented_key
from partners.models import IdempotencyRecord

API_PREFIX = "/api/"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
IDEMPOTENCY_TTL = timedelta(hours=24)
# 5xx and throttled answers say nothing about the request: the client should simply retry.
NOT_REPLAYED_STATUSES = {401, 403, 429}


def purge_idempotency_records() -> int:
    """Delete the stored responses older than IDEMPOTENCY_TTL, which no retry replays any more
    (nightly, Celery beat): how many went."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    return deleted


class APIErrorMiddleware:
    """Oversize bodies get 413 and every /api/ error a JSON body, never an HTML page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"non_field_errors": ["Invalid Content-Length header."]}, status=400)
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return JsonResponse({"detail": "The request body is too large."}, status=413)
        if request.method in UNSAFE_METHODS and _slash_missing(request):
            # `POST contacts` for `contacts/`: APPEND_SLASH would answer 301, which a client follows
            # with a GET (listing instead of creating), or, with DEBUG on, fail with a 500;
            # 308 keeps the method and body.
            redirect = JsonResponse({"detail": "The path ends with a slash: send the request there."}, status=308)
            redirect["Location"] = request.get_full_path(force_append_slash=True)
            return redirect
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith("application/json"):
            if response.status_code == 404:
                return JsonResponse({"detail": "Not found."}, status=404)
            if response.status_code >= 500:
                return JsonResponse({"detail": "Server error."}, status=response.status_code)
            if response.status_code == 400 and "html" in content_type:
                return JsonResponse({"non_field_errors": ["Bad request."]}, status=400)
        return response


def _slash_missing(request) -> bool:
    urlconf = getattr(request, "urlconf", None)
    return (settings.APPEND_SLASH and not request.path_info.endswith("/")
            and not is_valid_path(request.path_info, urlconf) and is_valid_path(f"{request.path_info}/", urlconf))


def _credential(request) -> str | None:
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization:
        # One key is one credential however its header is spelled ("api-key", extra spaces).
        key = presented_key(authorization)
        credential = authorization if key is None else f"{KEYWORD} {key}"
        return "auth:" + hashlib.sha256(credential.encode("utf-8", "replace")).hexdigest()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _body_meaning(request) -> bytes:
    """A JSON body as the value it parses to (other spacing or key order is the same request: a
    client that serialises its retry anew must get the first answer), anything else as its bytes."""
    if request.content_type == "application/json":
        try:
            return json.dumps(json.loads(request.body), sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, RecursionError):  # not JSON after all: the view answers 400
            pass
    return request.body


class IdempotencyMiddleware:
    """Unsafe API requests with an `Idempotency-Key` header run once per key for 24 h (API.md).

    The same key and body replay the first response; the same key with another request is 422.
    Keys are per credential.

    The key's record, the request's writes and its response commit together, in one transaction:
    a request that dies half-way (its process killed, the database gone) leaves neither its
    writes nor its key behind, so the retry runs as if it were the first. A second request with
    the key waits for the first to end (its insert of the same key waits on the unique index),
    then replays its answer, or runs if the first rolled back. 5xx, 401, 403 and 429 answers
    roll back with their record, as does any answer with Retry-After (a transient conflict): they
    say nothing about the request, the client retries.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if key is None or request.method not in UNSAFE_METHODS or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        key = key.strip()
        if not key or len(key) > 255:
            return JsonResponse({"non_field_errors": ["Idempotency-Key must be 1 to 255 characters."]}, status=400)
        credential = _credential(request)
        if credential is None:
            return self.get_response(request)  # unauthenticated: the view answers 401

        request_hash = hashlib.sha256(
            request.method.encode() + b" " + request.get_full_path().encode() + b"\n" + _body_meaning(request)
        ).hexdigest()
        with transaction.atomic():
            record, answer = self._reserve(credential, key, request, request_hash)
            if answer is not None:
                return answer
            response = self.get_response(request)
            if (response.status_code >= 500 or response.status_code in NOT_REPLAYED_STATUSES
                    or response.has_header("Retry-After") or getattr(response, "streaming", False)):
                # It says nothing about the request (try again: a 5xx, a throttle, a transient
                # conflict): the record goes, and whatever the request wrote.
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.response_body = bytes(response.content)
            record.content_type = response.get("Content-Type", "")
            try:
                with transaction.atomic():  # a savepoint: fails if the view left the transaction broken
                    record.save(update_fields=["status_code", "response_body", "content_type"])
            except DatabaseError:
                # A database error the view answered itself (a 4xx) broke the transaction: nothing
                # of the request is kept, its key neither; a retry runs it again.
                transaction.set_rollback(True)
        return response

    def _reserve(self, credential, key, request, request_hash):
        """(the new record, None) to run the request, or (None, the answer to give instead)."""
        for _attempt in range(2):
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        credential=credential, key=key, method=request.method,
                        path=request.get_full_path()[:2000], request_hash=request_hash,
                    )
                return record, None
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(credential=credential, key=key).first()
                if existing is None:
                    continue
                if existing.created_at < timezone.now() - IDEMPOTENCY_TTL:
                    existing.delete()
                    continue
                if existing.request_hash != request_hash:
                    return None, JsonResponse(
                        {"detail": "This Idempotency-Key was used for a different request."}, status=422
                    )
                if existing.status_code is None:  # reserved by a request of a version before this one
                    existing.delete()
                    continue
                replay = JsonResponse({}, status=existing.status_code)
                replay.content = bytes(existing.response_body or b"")
                if existing.content_type:
                    replay["Content-Type"] = existing.content_type
                replay["Idempotent-Replayed"] = "true"
                return None, replay
        return None, JsonResponse({"detail": "Could not reserve the Idempotency-Key; retry."}, status=409)
