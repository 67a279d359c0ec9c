"""Contact fatigue: how often the agency itself reached out to a contact, and when that is enough.

Too much contact is felt as intrusive (DOMAIN.md, seeds 001 and 003). The agency's own touches
of a contact are counted over rolling windows, the caps of settings.CONTACT_FATIGUE_CAPS:
(window in days, cap), by default [(7, 3), (30, 6)]. A contact is *fatigued* as of T when, in
any window, its touches counted in that window reach the cap: planning one more would go
above it. Planning a follow-up for a fatigued contact then needs an override (services,
admin, API: 409 `contact_fatigue`), and its next best action is to rest (scoring).

Agency-initiated touches of a contact, counted in a window of `days` as of T, i.e. (T − days, T]:
- done follow-ups, at their `completed_at`;
- planned follow-ups, at their `due_at`; one due in (T, T + days] counts too (the contact is
  already scheduled for it); a planned one without `due_at` counts at its `created_at`;
- cancelled follow-ups never;
- invitations: attendances with status `invited`, at their `created_at`;
- outbound interactions: interactions with `staff_user` set (an agency staff member met the
  contact), at their `occurred_at`, on either side (as contact or as counterpart).

Registrations, check-ins, feedback and referrals are the contact's own doing and do not count.
`agency_touch_counts()` reads a whole chunk of contacts (a range of ids or a list) in one query,
whatever its size, so scoring can ask it for every chunk of a full recompute.
"""

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from django.utils.translation import ngettext

from contacts.choices import FollowUpStatus
from contacts.exceptions import ContactFatigue
from contacts.models import Contact
from events.choices import AttendanceStatus
from ror_crm.db import id_chunk_sql, sql_moment

# One row per touch of a chunk's contacts in the longest window, then counted per window.
# `ahead` marks planned follow-ups by due time, which also count up to T + days. Each part
# filters on the leading columns of an existing index: followup_contact_done_idx
# (contact, status, completed_at), attendance_contact_status_idx (contact, status),
# interaction_contact_idx / interaction_counterpart_idx (contact or counterpart, occurred_at).
TOUCHES_SQL = """
SELECT contact_id, {window_counts}
FROM (
    SELECT contact_id, completed_at AS touched_at, 0 AS ahead FROM contacts_followup
    WHERE {in_chunk:contact_id} AND status = %(done)s AND completed_at > %(since)s AND completed_at <= %(as_of)s
    UNION ALL
    SELECT contact_id, due_at, 1 FROM contacts_followup
    WHERE {in_chunk:contact_id} AND status = %(planned)s AND due_at > %(since)s AND due_at <= %(until)s
    UNION ALL
    SELECT contact_id, created_at, 0 FROM contacts_followup
    WHERE {in_chunk:contact_id} AND status = %(planned)s AND due_at IS NULL
      AND created_at > %(since)s AND created_at <= %(as_of)s
    UNION ALL
    SELECT contact_id, created_at, 0 FROM events_attendance
    WHERE {in_chunk:contact_id} AND status = %(invited)s AND created_at > %(since)s AND created_at <= %(as_of)s
    UNION ALL
    SELECT contact_id, occurred_at, 0 FROM events_interaction
    WHERE {in_chunk:contact_id} AND staff_user_id IS NOT NULL AND occurred_at > %(since)s AND occurred_at <= %(as_of)s
    UNION ALL
    SELECT counterpart_id, occurred_at, 0 FROM events_interaction
    WHERE {in_chunk:counterpart_id} AND staff_user_id IS NOT NULL
      AND occurred_at > %(since)s AND occurred_at <= %(as_of)s
) touches
GROUP BY contact_id
"""


def fatigue_caps() -> list[tuple[int, int]]:
    """settings.CONTACT_FATIGUE_CAPS as (window days, cap) pairs, the shortest window first."""
    caps = sorted((int(days), int(cap)) for days, cap in settings.CONTACT_FATIGUE_CAPS)
    if any(days < 1 or cap < 1 for days, cap in caps) or len({days for days, _ in caps}) != len(caps):
        raise ImproperlyConfigured(
            "CONTACT_FATIGUE_CAPS is a list of (window days, cap) pairs, both at least 1, one per window."
        )
    return caps


