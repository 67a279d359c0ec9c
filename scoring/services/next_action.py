"""Keep-in-touch cadence and the next best action of every contact, computed with its score.

`apply_next_actions()` completes a chunk's ScoreResults as of the same T: it reads what the
rules need for the whole chunk in a fixed number of queries (the contacts' own fields, their
follow-ups, upcoming editions of the series they attended, agency touches for fatigue), then
decides per contact with plain arithmetic. Nothing here reads one contact at a time.

Cadence (days between touches): the contact's own if set; else the shortest of the cadences
of its organization and of its tags; else its lifecycle stage's. The clock runs from the last
touchpoint (any of DOMAIN.md's: attended event, interaction, done follow-up, feedback,
referral), or from when the contact was created if it has none: next_touch_due = that + the
cadence. A contact is *losing touch* once next_touch_due has passed.

Next best action: RULES below, the first that holds wins; they are ordered by the value of
acting (a guard first, then the actions most likely to pay). `decide()` is the whole logic.
"""

import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from contacts.choices import FollowUpOutcome, FollowUpStatus
from contacts.models import Contact, FollowUp
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event
from ror_crm.db import id_chunk_sql, sql_moment
from scoring.choices import CadenceSegment, CadenceSource, NextAction
from scoring.models import DEFAULT_STAGE_CADENCE_DAYS, ContactScore, KeepInTouchCadence
from scoring.services.contact_scores import SECONDS_PER_DAY, ScoreResult, moment

SCORE_FALL_POINTS = 1.0  # "score fell": at least this much below the score 90 days earlier


# Cadence ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cadences:
    """Every segment cadence, read once per chunk (a handful of rows)."""

    by_stage: dict[str, int]
    by_tag: dict[str, int]  # lower-cased tag
    by_organization: dict[int, int]

    @classmethod
    def load(cls) -> "Cadences":
        by_stage = {str(stage): days for stage, days in DEFAULT_STAGE_CADENCE_DAYS.items()}
        by_tag, by_organization = {}, {}
        for segment, stage, tag, organization_id, days in KeepInTouchCadence.objects.values_list(
            "segment", "stage", "tag", "organization_id", "days"
        ):
            if segment == CadenceSegment.STAGE:
                by_stage[stage] = days
            elif segment == CadenceSegment.TAG:
                by_tag[tag.lower()] = days
            else:
                by_organization[organization_id] = days
        return cls(by_stage, by_tag, by_organization)

    def resolve(
        self, *, own_days: int | None, organization_id: int | None, tags: Sequence[str], stage: str
    ) -> tuple[int, str]:
        """(days, source) of one contact."""
        if own_days:
            return own_days, CadenceSource.CONTACT
        segments = []
        if organization_id in self.by_organization:
            segments.append((self.by_organization[organization_id], CadenceSource.ORGANIZATION))
        segments += [(self.by_tag[tag.lower()], CadenceSource.TAG) for tag in tags if tag.lower() in self.by_tag]
        if segments:
            return min(segments, key=lambda segment: segment[0])
        return self.by_stage[stage], CadenceSource.STAGE  # every stage: the defaults, then the rows


def days_overdue(next_touch_due: datetime | None, now: datetime) -> int | None:
    """Whole days past the next touch due as of `now`; 0 while not yet due, None without one."""
    if next_touch_due is None:
        return None
    return max(0, math.floor((now - next_touch_due).total_seconds() / SECONDS_PER_DAY))


# The rules --------------------------------------------------------------------------------


@dataclass
class ActionFacts:
    """Everything the rules read about one contact, as of `as_of`."""

    as_of: datetime
    score: float
    score_90_days_ago: float | None
    events_attended: int
    last_touch_at: datetime | None
    next_touch_due: datetime | None
    cadence_days: int | None
    do_not_contact: bool = False
    erased: bool = False
    marketing_consent: bool = False
    fatigue: dict[str, Any] | None = None  # the window over its cap: {"days", "touches", "cap"}
    last_dialogue_at: datetime | None = None  # the latest done follow-up by as_of
    last_dialogue_outcome: str = ""
    overdue_follow_up_due_at: datetime | None = None  # the oldest planned follow-up past due
    next_edition: dict[str, Any] | None = None  # {"id", "name", "starts_at", "series", "attended"}

    @cached_property  # read by several rules and the figures
    def days_overdue(self) -> int | None:
        overdue = days_overdue(self.next_touch_due, self.as_of)
        return overdue or None

    @property
    def losing_touch(self) -> bool:
        return self.next_touch_due is not None and self.next_touch_due < self.as_of

    @property
    def score_fall(self) -> float | None:
        if self.score_90_days_ago is None:
            return None
        return round(self.score_90_days_ago - self.score, 1)


