"""Domain signals → partner webhooks."""

from django.dispatch import receiver

from events.signals import event_completed
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
