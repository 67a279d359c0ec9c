"""The sales worklist: what one user, or the whole team, should do next.

Read-side only. `owner` is a user (their worklist) or TEAM (every owner's, with unowned
contacts and follow-ups too: what a sales manager reviews). Four views (VIEWS), each a
fixed number of queries:
- Next best actions (the default): owned contacts whose stored next best action is one to
  take (scoring.services.next_action.ACTIONABLE), in the rules' order, the highest score first;
- My follow-ups, below;
- Losing touch: owned contacts past their keep-in-touch cadence now, the highest score first;
- Missed deadline: attendees not followed up within their event's deadline (contacts.deadlines).

My follow-ups has three groups, each one query:
- overdue: their planned follow-ups whose due time has passed;
- due soon: their planned follow-ups due in the next DUE_SOON_DAYS days (a rolling week: on a
  Saturday, the next Wednesday's is there too), then those planned without a due time;
- at risk: contacts they own whose relationship is slipping (stage "at_risk", or churn risk
  high or medium) and for whom nobody has planned a follow-up yet.
Erased contacts never appear; do-not-contact contacts are not suggested as at risk
(DOMAIN.md: too much contact is felt as intrusive).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from scoring.choices import ChurnRisk, LifecycleStage

DUE_SOON_DAYS = 7  # "due soon": a rolling week, whatever the day
AT_RISK_LIMIT = 50  # the riskiest first; the page says how many more there are
LIST_LIMIT = 50  # rows a contact list of the worklist shows; the page says how many more there are
TEAM = "team"  # the owner scope of the team worklist: every owner's follow-ups
ACTIONS, FOLLOW_UPS, LOSING_TOUCH, MISSED = "actions", "follow_ups", "losing_touch", "missed"
VIEWS = (ACTIONS, FOLLOW_UPS, LOSING_TOUCH, MISSED)


@dataclass
class OwnerLoad:
    """One row of the team table: how much one owner has to do (owner None: nobody's)."""

    owner: object | None
    overdue: int = 0
    due_soon: int = 0
    at_risk: int = 0


@dataclass(frozen=True)
class ListPage:
    """Which rows of a worklist list a page shows: `first`–`last` (1-based) of `total`."""

    number: int = 1
    first: int = 0
    last: int = 0
    total: int = 0
    size: int = LIST_LIMIT

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.last < self.total

    @property
    def is_partial(self) -> bool:
        return self.total > self.last - self.first + 1 if self.total else False


@dataclass
class Worklist:
    now: datetime
    view: str = ACTIONS
    overdue: list[FollowUp] = field(default_factory=list)
    due_soon: list[FollowUp] = field(default_factory=list)
    at_risk: list[Contact] = field(default_factory=list)
    at_risk_page: ListPage = field(default_factory=ListPage)
    team: list[OwnerLoad] = field(default_factory=list)  # the team worklist's table of owners
    contacts: list[Contact] = field(default_factory=list)  # next best actions, or losing touch
    contacts_page: ListPage = field(default_factory=ListPage)
    missed: list = field(default_factory=list)  # attendances past their follow-up deadline
    missed_page: ListPage = field(default_factory=ListPage)


def due_soon_until(now: datetime) -> datetime:
    """The end of "due soon": DUE_SOON_DAYS from now."""
    return now + timedelta(days=DUE_SOON_DAYS)


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


def _due_soon(now: datetime) -> Q:
    """Due in the rolling week, or planned without a due time (a partner may send one): listed
    last, so that no planned follow-up is nowhere on the worklist."""
    return Q(due_at__gte=now, due_at__lt=due_soon_until(now)) | Q(due_at__isnull=True)


def follow_ups_due_soon(owner, *, now: datetime) -> QuerySet[FollowUp]:
    return planned_follow_ups(owner).filter(_due_soon(now)).order_by(F("due_at").asc(nulls_last=True), "pk")


def _at_risk(owner) -> QuerySet[Contact]:
    has_planned_follow_up = FollowUp.objects.filter(contact=OuterRef("pk"), status=FollowUpStatus.PLANNED)
    return (
        Contact.objects.reachable()
        .filter(_owned_by(owner))
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
    """Per owner: overdue, due soon, at risk without a plan; the busiest first. Two queries."""
    loads: dict[int | None, OwnerLoad] = {}
    follow_ups = (
        FollowUp.objects.filter(status=FollowUpStatus.PLANNED, contact__erased_at__isnull=True)
        .values("owner")
        .annotate(overdue=Count("pk", filter=Q(due_at__lt=now)),
                  due=Count("pk", filter=_due_soon(now)))
    )
    for row in follow_ups:
        load = loads.setdefault(row["owner"], OwnerLoad(owner=row["owner"]))
        load.overdue, load.due_soon = row["overdue"], row["due"]
    for row in _at_risk(TEAM).order_by().values("owner").annotate(count=Count("pk")):
        loads.setdefault(row["owner"], OwnerLoad(owner=row["owner"])).at_risk = row["count"]
    users = get_user_model().objects.in_bulk([owner for owner in loads if owner is not None])
    rows = [load for load in loads.values() if load.overdue or load.due_soon or load.at_risk]
    for load in rows:
        load.owner = users.get(load.owner)
    return sorted(rows, key=lambda load: (-load.overdue, -load.due_soon, -load.at_risk, str(load.owner or "")))


def _owned_contacts(owner) -> QuerySet[Contact]:
    return Contact.objects.reachable().filter(_owned_by(owner)).select_related(
        "organization", "score", "owner")


def next_action_contacts(owner, *, now: datetime) -> QuerySet[Contact]:
    """Owned contacts with an action to take: in the rules' order (their expected value), the
    highest score first; but not those whose action a planned follow-up not yet due answers."""
    from scoring.services.next_action import ACTIONABLE, ANSWERED_BY_A_PLAN, RULE_ORDER

    rank = Case(*(When(score__next_action=action, then=Value(RULE_ORDER[action])) for action in ACTIONABLE),
                default=Value(len(RULE_ORDER)), output_field=IntegerField())
    planned_ahead = FollowUp.objects.filter(Q(due_at__gte=now) | Q(due_at__isnull=True), contact=OuterRef("pk"),
                                            status=FollowUpStatus.PLANNED)
    return (
        _owned_contacts(owner).filter(score__next_action__in=ACTIONABLE)
        .exclude(Q(score__next_action__in=ANSWERED_BY_A_PLAN) & Q(Exists(planned_ahead)))
        .annotate(action_rank=rank).order_by("action_rank", "-score__score", "pk")
    )


def name_overdue_follow_ups(contacts: list[Contact], *, now: datetime) -> None:
    """Each contact's oldest overdue planned follow-up (`overdue_follow_up`, its `owner_id`), the
    one "call now" and "follow up" name: logging the conversation completes it. One query."""
    overdue = (FollowUp.objects.filter(contact__in=contacts, status=FollowUpStatus.PLANNED, due_at__lt=now)
               .order_by("contact_id", "due_at", "pk").values_list("contact_id", "pk", "owner_id"))
    oldest = {}
    for contact_id, pk, owner_id in overdue:
        oldest.setdefault(contact_id, (pk, owner_id))
    for contact in contacts:
        contact.overdue_follow_up, contact.overdue_follow_up_owner = oldest.get(contact.pk, (None, None))


def losing_touch_contacts(owner, *, now: datetime) -> QuerySet[Contact]:
    """Owned contacts past their keep-in-touch cadence now, the most valuable first."""
    return _owned_contacts(owner).filter(score__next_touch_due__lt=now).order_by("-score__score", "score__next_touch_due", "pk")


def _page(queryset: QuerySet, number: int = 1, limit: int = LIST_LIMIT) -> tuple[list, ListPage]:
    """Page `number` of `limit` rows, and where it lies in the list (a count query only when
    the page does not show the list's end)."""
    offset = (max(number, 1) - 1) * limit
    rows = list(queryset[offset:offset + limit])
    total = offset + len(rows) if 0 < len(rows) < limit or (offset == 0 and not rows) else queryset.count()
    return rows, ListPage(number=max(number, 1), first=offset + 1 if rows else 0, last=offset + len(rows), total=total,
                          size=limit)


def worklist_for(owner, *, now: datetime | None = None, view: str = ACTIONS, page: int = 1) -> Worklist:
    """One view of a user's worklist (owner=TEAM: everyone's), its long list (at-risk contacts,
    next best actions, losing touch, missed deadlines) at `page`. My follow-ups: 3 queries, a 4th
    counts a long at-risk list, 3 more for the team table; the other views 1 to 3 queries."""
    from scoring.services.next_action import days_overdue, reason_text

    now = now or timezone.now()
    worklist = Worklist(now=now, view=view)
    if view == FOLLOW_UPS:
        worklist.at_risk, worklist.at_risk_page = _page(at_risk_contacts(owner), page, AT_RISK_LIMIT)
        worklist.overdue = list(overdue_follow_ups(owner, now=now))
        today = timezone.localdate(now)
        for follow_up in worklist.overdue:  # calendar days, as the due dates are read: all of one day alike
            follow_up.days_overdue = (today - timezone.localdate(follow_up.due_at)).days
        worklist.due_soon = list(follow_ups_due_soon(owner, now=now))
        worklist.team = team_load(now=now) if owner == TEAM else []
    elif view in (ACTIONS, LOSING_TOUCH):
        contacts = next_action_contacts(owner, now=now) if view == ACTIONS else losing_touch_contacts(owner, now=now)
        worklist.contacts, worklist.contacts_page = _page(contacts, page)
        name_overdue_follow_ups(worklist.contacts, now=now)
        for contact in worklist.contacts:
            contact.days_overdue = days_overdue(contact.score.next_touch_due, now)
            contact.next_action_reason = reason_text(contact.score.next_action, contact.score.next_action_figures or {})
    elif view == MISSED:
        from contacts.deadlines import missed_deadline_queue

        worklist.missed, worklist.missed_page = _page(
            missed_deadline_queue(owner=None if owner == TEAM else owner, now=now), page)
    return worklist


def _owns_work() -> Q:
    """Users who own contacts or planned follow-ups."""
    return Q(Exists(Contact.objects.filter(owner=OuterRef("pk")))) | Q(
        Exists(FollowUp.objects.filter(owner=OuterRef("pk"), status=FollowUpStatus.PLANNED)))


def worklist_owners() -> QuerySet:
    """The people a manager can open the worklist of: active staff who own contacts or follow-ups."""
    return get_user_model().objects.filter(_owns_work(), is_active=True, is_staff=True).order_by(
        "first_name", "last_name", "username")


def owns_work(user) -> bool:
    """Whether `user` owns any contact or planned follow-up (one query)."""
    return get_user_model().objects.filter(_owns_work(), pk=user.pk).exists()
