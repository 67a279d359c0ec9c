"""Recomputing scores: which contacts, in which chunks, with which trigger."""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact, FollowUp
from contacts.referral_links import referrers_of_attendees
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, Feedback, Interaction
from events.selectors import previous_edition
from scoring.choices import ScoreTrigger
from scoring.models import ContactScore
from scoring.services.contact_scores import compute_scores
from scoring.services.event_metrics import compute_event_metrics
from scoring.services.next_action import apply_next_actions, invited_to
from scoring.services.profile import ScoringParameters, active_parameters
from scoring.services.writes import save_scores
from scoring.signals import contact_scores_changed


def chunk_size_setting() -> int:
    return int(getattr(settings, "SCORING_CHUNK_SIZE", 5000))


def chunked(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for contact_id in ids:
        chunk.append(contact_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def even_chunks(ids: Sequence[int], size: int) -> list[list[int]]:
    """As few chunks of at most `size` ids as `chunked()` makes, but of equal length (one more
    in the first ones): fanned out over workers, they finish together, where 5,000 + 401 ids
    would leave one worker waiting for the other."""
    count = -(-len(ids) // size)  # ceiling
    chunks, start = [], 0
    for index in range(count):
        length = len(ids) // count + (index < len(ids) % count)
        chunks.append(list(ids[start : start + length]))
        start += length
    return chunks


def event_contact_ids(event_id: int, *, neighbours: bool = True, invited: bool = True) -> list[int]:
    """Contacts whose figures an event changes: everyone with an attendance, both sides of its
    interactions, the contacts of its follow-ups and feedback (their touches at an event that had
    ended wait for its completion), and, in a series, the attendees of the neighbouring completed editions: the
    previous one's (who did not come back loses the current streak: the people the product
    exists to find) and any later one's (an edition completed out of order renumbers theirs).
    The referrers of its attendees too (referrals made before it started): a referral converts
    when the referred contact attends (docs/referrals.md). And the contacts whose next best action
    invites them to it: started, completed or gone, it is no longer an edition to invite to (the
    next one is, or none). A fixed number of queries.
    `neighbours=False` leaves out the neighbouring editions' attendees: an event that only started
    or ended, not completed, changes no streak. `invited=False` leaves out those invited to it (a
    caller that looks them up for many events at once)."""
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return []
    attendees = set(Attendance.objects.filter(event_id=event_id).values_list("contact_id", flat=True))
    sides = Interaction.objects.filter(event_id=event_id).values_list("contact_id", "counterpart_id")
    touched = attendees | {contact_id for pair in sides for contact_id in pair if contact_id is not None}
    touched |= set(FollowUp.objects.filter(event_id=event_id).values_list("contact_id", flat=True))
    touched |= set(Feedback.objects.filter(event_id=event_id).values_list("contact_id", flat=True))
    touched |= referrers_of_attendees(event_id, event.starts_at)
    if invited:
        touched |= invited_to([event_id])
    if neighbours and event.series_id is not None:
        previous = previous_edition(event)
        editions = Q(event__starts_at__gt=event.starts_at)
        if previous is not None:
            editions |= Q(event=previous)
        touched |= set(
            Attendance.objects.filter(
                editions, event__series_id=event.series_id, event__status=EventStatus.COMPLETED,
                status=AttendanceStatus.ATTENDED,
            ).exclude(event_id=event_id).values_list("contact_id", flat=True)
        )
    return sorted(touched)


def late_data_referrers(event_id: int, contact_ids: Sequence[int]) -> set[int]:
    """The contacts who referred one of these contacts before the event started: late data of
    the event (a check-in, an attendance changed or removed) may convert or unconvert their
    referral. One query after the event's; none for an event deleted meanwhile."""
    starts_at = Event.objects.filter(pk=event_id).values_list("starts_at", flat=True).first()
    if starts_at is None or not contact_ids:
        return set()
    return referrers_of_attendees(event_id, starts_at, contact_ids)


def all_contact_id_chunks(size: int, *, within: range | None = None) -> Iterator[range]:
    """Every contact id (or every one `within` a range of ids), in ranges of ids that hold
    `size` contacts each (fewer in the last).

    Read by keyset, one id per range, so memory stays flat at millions of contacts. Ranges
    rather than lists: a chunk's statement reads a range by range scans (load_chunk()), and
    a contact created inside a range meanwhile is simply included.
    """
    last_id, stop = (0, None) if within is None else (within.start - 1, within.stop)
    while True:
        ids = Contact.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)
        if stop is not None:
            ids = ids.filter(pk__lt=stop)
        end_id = next(iter(ids[size - 1 : size]), None) or ids.last()
        if end_id is None:
            return
        yield range(last_id + 1, end_id + 1)
        last_id = end_id


def not_scored_since(ids: range, as_of: datetime) -> Sequence[int]:
    """The contacts of a range without a score as of `as_of` or later: the range itself when no
    contact of it has one (the usual case, read by range scans), else a list of those left. A
    range sent twice (its outbox request sent again while its first message still waited in the
    queue) scores only what the first did not. One query, two when some are scored already."""
    scored = set(
        ContactScore.objects.filter(contact_id__gte=ids[0], contact_id__lte=ids[-1], computed_at__gte=as_of)
        .values_list("contact_id", flat=True)
    )
    if not scored:
        return ids
    within = Contact.objects.filter(pk__range=(ids[0], ids[-1])).order_by("pk").values_list("pk", flat=True)
    return [contact_id for contact_id in within if contact_id not in scored]


def id_chunks(contact_ids: Iterable[int], size: int) -> Iterator[Sequence[int]]:
    """Sorted, distinct chunks of `size` ids. A range of ids is one chunk if it could hold no
    more than `size` contacts, else ranges holding `size` contacts each: where ids are sparse
    (contacts deleted, ids spent), splitting by id count would run thousands of empty chunks."""
    if isinstance(contact_ids, range) and contact_ids.step == 1:
        if len(contact_ids) <= size:
            return iter([contact_ids] if contact_ids else [])
        return all_contact_id_chunks(size, within=contact_ids)
    return chunked(sorted(set(contact_ids)), size)


def recompute_contacts(
    contact_ids: Iterable[int],
    *,
    as_of: datetime | None = None,
    trigger: str = ScoreTrigger.MANUAL,
    event_id: int | None = None,
    chunk_size: int | None = None,
    params: ScoringParameters | None = None,
) -> dict[str, Any]:
    """Recompute and store the scores of these contacts as of `as_of` (default now).

    Idempotent: the same data and as-of write the same rows and no new snapshots. Returns
    {"contacts": n, "changed": n, "changes": [...]}; sends contact_scores_changed for changes.
    """
    as_of = as_of or timezone.now()
    params = params or active_parameters()
    total, changes = 0, []
    for chunk in id_chunks(contact_ids, chunk_size or chunk_size_setting()):
        results = compute_scores(chunk, as_of, params)
        apply_next_actions(results, chunk, as_of)
        total += len(results)
        changes.extend(save_scores(results, trigger=trigger, trigger_event_id=event_id, half_life_days=params.half_life_days))
    if changes:
        contact_scores_changed.send(sender=ScoreTrigger, changes=changes)
    return {"contacts": total, "changed": len(changes), "changes": changes}


def replay_completed_events(*, until: datetime, params: ScoringParameters | None = None) -> int:
    """Every event completed by `until`, in order of completion: its contacts scored as of its
    completion, as its after-the-event recompute would have scored them; then every completed
    event's metrics as of `until`.

    For data loaded past the services (the demo, a migration of an agency's history): scores
    get their history, exact because scoring as of T reads only what was known by T.
    Returns the number of events.
    """
    params = params or active_parameters()
    events = list(
        Event.objects.filter(status=EventStatus.COMPLETED, completed_at__lte=until)
        .order_by("completed_at", "pk")
        .values_list("pk", "completed_at")
    )
    for event_id, completed_at in events:
        recompute_contacts(
            event_contact_ids(event_id), as_of=completed_at, trigger=ScoreTrigger.EVENT, event_id=event_id, params=params
        )
    for event_id, _ in events:
        compute_event_metrics(event_id, as_of=until)
    return len(events)


def contact_ids_matching(*, contact_ids: Iterable[int] = (), event_ids: Iterable[int] = ()) -> list[int]:
    ids = set(contact_ids)
    for event_id in event_ids:
        ids.update(event_contact_ids(event_id))
    return sorted(ids)
