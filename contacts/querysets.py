from collections.abc import Iterable

from django.db import models
from django.db.models.functions import Coalesce, Greatest, Lower, Trim
from django.utils import timezone

from contacts.choices import FollowUpStatus


class ContactQuerySet(models.QuerySet):
    def with_emails(self, emails: Iterable[str]) -> "ContactQuerySet":
        """Match normalised e-mails through the functional unique index (LOWER(TRIM(email)))."""
        from contacts.models import normalize_email

        keys = {normalize_email(email) for email in emails if email}
        return self.alias(email_key=Lower(Trim("email"))).filter(email_key__any_of=sorted(keys))

    def not_erased(self) -> "ContactQuerySet":
        return self.filter(erased_at__isnull=True)

    def with_last_change(self) -> "ContactQuerySet":
        """`last_change`: when the contact as the API shows it last changed, its score
        included. A recompute writes the score, not the contact, and a partner syncing
        contacts by `updated_since` needs to see new stages and churn risks."""
        return self.annotate(last_change=Greatest("updated_at", Coalesce("score__updated_at", "updated_at")))


class FollowUpQuerySet(models.QuerySet):
    def overdue(self, now=None) -> "FollowUpQuerySet":
        return self.filter(status=FollowUpStatus.PLANNED, due_at__lt=now or timezone.now())

    def done(self) -> "FollowUpQuerySet":
        return self.filter(status=FollowUpStatus.DONE)
