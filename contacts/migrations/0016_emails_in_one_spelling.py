"""E-mails stored before normalize_email() spelled a mailbox one way (composed Unicode, an
international domain in its own letters): rows stored in another spelling take that one, so a
lookup by any spelling finds them. A row whose new spelling another contact already has keeps
its own (two contacts of one mailbox, written before the rule: staff merge them)."""

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

from contacts.models import normalize_email

# Only rows another spelling can concern: an ASCII form of a domain, or letters beyond ASCII.
RESPELLABLE = Q(email__contains="xn--") | Q(email__regex=r"[^\x00-\x7f]")


def respell(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    Referral = apps.get_model("contacts", "Referral")
    for pk, email in Contact.objects.filter(RESPELLABLE).values_list("pk", "email").iterator():
        spelled = normalize_email(email)
        if spelled != email and not Contact.objects.filter(email=spelled).exclude(pk=pk).exists():
            Contact.objects.filter(pk=pk).update(email=spelled, updated_at=timezone.now())  # partners sync it
    referred = Q(referred_email__contains="xn--") | Q(referred_email__regex=r"[^\x00-\x7f]")
    for pk, email in Referral.objects.filter(referred).values_list("pk", "referred_email").iterator():
        if (spelled := normalize_email(email)) != email:
            Referral.objects.filter(pk=pk).update(referred_email=spelled, updated_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("contacts", "0015_cadence_days_integer")]

    operations = [migrations.RunPython(respell, migrations.RunPython.noop)]