Figures = dict[str, Any]


def _do_nothing(facts: ActionFacts) -> Figures | None:
    if facts.erased:
        return {"erased": True}
    if facts.do_not_contact:
        return {"do_not_contact": True}
    return None


def _rest(facts: ActionFacts) -> Figures | None:
    return dict(facts.fatigue) if facts.fatigue else None


def _call_now(facts: ActionFacts) -> Figures | None:
    if facts.last_dialogue_outcome == FollowUpOutcome.POSITIVE and facts.overdue_follow_up_due_at is not None:
        return {"last_dialogue_at": facts.last_dialogue_at, "follow_up_due_at": facts.overdue_follow_up_due_at}
    return None


def _follow_up(facts: ActionFacts) -> Figures | None:
    if facts.overdue_follow_up_due_at is not None:
        return {"follow_up_due_at": facts.overdue_follow_up_due_at}
    return None


def _invite_possible(facts: ActionFacts) -> bool:
    """The invite rule's conditions but the upcoming edition."""
    return facts.events_attended >= 2 and facts.marketing_consent


def _invite(facts: ActionFacts) -> Figures | None:
    if _invite_possible(facts) and facts.next_edition is not None:
        return {"next_edition": facts.next_edition, "events_attended": facts.events_attended}
    return None


def _re_engage(facts: ActionFacts) -> Figures | None:
    fall = facts.score_fall
    if facts.losing_touch and fall is not None and fall >= SCORE_FALL_POINTS:
        return {"days_overdue": facts.days_overdue, "score_fell_by": fall, "score_90_days_ago": facts.score_90_days_ago}
    return None


def _nurture(facts: ActionFacts) -> Figures | None:
    if facts.events_attended == 1 and facts.last_dialogue_at is None:
        return {"events_attended": 1}
    return None


def _check_in(facts: ActionFacts) -> Figures | None:
    return {"days_overdue": facts.days_overdue} if facts.losing_touch else None


def _wait(facts: ActionFacts) -> Figures | None:
    return {"next_touch_due": facts.next_touch_due}


@dataclass(frozen=True)
class Rule:
    """One row of the rules table staff read (admin "Next best action rules", docs/scoring.md)."""

    action: NextAction
    when: str  # the condition, in words
    why: str  # why it comes at this place of the order
    test: Callable[[ActionFacts], Figures | None] = field(repr=False)


RULES: tuple[Rule, ...] = (
    Rule(NextAction.DO_NOTHING, gettext_lazy("The contact asked not to be contacted, or was erased."),
         gettext_lazy("A guard: no action and no suggestion, ever."), _do_nothing),
    Rule(NextAction.REST, gettext_lazy(
        "The agency's own touches (follow-ups, invitations, staff interactions) reached the contact fatigue "
        "cap of a window."), gettext_lazy("A guard: more contact now is felt as intrusive."), _rest),
    Rule(NextAction.CALL_NOW, gettext_lazy(
        "The last follow-up conversation was positive and a planned follow-up is overdue."),
         gettext_lazy("A warm lead waiting: the most likely to turn into business."), _call_now),
    Rule(NextAction.FOLLOW_UP, gettext_lazy(
        "A planned follow-up is overdue (the last follow-up conversation was not positive, or there was none)."),
         gettext_lazy("A touch promised and not kept yet: it comes before anything new."), _follow_up),
    Rule(NextAction.INVITE, gettext_lazy(
        "Attended two or more events, a later edition of a series they attended is planned, they are not on "
        "its list yet, and they gave marketing consent."),
         gettext_lazy("Returning attendees come back most often; an invitation is cheap."), _invite),
    Rule(NextAction.RE_ENGAGE, gettext_lazy(
        "Past their keep-in-touch cadence and the score fell by at least 1 point against 90 days earlier."),
         gettext_lazy("A relationship slipping away: worth saving before it is lost."), _re_engage),
    Rule(NextAction.NURTURE, gettext_lazy("One event attended and no follow-up conversation yet."),
         gettext_lazy("A new relationship: the second touch decides whether it grows."), _nurture),
    Rule(NextAction.CHECK_IN, gettext_lazy("Past their keep-in-touch cadence."),
         gettext_lazy("Keeps a steady relationship warm."), _check_in),
    Rule(NextAction.WAIT, gettext_lazy("None of the above: the next touch is not due yet."),
         gettext_lazy("Nothing to do before the next touch is due."), _wait),
)
RULE_ORDER = {rule.action.value: rank for rank, rule in enumerate(RULES)}
# What the worklist's "Next best actions" view lists: the actions someone should take.
ACTIONABLE = (NextAction.CALL_NOW, NextAction.FOLLOW_UP, NextAction.INVITE, NextAction.RE_ENGAGE, NextAction.NURTURE,
              NextAction.CHECK_IN)
