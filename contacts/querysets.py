import json
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
        (tags keep the spelling they were given).

        PostgreSQL looks for the tag as a quoted JSON string in the lower-cased text of the list
        (one pass over the row, as fast as a case-insensitive LIKE; jsonb's text writes letters as
        they are and escapes quotes as json.dumps does), lowered with the ICU collation, as a
        database created with the C locale lowers ASCII only. SQLite stores the text with \\u
        escapes, whose case is not the letter's: it compares each element, lowered by Python's
        str.lower (registered as `ror_lower`; SQLite's own lower() is ASCII only too)."""
        table, key = self.model._meta.db_table, tag.strip().lower()
        if connections[self.db].vendor == "postgresql":
            collate = ' COLLATE "und-x-icu"' if _has_icu(self.db) else ""
            quoted = json.dumps(key, ensure_ascii=False)
            pattern = "%" + "".join(f"!{char}" if char in "!%_" else char for char in quoted) + "%"
            sql, params = f"lower(\"{table}\".\"tags\"::text{collate}) LIKE %s ESCAPE '!'", [pattern]
        else:
            sql = f'EXISTS (SELECT 1 FROM json_each("{table}"."tags") AS tag WHERE ror_lower(tag.value) = %s)'
            params = [key]
        return self.filter(RawSQL(sql, params, output_field=models.BooleanField()))

    def not_erased(self) -> "ContactQuerySet":
        return self.filter(erased_at__isnull=True)

    def reachable(self) -> "ContactQuerySet":
        """The contacts the agency may reach out to: not erased, not asking not to be contacted."""
        return self.not_erased().filter(do_not_contact=False)

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
