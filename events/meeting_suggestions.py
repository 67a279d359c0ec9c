"""Meeting suggestions at an event: which attendees should meet, and why (docs/meeting-suggestions.md).

The people: attendances `registered` or `attended` of a planned or live event. Invited and
waitlisted people are not (yet) coming, no-shows and cancellations are not coming; contacts
marked do-not-contact and erased contacts never appear. A completed or cancelled event gets
no suggestions (EventClosed, code `event_closed`).

A pair's value adds up its reasons (WEIGHTS):
- `followup_pending` (3): one side's owner has a planned follow-up with the other side;
- `same_industry` (2): their organizations have the same industry (trimmed, case-insensitive,
  not empty);
- `shared_tags` (1 per shared tag): tags both carry (trimmed, case-insensitive);
- `both_high_score` (1): both have a relationship score of HIGH_SCORE or more. Not a reason to
  meet on its own: a pair needs one of the three reasons above, this one only adds to it.
Colleagues (the same organization) are never paired: they meet at the office. Pairs who already
met (an interaction between them, either side, at any event) are left out, unless a follow-up
between them is pending.

At most N suggestions per attendee (`per_attendee`, default the MEETING_SUGGESTIONS_PER_ATTENDEE
setting): the candidate pairs are taken greedily, most valuable first, and a pair is accepted
while both sides have fewer than N. Attendees are ranked by score (highest first, those without
a score last, then by contact id); among pairs of equal value the pair whose higher-ranked side
ranks higher comes first, then by the other side's rank. So the same data gives the same
suggestions.

Set-based: three queries whatever the number of attendees (attendees with organization, tags,
owner and score; interactions among them; planned follow-ups among them). Candidates are not
all n² pairs: attendees are grouped into blocks (an industry, a tag, an industry and a tag),
each in rank order, and each attendee is paired with the next N eligible members (not a
colleague, not met) of each of its blocks, i.e. with people of a similar score; a planned
follow-up pairs its contact with the N attendees of the follow-up's owner on either side of
them in rank. Every candidate is then valued with all its reasons.
"""

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.choices import FollowUpStatus
from contacts.models import FollowUp
from events.choices import AttendanceStatus, EventStatus, MeetingReason
from events.exceptions import EventClosed
from events.models import Attendance, Event, Interaction

OPEN_STATUSES = (EventStatus.PLANNED, EventStatus.LIVE)
ATTENDING_STATUSES = (AttendanceStatus.REGISTERED, AttendanceStatus.ATTENDED)
HIGH_SCORE = 60.0  # ContactScore.score at or above which a contact counts as high-score
WEIGHTS = {
    MeetingReason.FOLLOWUP_PENDING: 3.0,
    MeetingReason.SAME_INDUSTRY: 2.0,
    MeetingReason.SHARED_TAGS: 1.0,  # per shared tag
    MeetingReason.BOTH_HIGH_SCORE: 1.0,
}
PER_ATTENDEE_MAX = 50  # the API's bound of `per_attendee`
# A member of a block looks at most this many times its window ahead for eligible partners
# (colleagues and people who met are skipped), so a block of colleagues stays linear.
LOOK_AHEAD_FACTOR = 4


@dataclass(slots=True)
class SuggestedAttendee:
    contact_id: int
    name: str  # full name, else the e-mail
    email: str
    organization: str | None


@dataclass(slots=True)
class MeetingSuggestion:
    contact_a: int  # the lower contact id
    contact_b: int
    value: float
    reasons: list[str]  # MeetingReason values, strongest first
    reason: str  # the reasons in words, in the active language
    attendee_a: SuggestedAttendee
    attendee_b: SuggestedAttendee


@dataclass(slots=True)
class _Person:
    contact_id: int
    first_name: str
    last_name: str
    email: str
    tags: dict[str, str]  # normalized → as written
    organization_id: int | None
    organization: str | None
    industry: str  # as written, trimmed
    owner_id: int | None
    owner_name: str
    score: float | None

    _attendee: SuggestedAttendee | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    @property
    def attendee(self) -> SuggestedAttendee:
        if self._attendee is None:
            self._attendee = SuggestedAttendee(self.contact_id, self.name, self.email, self.organization)
        return self._attendee


def default_per_attendee() -> int:
    """The MEETING_SUGGESTIONS_PER_ATTENDEE setting, within 1 and PER_ATTENDEE_MAX."""
    return min(max(1, settings.MEETING_SUGGESTIONS_PER_ATTENDEE), PER_ATTENDEE_MAX)


def meeting_suggestions(event: Event, *, per_attendee: int | None = None) -> list[MeetingSuggestion]:
    """Pairs of the event's attendees who should meet, most valuable first; the rules are the
    module's docstring. Raises EventClosed for a completed or cancelled event."""
    if event.status not in OPEN_STATUSES:
        raise EventClosed(
            f"Meeting suggestions are made for planned and live events; this event is {event.status}.",
            existing_id=event.pk,
        )
    limit = default_per_attendee() if per_attendee is None else per_attendee
    if limit < 1:
        raise ValueError("per_attendee must be at least 1")
    people, met, followups = _load(event)
    return _suggest(people, met, followups, limit)