# Actions a planned follow-up not yet due answers: the worklist leaves such contacts out and the
# contact page says the action is in hand (the stored action stays what the rules say).
ANSWERED_BY_A_PLAN = (NextAction.RE_ENGAGE, NextAction.NURTURE, NextAction.CHECK_IN)


def decide(facts: ActionFacts) -> tuple[str, Figures]:
    """The first rule that holds, and the figures it used."""
    for rule in RULES:
        figures = rule.test(facts)
        if figures is not None:
            return rule.action.value, figures
    raise AssertionError("the last rule always holds")  # pragma: no cover


# The reason of each action, with the figures it names. Stored in English (as the API speaks),
# translated where a page shows it.
REASONS = {
    NextAction.DO_NOTHING: gettext_noop("Asked not to be contacted."),
    NextAction.REST: gettext_noop("%(touches)s agency touches in the last %(days)s days (cap %(cap)s): give them a rest."),
    NextAction.CALL_NOW: gettext_noop("Positive conversation on %(talked)s; the follow-up due %(due)s is overdue."),
    NextAction.FOLLOW_UP: gettext_noop("The follow-up due %(due)s is overdue."),
    NextAction.INVITE: gettext_noop(
        "Attended %(count)s events; %(event)s on %(day)s is planned and they are not registered."),
    NextAction.RE_ENGAGE: gettext_noop("%(days)s days past their cadence; the score fell by %(fall)s points in 90 days."),
    NextAction.NURTURE: gettext_noop("One event attended and no follow-up conversation yet."),
    NextAction.CHECK_IN: gettext_noop("%(days)s days past their keep-in-touch cadence."),
    NextAction.WAIT: gettext_noop("Nothing due; next touch due %(day)s."),
}
# One day past: the same reasons in the singular.
ONE_DAY_REASONS = {
    NextAction.RE_ENGAGE: gettext_noop("1 day past their cadence; the score fell by %(fall)s points in 90 days."),
    NextAction.CHECK_IN: gettext_noop("1 day past their keep-in-touch cadence."),
}
ERASED_REASON = gettext_noop("Erased: no more contact.")


@lru_cache(maxsize=4096)
def _day(value: str | datetime | None, language: str | None) -> str:
    """A stored moment (ISO text) as the short date of the site's time zone; English writes
    ISO dates (ror_crm/formats/en), so storing needs no formatting machinery."""
    if not value:
        return "–"
    moment = timezone.localtime(value if isinstance(value, datetime) else datetime.fromisoformat(value))
    return moment.date().isoformat() if language is None else formats.date_format(moment, "SHORT_DATE_FORMAT")


def reason_text(action: str, figures: Figures, *, translate: bool = True) -> str:
    """The reason of an action from its stored figures: in the active language, or (translate=
    False) in English as stored. A figure missing from an older row reads "–"."""
    figures = defaultdict(lambda: "–", figures)
    if action == NextAction.DO_NOTHING and figures.get("erased"):
        template = ERASED_REASON
    else:
        template = REASONS.get(action, "")
    language = translation.get_language() if translate else None
    if action == NextAction.CALL_NOW:
        values = {"talked": _day(figures.get("last_dialogue_at"), language),
                  "due": _day(figures.get("follow_up_due_at"), language)}
    elif action == NextAction.FOLLOW_UP:
        values = {"due": _day(figures.get("follow_up_due_at"), language)}
    elif action == NextAction.INVITE:
        edition = figures.get("next_edition") or {}
        values = {"count": figures["events_attended"], "event": edition.get("name", ""),
                  "day": _day(edition.get("starts_at"), language)}
    elif action == NextAction.RE_ENGAGE:
        fall = figures.get("score_fell_by") or 0
        values = {"days": figures["days_overdue"] or 0,
                  "fall": formats.number_format(fall, 1) if translate else f"{fall:.1f}"}
    elif action == NextAction.CHECK_IN:
        values = {"days": figures["days_overdue"] or 0}  # past due by less than a day: 0
    elif action == NextAction.WAIT:
        values = {"day": _day(figures.get("next_touch_due"), language)}
    else:
        values = figures
    if action in ONE_DAY_REASONS and values.get("days") == 1:
        template = ONE_DAY_REASONS[action]
    return (_(template) if translate else template) % values if template else ""


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return _json_ready(value)
    return value


