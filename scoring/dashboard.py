"""Read-side queries of the RoR dashboard (KPIs over a period and an optional series).

Every figure is aggregated in the database, so the page runs the same handful of queries
whether the period holds 5 events or 500 (one query per block below). Definitions follow
DOMAIN.md ("Event metrics", "Lifecycle stage"); weighted means weight each event by its
attendees, so a big conference counts more than a small dinner.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, ExpressionWrapper, F, FloatField, Min, Q, QuerySet, Sum, Window
from django.utils import timezone

from contacts.choices import DealStatus, FollowUpOutcome, FollowUpStatus
from contacts.deadlines import FollowUpPerformance, follow_up_performance
from contacts.models import FollowUp, Organization
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, EventSeries, Feedback
from ror_crm.days import start_of_day
from scoring.choices import ChurnRisk, LifecycleStage
from scoring.models import ContactScore, EventMetrics

TOP_ORGANIZATIONS = 10


@dataclass(frozen=True)
class DashboardFilter:
    """The period is inclusive on both days, in the site's time zone."""

    date_from: date
    date_to: date
    series_id: int | None = None

    @classmethod
    def default(cls, today: date | None = None) -> "DashboardFilter":
        """The last 12 months up to today."""
        today = today or timezone.localdate()
        return cls(date_from=_one_year_before(today) + timedelta(days=1), date_to=today)

    @classmethod
    def for_series(cls, series_id: int, date_to: date | None = None) -> "DashboardFilter":
        """Every completed edition of the series up to `date_to` (today by default): the period
        starts on the day of its first edition. A series without one gets the last 12 months."""
        date_to = date_to or timezone.localdate()
        first = Event.objects.filter(series_id=series_id, status=EventStatus.COMPLETED).aggregate(
            first=Min("starts_at"))["first"]
        date_from = cls.default(today=date_to).date_from
        if first is not None:
            date_from = min(date_from, timezone.localdate(first))
        return cls(date_from=date_from, date_to=date_to, series_id=series_id)

    @property
    def starts_at(self) -> datetime:
        return start_of_day(self.date_from)

    @property
    def ends_before(self) -> datetime:
        return start_of_day(self.date_to + timedelta(days=1))


def _one_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


@dataclass
class Dashboard:
    filter: DashboardFilter
    summary: dict[str, Any]
    editions: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    top_organizations: list[dict[str, Any]]
    follow_ups: dict[str, Any]
    # Follow-up deadlines per rep (contacts.deadlines) over the events that ended in the period.
    follow_up_reps: FollowUpPerformance | None = None


def _ratio(numerator, denominator) -> float | None:
    if not denominator or numerator is None:
        return None
    return float(numerator) / float(denominator)


def events_in_scope(flt: DashboardFilter) -> QuerySet[Event]:
    """The completed events that start in the period (and belong to the series)."""
    queryset = Event.objects.filter(
        status=EventStatus.COMPLETED, starts_at__gte=flt.starts_at, starts_at__lt=flt.ends_before
    )
    if flt.series_id is not None:
        queryset = queryset.filter(series_id=flt.series_id)
    return queryset


def event_metrics_in_scope(flt: DashboardFilter) -> QuerySet[EventMetrics]:
    return EventMetrics.objects.filter(event__in=events_in_scope(flt))


def _weighted(field_name: str) -> ExpressionWrapper:
    """field × attendees, for a mean weighted by event size."""
    return ExpressionWrapper(F(field_name) * F("attended"), output_field=FloatField())


