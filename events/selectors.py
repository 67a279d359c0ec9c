"""Read-side queries of events that the API and the admin share."""

from typing import Any

from events.models import Event, EventSeries
from scoring.models import EventMetrics


def series_report(series: EventSeries) -> dict[str, Any]:
    """Per edition (by start): attended, new, returning share, CRR, NPS, RoR % (from EventMetrics)."""
    editions = []
    for event in Event.objects.filter(series=series).select_related("metrics").order_by("starts_at", "id"):
        try:
            metrics = event.metrics
        except EventMetrics.DoesNotExist:
            metrics = None
        editions.append({
            "event": event.pk,
            "name": event.name,
            "starts_at": event.starts_at,
            "status": event.status,
            "attended": metrics.attended if metrics else None,
            "new": metrics.new_attendees if metrics else None,
            "returning_share": metrics.returning_share if metrics else None,
            "series_retention_rate": metrics.series_retention_rate if metrics else None,
            "nps": metrics.nps if metrics else None,
            "ror_percent": metrics.ror_percent if metrics else None,
        })
    return {"series": series.pk, "name": series.name, "editions": editions}
