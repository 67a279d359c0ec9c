"""Writes of keep-in-touch cadences: each one re-scores every contact, so lists move at once."""

from typing import Any

from django.db import transaction

from scoring import triggers
from scoring.models import KeepInTouchCadence


@transaction.atomic
def create_cadence(**fields: Any) -> KeepInTouchCadence:
    cadence = KeepInTouchCadence(**fields)
    cadence.full_clean()
    cadence.save()
    triggers.schedule_all_contacts_recompute()
    return cadence


@transaction.atomic
def update_cadence(cadence: KeepInTouchCadence, **fields: Any) -> KeepInTouchCadence:
    for name, value in fields.items():
        setattr(cadence, name, value)
    cadence.full_clean()
    cadence.save()
    triggers.schedule_all_contacts_recompute()
    return cadence


@transaction.atomic
def delete_cadence(cadence: KeepInTouchCadence) -> None:
    """A stage's row gone, the stage keeps its cadence out of the box."""
    cadence.delete()
    triggers.schedule_all_contacts_recompute()
