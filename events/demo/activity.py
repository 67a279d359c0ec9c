"""What happens at and after demo events: networking, follow-up conversations, feedback, referrals."""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from contacts.choices import DealStatus, FollowUpChannel, FollowUpOutcome, FollowUpStatus
from contacts.models import FollowUp, Referral
from events.choices import AttendanceStatus, EventKind, EventStatus, InteractionKind
from events.demo import catalog
from events.demo.base import Clock, ascii_slug, money, pick, spare
from events.demo.events import EventContext
from events.demo.people import Person
from events.models import Feedback, Interaction

K = InteractionKind
INTERACTIONS_PER_ATTENDEE = {
    EventKind.CONFERENCE: [0, 1, 1, 2, 2, 3, 4],
    EventKind.TRADE_FAIR: [0, 1, 1, 2],
    EventKind.ROADSHOW: [0, 1, 1, 2],
    EventKind.DINNER: [1, 2, 2, 3],
    EventKind.WEBINAR: [0, 0, 1],
    EventKind.WORKSHOP: [1, 2, 3],
    EventKind.OTHER: [2, 3, 4],
}
INTERACTION_KINDS = {
    EventKind.CONFERENCE: {K.MEETING: 30, K.INTRODUCTION: 15, K.CONVERSATION: 30, K.SESSION: 15, K.LEAD_SCAN: 10},
    EventKind.TRADE_FAIR: {K.BOOTH_VISIT: 45, K.LEAD_SCAN: 35, K.CONVERSATION: 10, K.MEETING: 10},
    EventKind.ROADSHOW: {K.CONVERSATION: 40, K.MEETING: 25, K.LEAD_SCAN: 20, K.INTRODUCTION: 15},
    EventKind.DINNER: {K.DINNER: 60, K.CONVERSATION: 25, K.INTRODUCTION: 15},
    EventKind.WEBINAR: {K.SESSION: 100},
    EventKind.WORKSHOP: {K.SESSION: 40, K.CONVERSATION: 40, K.INTRODUCTION: 20},
    EventKind.OTHER: {K.MEETING: 40, K.DINNER: 30, K.CONVERSATION: 30},
}
# kind -> (share with a counterpart, share with a staff member, duration range in minutes)
INTERACTION_SHAPE = {
    K.MEETING: (0.8, 0.5, (20, 60)),
    K.BOOTH_VISIT: (0.0, 1.0, (5, 20)),
    K.SESSION: (0.0, 0.0, (30, 60)),
    K.LEAD_SCAN: (0.0, 1.0, (1, 3)),
    K.INTRODUCTION: (1.0, 1.0, (5, 15)),
    K.DINNER: (0.9, 0.1, (90, 180)),
    K.CONVERSATION: (0.9, 0.1, (5, 30)),
}
QUALITY_WEIGHTS = [5, 12, 30, 33, 20]
CHANNELS = {
    FollowUpChannel.EMAIL: 35, FollowUpChannel.PHONE: 20, FollowUpChannel.VIDEO: 15,
    FollowUpChannel.MEETING: 15, FollowUpChannel.SOCIAL: 7, FollowUpChannel.MESSENGER: 8,
}
OUTCOMES = {
    FollowUpOutcome.POSITIVE: 40, FollowUpOutcome.NEUTRAL: 30, FollowUpOutcome.NEGATIVE: 10,
    FollowUpOutcome.NO_RESPONSE: 15, "": 5,
}
FOLLOW_UP_RATE = {"core": 0.7, "regular": 0.5, "occasional": 0.3}
FOLLOW_UP_FACTOR = {EventKind.WEBINAR: 0.3, EventKind.DINNER: 1.3, EventKind.OTHER: 1.3}
# (hours after the event) buckets: same day, within 48 h, within a week, later — the care component's grades.
FOLLOW_UP_DELAYS = [((2, 24), 30), ((24, 48), 25), ((48, 168), 25), ((168, 504), 20)]
# Follow-ups of events that ended less than this ago are still being worked through.
RECENT_EVENT = timedelta(days=21)
# Planned follow-ups: a few are some working days late (a few weeks at most), most due in the coming weeks.
OVERDUE_SHARE = 0.2
OVERDUE_DAYS = [1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 13]
UPCOMING_DAYS = [0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 21, 28]
NPS_WEIGHTS = {
    "core": [0, 0, 0, 0, 1, 1, 2, 6, 14, 30, 30],
    "regular": [1, 1, 1, 2, 3, 4, 6, 12, 16, 14, 10],
    "occasional": [2, 2, 3, 4, 5, 7, 9, 14, 14, 10, 6],
}
FEEDBACK_RATE = {EventKind.DINNER: 0.5, EventKind.WEBINAR: 0.25}


