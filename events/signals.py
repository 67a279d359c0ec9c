"""Domain signals of events, for listeners outside the app (partner webhooks)."""

from django.dispatch import Signal

# Sent after the commit that completed an event; kwargs: event_id.
event_completed = Signal()
