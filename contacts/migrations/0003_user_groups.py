"""The groups "Agency staff" and "Sales" with their permissions (contacts/roles.py)."""

from django.db import migrations


def create_groups(apps, schema_editor):
    from contacts.roles import ensure_permissions, sync_role_groups

    using = schema_editor.connection.alias
    ensure_permissions(apps, using)
    sync_role_groups(apps, using, exact=True)


def remove_groups(apps, schema_editor):
    from contacts.roles import AGENCY_STAFF, SALES

    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(
        name__in=[AGENCY_STAFF, SALES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("contacts", "0002_initial"),
        ("events", "0001_initial"),
        ("scoring", "0002_default_scoring_profile"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
