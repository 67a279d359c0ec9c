from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from partners.models import PartnerAPIKey


class HasAPIScope(permissions.BasePermission):
    """Reads need the `read` scope, unsafe methods `write`; staff sessions may do both."""

    message = _("This API key lacks the scope for this request.")

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, PartnerAPIKey):
            if request.method in permissions.SAFE_METHODS:
                return request.auth.can_read
            return request.auth.can_write
        user = request.user
        if user and user.is_authenticated:
            self.message = _("Only staff users may use the API with a session.")
            return user.is_staff and user.is_active
        return False
