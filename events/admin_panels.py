"""The RoR figures panel of the event change page (EventMetrics, DOMAIN.md "Event metrics")."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Window
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.deadlines import follow_up_deadline, follow_up_deadline_at, follow_up_performance
from events.choices import EventStatus
from events.models import Event, Feedback
from events.selectors import is_upcoming, lapsed_attendees, previous_edition
from ror_crm.admin_tools import related_or_none
from scoring.charts import column_chart_svg
from scoring.formatting import localized, signed

SERIES_CHART_EDITIONS = 12


def _pct(ratio: float | None) -> str:
    """Shares are stored as ratios (0–1)."""
    return "—" if ratio is None else f"{localized(ratio * 100)} %"


def _num(value, digits: int = 1, suffix: str = "") -> str:
    """Rounded half away from zero, as on the RoR dashboard, in the active language."""
    return "—" if value is None else f"{localized(value, digits)}{suffix}"


def _money(value, currency: str) -> str:
    return "—" if value is None else f"{localized(value, 2)} {currency}"


def metrics_panel(event: Event) -> dict:
    """Headline figures and the full table, or `metrics: None` when not computed yet."""
    metrics = related_or_none(event, "metrics")
    if metrics is None:
        return {"metrics": None}
    previous = metrics.previous_edition
    crr = _num(metrics.series_retention_rate, 1, " %")
    if metrics.series_retention_rate is not None and previous is not None:
        crr = _("%(crr)s vs %(previous)s") % {"crr": crr, "previous": previous}
    elif metrics.series_retention_rate is None:
        crr = _("— (no previous edition)")
    nps = "—" if metrics.nps is None else signed(metrics.nps)
    # feedback_count counts every feedback row (DOMAIN.md), also those without an NPS answer;
    # beside the NPS stands the number of answers it was computed from.
    nps_answers = Feedback.objects.filter(event=event, nps__isnull=False).count()
    currency = event.currency
    headline = [
        {"label": _("Attended"), "value": f"{metrics.attended} / {metrics.registered}"},
        {"label": _("CRR vs previous edition"), "value": _num(metrics.series_retention_rate, 0, " %")},
        {"label": _("Returning share"), "value": _pct(metrics.returning_share)},
        {"label": _("NPS"), "value": nps},
        {"label": _("RoR %"), "value": _num(metrics.ror_percent, 0, " %")},
        {"label": _("Relationship lift"), "value": "—" if metrics.relationship_lift is None
         else signed(metrics.relationship_lift, 1)},
    ]
    rows = [
        (_("Registered / attended / no-shows"), f"{metrics.registered} / {metrics.attended} / {metrics.no_shows}"),
        (_("No-show rate"), _("— (no check-in at this event)") if metrics.no_show_rate_reason else _pct(metrics.no_show_rate)),
        (_("New / returning attendees"), f"{metrics.new_attendees} / {metrics.returning_attendees}"),
        (_("Returning share"), _pct(metrics.returning_share)),
        (_("Series retention rate (CRR)"), crr),
        (_("Interactions (per attendee)"), f"{metrics.interactions_total} ({_num(metrics.interactions_per_attendee, 2)})"),
        (_("Average interaction quality (1–5)"), _num(metrics.avg_interaction_quality, 1)),
        (_("Follow-ups"), str(metrics.followups_total)),
        (_("Follow-up coverage"), _pct(metrics.followup_coverage)),
        (_("Followed up within 48 h"), _pct(metrics.followed_up_within_48h_share)),
        (_("Median hours to first follow-up"), _num(metrics.median_first_followup_hours, 1, " h")),
        (_("NPS (answers)"), f"{nps} ({nps_answers})"),
        (capfirst(metrics._meta.get_field("feedback_count").verbose_name), str(metrics.feedback_count)),
        (_("Average satisfaction (1–10)"), _num(metrics.avg_satisfaction, 1)),
        (_("Pipeline value (open deals)"), _money(metrics.pipeline_value, currency)),
        (_("Won value"), _money(metrics.won_value, currency)),
        (_("Cost"), _money(metrics.cost, currency)),
        (_("RoR % = (won − cost) / cost × 100"), _num(metrics.ror_percent, 1, " %")),
        (_("Retained attendees (also at the previous edition)"),
         "—" if metrics.retained_attendees is None else localized(metrics.retained_attendees)),
        (_("Mean CLV of the retained attendees"), _money(metrics.retained_clv, currency)),
        (_("CLV RoR % = (CLV × retained − cost) / cost × 100"), _num(metrics.clv_ror_percent, 1, " %")),
        (_("Referrals (advocacy index)"), f"{metrics.referrals} ({_num(metrics.advocacy_index, 2)})"),
        (_("Relationship lift (score points per attendee)"), headline[-1]["value"]),
        (_("Lift: median / attendees with a positive lift"),
         f"{'—' if metrics.relationship_lift_median is None else signed(metrics.relationship_lift_median, 1)}"
         f" / {_pct(metrics.relationship_lift_positive_share)}"),
    ]
    return {
        "metrics": metrics,
        "metrics_headline": headline,
        "metrics_rows": rows,
        "metrics_computed_at": timezone.localtime(metrics.computed_at),
        "previous_edition": previous,
    }


def series_chart(event: Event):
    """Attendance of the series' editions up to this one: is the series keeping its people?

    The latest SERIES_CHART_EDITIONS editions; the chart says how many older ones it leaves out.
    """
    if event.series_id is None:
        return None
    editions = list(
        Event.objects.filter(series_id=event.series_id, starts_at__lte=event.starts_at)
        .annotate(editions=Window(Count("pk")))  # all of them, in the same query
        .select_related("metrics").order_by("-starts_at")[:SERIES_CHART_EDITIONS]
    )
    if len(editions) < 2:
        return None
    total = editions[0].editions
    note = None
    if total > len(editions):
        note = ngettext(
            "Showing the %(shown)s most recent of %(total)s edition.",
            "Showing the %(shown)s most recent of %(total)s editions.",
            total,
        ) % {"shown": localized(len(editions)), "total": localized(total)}
    items = [
        (date_format(timezone.localtime(edition.starts_at), "SHORT_DATE_FORMAT"),
         getattr(related_or_none(edition, "metrics"), "attended", None))
        for edition in reversed(editions)
    ]
    return column_chart_svg(
        items, width=560, note=note,
        title=_("Attendance per edition of %(series)s") % {"series": event.series},
        tooltips=[f"{date_format(timezone.localtime(edition.starts_at), 'SHORT_DATE_FORMAT')} {edition.name}"
                  for edition in reversed(editions)],
    )


LAPSED_SHOWN = 25


def lapsed_panel(event: Event) -> dict:
    """Who attended the previous edition and not this one, most valuable first (the API's
    events/{id}/lapsed/): the people to win back. Two queries."""
    previous = previous_edition(event)
    if previous is None or event.status == EventStatus.CANCELLED:
        return {"lapsed_previous": None}
    lapsed = lapsed_attendees(event, previous, to_win_back=True)
    return {
        "lapsed_previous": previous,
        "lapsed_upcoming": is_upcoming(event),
        "lapsed_count": lapsed.count(),
        "lapsed": list(
            lapsed.select_related("score", "owner", "organization")
            .order_by(F("score__score").desc(nulls_last=True), "pk")[:LAPSED_SHOWN]
        ),
    }


def deadline_text(minutes: int) -> str:
    """A follow-up deadline as people say it: "48 hours", "90 minutes"."""
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": localized(hours)}
    return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": localized(minutes)}


def _follow_up_figures(figures) -> dict:
    return {
        "assigned": localized(figures.assigned),
        "in_time": f"{localized(figures.followed_up_in_time)} ({_pct(figures.in_time_share)})",
        "median_hours": _num(figures.median_hours_to_first_follow_up, 1, " h"),
        "missed": localized(figures.missed),
        "pending": localized(figures.pending),
    }


def follow_up_deadline_panel(event: Event) -> dict:
    """The event's follow-up deadline and, once the event is over, per rep: attendees assigned,
    followed up in time (count and share), median hours to the first follow-up, missed and
    pending (contacts.deadlines, the API's reports/follow-up-performance/). One query."""
    now = timezone.now()
    deadline_at = follow_up_deadline_at(event)
    report = follow_up_performance(event_id=event.pk, now=now)
    # The "Missed deadline" list holds deadlines passed within the window (contacts.deadlines).
    in_queue = now - timedelta(days=settings.MISSED_DEADLINE_WINDOW_DAYS) < deadline_at <= now
    return {"follow_up_deadline": {
        "deadline": deadline_text(int(follow_up_deadline(event).total_seconds() // 60)),
        "is_default": event.follow_up_deadline_minutes is None,
        "deadline_at": timezone.localtime(deadline_at),
        "passed": deadline_at <= now,
        "over": event.is_over(now),
        "cancelled": event.status == EventStatus.CANCELLED,
        "rows": [{"owner": row.owner_name, **_follow_up_figures(row)} for row in report.rows],
        "total": _follow_up_figures(report.overall),
        "missed_url": reverse("admin:events_attendance_changelist") + f"?event={event.pk}&deadline=missed"
        if in_queue and report.overall.missed else None,
    }}
