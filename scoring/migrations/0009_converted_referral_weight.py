from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Lower, Trim
from django.utils import timezone


def link_existing_referrals(apps, schema_editor):
    """Referrals made before linking existed (contacts.referral_links) whose e-mail names a
    contact: linked now, as a new contact with that e-mail would be. One UPDATE."""
    Contact = apps.get_model("contacts", "Contact")
    Referral = apps.get_model("contacts", "Referral")
    target = (
        Contact.objects.filter(erased_at__isnull=True)
        .alias(email_key=Lower(Trim("email")))
        .filter(email_key=Lower(Trim(OuterRef("referred_email"))))
        .order_by().values("pk")[:1]
    )
    linkable = (
        Referral.objects.filter(referred__isnull=True).exclude(referred_email="")
        .annotate(target=Subquery(target)).filter(target__isnull=False).exclude(target=F("referrer_id"))
    )
    Referral.objects.filter(pk__in=list(linkable.values_list("pk", flat=True))).update(
        referred_id=Subquery(target), updated_at=timezone.now()
    )


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0008_keep_in_touch_cadence_next_action'),
    ]

    operations = [
        migrations.AddField(
            model_name='scoringprofile',
            name='converted_referral_weight',
            field=models.FloatField(default=1.0, help_text='How much a converted referral counts in advocacy, against 1 for any other referral: the referred contact attended an event that started after the referral (docs/referrals.md).', verbose_name='converted referral weight'),
        ),
        migrations.RunPython(link_existing_referrals, migrations.RunPython.noop),
    ]
