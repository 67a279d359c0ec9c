"""Domain signals → partner webhooks; API key writes → the keys' version."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from contacts.erasure import PersonalMentions, contact_erased
from events.signals import event_completed
from partners.erasure import scrub_idempotency_records, scrub_webhook_deliveries
from partners.models import PartnerAPIKey
from partners.verified_keys import keys_changed
from partners.webhooks import emit, emit_many
from scoring.signals import contact_scores_changed, event_metrics_updated


@receiver(event_completed)
def on_event_completed(sender, event_id: int, **kwargs) -> None:
    emit("event.completed", {"event": event_id})


@receiver(event_metrics_updated)
def on_event_metrics_updated(sender, event_id: int, **kwargs) -> None:
    emit("event.metrics_updated", {"event": event_id})


@receiver(contact_scores_changed)
def on_contact_scores_changed(sender, changes: list[dict], **kwargs) -> None:
    emit_many("contact.score_changed", changes)


@receiver(contact_erased)
def on_contact_erased(sender, mentions: PersonalMentions, **kwargs) -> None:
    """Inside the erasure's transaction: the stored API answers and payloads lose the person too."""
    scrub_idempotency_records(mentions)
    scrub_webhook_deliveries(mentions)


@receiver(post_save, sender=PartnerAPIKey)
@receiver(post_delete, sender=PartnerAPIKey)
def on_api_key_written(sender, **kwargs) -> None:
    keys_changed()  # processes read keys from the database again (partners.verified_keys)
