"""The referral chain of a contact: who they brought, who those brought, and what followed
(docs/referrals.md).

Read-only. One query per level of the chain (the referrals the level's contacts made, with the
referred contact and the event), one more to learn whether the chain goes on past `max_depth`,
and two for what followed (attendances, won follow-ups) of every contact in the chain: a fixed
number of queries per level, never one per person.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models.functions import Coalesce

from contacts.choices import DealStatus
from contacts.models import Contact, FollowUp, Referral
from events.choices import AttendanceStatus
from events.models import Attendance

DEFAULT_MAX_DEPTH = 3
MAX_DEPTH_LIMIT = 10


@dataclass
class AttendedEvent:
    event_id: int
    name: str
    starts_at: datetime


@dataclass
class ChainNode:
    """One referral of the chain and the person it names.

    `contact_id` is the referred contact (None: only an e-mail, no contact yet). An erased
    contact is an anonymous node: no name, no e-mail. A contact already higher up in the chain
    (a cycle, or brought twice) is shown with `repeated` and not followed again; what followed
    counts once, at their first place in the chain.
    """

    referral_id: int
    depth: int  # 1: brought by the contact of the chain; 2: by one of those; …
    referrer_id: int
    parent_referral_id: int | None  # the referral that brought the referrer; None at depth 1
    referred_at: datetime  # the referral's created_at
    contact_id: int | None
    name: str
    email: str
    erased: bool
    event_id: int | None  # the event the referral came from
    event_name: str | None
    repeated: bool = False
    events_attended: int = 0  # attended events that started after the referral
    last_attended: AttendedEvent | None = None
    won_value: Decimal = Decimal("0")  # won follow-ups done (or, not done, created) after the referral
    children: list["ChainNode"] = field(default_factory=list)

    @property
    def converted(self) -> bool:
        """Attended an event that started after the referral (advocacy's converted referral)."""
        return self.events_attended > 0


@dataclass
class ReferralChain:
    contact_id: int
    max_depth: int
    nodes: list[ChainNode]  # the contact's own referrals, each with its subtree
    referrals: int = 0  # every node
    people: int = 0  # distinct people brought: linked contacts and e-mails without a contact
    contacts: int = 0  # of which linked to a contact
    converted: int = 0  # of which attended an event after their referral
    events_attended: int = 0
    won_value: Decimal = Decimal("0")
    deeper: bool = False  # the chain goes on past max_depth
    levels: list[int] = field(default_factory=list)  # referrals per depth, from depth 1

    @property
    def all_nodes(self) -> list[ChainNode]:
        return list(self.walk())

    def walk(self):
        """Every node, depth first, in the order shown."""
        stack = list(reversed(self.nodes))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def referral_chain(contact_id: int, *, max_depth: int = DEFAULT_MAX_DEPTH) -> ReferralChain:
    """Who the contact brought (their referrals, to a contact or to an e-mail only), and who
    those brought, down to `max_depth` levels; per person the attendance and the won value that
    followed their referral, and totals for the whole chain.

    Raises Contact.DoesNotExist for an unknown contact, ValueError for a depth out of 1..10.
    """
    if not 1 <= max_depth <= MAX_DEPTH_LIMIT:
        raise ValueError(f"max_depth must be from 1 to {MAX_DEPTH_LIMIT}.")
    if not Contact.objects.filter(pk=contact_id).exists():
        raise Contact.DoesNotExist(f"No contact with id {contact_id}.")
    chain = ReferralChain(contact_id=contact_id, max_depth=max_depth, nodes=[])
    seen = {contact_id}  # contacts placed (and followed) already: the cycle guard
    # contact -> the node that brought them (None: the contact of the chain)
    frontier: dict[int, ChainNode | None] = {contact_id: None}
    counted: list[ChainNode] = []  # the first place of each contact: what followed counts there
    emails: set[str] = set()
    for depth in range(1, max_depth + 1):
        if not frontier:
            break
        next_frontier: dict[int, ChainNode | None] = {}
        level = 0
        for referral in _referrals_of(frontier):
            parent = frontier[referral.referrer_id]
            node = _node(referral, depth, parent)
            (parent.children if parent is not None else chain.nodes).append(node)
            level += 1
            if node.contact_id is None:
                emails.add(node.email or f"#{node.referral_id}")
            elif node.contact_id in seen:
                node.repeated = True
            else:
                seen.add(node.contact_id)
                counted.append(node)
                next_frontier[node.contact_id] = node
        chain.levels.append(level)
        frontier = next_frontier
    if frontier:
        chain.deeper = Referral.objects.filter(referrer_id__in=list(frontier)).exists()
    _what_followed(counted)
    nodes = list(chain.walk())
    chain.referrals = len(nodes)
    chain.contacts = len(counted)
    chain.people = len(counted) + len(emails)
    chain.converted = sum(1 for node in counted if node.converted)
    chain.events_attended = sum(node.events_attended for node in counted)
    chain.won_value = sum((node.won_value for node in counted), Decimal("0"))
    return chain


def _referrals_of(frontier: dict[int, ChainNode | None]):
    return (
        Referral.objects.filter(referrer_id__in=list(frontier))
        .select_related("referred", "event")
        .only("id", "referrer_id", "created_at", "referred_email", "event__id", "event__name",
              "referred__id", "referred__first_name", "referred__last_name", "referred__email", "referred__erased_at")
        .order_by("created_at", "id")
    )


def _node(referral: Referral, depth: int, parent: ChainNode | None) -> ChainNode:
    contact = referral.referred
    erased = contact is not None and contact.is_erased
    if contact is None:
        name, email = "", referral.referred_email
    elif erased:
        name, email = "", ""
    else:
        name, email = contact.full_name, contact.email or ""
    return ChainNode(
        referral_id=referral.pk, depth=depth, referrer_id=referral.referrer_id,
        parent_referral_id=parent.referral_id if parent is not None else None, referred_at=referral.created_at,
        contact_id=contact.pk if contact is not None else None, name=name, email=email, erased=erased,
        event_id=referral.event_id, event_name=referral.event.name if referral.event is not None else None,
    )


def _what_followed(nodes: list[ChainNode]) -> None:
    """Attended events (started after the referral) and won value (after it) of these nodes'
    contacts: two queries whatever their number."""
    by_contact = {node.contact_id: node for node in nodes}
    if not by_contact:
        return
    attended = (
        Attendance.objects.filter(contact_id__in=list(by_contact), status=AttendanceStatus.ATTENDED)
        .values_list("contact_id", "event_id", "event__name", "event__starts_at")
        .order_by("event__starts_at", "event_id")
    )
    for contact_id, event_id, name, starts_at in attended:
        node = by_contact[contact_id]
        if starts_at > node.referred_at:
            node.events_attended += 1
            node.last_attended = AttendedEvent(event_id=event_id, name=name, starts_at=starts_at)
    won = (
        FollowUp.objects.filter(contact_id__in=list(by_contact), deal_status=DealStatus.WON, deal_value__isnull=False)
        .annotate(at=Coalesce("completed_at", "created_at"))
        .values_list("contact_id", "at", "deal_value")
    )
    for contact_id, at, value in won:
        node = by_contact[contact_id]
        if at > node.referred_at:
            node.won_value += value
