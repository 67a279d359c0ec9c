from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """Python's lower() on SQLite connections, whose own lower() leaves all but ASCII letters
    alone (ContactQuerySet.tagged)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "ror_lower", 1, lambda text: text.lower() if isinstance(text, str) else text, deterministic=True
        )


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contacts")

    def ready(self):
        from django.contrib.auth import get_user_model

        from contacts.roles import sync_role_groups_after_migrate
        from ror_crm.admin_tools import person_name

        # A user is shown as the person (an owner, a rep) wherever one is shown: choices, lists,
        # history. The user name stays the login (get_username()).
        get_user_model().__str__ = person_name

        # Apps migrated after 0003_user_groups (e.g. partners) get their permissions into the groups.
        connection_created.connect(register_sqlite_functions, dispatch_uid="contacts.register_sqlite_functions")
        post_migrate.connect(sync_role_groups_after_migrate, sender=self, dispatch_uid="contacts.sync_role_groups")
