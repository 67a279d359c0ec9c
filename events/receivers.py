"""Signals of other apps that events acts on."""

from django.dispatch import receiver

from contacts.erasure import PersonalMentions, contact_erased
from events.imports import forget_imports_mentioning


@receiver(contact_erased)
def on_contact_erased(sender, mentions: PersonalMentions, **kwargs) -> None:
    """Inside the erasure's transaction: attendee lists waiting to be imported lose the person too."""
    forget_imports_mentioning(mentions)