def agency_touch_counts(contact_ids: Sequence[int] | range, as_of: datetime) -> dict[int, dict[int, int]]:
    """{contact_id: {window_days: agency touches counted in that window}} as of `as_of`, for the
    contacts with at least one touch in the longest window (the module docstring says which).

    One query whatever the number of contacts (ror_crm.db.id_chunk_sql(): a range of ids by
    range scans of the contact indexes).
    """
    caps = fatigue_caps()
    if not caps or not contact_ids:
        return {}
    values, in_chunk = id_chunk_sql(contact_ids)
    moment = sql_moment
    longest = timedelta(days=caps[-1][0])
    values |= {
        "as_of": moment(as_of), "since": moment(as_of - longest), "until": moment(as_of + longest),
        "done": FollowUpStatus.DONE.value, "planned": FollowUpStatus.PLANNED.value,
        "invited": AttendanceStatus.INVITED.value,
    }
    window_counts = []
    for index, (days, _cap) in enumerate(caps):
        values[f"since_{index}"] = moment(as_of - timedelta(days=days))
        values[f"until_{index}"] = moment(as_of + timedelta(days=days))
        window_counts.append(
            f"SUM(CASE WHEN touched_at > %(since_{index})s AND (touched_at <= %(as_of)s"
            f" OR (ahead = 1 AND touched_at <= %(until_{index})s)) THEN 1 ELSE 0 END)"
        )

    fragments = {"window_counts": lambda _: ", ".join(window_counts), "in_chunk": in_chunk}
    sql = re.sub(r"\{(\w+)(?::([^}]*))?\}", lambda match: fragments[match[1]](match[2]), TOUCHES_SQL)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    return {
        contact_id: {days: int(count or 0) for (days, _cap), count in zip(caps, counts, strict=True)}
        for contact_id, *counts in rows
    }


def first_window_at_cap(counts: dict[int, int]) -> tuple[int, int, int] | None:
    """(window days, touches, cap) of the shortest window whose touches reached its cap, or None."""
    for days, cap in fatigue_caps():
        touches = counts.get(days, 0)
        if touches >= cap:
            return days, touches, cap
    return None


def is_fatigued(counts: dict[int, int]) -> bool:
    """Whether a contact's {window_days: touches} reach the cap of any window."""
    return first_window_at_cap(counts) is not None


def fatigued_contact_ids(contact_ids: Sequence[int] | range, as_of: datetime) -> set[int]:
    """The fatigued contacts among `contact_ids` as of `as_of`: one query."""
    return {contact_id for contact_id, counts in agency_touch_counts(contact_ids, as_of).items() if is_fatigued(counts)}


def check_fatigue(contact_id: int, *, override: bool, as_of: datetime | None = None) -> None:
    """Refuse planning another follow-up for a fatigued contact (ContactFatigue, 409
    `contact_fatigue` in the API) unless `override`; as of now unless `as_of` says when."""
    if override:
        return
    # Plans for one contact wait for each other (its row locked until commit): two at once
    # would each count the touches without the other and both pass the cap.
    list(Contact.objects.select_for_update(no_key=True).filter(pk=contact_id).values_list("pk"))
    counts = agency_touch_counts([contact_id], as_of or timezone.now()).get(contact_id, {})
    window = first_window_at_cap(counts)
    if window is None:
        return
    days, touches, cap = window
    message = ngettext(
        "Contact fatigue: %(touches)d agency touch in the last %(days)d days, planned follow-ups included "
        "(cap %(cap)d). Another follow-up now may feel intrusive.",
        "Contact fatigue: %(touches)d agency touches in the last %(days)d days, planned follow-ups included "
        "(cap %(cap)d). Another follow-up now may feel intrusive.",
        touches,
    ) % {"touches": touches, "days": days, "cap": cap}
    raise ContactFatigue(message, days=days, touches=touches, cap=cap)
