"""The daily follow-up digest: one e-mail per owner with their overdue and today's follow-ups.

Sales teams start the day knowing whom to call (DOMAIN.md: response time matters). An owner
with nothing due gets no mail; a user without an e-mail address or inactive is skipped.
Follow-ups of erased contacts are not listed (there is nobody left to call).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from contacts.choices import FollowUpStatus
from contacts.models import FollowUp
from ror_crm.days import start_of_day


@dataclass
class Digest:
    owner: object  # the user
    overdue: list[FollowUp] = field(default_factory=list)
    due_today: list[FollowUp] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return len(self.overdue) + len(self.due_today)


def end_of_day(now: datetime) -> datetime:
    """Midnight after `now` in the site's time zone."""
    return start_of_day(timezone.localtime(now).date() + timedelta(days=1))


def build_digests(*, now: datetime | None = None) -> list[Digest]:
    """Planned follow-ups due before the end of today, grouped by owner (one query).

    Overdue: due before `now`; due today: from `now` until midnight.
    """
    now = now or timezone.now()
    follow_ups = (
        FollowUp.objects.filter(
            status=FollowUpStatus.PLANNED,
            due_at__lt=end_of_day(now),
            contact__erased_at__isnull=True,
            owner__is_active=True,
        )
        .exclude(owner__email="")
        .select_related("owner", "contact", "contact__organization", "event")
        .order_by("owner_id", "due_at", "pk")
    )
    digests: dict[int, Digest] = {}
    for follow_up in follow_ups:
        digest = digests.setdefault(follow_up.owner_id, Digest(owner=follow_up.owner))
        (digest.overdue if follow_up.due_at < now else digest.due_today).append(follow_up)
    return list(digests.values())


def worklist_url() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("ror-worklist")


def render_digest(digest: Digest, *, now: datetime) -> EmailMessage:
    """The e-mail of one digest, in the site's language (users have no language of their own)."""
    context = {
        "owner": digest.owner,
        "digest": digest,
        "today": timezone.localtime(now).date(),
        "worklist_url": worklist_url(),
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("ror/email/followup_digest_subject.txt", context).strip()
        body = render_to_string("ror/email/followup_digest.txt", context)
    return EmailMessage(subject=" ".join(subject.split()), body=body, to=[digest.owner.email])


def send_followup_digests(*, now: datetime | None = None) -> int:
    """Send one digest per owner with something due; return the number of e-mails sent.

    Not idempotent: running it twice on one day sends twice, so its task never retries.
    """
    now = now or timezone.now()
    digests = [digest for digest in build_digests(now=now) if digest.item_count]
    if not digests:
        return 0
    messages = [render_digest(digest, now=now) for digest in digests]
    with get_connection() as connection:  # one SMTP session for all owners
        return connection.send_messages(messages) or 0