def build_interactions(rng: random.Random, clock: Clock, contexts: list[EventContext], users: list) -> list[Interaction]:
    interactions = []
    for context in contexts:
        if context.status not in (EventStatus.COMPLETED, EventStatus.LIVE):
            continue
        attendees = context.attended
        sequence = 0
        for person in attendees:
            for _ in range(rng.choice(INTERACTIONS_PER_ATTENDEE[context.kind])):
                sequence += 1
                kind = pick(rng, INTERACTION_KINDS[context.kind])
                interactions.append(_interaction(rng, clock, context, person, attendees, kind, users, sequence))
    _ensure_every_kind(rng, interactions)
    return interactions


def _interaction(rng, clock, context, person, attendees, kind, users, sequence) -> Interaction:
    counterpart_share, staff_share, (low, high) = INTERACTION_SHAPE[kind]
    counterpart = None
    others = [other for other in attendees if other is not person]
    if others and rng.random() < counterpart_share:
        counterpart = rng.choice(others).contact
    day = rng.randrange(context.days)
    occurred_at = context.event.starts_at + timedelta(days=day, hours=rng.uniform(0, context.duration_hours))
    if occurred_at >= clock.now:  # the live event: only what already happened
        occurred_at = clock.past(context.event.starts_at + timedelta(hours=rng.uniform(0, 8)), rng)
    source, external_id = "", None
    if kind == K.LEAD_SCAN:
        source, external_id = "lead-scanner", f"LS-{context.code}-{sequence:05d}"
    elif kind == K.MEETING and rng.random() < 0.3:
        source, external_id = "networking-app", f"NA-{context.code}-{sequence:05d}"
    return Interaction(
        event=context.event, contact=person.contact, counterpart=counterpart,
        staff_user=rng.choice(users) if rng.random() < staff_share else None,
        kind=kind, occurred_at=occurred_at,
        duration_minutes=rng.randint(low, high) if rng.random() < 0.88 else None,
        quality=rng.choices(range(1, 6), weights=QUALITY_WEIGHTS)[0] if rng.random() < 0.82 else None,
        notes=rng.choice(catalog.INTERACTION_NOTES) if rng.random() < 0.35 else "",
        source=source, external_id=external_id, created_at=clock.past(occurred_at + timedelta(minutes=5), rng),
    )


def _ensure_every_kind(rng: random.Random, interactions: list[Interaction]) -> None:
    """Small demo sizes can miss a kind or an unrated interaction; relabel an ordinary one."""
    for kind in InteractionKind.values:
        if interactions and not any(interaction.kind == kind for interaction in interactions):
            interaction = rng.choice(spare(interactions, lambda i: i.kind))
            interaction.kind = kind
    if interactions and all(interaction.quality is not None for interaction in interactions):
        rng.choice(interactions).quality = None


def build_follow_ups(
    rng: random.Random, clock: Clock, contexts: list[EventContext], people: list[Person], users: list
) -> list[FollowUp]:
    follow_ups = []
    for context in contexts:
        if context.status != EventStatus.COMPLETED:
            continue
        for person, attendance in context.invitations:
            # Nobody calls people who asked not to be contacted.
            if person.contact.do_not_contact or attendance.status not in (AttendanceStatus.ATTENDED, AttendanceStatus.NO_SHOW):
                continue
            rate = FOLLOW_UP_RATE[person.segment] * FOLLOW_UP_FACTOR.get(context.kind, 1.0)
            if attendance.status == AttendanceStatus.NO_SHOW:
                rate = 0.2  # "sorry we missed you"
            if rng.random() < rate:
                follow_ups.append(make_follow_up(rng, clock, context, person, users))
    follow_ups += _ensure_every_status(rng, clock, contexts, follow_ups, users)
    follow_ups += _check_ins(rng, clock, people, users)
    _ensure_every_choice(rng, follow_ups)
    _steer_payoff(rng, contexts, follow_ups)
    return follow_ups


def _ensure_every_status(rng, clock, contexts: list[EventContext], follow_ups: list[FollowUp], users: list) -> list[FollowUp]:
    """Small demo sizes can miss a status by chance; add one follow-up of each missing status."""
    missing = [status for status in FollowUpStatus.values if not any(f.status == status for f in follow_ups)]
    # Events that ended some days ago: there was a working day since to do the follow-up.
    callable_attendees = [
        (context, person)
        for context in contexts
        if context.status == EventStatus.COMPLETED and context.event.ends_at < clock.now - timedelta(days=4)
        for person in context.attended
        if not person.contact.do_not_contact
    ]
    if not callable_attendees:
        return []
    extra = []
    for status in missing:
        context, person = rng.choice(callable_attendees)
        extra.append(make_follow_up(rng, clock, context, person, users, status=status))
    return extra


