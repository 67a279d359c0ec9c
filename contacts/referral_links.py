"""Referrals linked to the contact they name (docs/referrals.md).

A referral names the person recommended by `referred_email` when they are not a contact yet.
Once a contact with that e-mail exists (created by the API, the admin, an attendee import or a
bulk upsert, or an e-mail changed to it), the referral's `referred` is set: one UPDATE for all
the contacts a write brings. A referral written with the e-mail of an existing contact is linked
at once. Never to the referrer itself (referral_not_self) and never to an erased contact.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from contacts.models import Contact, Referral, normalize_email
from events.choices import AttendanceStatus
from events.models import Attendance


def link_referrals(contact_ids: Iterable[int]) -> list[int]:
    """Set `referred` on the unlinked referrals whose `referred_email` is the (normalised) e-mail
    of one of these contacts; returns the ids of the referrals linked.

    Two queries whatever the number of contacts (the referrers to rescore, then one UPDATE that
    also moves `updated_at`, for partners syncing by `updated_since`). The referrers whose
    advocacy the link can change (the contact attended an event that started after the
    referral: a converted referral) are rescored after commit.
    """
    ids = sorted({int(contact_id) for contact_id in contact_ids if contact_id is not None})
    if not ids:
        return []
    emails = Contact.objects.filter(pk__any_of=ids, erased_at__isnull=True).annotate(key=Lower(Trim("email"))).values("key")
    # The contact of a referral's e-mail (e-mails are unique among contacts: the functional unique index).
    target = (
        Contact.objects.filter(erased_at__isnull=True)
        .alias(email_key=Lower(Trim("email")))
        .filter(email_key=Lower(Trim(OuterRef("referred_email"))))
        .order_by().values("pk")[:1]
    )
    linkable = (
        Referral.objects.filter(referred__isnull=True)
        .alias(email_key=Lower(Trim("referred_email")))
        .filter(email_key__in=emails)
        .annotate(target=Subquery(target))
        .filter(target__isnull=False)
        .exclude(target=F("referrer_id"))
        .order_by()
    )
    converted = Attendance.objects.filter(
        contact_id=OuterRef("target"), status=AttendanceStatus.ATTENDED, event__starts_at__gt=OuterRef("created_at"),
    )
    rows = list(linkable.annotate(converted=Exists(converted)).values_list("pk", "referrer_id", "converted"))
    if not rows:
        return []
    referral_ids = [pk for pk, _, _ in rows]
    # Still unlinked: a concurrent write may have linked one meanwhile.
    Referral.objects.filter(pk__in=referral_ids, referred__isnull=True).update(
        referred_id=Subquery(target), updated_at=timezone.now()
    )
    _rescore([referrer_id for _, referrer_id, converted in rows if converted])
    return referral_ids


def contact_for_email(email: str | None, *, referrer_id: int | None) -> Contact | None:
    """The contact a referral naming this e-mail is linked to: not erased, not the referrer."""
    email = normalize_email(email)
    if not email:
        return None
    contact = Contact.objects.with_emails([email]).filter(erased_at__isnull=True).first()
    if contact is None or contact.pk == referrer_id:
        return None
    return contact


def link_referral(referral: Referral) -> None:
    """A referral being written with an e-mail and no referred contact: the contact of that
    e-mail, if there is one (in memory; the caller saves it)."""
    if referral.referred_id is None and referral.referred_email:
        referral.referred = contact_for_email(referral.referred_email, referrer_id=referral.referrer_id)


def referrers_of_attendees(event_id: int, starts_at: datetime, contact_ids: Iterable[int] | None = None) -> set[int]:
    """The contacts who referred someone before this event started who has an attendance at it
    (or, given `contact_ids`, one of these contacts, whose attendance there may be gone):
    whether their referral converted can change with that attendance. One query."""
    referred = (
        Attendance.objects.filter(event_id=event_id).values("contact_id") if contact_ids is None
        else sorted(set(contact_ids))
    )
    return set(
        Referral.objects.filter(referred_id__in=referred, created_at__lt=starts_at).values_list("referrer_id", flat=True)
    )


def _rescore(contact_ids: list[int]) -> None:
    if not contact_ids:
        return
    from scoring import triggers  # scoring depends on contacts, not the other way round
    from scoring.choices import ScoreTrigger

    triggers.schedule_contacts_recompute(contact_ids, trigger=ScoreTrigger.LATE_DATA)