def changed_since(event: Event, suggestions: list[MeetingSuggestion], since: datetime) -> list[MeetingSuggestion]:
    """The suggestions naming a contact that changed at or after `since`: the contact, its score,
    or its attendance at the event (the API's `updated_since`; events.selectors.changed_at_event_since()).
    One query."""
    from contacts.models import Contact
    from events.selectors import changed_at_event_since

    ids = sorted({contact_id for suggestion in suggestions for contact_id in (suggestion.contact_a, suggestion.contact_b)})
    if not ids:
        return []
    changed = set(changed_at_event_since(Contact.objects.filter(pk__any_of=ids), event, since).values_list("pk", flat=True))
    return [suggestion for suggestion in suggestions if {suggestion.contact_a, suggestion.contact_b} & changed]


def _load(event: Event) -> tuple[list[_Person], set[tuple[int, int]], set[tuple[int, int]]]:
    """The three queries: the attendees, who of them met, which follow-ups among them are planned."""
    attending = Attendance.objects.filter(
        event=event, status__in=ATTENDING_STATUSES, contact__erased_at__isnull=True, contact__do_not_contact=False,
    ).order_by()  # no sort: _suggest orders them itself
    rows = attending.values_list(
        "contact_id", "contact__first_name", "contact__last_name", "contact__email", "contact__tags",
        "contact__organization_id", "contact__organization__name", "contact__organization__industry",
        "contact__owner_id", "contact__owner__first_name", "contact__owner__last_name", "contact__owner__username",
        "contact__score__score",
    )
    people = [
        _Person(
            contact_id=contact_id, first_name=first, last_name=last, email=email or "", tags=_tags(tags),
            organization_id=org_id, organization=org_name, industry=(industry or "").strip(), owner_id=owner_id,
            owner_name=f"{owner_first or ''} {owner_last or ''}".strip() or (owner_username or ""), score=score,
        )
        for (contact_id, first, last, email, tags, org_id, org_name, industry, owner_id, owner_first, owner_last,
             owner_username, score) in rows
    ]
    contact_ids = attending.values("contact_id")
    # Subqueries, not lists of ids: the same statements for 5 or 5,000 attendees. order_by():
    # DISTINCT over the two columns, not over the models' default ordering too.
    met = set(
        Interaction.objects.filter(contact_id__in=contact_ids, counterpart_id__in=contact_ids)
        .order_by().values_list("contact_id", "counterpart_id").distinct()
    )
    owners = attending.filter(contact__owner__isnull=False).values("contact__owner_id")
    followups = set(
        FollowUp.objects.filter(status=FollowUpStatus.PLANNED, contact_id__in=contact_ids, owner_id__in=owners)
        .order_by().values_list("owner_id", "contact_id").distinct()
    )
    return people, met, followups


def _tags(tags) -> dict[str, str]:
    if not isinstance(tags, list):
        return {}
    return {tag.strip().casefold(): tag.strip() for tag in tags if isinstance(tag, str) and tag.strip()}