def make_follow_up(rng, clock, context: EventContext, person: Person, users: list, *, status: str = "") -> FollowUp:
    """One follow-up after the event. People work in office hours: every due and completion time is on a
    weekday between 08:00 and 18:00, so a dinner on Friday night is followed up on Monday morning."""
    ends_at = context.event.ends_at
    ends_day = clock.day_of(ends_at)
    [(low, high)] = rng.choices([bucket for bucket, _ in FOLLOW_UP_DELAYS], weights=[w for _, w in FOLLOW_UP_DELAYS])
    done_at = clock.office_after(ends_at + timedelta(hours=rng.uniform(low, high)), rng)
    recent = clock.now - ends_at < RECENT_EVENT
    roll = rng.random()
    if not status:
        if recent:
            status = FollowUpStatus.DONE if done_at < clock.now and roll < 0.6 else FollowUpStatus.PLANNED
            status = FollowUpStatus.CANCELLED if roll > 0.94 else status
        else:
            status = FollowUpStatus.DONE if roll < 0.87 else (FollowUpStatus.CANCELLED if roll < 0.94 else FollowUpStatus.PLANNED)
    if status == FollowUpStatus.DONE and done_at >= clock.now:
        done_at = clock.office_before_now(rng)  # asked for a done one (events that ended days ago): done lately
    follow_up = FollowUp(
        contact=person.contact,
        event=context.event,
        owner=person.contact.owner or rng.choice(users),
        channel=pick(rng, CHANNELS),
        status=status,
    )
    logged_at = _logged_at(rng, clock, ends_at)
    if status == FollowUpStatus.DONE:
        follow_up.completed_at = done_at
        follow_up.created_at = min(logged_at, done_at)
        follow_up.due_at = clock.office_time(ends_day + rng.choice([2, 3, 5, 7]), rng)
        follow_up.outcome = pick(rng, OUTCOMES)
        follow_up.summary = rng.choice(catalog.FOLLOW_UP_SUMMARIES[follow_up.outcome])
        follow_up.next_step = rng.choice(catalog.NEXT_STEPS[follow_up.outcome])
        if follow_up.outcome in (FollowUpOutcome.POSITIVE, FollowUpOutcome.NEUTRAL) and rng.random() < 0.35:
            settled = follow_up.completed_at < clock.now - timedelta(days=60)
            weights = (
                {DealStatus.WON: 45, DealStatus.LOST: 30, DealStatus.OPEN: 25}
                if settled
                else {DealStatus.OPEN: 65, DealStatus.WON: 25, DealStatus.LOST: 10}
            )
            follow_up.deal_status = pick(rng, weights)
            follow_up.deal_value = money(rng, 5_000, 120_000, 500)
    elif status == FollowUpStatus.PLANNED:
        # Recent events: calls still to make. Older ones: the next touch, rescheduled lately.
        follow_up.due_at = planned_due(rng, clock, earliest=ends_day + 1)
        if recent:
            follow_up.created_at = logged_at
        else:
            follow_up.created_at = clock.office_time(-rng.randint(2, min(30, -ends_day - 1)), rng, forward=False)
        follow_up.summary = rng.choice(catalog.PLANNED_NOTES)
        follow_up.next_step = rng.choice(catalog.PLANNED_STEPS)
        if rng.random() < 0.1:
            follow_up.deal_status, follow_up.deal_value = DealStatus.OPEN, money(rng, 5_000, 60_000, 500)
    else:
        follow_up.created_at = logged_at
        follow_up.due_at = clock.office_time(ends_day + rng.randint(2, 7), rng)
        follow_up.summary = rng.choice(catalog.CANCELLED_NOTES)
        follow_up.next_step = rng.choice(catalog.CANCELLED_STEPS)
    return follow_up


def _logged_at(rng: random.Random, clock: Clock, ends_at) -> datetime:
    """When the team puts the follow-up into the CRM: after the event, in office hours."""
    moment = clock.office_after(ends_at + timedelta(minutes=rng.uniform(15, 240)), rng)
    return moment if moment < clock.now else clock.past(ends_at + timedelta(hours=1), rng)