def _json_ready(figures: Figures) -> Figures:
    """Moments as ISO text: the figures are stored as JSON."""
    return {key: _json_value(value) for key, value in figures.items()}


@lru_cache(maxsize=64)
def _days(count: int) -> timedelta:
    return timedelta(days=count)


# Reading a chunk's facts ------------------------------------------------------------------


CONTACTS_SQL = """
SELECT c.id, {tags}, c.organization_id, c.cadence_days, c.created_at, c.do_not_contact, c.erased_at IS NOT NULL,
       c.marketing_consent,
       (SELECT MIN(f.due_at) FROM contacts_followup f
        WHERE f.contact_id = c.id AND f.status = %(planned)s AND f.due_at < %(as_of)s)
FROM contacts_contact c
WHERE {in_chunk}
"""


def _contact_rows(contact_ids: Sequence[int], as_of: datetime, *, with_tags: bool = True) -> dict[int, dict[str, Any]]:
    """The contacts' own fields and their oldest overdue planned follow-up as of T (one query,
    the follow-up from the planned follow-ups' partial index), and for those with one the outcome
    of their latest done follow-up (a second query, only then)."""
    values, in_chunk = id_chunk_sql(contact_ids)
    values |= {"planned": FollowUpStatus.PLANNED.value, "as_of": sql_moment(as_of)}
    with connection.cursor() as cursor:
        # Tags only when a cadence is set per tag: parsing them is most of this function's time.
        cursor.execute(CONTACTS_SQL.format(in_chunk=in_chunk("c.id"), tags="c.tags" if with_tags else "NULL"), values)
        rows = {
            contact_id: {
                "tags": tags if isinstance(tags, list) else json.loads(tags) if tags and tags != "[]" else [],
                "organization_id": organization_id, "cadence_days": cadence_days, "created_at": moment(created_at),
                "do_not_contact": bool(do_not_contact), "erased": bool(erased), "marketing_consent": bool(consent),
                "overdue_due_at": moment(overdue_due_at), "last_dialogue_outcome": "",
            }
            for contact_id, tags, organization_id, cadence_days, created_at, do_not_contact, erased, consent,
            overdue_due_at in cursor.fetchall()
        }
    waiting = [contact_id for contact_id, row in rows.items() if row["overdue_due_at"] is not None]
    if waiting:
        latest_done = FollowUp.objects.filter(
            contact=OuterRef("pk"), status=FollowUpStatus.DONE, completed_at__lte=as_of
        ).order_by("-completed_at", "-id")
        outcomes = Contact.objects.filter(pk__any_of=waiting).order_by().annotate(
            outcome=Subquery(latest_done.values("outcome")[:1])).values_list("pk", "outcome")
        for contact_id, outcome in outcomes:
            rows[contact_id]["last_dialogue_outcome"] = outcome or ""
    return rows