def event_summary(flt: DashboardFilter) -> dict[str, Any]:
    """One aggregate over the period's event metrics plus one over its NPS answers."""
    totals = event_metrics_in_scope(flt).aggregate(
        events=Count("pk"),
        attended_total=Sum("attended"),
        returning_total=Sum("returning_attendees"),
        new_total=Sum("new_attendees"),
        avg_retention=Avg("series_retention_rate"),
        editions_with_retention=Count("pk", filter=Q(series_retention_rate__isnull=False)),
        coverage_weighted=Sum(_weighted("followup_coverage"), filter=Q(followup_coverage__isnull=False)),
        coverage_attended=Sum("attended", filter=Q(followup_coverage__isnull=False)),
        within_48h_weighted=Sum(_weighted("followed_up_within_48h_share"), filter=Q(followed_up_within_48h_share__isnull=False)),
        within_48h_attended=Sum("attended", filter=Q(followed_up_within_48h_share__isnull=False)),
        followups_sum=Sum("followups_total"),
        interactions_sum=Sum("interactions_total"),
        referrals_sum=Sum("referrals"),
        won_sum=Sum("won_value"),
        pipeline_sum=Sum("pipeline_value"),
        cost_sum=Sum("cost"),
        won_value_with_cost=Sum("won_value", filter=Q(cost__gt=0)),
        cost_counted=Sum("cost", filter=Q(cost__gt=0)),
        avg_lift=Avg("relationship_lift"),
    )
    # NPS of the whole period from the answers themselves, not a mean of per-event NPS.
    feedback = Feedback.objects.filter(event__in=events_in_scope(flt)).aggregate(
        answered=Count("pk", filter=Q(nps__isnull=False)),
        promoters=Count("pk", filter=Q(nps__gte=9)),
        detractors=Count("pk", filter=Q(nps__lte=6)),
        avg_satisfaction=Avg("satisfaction"),
    )
    attended = totals["attended_total"] or 0
    nps = None
    if feedback["answered"]:
        nps = (feedback["promoters"] - feedback["detractors"]) / feedback["answered"] * 100
    won_with_cost = totals["won_value_with_cost"] or Decimal(0)
    cost_counted = totals["cost_counted"]
    return {
        "events": totals["events"],
        "attended": attended,
        "new_attendees": totals["new_total"] or 0,
        "returning_attendees": totals["returning_total"] or 0,
        "returning_share": _ratio(totals["returning_total"], attended),
        "avg_retention_rate": totals["avg_retention"],
        "editions_with_retention": totals["editions_with_retention"],
        "followup_coverage": _ratio(totals["coverage_weighted"], totals["coverage_attended"]),
        "followed_up_within_48h_share": _ratio(totals["within_48h_weighted"], totals["within_48h_attended"]),
        "followups": totals["followups_sum"] or 0,
        "interactions": totals["interactions_sum"] or 0,
        "interactions_per_attendee": _ratio(totals["interactions_sum"], attended),
        "referrals": totals["referrals_sum"] or 0,
        "nps": nps,
        "feedback_count": feedback["answered"],
        "avg_satisfaction": feedback["avg_satisfaction"],
        "won_value": totals["won_sum"] or Decimal(0),
        "pipeline_value": totals["pipeline_sum"] or Decimal(0),
        "cost": totals["cost_sum"] or Decimal(0),
        # RoR over the events that had a cost: ((won − cost) / cost) × 100 (DOMAIN.md).
        "ror_percent": float((won_with_cost - cost_counted) / cost_counted * 100) if cost_counted else None,
        "avg_relationship_lift": totals["avg_lift"],
    }


def editions(flt: DashboardFilter) -> list[dict[str, Any]]:
    """One row per event in scope, oldest first: the series of the charts and the table."""
    rows = event_metrics_in_scope(flt).order_by("event__starts_at", "event_id").values(
        "event_id",
        "attended",
        "returning_share",
        "series_retention_rate",
        "nps",
        "feedback_count",
        "followup_coverage",
        "won_value",
        "pipeline_value",
        "cost",
        "ror_percent",
        "relationship_lift",
        name=F("event__name"),
        starts_at=F("event__starts_at"),
        series_name=F("event__series__name"),
        currency=F("event__currency"),
    )
    return list(rows)


def _population(flt: DashboardFilter) -> QuerySet[ContactScore]:
    """Current scores of contacts not erased; with a series, of those who attended it.

    Scores are the state as of the latest recompute, so the period does not narrow them.
    """
    scores = ContactScore.objects.filter(contact__erased_at__isnull=True)
    if flt.series_id is not None:
        attendees = Attendance.objects.filter(
            event__series_id=flt.series_id, status=AttendanceStatus.ATTENDED
        ).values("contact_id")
        scores = scores.filter(contact_id__in=attendees)
    return scores


