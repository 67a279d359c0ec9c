"""The two staff roles of DOMAIN.md as auth groups: "Agency staff" and "Sales".

Agency staff run events: every permission of contacts, events, scoring (computed models
view-only), partners (API keys, webhooks), the periodic-task schedule, and the admin login
lockouts of django-axes (view, and delete to unlock; the access log view-only). Sales log
follow-ups: they view, add and change contacts, organizations, follow-ups and referrals,
view events and scores (not scoring's work queues), and see nothing of partners (no API keys).
Both may view users, which the owner autocompletes need.
"""

from django.contrib.auth.management import create_permissions
from django.db.models import Q

AGENCY_STAFF = "Agency staff"
SALES = "Sales"

STAFF_APPS = ("contacts", "events", "scoring", "partners", "django_celery_beat")
# Computed by scoring; nobody edits them by hand.
COMPUTED_MODELS = (
    "contactscore", "scoresnapshot", "eventmetrics", "pendingrecompute", "recomputerequest", "clvmodel",
    "contactlifetimevalue",
)
SALES_EDITABLE_MODELS = ("contact", "organization", "followup", "referral")
SALES_VIEW_APPS = ("contacts", "events", "scoring")
# Scoring's work queues: machinery, nothing a sales rep acts on.
QUEUE_MODELS = ("pendingrecompute", "recomputerequest")
# Deleting an access attempt unlocks that login.
LOCKOUT_PERMISSIONS = ("view_accessattempt", "delete_accessattempt", "view_accesslog", "view_accessfailurelog")


def role_permission_filters() -> dict[str, Q]:
    view_users = Q(content_type__app_label="auth", codename="view_user")
    staff = (
        Q(content_type__app_label__in=STAFF_APPS)
        & ~Q(content_type__app_label="scoring", content_type__model__in=COMPUTED_MODELS, codename__regex=r"^(add|change|delete)_")
        # The change history is an audit trail: readable, not editable.
        & ~Q(content_type__model__startswith="historical", codename__regex=r"^(add|change|delete)_")
    ) | view_users | Q(content_type__app_label="axes", codename__in=LOCKOUT_PERMISSIONS)
    sales = (
        (Q(content_type__app_label__in=SALES_VIEW_APPS, codename__startswith="view_")
         & ~Q(content_type__app_label="scoring", content_type__model__in=QUEUE_MODELS))
        | Q(content_type__app_label="contacts", content_type__model__in=SALES_EDITABLE_MODELS,
            codename__regex=r"^(add|change)_")
        | view_users
    )
    return {AGENCY_STAFF: staff, SALES: sales}


def ensure_permissions(apps, using: str) -> None:
    """Permissions are created after migrations; data migrations need them now (idempotent)."""
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        # Migration-state app configs have no models module; create_permissions() skips those.
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            app_config.models_module = models_module


def sync_role_groups(apps, using: str = "default", *, exact: bool) -> None:
    """Create the groups and give them their permissions.

    exact=True (the data migration) sets exactly the permissions above; exact=False (after
    every migrate) only adds missing ones, so permissions of apps added later (partners) join
    Agency staff while changes an administrator made to the groups stay.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, permission_filter in role_permission_filters().items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        permissions = list(Permission.objects.using(using).filter(permission_filter))
        if exact:
            group.permissions.set(permissions)
        else:
            group.permissions.add(*permissions)


def sync_role_groups_after_migrate(sender, app_config=None, using="default", apps=None, **kwargs) -> None:
    """post_migrate: runs once per migrate, when the contacts app's turn comes."""
    from django.apps import apps as global_apps

    ensure_permissions(global_apps, using)
    sync_role_groups(global_apps, using, exact=False)
