"""Organization names unique by a key lower-cased in Python (contacts.models.organization_key):
the database's lower() folds only ASCII letters on SQLite and under PostgreSQL's C locale."""

from django.db import migrations, models

import contacts.models


def fill_name_keys(apps, schema_editor):
    """Each organization's key; names the old index let through as different ("Äpfel", "äpfel")
    keep distinct keys with their id (saving such a row again reports the duplicate)."""
    Organization = apps.get_model("contacts", "Organization")
    taken = set()
    changed = []
    for organization in Organization.objects.only("pk", "name").order_by("pk").iterator(chunk_size=2000):
        key = organization.name.strip().lower()
        organization.name_key = key if key not in taken else f"{key} #{organization.pk}"
        taken.add(organization.name_key)
        changed.append(organization)
        if len(changed) == 2000:
            Organization.objects.bulk_update(changed, ["name_key"])
            changed = []
    Organization.objects.bulk_update(changed, ["name_key"])


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0012_field_labels"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="organization",
            name="organization_name_ci_unique",
        ),
        migrations.AddField(
            model_name="organization",
            name="name_key",
            field=contacts.models.OrganizationKeyField(default=""),
            preserve_default=False,
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="organization",
            constraint=models.UniqueConstraint(
                fields=("name_key",), name="organization_name_key_unique",
                violation_error_message="An organization with this name already exists.",
            ),
        ),
    ]