def planned_due(rng: random.Random, clock: Clock, *, earliest: int) -> datetime:
    """The due time of a planned follow-up: a few are some days late, most due in the coming days and weeks,
    none before the day `earliest` (relative to the reference date)."""
    if rng.random() < OVERDUE_SHARE:
        day = clock.workday(-rng.choice(OVERDUE_DAYS), forward=False)
        if day >= earliest:
            return clock.office_time(day, rng)
    return clock.office_time(max(rng.choice(UPCOMING_DAYS), earliest), rng)


def _check_ins(rng: random.Random, clock: Clock, people: list[Person], users: list) -> list[FollowUp]:
    """Regular account check-ins, not tied to an event: every sales person has one a few days overdue and one
    due this week (on a weekend: next Monday), and a few more are spread over the coming weeks."""
    candidates = [person for person in people if person.contact.owner is not None and not person.contact.do_not_contact]
    days_left_this_week = max(0, 4 - clock.today.weekday())  # until Friday
    follow_ups = []
    for user in users:
        own = [person for person in candidates if person.contact.owner is user]
        if len(own) < 2:
            continue
        late, soon = rng.sample(own, 2)
        follow_ups.append(_check_in(rng, clock, late, clock.office_time(-rng.choice([1, 2, 3, 5]), rng, forward=False)))
        follow_ups.append(_check_in(rng, clock, soon, clock.office_time(rng.randint(0, days_left_this_week), rng)))
    for person in candidates:
        if rng.random() < 0.03:
            follow_ups.append(_check_in(rng, clock, person, planned_due(rng, clock, earliest=-30)))
    return follow_ups


def _check_in(rng: random.Random, clock: Clock, person: Person, due_at: datetime) -> FollowUp:
    return FollowUp(
        contact=person.contact,
        event=None,
        owner=person.contact.owner,
        channel=FollowUpChannel.PHONE,
        status=FollowUpStatus.PLANNED,
        due_at=due_at,
        summary="Quarterly account check-in",
        next_step=rng.choice(catalog.CHECK_IN_STEPS),
        # planned at the last quarterly account review
        created_at=clock.office_time(-rng.randint(35, 60), rng, forward=False),
    )


def _ensure_every_choice(rng: random.Random, follow_ups: list[FollowUp]) -> None:
    """Small demo sizes can miss a channel, outcome or deal status by chance; set it on an ordinary row."""
    if not follow_ups:
        return
    for channel in FollowUpChannel.values:
        if not any(f.channel == channel for f in follow_ups):
            rng.choice(spare(follow_ups, lambda f: f.channel)).channel = channel
    done = [f for f in follow_ups if f.status == FollowUpStatus.DONE]
    for outcome in FollowUpOutcome.values:
        if done and not any(f.outcome == outcome for f in done):
            follow_up = rng.choice(spare([f for f in done if f.deal_status == DealStatus.NONE], lambda f: f.outcome))
            follow_up.outcome, follow_up.summary = outcome, catalog.FOLLOW_UP_SUMMARIES[outcome][0]
            follow_up.next_step = rng.choice(catalog.NEXT_STEPS[outcome])
    for deal_status in (DealStatus.OPEN, DealStatus.WON, DealStatus.LOST):
        if done and not any(f.deal_status == deal_status for f in follow_ups):
            positive = [f for f in done if f.outcome == FollowUpOutcome.POSITIVE]
            follow_up = rng.choice(spare(positive, lambda f: f.deal_status) or positive)
            follow_up.deal_status, follow_up.deal_value = deal_status, money(rng, 5_000, 120_000, 500)


