"""The sales worklist ("my follow-ups"): what one user should do next, read-side only.

Three groups, each one query:
- overdue: their planned follow-ups whose due time has passed;
- due this week: their planned follow-ups due from now to the end of the calendar week
  (Sunday night, site time zone);
- at risk: contacts they own whose relationship is slipping (stage "at_risk", or churn risk
  high or medium) and for whom nobody has planned a follow-up yet.
Erased contacts never appear; do-not-contact contacts are not suggested as at risk
(DOMAIN.md: too much contact is felt as intrusive).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from scoring.choices import ChurnRisk, LifecycleStage

AT_RISK_LIMIT = 50  # the riskiest first; the page says how many more there are


@dataclass
class Worklist:
    overdue: list[FollowUp]
    due_this_week: list[FollowUp]
    at_risk: list[Contact]
    at_risk_total: int
    now: datetime
    week_ends_at: datetime

    @property
    def last_day_of_week(self) -> date:
        return timezone.localtime(self.week_ends_at - timedelta(days=1)).date()


def end_of_week(now: datetime) -> datetime:
    """Monday 00:00 of next week in the site's time zone: the end of "this week"."""
    today = timezone.localtime(now).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    return timezone.make_aware(datetime.combine(next_monday, time.min))


def planned_follow_ups(user) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(owner=user, status=FollowUpStatus.PLANNED, contact__erased_at__isnull=True)
        .select_related("contact", "contact__organization", "contact__score", "event")
        .order_by("due_at", "pk")
    )


def overdue_follow_ups(user, *, now: datetime) -> QuerySet[FollowUp]:
    return planned_follow_ups(user).filter(due_at__lt=now)


def follow_ups_due_this_week(user, *, now: datetime) -> QuerySet[FollowUp]:
    return planned_follow_ups(user).filter(due_at__gte=now, due_at__lt=end_of_week(now))


def at_risk_contacts(user) -> QuerySet[Contact]:
    """Owned contacts slipping away with no planned follow-up, the highest churn risk first."""
    has_planned_follow_up = FollowUp.objects.filter(contact=OuterRef("pk"), status=FollowUpStatus.PLANNED)
    return (
        Contact.objects.not_erased()
        .filter(owner=user, do_not_contact=False)
        .filter(Q(score__stage=LifecycleStage.AT_RISK) | Q(score__churn_risk__in=[ChurnRisk.HIGH, ChurnRisk.MEDIUM]))
        .filter(~Exists(has_planned_follow_up))
        .select_related("organization", "score")
        .annotate(
            risk_rank=Case(
                When(score__churn_risk=ChurnRisk.HIGH, then=Value(0)),
                When(score__churn_risk=ChurnRisk.MEDIUM, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("risk_rank", "score__score", "pk")
    )


def worklist_for(user, *, now: datetime | None = None) -> Worklist:
    """The three groups of one user's worklist: 3 queries, a 4th counts a long at-risk list."""
    now = now or timezone.now()
    at_risk = at_risk_contacts(user)
    at_risk_page = list(at_risk[:AT_RISK_LIMIT])
    total = len(at_risk_page) if len(at_risk_page) < AT_RISK_LIMIT else at_risk.count()
    overdue = list(overdue_follow_ups(user, now=now))
    for follow_up in overdue:
        follow_up.days_overdue = (now - follow_up.due_at).days
    return Worklist(
        overdue=overdue,
        due_this_week=list(follow_ups_due_this_week(user, now=now)),
        at_risk=at_risk_page,
        at_risk_total=total,
        now=now,
        week_ends_at=end_of_week(now),
    )
