"""The sales worklist ("my follow-ups"): what one user, or the whole team, should do next.

Read-side only. `owner` is a user (their worklist) or TEAM (every owner's, with unowned
follow-ups too: what a sales manager reviews). Three groups, each one query:
- overdue: their planned follow-ups whose due time has passed;
- due this week: their planned follow-ups due from now to the end of the calendar week
  (Sunday night, site time zone);
- at risk: contacts they own whose relationship is slipping (stage "at_risk", or churn risk
  high or medium) and for whom nobody has planned a follow-up yet.
Erased contacts never appear; do-not-contact contacts are not suggested as at risk
(DOMAIN.md: too much contact is felt as intrusive).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from scoring.choices import ChurnRisk, LifecycleStage

AT_RISK_LIMIT = 50  # the riskiest first; the page says how many more there are
TEAM = "team"  # the owner scope of the team worklist: every owner's follow-ups


@dataclass
class OwnerLoad:
    """One row of the team table: how much one owner has to do (owner None: nobody's)."""

    owner: object | None
    overdue: int = 0
    due_this_week: int = 0
    at_risk: int = 0


@dataclass
class Worklist:
    overdue: list[FollowUp]
    due_this_week: list[FollowUp]
    at_risk: list[Contact]
    at_risk_total: int
    now: datetime
    week_ends_at: datetime
    team: list[OwnerLoad] = field(default_factory=list)  # the team worklist's table of owners

    @property
    def last_day_of_week(self) -> date:
        return timezone.localtime(self.week_ends_at - timedelta(days=1)).date()


def end_of_week(now: datetime) -> datetime:
    """Monday 00:00 of next week in the site's time zone: the end of "this week"."""
    today = timezone.localtime(now).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    return timezone.make_aware(datetime.combine(next_monday, time.min))


def _owned_by(owner, field_name: str = "owner") -> Q:
    return Q() if owner == TEAM else Q(**{field_name: owner})


def planned_follow_ups(owner) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(_owned_by(owner), status=FollowUpStatus.PLANNED, contact__erased_at__isnull=True)
        .select_related("contact", "contact__organization", "contact__score", "event", "owner")
        .order_by("due_at", "pk")
    )


def overdue_follow_ups(owner, *, now: datetime) -> QuerySet[FollowUp]:
    return planned_follow_ups(owner).filter(due_at__lt=now)


def follow_ups_due_this_week(owner, *, now: datetime) -> QuerySet[FollowUp]:
    return planned_follow_ups(owner).filter(due_at__gte=now, due_at__lt=end_of_week(now))


def _at_risk(owner) -> QuerySet[Contact]:
    has_planned_follow_up = FollowUp.objects.filter(contact=OuterRef("pk"), status=FollowUpStatus.PLANNED)
    return (
        Contact.objects.not_erased()
        .filter(_owned_by(owner), do_not_contact=False)
        .filter(Q(score__stage=LifecycleStage.AT_RISK) | Q(score__churn_risk__in=[ChurnRisk.HIGH, ChurnRisk.MEDIUM]))
        .filter(~Exists(has_planned_follow_up))
    )


def at_risk_contacts(owner) -> QuerySet[Contact]:
    """Owned contacts slipping away with no planned follow-up, the highest churn risk first."""
    return (
        _at_risk(owner)
        .select_related("organization", "score", "owner")
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


def team_load(*, now: datetime) -> list[OwnerLoad]:
    """Per owner: overdue, due this week, at risk without a plan; the busiest first. Two queries."""
    week_ends_at = end_of_week(now)
    loads: dict[int | None, OwnerLoad] = {}
    follow_ups = (
        FollowUp.objects.filter(status=FollowUpStatus.PLANNED, contact__erased_at__isnull=True)
        .values("owner")
        .annotate(overdue=Count("pk", filter=Q(due_at__lt=now)),
                  due=Count("pk", filter=Q(due_at__gte=now, due_at__lt=week_ends_at)))
    )
    for row in follow_ups:
        load = loads.setdefault(row["owner"], OwnerLoad(owner=row["owner"]))
        load.overdue, load.due_this_week = row["overdue"], row["due"]
    for row in _at_risk(TEAM).order_by().values("owner").annotate(count=Count("pk")):
        loads.setdefault(row["owner"], OwnerLoad(owner=row["owner"])).at_risk = row["count"]
    users = get_user_model().objects.in_bulk([owner for owner in loads if owner is not None])
    rows = [load for load in loads.values() if load.overdue or load.due_this_week or load.at_risk]
    for load in rows:
        load.owner = users.get(load.owner)
    return sorted(rows, key=lambda load: (-load.overdue, -load.due_this_week, -load.at_risk, str(load.owner or "")))


def worklist_for(owner, *, now: datetime | None = None) -> Worklist:
    """The three groups of one user's worklist (owner=TEAM: everyone's, with the table of
    owners): 3 queries, a 4th counts a long at-risk list, 3 more for the team table."""
    now = now or timezone.now()
    at_risk = at_risk_contacts(owner)
    at_risk_page = list(at_risk[:AT_RISK_LIMIT])
    total = len(at_risk_page) if len(at_risk_page) < AT_RISK_LIMIT else at_risk.count()
    overdue = list(overdue_follow_ups(owner, now=now))
    for follow_up in overdue:
        follow_up.days_overdue = (now - follow_up.due_at).days
    return Worklist(
        overdue=overdue,
        due_this_week=list(follow_ups_due_this_week(owner, now=now)),
        at_risk=at_risk_page,
        at_risk_total=total,
        now=now,
        week_ends_at=end_of_week(now),
        team=team_load(now=now) if owner == TEAM else [],
    )


def worklist_owners() -> QuerySet:
    """The people a manager can open the worklist of: active staff who own contacts or follow-ups."""
    owns = Q(Exists(Contact.objects.filter(owner=OuterRef("pk")))) | Q(
        Exists(FollowUp.objects.filter(owner=OuterRef("pk"), status=FollowUpStatus.PLANNED)))
    return get_user_model().objects.filter(owns, is_active=True, is_staff=True).order_by("first_name", "last_name", "username")
