from collections.abc import Iterable
from functools import cache

from django.db import connections, models
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest, Lower, Trim
from django.utils import timezone

from contacts.choices import FollowUpStatus


class ContactQuerySet(models.QuerySet):
    def with_emails(self, emails: Iterable[str]) -> "ContactQuerySet":
        """Match normalised e-mails through the functional unique index (LOWER(TRIM(email)))."""
        from contacts.models import normalize_email

        keys = {normalize_email(email) for email in emails if email}
        return self.alias(email_key=Lower(Trim("email"))).filter(email_key__any_of=sorted(keys))

    def tagged(self, tag: str) -> "ContactQuerySet":
        """Contacts with this tag in any case, umlauts and other letters beyond ASCII included
        (tags keep the spelling they were given). PostgreSQL lowers each tag with the ICU
        collation, as a database created with the C locale lowers ASCII only; SQLite (whose
        lower() is ASCII only as well) with Python's str.lower, registered as `ror_lower`."""
        table = self.model._meta.db_table
        if connections[self.db].vendor == "postgresql":
            collate = ' COLLATE "und-x-icu"' if _has_icu(self.db) else ""
            sql = (f'EXISTS (SELECT 1 FROM jsonb_array_elements_text("{table}"."tags") AS tag(value) '
                   f"WHERE lower(tag.value{collate}) = %s)")
        else:
            sql = f'EXISTS (SELECT 1 FROM json_each("{table}"."tags") AS tag WHERE ror_lower(tag.value) = %s)'
        return self.filter(RawSQL(sql, [tag.strip().lower()], output_field=models.BooleanField()))

    def not_erased(self) -> "ContactQuerySet":
        return self.filter(erased_at__isnull=True)

    def with_last_change(self) -> "ContactQuerySet":
        """`last_change`: when the contact as the API shows it last changed, its score
        included. A recompute writes the score, not the contact, and a partner syncing
        contacts by `updated_since` needs to see new stages and churn risks."""
        return self.annotate(last_change=Greatest("updated_at", Coalesce("score__updated_at", "updated_at")))


@cache
def _has_icu(alias: str) -> bool:
    """Whether this PostgreSQL server has ICU's root collation (built with ICU, as Debian's and the
    official images are)."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu')")
        return cursor.fetchone()[0]


class FollowUpQuerySet(models.QuerySet):
    def overdue(self, now=None) -> "FollowUpQuerySet":
        return self.filter(status=FollowUpStatus.PLANNED, due_at__lt=now or timezone.now())

    def done(self) -> "FollowUpQuerySet":
        return self.filter(status=FollowUpStatus.DONE)