def _next_editions(contact_ids: list[int], as_of: datetime) -> dict[int, dict[str, Any]]:
    """Per contact, the next planned edition (not started by T) of a series they attended, that
    they are not on the list of: at most three queries, none when no edition is planned."""
    upcoming: dict[int, dict[str, Any]] = {}
    for event_id, series_id, name, starts_at, series in (
        Event.objects.filter(series__isnull=False, status__in=[EventStatus.PLANNED, EventStatus.LIVE], starts_at__gt=as_of)
        .order_by("starts_at", "pk").values_list("pk", "series_id", "name", "starts_at", "series__name")
    ):
        # the earliest of each series
        upcoming.setdefault(series_id, {"id": event_id, "name": name, "starts_at": starts_at, "series": series})
    if not upcoming or not contact_ids:
        return {}
    attended = defaultdict(set)
    for contact_id, series_id in (
        Attendance.objects.filter(contact_id__any_of=contact_ids, status=AttendanceStatus.ATTENDED,
                                  event__series_id__in=list(upcoming), event__ends_at__lte=as_of)
        .order_by().values_list("contact_id", "event__series_id").distinct()
    ):
        attended[contact_id].add(series_id)
    on_list = set(
        Attendance.objects.filter(contact_id__any_of=list(attended), event_id__in=[event["id"] for event in upcoming.values()])
        .order_by().values_list("contact_id", "event_id")
    ) if attended else set()
    editions = {}
    for contact_id, series_ids in attended.items():
        candidates = [upcoming[series_id] for series_id in series_ids
                      if (contact_id, upcoming[series_id]["id"]) not in on_list]
        if candidates:
            editions[contact_id] = min(candidates, key=lambda event: (event["starts_at"], event["id"]))
    return editions


def invited_to(event_ids: Sequence[int]) -> set[int]:
    """The contacts whose stored next action is an invitation to one of these events: an edition
    that started, ended, changed or went away is no longer what it invites to. One query."""
    if not event_ids:
        return set()
    return set(ContactScore.objects.filter(
        next_action=NextAction.INVITE, next_action_figures__next_edition__id__in=list(event_ids),
    ).values_list("contact_id", flat=True))


def fatigue_figures(contact_ids: Sequence[int], as_of: datetime) -> dict[int, dict[str, Any]]:
    """Per fatigued contact, the first window at or over its cap (contacts.fatigue): the figures
    of its *rest* action."""
    from contacts import fatigue

    over = {}
    for contact_id, counts in fatigue.agency_touch_counts(contact_ids, as_of).items():
        if window := fatigue.first_window_at_cap(counts):
            over[contact_id] = dict(zip(("days", "touches", "cap"), window, strict=True))
    return over


def apply_next_actions(results: list[ScoreResult], contact_ids: Sequence[int], as_of: datetime) -> None:
    """Fill in the cadence, next touch due and next best action of a chunk's results (in place),
    as of the results' T. `contact_ids` is the chunk as it was read (a range or a list)."""
    if not results:
        return
    cadences = Cadences.load()
    contacts = _contact_rows(contact_ids, as_of, with_tags=bool(cadences.by_tag))
    fatigued = fatigue_figures(contact_ids, as_of)
    decided = []
    for result in results:
        contact = contacts.get(result.contact_id)
        if contact is None:
            continue
        days, source = cadences.resolve(
            own_days=contact["cadence_days"], organization_id=contact["organization_id"],
            tags=contact["tags"] if isinstance(contact["tags"], list) else [], stage=result.stage,
        )
        out_of_reach = contact["do_not_contact"] or contact["erased"]
        clock_from = result.last_touch_at or contact["created_at"]
        next_touch_due = None if out_of_reach else clock_from + _days(days)
        facts = ActionFacts(
            as_of=as_of, score=result.score, score_90_days_ago=result.score_90_days_ago,
            events_attended=result.events_attended, last_touch_at=result.last_touch_at,
            next_touch_due=next_touch_due, cadence_days=days,
            do_not_contact=contact["do_not_contact"], erased=contact["erased"],
            marketing_consent=contact["marketing_consent"], fatigue=fatigued.get(result.contact_id),
            last_dialogue_at=result.last_dialogue_at, last_dialogue_outcome=contact["last_dialogue_outcome"],
            overdue_follow_up_due_at=contact["overdue_due_at"],
        )
        result.cadence_days, result.cadence_source = days, source.value
        result.next_touch_due = next_touch_due
        decided.append((result, facts, decide(facts)))
    # The invite rule reads the upcoming editions: looked up only for the contacts it could change.
    could_invite = [
        result.contact_id for result, facts, (action, _) in decided
        if RULE_ORDER[action] > RULE_ORDER[NextAction.INVITE] and _invite_possible(facts)
    ]
    editions = _next_editions(could_invite, as_of)
    for result, facts, (action, figures) in decided:
        if result.contact_id in editions:
            facts.next_edition = editions[result.contact_id]
            action, figures = decide(facts)
        figures = _json_ready({"cadence_days": facts.cadence_days, "days_overdue": facts.days_overdue, **figures})
        result.next_action, result.next_action_figures = action, figures
        result.next_action_reason = reason_text(action, figures, translate=False)[:300]
