"""Interactions (networking) and feedback: create, update, delete."""

from typing import Any

from django.db import transaction

from contacts.models import ensure_writable
from events.exceptions import DuplicateFeedback
from events.models import Feedback, Interaction
from events.services.attendances import raise_if_external_id_taken
from events.services.late_data import existing_event, notify_late_data
from ror_crm.db import locked, save_unique


@transaction.atomic
def record_interaction(**fields: Any) -> Interaction:
    ensure_writable(fields.get("contact"), fields.get("counterpart"))
    interaction = Interaction(**fields)
    if interaction.external_id == "":
        interaction.external_id = None
    save_unique(interaction, recheck=lambda: raise_if_external_id_taken(interaction))
    notify_late_data(interaction.event, [interaction.contact_id, interaction.counterpart_id])
    return interaction


@transaction.atomic
def update_interaction(interaction: Interaction, **fields: Any) -> Interaction:
    interaction = locked(interaction)
    ensure_writable(interaction.contact_id, interaction.counterpart_id, fields.get("contact"), fields.get("counterpart"))
    touched_before = (interaction.event, [interaction.contact_id, interaction.counterpart_id])
    for name, value in fields.items():
        setattr(interaction, name, value)
    if interaction.external_id == "":
        interaction.external_id = None
    save_unique(interaction, recheck=lambda: raise_if_external_id_taken(interaction, exclude_pk=interaction.pk))
    notify_late_data(interaction.event, [interaction.contact_id, interaction.counterpart_id])
    if touched_before[0] != interaction.event:
        notify_late_data(*touched_before)
    return interaction


@transaction.atomic
def delete_interaction(interaction: Interaction) -> None:
    ensure_writable(interaction.contact_id, interaction.counterpart_id)
    event, contact_ids = existing_event(interaction.event_id), [interaction.contact_id, interaction.counterpart_id]
    interaction.delete()
    notify_late_data(event, contact_ids)


def _raise_if_answered_twice(event_id: int | None, contact_id: int | None, *, exclude_pk: int | None = None) -> None:
    existing = (
        Feedback.objects.filter(event_id=event_id, contact_id=contact_id)
        .exclude(pk=exclude_pk)
        .values_list("pk", flat=True)
        .first()
    )
    if existing is not None:
        raise DuplicateFeedback("This contact already gave feedback for this event.", existing_id=existing)


@transaction.atomic
def record_feedback(**fields: Any) -> Feedback:
    ensure_writable(fields.get("contact"))
    feedback = Feedback(**fields)
    save_unique(feedback, recheck=lambda: _raise_if_answered_twice(feedback.event_id, feedback.contact_id))
    notify_late_data(feedback.event, [feedback.contact_id])
    return feedback


@transaction.atomic
def update_feedback(feedback: Feedback, **fields: Any) -> Feedback:
    feedback = locked(feedback)
    ensure_writable(feedback.contact_id, fields.get("contact"))
    for name, value in fields.items():
        setattr(feedback, name, value)
    save_unique(feedback, recheck=lambda: _raise_if_answered_twice(
        feedback.event_id, feedback.contact_id, exclude_pk=feedback.pk))
    notify_late_data(feedback.event, [feedback.contact_id])
    return feedback


@transaction.atomic
def delete_feedback(feedback: Feedback) -> None:
    ensure_writable(feedback.contact_id)
    event, contact_id = existing_event(feedback.event_id), feedback.contact_id
    feedback.delete()
    notify_late_data(event, [contact_id])
