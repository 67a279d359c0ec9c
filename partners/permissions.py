from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from partners.models import PartnerAPIKey


class StaffModelPermissions(permissions.DjangoModelPermissions):
    """A staff session may do in the API what its groups allow in the admin (reads need `view`)."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }
    # Actions that are more than their HTTP method says: erasing a contact is deleting data.
    action_perms = {"erase": ["%(app_label)s.delete_%(model_name)s"]}

    def get_required_permissions(self, method, model_cls):
        action = getattr(self, "_action", None)
        if action in self.action_perms:
            names = {"app_label": model_cls._meta.app_label, "model_name": model_cls._meta.model_name}
            return [perm % names for perm in self.action_perms[action]]
        return super().get_required_permissions(method, model_cls)

    def has_permission(self, request, view) -> bool:
        self._action = getattr(view, "action", None)
        return super().has_permission(request, view)


class HasAPIScope(permissions.BasePermission):
    """Reads need the `read` scope, unsafe methods `write`; staff sessions what their groups allow."""

    message = _("This API key lacks the scope for this request.")

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, PartnerAPIKey):
            if request.method in permissions.SAFE_METHODS:
                return request.auth.can_read
            return request.auth.can_write
        user = request.user
        if user and user.is_authenticated:
            if not (user.is_staff and user.is_active):
                self.message = _("Only staff users may use the API with a session.")
                return False
            if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
                return True  # no model behind the view: nothing more to check
            self.message = _("Your user account may not do this.")
            return StaffModelPermissions().has_permission(request, view)
        return False
