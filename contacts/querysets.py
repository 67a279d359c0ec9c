from collections.abc import Iterable

from django.db import models
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from contacts.choices import FollowUpStatus


class ContactQuerySet(models.QuerySet):
    def with_emails(self, emails: Iterable[str]) -> "ContactQuerySet":
        """Match normalised e-mails through the functional unique index (LOWER(TRIM(email)))."""
        from contacts.models import normalize_email

        keys = {normalize_email(email) for email in emails if email}
        return self.alias(email_key=Lower(Trim("email"))).filter(email_key__in=keys)

    def not_erased(self) -> "ContactQuerySet":
        return self.filter(erased_at__isnull=True)


class FollowUpQuerySet(models.QuerySet):
    def overdue(self, now=None) -> "FollowUpQuerySet":
        return self.filter(status=FollowUpStatus.PLANNED, due_at__lt=now or timezone.now())

    def done(self) -> "FollowUpQuerySet":
        return self.filter(status=FollowUpStatus.DONE)