def stage_distribution(flt: DashboardFilter) -> list[dict[str, Any]]:
    """Contacts per lifecycle stage (in lifecycle order) with mean score and churn-risk split."""
    grouped = _population(flt).values("stage", "churn_risk").annotate(contacts=Count("pk"), score_sum=Sum("score"))
    by_stage: dict[str, dict[str, Any]] = {
        stage: {"stage": stage, "label": label, "contacts": 0, "score_sum": 0.0, **{risk: 0 for risk in ChurnRisk.values}}
        for stage, label in LifecycleStage.choices
    }
    for row in grouped:
        entry = by_stage.get(row["stage"])
        if entry is None:
            continue
        entry["contacts"] += row["contacts"]
        entry["score_sum"] += row["score_sum"] or 0.0
        entry[row["churn_risk"]] = row["contacts"]
    result = []
    for entry in by_stage.values():
        score_sum = entry.pop("score_sum")
        entry["avg_score"] = score_sum / entry["contacts"] if entry["contacts"] else None
        result.append(entry)
    return result


def top_organizations(flt: DashboardFilter, limit: int = TOP_ORGANIZATIONS) -> list[dict[str, Any]]:
    """Organizations ranked by the mean relationship score of their scored contacts.

    Each row also carries `organizations`, how many organizations have scored contacts in
    all (a window count over the grouped rows, so still one query), for the chart to say
    what the limit leaves out.
    """
    population = _population(flt).values("contact_id")
    # filter() before annotate() on the same relation: the mean covers only those contacts.
    rows = (
        Organization.objects.filter(contacts__pk__in=population)
        .annotate(avg_score=Avg("contacts__score__score"), scored_contacts=Count("contacts", distinct=True))
        .annotate(organizations=Window(Count("pk")))
        .order_by("-avg_score", "-scored_contacts", "name")
        .values("pk", "name", "avg_score", "scored_contacts", "organizations")[:limit]
    )
    return list(rows)


def follow_up_activity(flt: DashboardFilter) -> dict[str, Any]:
    """Follow-up conversations done in the period (the seeds' KPI) and what they produced."""
    done = FollowUp.objects.filter(
        status=FollowUpStatus.DONE, completed_at__gte=flt.starts_at, completed_at__lt=flt.ends_before
    )
    if flt.series_id is not None:
        done = done.filter(event__series_id=flt.series_id)
    return done.aggregate(
        done=Count("pk"),
        positive=Count("pk", filter=Q(outcome=FollowUpOutcome.POSITIVE)),
        contacts=Count("contact", distinct=True),
        won=Count("pk", filter=Q(deal_status=DealStatus.WON)),
        won_value=Sum("deal_value", filter=Q(deal_status=DealStatus.WON)),
    )


def follow_up_deadlines_by_rep(flt: DashboardFilter) -> FollowUpPerformance:
    """Per rep: assigned attendees, followed up within the deadline, median hours to the first
    follow-up, missed; over the events that ended in the period (the deadline runs from the
    end), of the series when one is chosen. One query (contacts.deadlines)."""
    return follow_up_performance(
        date_from=flt.date_from, date_to=flt.date_to, series_id=flt.series_id, now=timezone.now()
    )


def series_choices() -> list[tuple[int, str]]:
    return list(EventSeries.objects.order_by("name").values_list("pk", "name"))


def build_dashboard(flt: DashboardFilter) -> Dashboard:
    """All blocks of the dashboard: 7 queries, however many events the period holds."""
    return Dashboard(
        filter=flt,
        summary=event_summary(flt),  # 2 queries: metrics aggregate, NPS answers
        editions=editions(flt),  # 1
        stages=stage_distribution(flt),  # 1
        top_organizations=top_organizations(flt),  # 1
        follow_ups=follow_up_activity(flt),  # 1
        follow_up_reps=follow_up_deadlines_by_rep(flt),  # 1
    )
