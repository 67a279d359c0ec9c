from django.db import migrations, models
from django.db.models import Max, Min

BATCH = 50_000  # contacts per transaction: the contacts stay readable and writable meanwhile


def mark_scored(apps, schema_editor):
    """Contacts with a stored score were scored: cleared batch by batch, each its own transaction."""
    Contact = apps.get_model("contacts", "Contact")
    ContactScore = apps.get_model("scoring", "ContactScore")
    bounds = Contact.objects.aggregate(first=Min("pk"), last=Max("pk"))
    if bounds["first"] is None:
        return
    for start in range(bounds["first"], bounds["last"] + 1, BATCH):
        scored = ContactScore.objects.filter(contact_id__gte=start, contact_id__lt=start + BATCH).values("contact_id")
        Contact.objects.filter(pk__in=scored, never_scored=True).update(never_scored=False)


def analyze(apps, schema_editor):
    """PostgreSQL: statistics that know how few were never scored, or the planner keeps reading
    every contact for them until autovacuum analyzes the table."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch, not one lock over every contact

    dependencies = [
        ('contacts', '0010_contact_never_scored'),
        ('scoring', '0012_keyset_indexes'),
    ]

    operations = [
        migrations.RunPython(mark_scored, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(condition=models.Q(('never_scored', True)), fields=['id'], name='contact_never_scored_idx'),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
