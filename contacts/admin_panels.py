"""What the contact change page shows beside the form: score breakdown, history, timeline.

Read-only queries for the admin template; a fixed number of queries per page.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Count, F, Q, Window
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.admin_referral_chain import referral_chain_panel
from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from contacts.selectors import TIMELINE_TYPES, TimelineEntry, contact_timeline
from events.models import Attendance, Feedback
from ror_crm.admin_tools import related_or_none, short_datetime
from ror_crm.validators import parse_id
from scoring.admin_clv import clv_panel
from scoring.charts import bar_chart_svg, line_chart_svg
from scoring.formatting import localized
from scoring.models import COMPONENTS, ScoringProfile
from scoring.services import active_parameters
from scoring.services.contact_scores import decayed_score

COMPONENT_LABELS = {
    "attendance": gettext_lazy("Attendance"),
    "networking": gettext_lazy("Networking"),
    "dialogue": gettext_lazy("Dialogue (follow-ups)"),
    "care": gettext_lazy("Care (follow-up within 48 h)"),
    "advocacy": gettext_lazy("Advocacy (NPS, referrals)"),
    "recency": gettext_lazy("Recency"),
}
TIMELINE_PAGE = 20
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
    points_text = _("%(points)s of %(max)s pts")
    chart = bar_chart_svg(
        [(str(row["label"]), row["value"],
          points_text % {"points": localized(row["points"], 1), "max": localized(row["max_points"])})
         for row in rows],
        max_value=1.0, label_width=230, value_width=100, width=560,
        title=_("Score breakdown: %(score)s") % {"score": localized(score.score, 1)},
    )
    return {"score": score, "profile": profile, "rows": rows, "chart": chart,
            "points_total": sum(row["points"] for row in rows)}


DECAY_POINTS = 6  # points of the line from the latest computation to today


def score_history_chart(contact: Contact):
    """The latest HISTORY_POINTS scores, placed by date, then the line to today.

    Snapshots are kept when data or a rule moved the score (docs/scoring.md), not for decay alone:
    after the latest computation the line follows decay, drawn from the stored sums (as
    `score_now` in the API), so the chart ends at what the score is today. The chart says how
    many older scores it leaves out."""
    snapshots = list(
        contact.score_snapshots.annotate(snapshots=Window(Count("pk")))  # all of them, in the same query
        .order_by("-computed_at", "-id").values_list("computed_at", "score", "snapshots")[:HISTORY_POINTS]
    )
    if not snapshots:
        return None
    total = snapshots[0][2]
    note = None
    if total > len(snapshots):
        note = ngettext(
            "Showing the %(shown)s most recent of %(total)s score.",
            "Showing the %(shown)s most recent of %(total)s scores.",
            total,
        ) % {"shown": localized(len(snapshots)), "total": localized(total)}
    history = [(at, score, None) for at, score, _total in reversed(snapshots)]
    history += _decay_to_today(related_or_none(contact, "score"), after=history[-1][0])
    points = [(date_format(timezone.localtime(at), "SHORT_DATE_FORMAT"), score) for at, score, _ in history]
    tooltips = [short_datetime(at) + (f" ({kind})" if kind else "")
                for at, _score, kind in history]
    return line_chart_svg(points, min_value=0, max_value=100, width=560, value_format=1, tick_format=0,
                          title=_("Score history"), note=note, tooltips=tooltips,
                          positions=[at.timestamp() for at, _score, _kind in history])


def _decay_to_today(score, *, after: datetime) -> list[tuple[datetime, float, str]]:
    """The stored score (computed after the latest snapshot, by the nightly run) and the decay of
    its sums from then to now, as (time, score, what it is); none when a profile other than the
    active one computed it (its decay would mix two profiles)."""
    if score is None:
        return []
    now = timezone.now()
    points = []
    if score.computed_at > after:
        points.append((score.computed_at, score.score, _("computed")))
    try:
        params = active_parameters()
    except ScoringProfile.DoesNotExist:
        return points
    start = max(score.computed_at, after)
    if params.version != score.profile_version or (now - start).total_seconds() < 86400:
        return points
    for step in range(1, DECAY_POINTS + 1):
        at = start + (now - start) * step / DECAY_POINTS
        points.append((at, decayed_score(score, at, params).score, _("decay since the last computation")))
    return points


@dataclass
class TimelineItem:
    at: datetime | None
    kind: str
    title: str
    detail: str
    url: str


def _timeline_item(contact: Contact, entry: TimelineEntry) -> TimelineItem:
    row = entry.record
    match entry.type:
        case "attendance":
            kind, title = _("Event"), row.event.name
            detail = [row.get_status_display(), row.get_role_display()]
        case "interaction":
            other = row.counterpart if row.contact_id == contact.pk else row.contact
            kind, title = _("Interaction"), row.get_kind_display() + (f" — {other}" if other else "")
            detail = [row.event.name]
            if row.quality:
                detail.append(_("quality %(quality)s/5") % {"quality": row.quality})
            if row.duration_minutes:
                detail.append(_("%(minutes)s min") % {"minutes": row.duration_minutes})
        case "follow_up":
            kind = _("Follow-up")
            title = row.get_channel_display() + (f" — {row.event.name}" if row.event else "")
            detail = [row.get_status_display()]
            if row.outcome:
                detail.append(row.get_outcome_display())
            if row.deal_value is not None:
                currency = f" {row.event.currency}" if row.event else ""  # a deal counts in its event's currency
                detail.append(f"{row.get_deal_status_display()} {localized(row.deal_value, 0)}{currency}")
            if row.owner:
                detail.append(str(row.owner))
        case "feedback":
            kind, title, detail = _("Feedback"), row.event.name, []
            if row.nps is not None:
                detail.append(_("NPS %(nps)s") % {"nps": row.nps})
            if row.satisfaction is not None:
                detail.append(_("satisfaction %(value)s/10") % {"value": row.satisfaction})
        case _:
            kind, detail = _("Referral"), []
            if row.referrer_id == contact.pk:
                title = _("Referred %(who)s") % {"who": row.referred or row.referred_email or "?"}
            else:
                title = _("Referred by %(who)s") % {"who": row.referrer}
    return TimelineItem(at=entry.at, kind=kind, title=title, detail=" · ".join(map(str, detail)),
                        url=_admin_url(row))


def related_rows(contact: Contact) -> dict:
    """The next due follow-up and the contact's rows by kind, counted, each linking to its list
    (filtered to the contact), where rows are read and edited. Four queries."""
    next_follow_up = (
        contact.followups.filter(status=FollowUpStatus.PLANNED)
        .select_related("owner").order_by(F("due_at").asc(nulls_last=True), "pk").first()
    )
    lists = []
    for model, label in ((FollowUp, _("Follow-ups")), (Attendance, _("Event attendances")), (Feedback, _("Feedback"))):
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        lists.append({"label": label, "count": model.objects.filter(contact=contact).count(),
                      "url": f"{url}?contact={contact.pk}"})
    return {
        "next_follow_up": next_follow_up,
        "related_lists": lists,
        "add_follow_up_url": reverse("admin:contacts_followup_add") + f"?contact={contact.pk}",
    }


def timeline_cursor(value: str | None, item: str | None) -> tuple | None:
    """The `before` of contact_timeline() from the page's `timeline_before` and `timeline_item`
    query parameters (the "Older entries" link); None for none or anything malformed."""
    if not value:
        return None
    moment = parse_datetime(value.replace(" ", "+"))
    if moment is None or timezone.is_naive(moment):
        return None
    kind, _separator, pk = (item or "").partition(":")
    if kind in TIMELINE_TYPES and (item_id := parse_id(pk)) is not None:
        return moment, kind, item_id
    return (moment,)


def timeline_page(contact: Contact, before: tuple | None = None) -> dict:
    """A page of the timeline, newest first, and the query string of the next (older) page."""
    entries = contact_timeline(contact, limit=TIMELINE_PAGE + 1, before=before, referrals_received=True)
    older = None
    if len(entries) > TIMELINE_PAGE:
        entries = entries[:TIMELINE_PAGE]
        last = entries[-1]
        older = urlencode({"timeline_before": last.at.isoformat(), "timeline_item": f"{last.type}:{last.id}"})
    return {"timeline": [_timeline_item(contact, entry) for entry in entries], "timeline_older": older,
            "timeline_paged": before is not None}


def next_best_action(contact: Contact) -> dict | None:
    """The stored next best action, its reason in the page's language, and the keep-in-touch clock."""
    from scoring.services.next_action import ANSWERED_BY_A_PLAN, days_overdue, reason_text

    score = related_or_none(contact, "score")
    if score is None or not score.next_action:
        return None
    return {
        "action": score.next_action,
        "label": score.get_next_action_display(),
        "reason": reason_text(score.next_action, score.next_action_figures or {}),
        "next_touch_due": score.next_touch_due,
        "days_overdue": days_overdue(score.next_touch_due, timezone.now()),
        "cadence_days": score.cadence_days,
        "cadence_source": score.get_cadence_source_display(),
        "rules_url": reverse("ror-next-action-rules"),
        "answered_by_a_plan": score.next_action in ANSWERED_BY_A_PLAN,
    }


def contact_panels(contact: Contact, *, timeline_before: tuple | None = None) -> dict:
    return {
        "next_best_action": next_best_action(contact),
        "breakdown": score_breakdown(contact),
        "score": related_or_none(contact, "score"),
        "history_chart": score_history_chart(contact),
        "clv": clv_panel(contact),
        **related_rows(contact),
        **timeline_page(contact, timeline_before),
        "referral_chain": referral_chain_panel(contact),
    }