def _suggest(people: list[_Person], met_ids: set[tuple[int, int]], followup_ids: set[tuple[int, int]],
             limit: int) -> list[MeetingSuggestion]:
    # Positions in score order (highest first, contacts without a score last, then by id):
    # blocks list their members in this order, so a window holds people of a similar score.
    # A pair is the int i * n + j of its positions i < j.
    people.sort(key=lambda person: (-(person.score if person.score is not None else -1.0), person.contact_id))
    n = len(people)
    position = {person.contact_id: index for index, person in enumerate(people)}
    organization = [person.organization_id for person in people]
    industry = [person.industry.casefold() for person in people]
    tags = [frozenset(person.tags) for person in people]
    owner = [person.owner_id for person in people]
    high = [person.score is not None and person.score >= HIGH_SCORE for person in people]

    met = set()
    for a, b in met_ids:
        i, j = position[a], position[b]
        met.add(i * n + j if i < j else j * n + i)
    # owner id → positions of the attendees that owner has a planned follow-up with
    followup_targets: dict[int, set[int]] = defaultdict(set)
    for owner_id, contact_id in followup_ids:
        followup_targets[owner_id].add(position[contact_id])

    def pending(i: int, j: int) -> bool:
        return (owner[i] is not None and j in followup_targets.get(owner[i], ())) or (
            owner[j] is not None and i in followup_targets.get(owner[j], ())
        )

    blocks: dict[tuple, list[int]] = defaultdict(list)
    owned: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        if industry[i]:
            blocks["industry", industry[i]].append(i)
        for tag in tags[i]:
            blocks["tag", tag].append(i)
            if industry[i]:
                blocks["industry_tag", industry[i], tag].append(i)
        if owner[i] is not None:
            owned[owner[i]].append(i)

    candidates: set[int] = set()
    add = candidates.add
    for owner_id, targets in followup_targets.items():
        members = owned.get(owner_id, ())
        for target in sorted(targets):
            # the owner's attendees nearest in score to the one followed up; met before or not
            at = bisect_left(members, target)
            for j in members[max(0, at - limit):at + limit + 1]:
                if j != target and (organization[j] is None or organization[j] != organization[target]):
                    add(j * n + target if j < target else target * n + j)

    look_ahead = limit * LOOK_AHEAD_FACTOR
    for members in blocks.values():
        size = len(members)
        for p in range(size - 1):
            i = members[p]
            org, base, taken = organization[i], i * n, 0
            for j in members[p + 1:p + 1 + look_ahead]:
                if org is not None and organization[j] == org:
                    continue
                pair = base + j  # i < j: members are in position order
                if pair in met and not pending(i, j):
                    continue
                add(pair)
                taken += 1
                if taken == limit:
                    break

    # Values in hundredths, as one int per candidate with the pair: -value * n² + pair sorts the
    # most valuable first and, among equals, the pairs in position order (ints sort fast).
    followup_weight, industry_weight, tag_weight, high_weight = (
        round(WEIGHTS[reason] * 100) for reason in (
            MeetingReason.FOLLOWUP_PENDING, MeetingReason.SAME_INDUSTRY, MeetingReason.SHARED_TAGS,
            MeetingReason.BOTH_HIGH_SCORE,
        )
    )
    pairs = n * n
    ranked = []
    for pair in candidates:
        i, j = divmod(pair, n)
        # Candidates are never colleagues, nor people who met without a follow-up pending.
        value = followup_weight if (owner[i] is not None or owner[j] is not None) and pending(i, j) else 0
        if industry[i] and industry[i] == industry[j]:
            value += industry_weight
        if tags[i] and tags[j]:
            value += tag_weight * len(tags[i] & tags[j])
        if not value:
            continue  # both high-score alone is no reason to meet
        if high[i] and high[j]:
            value += high_weight
        ranked.append(pair - value * pairs)
    ranked.sort()

    texts = _Texts()
    taken_count = [0] * n
    suggestions = []
    for key in ranked:
        pair = key % pairs
        i, j = divmod(pair, n)
        if taken_count[i] < limit and taken_count[j] < limit:
            taken_count[i] += 1
            taken_count[j] += 1
            if people[j].contact_id < people[i].contact_id:
                i, j = j, i
            sides = [(people[x], people[y]) for x, y in ((i, j), (j, i))
                     if owner[x] is not None and y in followup_targets.get(owner[x], ())]
            value = (pair - key) // pairs / 100
            suggestions.append(texts.suggestion(
                people[i], people[j], value, sides, bool(industry[i]) and industry[i] == industry[j], high[i] and high[j],
            ))
    return suggestions


class _Texts:
    """The reason texts in the active language, looked up once per call, not once per pair."""

    def __init__(self):
        self.followup = _("%(owner)s, owner of %(contact)s, has a follow-up planned with %(other)s")
        self.industry = _("same industry (%(industry)s)")
        self.both_high = _("both have a relationship score of %(threshold)s or more") % {"threshold": f"{HIGH_SCORE:g}"}
        self._tags: dict[int, str] = {}

    def tags(self, count: int) -> str:
        if count not in self._tags:
            self._tags[count] = ngettext("shared tag: %(tags)s", "shared tags: %(tags)s", count)
        return self._tags[count]

    def suggestion(self, a: _Person, b: _Person, value: float, followup_sides: list[tuple[_Person, _Person]],
                   same_industry: bool, both_high: bool) -> MeetingSuggestion:
        """`followup_sides`: (owned side, other side) for each side whose owner has a follow-up with the other."""
        reasons, parts = [], []
        if followup_sides:
            reasons.append(MeetingReason.FOLLOWUP_PENDING.value)
            for owned, other in followup_sides:
                parts.append(self.followup % {"owner": owned.owner_name, "contact": owned.name, "other": other.name})
        if same_industry:
            reasons.append(MeetingReason.SAME_INDUSTRY.value)
            parts.append(self.industry % {"industry": a.industry})
        shared = sorted(a.tags.keys() & b.tags.keys())
        if shared:
            reasons.append(MeetingReason.SHARED_TAGS.value)
            parts.append(self.tags(len(shared)) % {"tags": ", ".join(a.tags[tag] for tag in shared)})
        if both_high:
            reasons.append(MeetingReason.BOTH_HIGH_SCORE.value)
            parts.append(self.both_high)
        text = "; ".join(parts)
        if not followup_sides:  # an owner's name is written as it is
            text = text[:1].upper() + text[1:]
        return MeetingSuggestion(a.contact_id, b.contact_id, value, reasons, text, a.attendee, b.attendee)
