"""What the contact change page shows beside the form: score breakdown, history, timeline.

Read-only queries for the admin template; a fixed number of queries per page.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Contact
from events.models import Interaction
from ror_crm.admin_tools import related_or_none
from scoring.charts import bar_chart_svg, line_chart_svg
from scoring.models import COMPONENTS, ScoringProfile

COMPONENT_LABELS = {
    "attendance": gettext_lazy("Attendance"),
    "networking": gettext_lazy("Networking"),
    "dialogue": gettext_lazy("Dialogue (follow-ups)"),
    "care": gettext_lazy("Care (follow-up within 48 h)"),
    "advocacy": gettext_lazy("Advocacy (NPS, referrals)"),
    "recency": gettext_lazy("Recency"),
}
TIMELINE_LIMIT = 50
HISTORY_POINTS = 60


def _admin_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def score_breakdown(contact: Contact) -> dict | None:
    """Each component with its weight and its points: contribution = weight × component × 100."""
    score = related_or_none(contact, "score")
    if score is None:
        return None
    profiles = {profile.version: profile for profile in ScoringProfile.objects.filter(
        Q(is_active=True) | Q(version=score.profile_version))}
    # The weights of the profile that computed this score, so the points add up to it.
    profile = profiles.get(score.profile_version) or next((p for p in profiles.values() if p.is_active), None)
    weights = (profile.weights if profile else {}) or {}
    rows = []
    for name in COMPONENTS:
        value = float((score.components or {}).get(name) or 0.0)
        weight = float(weights.get(name) or 0.0)
        rows.append({
            "name": name,
            "label": COMPONENT_LABELS[name],
            "value": value,
            "weight": weight,
            "points": weight * value * 100,
            "max_points": weight * 100,
        })
    points_text = _("%(points).1f of %(max).0f pts")
    chart = bar_chart_svg(
        [(str(row["label"]), row["value"], points_text % {"points": row["points"], "max": row["max_points"]})
         for row in rows],
        max_value=1.0, label_width=190, value_width=100, width=560,
        title=_("Score breakdown: %(score).1f") % {"score": score.score},
    )
    return {"score": score, "profile": profile, "rows": rows, "chart": chart,
            "points_total": sum(row["points"] for row in rows)}


def score_history_chart(contact: Contact):
    snapshots = list(
        contact.score_snapshots.order_by("-computed_at", "-id").values_list("computed_at", "score")[:HISTORY_POINTS]
    )
    if not snapshots:
        return None
    points = [(timezone.localtime(at).strftime("%Y-%m-%d"), score) for at, score in reversed(snapshots)]
    return line_chart_svg(points, min_value=0, max_value=100, width=560, tick_format="{:.0f}", title=_("Score history"))


@dataclass
class TimelineItem:
    at: datetime | None
    kind: str
    title: str
    detail: str
    url: str


def timeline(contact: Contact, limit: int = TIMELINE_LIMIT) -> list[TimelineItem]:
    """Attendances, interactions, follow-ups, feedback and referrals, newest first."""
    items: list[TimelineItem] = []
    for attendance in contact.attendances.select_related("event").order_by("-event__starts_at")[:limit]:
        items.append(TimelineItem(
            at=attendance.checked_in_at or attendance.event.starts_at, kind=_("Event"),
            title=attendance.event.name,
            detail=f"{attendance.get_status_display()} · {attendance.get_role_display()}",
            url=_admin_url(attendance),
        ))
    interactions = (
        Interaction.objects.filter(Q(contact=contact) | Q(counterpart=contact))
        .select_related("event", "contact", "counterpart")
        .order_by("-occurred_at")[:limit]
    )
    for interaction in interactions:
        other = interaction.counterpart if interaction.contact_id == contact.pk else interaction.contact
        detail = [interaction.event.name]
        if interaction.quality:
            detail.append(_("quality %(quality)s/5") % {"quality": interaction.quality})
        if interaction.duration_minutes:
            detail.append(_("%(minutes)s min") % {"minutes": interaction.duration_minutes})
        items.append(TimelineItem(
            at=interaction.occurred_at, kind=_("Interaction"),
            title=f"{interaction.get_kind_display()}" + (f" — {other}" if other else ""),
            detail=" · ".join(detail), url=_admin_url(interaction),
        ))
    for follow_up in contact.followups.select_related("event", "owner").order_by("-id")[:limit]:
        detail = [follow_up.get_status_display()]
        if follow_up.outcome:
            detail.append(follow_up.get_outcome_display())
        if follow_up.deal_value is not None:
            detail.append(f"{follow_up.get_deal_status_display()} {follow_up.deal_value}")
        if follow_up.owner:
            detail.append(str(follow_up.owner))
        items.append(TimelineItem(
            at=follow_up.completed_at or follow_up.due_at or follow_up.created_at, kind=_("Follow-up"),
            title=f"{follow_up.get_channel_display()}" + (f" — {follow_up.event.name}" if follow_up.event else ""),
            detail=" · ".join(detail), url=_admin_url(follow_up),
        ))
    for feedback in contact.feedback.select_related("event").order_by("-submitted_at")[:limit]:
        detail = []
        if feedback.nps is not None:
            detail.append(_("NPS %(nps)s") % {"nps": feedback.nps})
        if feedback.satisfaction is not None:
            detail.append(_("satisfaction %(value)s/10") % {"value": feedback.satisfaction})
        items.append(TimelineItem(
            at=feedback.submitted_at, kind=_("Feedback"), title=feedback.event.name,
            detail=" · ".join(detail), url=_admin_url(feedback),
        ))
    for referral in contact.referrals_made.select_related("referred").order_by("-created_at")[:limit]:
        items.append(TimelineItem(
            at=referral.created_at, kind=_("Referral"),
            title=_("Referred %(who)s") % {"who": referral.referred or referral.referred_email or "?"},
            detail="", url=_admin_url(referral),
        ))
    for referral in contact.referrals_received.select_related("referrer").order_by("-created_at")[:limit]:
        items.append(TimelineItem(
            at=referral.created_at, kind=_("Referral"),
            title=_("Referred by %(who)s") % {"who": referral.referrer}, detail="", url=_admin_url(referral),
        ))
    oldest = datetime(1970, 1, 1, tzinfo=UTC)
    items.sort(key=lambda item: item.at or oldest, reverse=True)
    return items[:limit]


def contact_panels(contact: Contact) -> dict:
    return {
        "breakdown": score_breakdown(contact),
        "score": related_or_none(contact, "score"),
        "history_chart": score_history_chart(contact),
        "timeline": timeline(contact),
        "timeline_limit": TIMELINE_LIMIT,
    }
