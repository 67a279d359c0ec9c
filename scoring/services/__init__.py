"""Scoring services: relationship scores, repeat-attendance metrics and event metrics."""

from scoring.services.contact_scores import compute_scores, score_contact
from scoring.services.event_metrics import compute_event_metrics, events_depending_on
from scoring.services.profile import ScoringParameters, active_parameters
from scoring.services.recompute import (
    all_contact_id_chunks,
    event_contact_ids,
    recompute_contacts,
    replay_completed_events,
)

__all__ = [
    "ScoringParameters",
    "active_parameters",
    "all_contact_id_chunks",
    "compute_event_metrics",
    "events_depending_on",
    "compute_scores",
    "event_contact_ids",
    "recompute_contacts",
    "replay_completed_events",
    "score_contact",
]
