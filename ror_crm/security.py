"""Who is asking, and what a locked-out admin login sees (django-axes)."""

import math

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def client_address(request: HttpRequest) -> str:
    """The client's IP address: REMOTE_ADDR, or behind the proxy (DJANGO_BEHIND_PROXY) the address
    the proxy appended last to X-Forwarded-For; entries before it come from the client and may be forged."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.BEHIND_PROXY and forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def login_locked_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """Axes' lockout answer: a page in the admin's look saying how long the lock lasts (429)."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    context = {**admin.site.each_context(request), "title": None, "cooloff_minutes": minutes}
    response = TemplateResponse(request, "admin/login_locked.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response.render()