def _steer_payoff(rng: random.Random, contexts: list[EventContext], follow_ups: list[FollowUp]) -> None:
    """Editions with a set payoff (catalog.EditionSpec) win about that multiple of their cost: good conversations
    of a flagship turn into signed deals, the won deals of a flop are lost after all. The others keep what fell."""
    by_event: dict[int, list[FollowUp]] = {}
    for follow_up in follow_ups:
        if follow_up.event is not None:
            by_event.setdefault(id(follow_up.event), []).append(follow_up)
    for context in contexts:
        if context.payoff is None or context.status != EventStatus.COMPLETED:
            continue
        rows = by_event.get(id(context.event), [])
        target = context.event.cost * Decimal(str(round(context.payoff * rng.uniform(0.92, 1.08), 3)))
        won = sum((f.deal_value for f in rows if f.deal_status == DealStatus.WON), Decimal(0))
        if won < target:
            talks = [
                f
                for f in rows
                if f.status == FollowUpStatus.DONE
                and f.deal_status != DealStatus.WON
                and f.outcome in (FollowUpOutcome.POSITIVE, FollowUpOutcome.NEUTRAL)
            ]
            rng.shuffle(talks)
            talks.sort(key=lambda f: f.outcome != FollowUpOutcome.POSITIVE)  # the positive ones first
            for follow_up in talks:
                if won >= target:
                    break
                # The last deal closes the gap, give or take: no flop turns into a success by one deal.
                value = min(money(rng, 15_000, 90_000, 500), _in_500s(max(target - won, Decimal(5_000))))
                follow_up.deal_status, follow_up.deal_value = DealStatus.WON, value
                won += value
        else:
            # The small deals close, the big ones are lost; one small deal is won at least.
            kept = Decimal(0)
            won_deals = sorted((f for f in rows if f.deal_status == DealStatus.WON), key=lambda f: f.deal_value)
            for position, follow_up in enumerate(won_deals):
                if position == 0 and follow_up.deal_value > target:
                    follow_up.deal_value = _in_500s(max(Decimal(5_000), target * Decimal("0.6")))
                if kept + follow_up.deal_value <= target or position == 0:
                    kept += follow_up.deal_value
                else:
                    follow_up.deal_status = DealStatus.LOST
        if context.payoff < 1:
            # A flop: what was still open is lost by now, but for one small deal that drags on.
            for follow_up in sorted((f for f in rows if f.deal_status == DealStatus.OPEN), key=lambda f: f.deal_value)[1:]:
                follow_up.deal_status = DealStatus.LOST


def _in_500s(value: Decimal) -> Decimal:
    """A deal value as sales people round it: to 500 euros."""
    return (Decimal(round(value / 500)) * 500).quantize(Decimal("0.01"))


def build_feedback(rng: random.Random, clock: Clock, contexts: list[EventContext]) -> list[Feedback]:
    feedback = []
    for context in contexts:
        if context.status != EventStatus.COMPLETED:
            continue
        for person in context.attended:
            if rng.random() >= FEEDBACK_RATE.get(context.kind, 0.35):
                continue
            nps = rng.choices(range(11), weights=NPS_WEIGHTS[person.segment])[0] if rng.random() < 0.95 else None
            if nps is None:
                satisfaction = rng.randint(5, 10)
            elif rng.random() < 0.9:
                satisfaction = min(10, max(1, round(nps * 0.9) + rng.randint(-1, 1)))
            else:
                satisfaction = None
            submitted_at = clock.past(context.event.ends_at + timedelta(hours=rng.uniform(2, 144)), rng)
            feedback.append(Feedback(
                event=context.event, contact=person.contact, nps=nps, satisfaction=satisfaction,
                comment=rng.choice(catalog.FEEDBACK_COMMENTS) if rng.random() < 0.3 else "",
                submitted_at=submitted_at, created_at=submitted_at,
            ))
    return feedback


def build_referrals(rng: random.Random, clock: Clock, contexts: list[EventContext], people: list[Person],
                    feedback: list[Feedback]) -> list[Referral]:
    """Promoters recommend colleagues: half of them are already contacts, half are new addresses."""
    by_contact = {id(person.contact): person for person in people}
    known_emails = {person.contact.email for person in people}
    event_of = {id(context.event): context for context in contexts}
    promoters = [answer for answer in feedback if answer.nps is not None and answer.nps >= 9]
    # Roughly one promoter in six recommends someone; a small demo still shows at least one referral.
    referring = [answer for answer in promoters if rng.random() < 0.18] or promoters[:1]
    referrals = []
    for answer in referring:
        referrer = by_contact[id(answer.contact)]
        context = event_of[id(answer.event)]
        referral = Referral(
            referrer=referrer.contact, event=answer.event,
            created_at=clock.past(context.event.ends_at + timedelta(days=rng.uniform(1, 20)), rng),
        )
        if rng.random() < 0.5:
            referred = rng.choice(people)
            if referred is not referrer:
                referral.referred = referred.contact
        if referral.referred is None:
            referral.referred_email = _prospect_email(rng, referrer, known_emails)
        referrals.append(referral)
    return referrals


def _prospect_email(rng: random.Random, referrer: Person, known_emails: set[str]) -> str:
    females, males, last_names = catalog.NAMES["de"]
    first = ascii_slug(rng.choice(females + males), german=True)
    last = ascii_slug(rng.choice(last_names), german=True)
    domain = referrer.contact.email.split("@", 1)[1]
    email, number = f"{first}.{last}@{domain}", 1
    while email in known_emails:
        number += 1
        email = f"{first}.{last}{number}@{domain}"
    known_emails.add(email)  # each prospect is referred once
    return email
