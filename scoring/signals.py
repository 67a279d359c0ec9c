"""Domain signals of scoring, for listeners outside the app (partner webhooks)."""

from django.dispatch import Signal

# Sent after an event's metrics were (re)computed and saved; kwargs: event_id.
event_metrics_updated = Signal()
# Sent after a recompute changed contacts' scores or stages; kwargs: changes, a list of
# {"contact_id", "score", "previous_score", "stage", "previous_stage", "computed_at"}.
contact_scores_changed = Signal()
