"""GDPR erasure beyond the contact's own row: the copies of the person's e-mail and name that
other rows hold (another contact's meeting notes, follow-up summaries, their change history,
feedback comments, the admin log) and, through the `contact_erased` signal, the partner API's
stored responses and webhook payloads (partners.erasure).

Everything is set-based: one query finds the rows of a table that may mention the person
(a case-insensitive substring match), Python rewrites their text, one bulk update writes them.
"""

import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from contacts.api.serializers import PERSONAL_FIELDS
from ror_crm.bulk import bulk_update_rows

# Sent inside erase_contact's transaction, before it commits; kwargs: mentions (PersonalMentions).
contact_erased = Signal()

REDACTED = "[erased]"
# Free text rows about the contact itself lose entirely (erase_contact); elsewhere only the mentions go.
FREE_TEXT_FIELDS = ("notes", "summary", "next_step", "comment")
# The contact's own personal fields, as the API shows an erased contact (all null).
ERASED_REPRESENTATION = dict.fromkeys(PERSONAL_FIELDS)


@dataclass(frozen=True)
class PersonalMentions:
    """How the erased person appears in text: the e-mail, and the full name when both parts are
    known (a first name alone, "Anna", would blank every Anna in the database)."""

    contact_id: int
    email: str | None
    first_name: str = ""
    last_name: str = ""
    pattern: re.Pattern | None = field(init=False, default=None, compare=False)

    def __post_init__(self) -> None:
        alternatives = [re.escape(self.email)] if self.email else []  # first: it may contain the name
        if self.full_name:  # "Anna  Müller" and "Anna\nMüller" too
            alternatives.append(re.escape(self.first_name.strip()) + r"\s+" + re.escape(self.last_name.strip()))
        pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
        object.__setattr__(self, "pattern", pattern)

    @property
    def full_name(self) -> str:
        first, last = self.first_name.strip(), self.last_name.strip()
        return f"{first} {last}" if first and last else ""

    @property
    def needles(self) -> list[str]:
        """The literal strings to search for (JSON escapes included where they differ)."""
        found = [value for value in (self.email, self.full_name) if value]
        found += [json.dumps(value)[1:-1] for value in found if json.dumps(value)[1:-1] != value]
        return found

    def text_filter(self, field_name: str, *, json_text: bool = False) -> Q:
        """Rows whose `field_name` may mention the person (a superset; scrub() decides). With
        json_text, also as JSON writes non-ASCII letters ("M\\u00fcller", SQLite's JSONField)."""
        def forms(value: str) -> list[str]:
            escaped = json.dumps(value)[1:-1]
            return [value, escaped] if json_text and escaped != value else [value]

        condition = Q(pk__in=[])
        for email in forms(self.email) if self.email else []:
            condition |= Q(**{f"{field_name}__icontains": email})
        if self.full_name:
            for first, last in itertools.product(forms(self.first_name.strip()), forms(self.last_name.strip())):
                condition |= Q(**{f"{field_name}__icontains": first}) & Q(**{f"{field_name}__icontains": last})
        return condition

    def scrub(self, text: str) -> str:
        return self.pattern.sub(REDACTED, text) if self.pattern and text else text

    def scrub_data(self, data: Any) -> Any:
        """JSON-like data with the mentions scrubbed; objects about the contact itself (the
        contact, its follow-ups, meetings, feedback and referrals) lose their personal fields
        and free text, as erase_contact leaves the rows."""
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, list):
            return [self.scrub_data(item) for item in data]
        if not isinstance(data, dict):
            return data
        if self.email and str(data.get("referred_email") or "").lower() == self.email.lower():
            data = {**data, "referred_email": ""}
        data = {key: self.scrub_data(value) for key, value in data.items()}
        if data.get("id") == self.contact_id and "email" in data and "first_name" in data:
            data.update({key: value for key, value in ERASED_REPRESENTATION.items() if key in data})
        if self.contact_id in (data.get("contact"), data.get("counterpart")):
            data.update({key: "" for key in FREE_TEXT_FIELDS if key in data})
        if data.get("referred") == self.contact_id and "referred_email" in data:
            data["referred_email"] = ""
        return data


def scrub_text_fields(model: type[models.Model], field_names: Iterable[str], mentions: PersonalMentions) -> int:
    """Scrub the mentions from these text fields of every row of the model: 2 queries."""
    field_names = list(field_names)
    if mentions.pattern is None:
        return 0
    condition = Q(pk__in=[])
    for name in field_names:
        condition |= mentions.text_filter(name)
    rows = list(model._default_manager.filter(condition).only("pk", *field_names))
    changed = []
    for row in rows:
        before = [getattr(row, name) for name in field_names]
        for name in field_names:
            setattr(row, name, mentions.scrub(getattr(row, name)))
        if [getattr(row, name) for name in field_names] != before:
            changed.append(row)
    written = list(field_names)
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        now = timezone.now()  # partners syncing with updated_since fetch the scrubbed text again
        for row in changed:
            row.updated_at = now
        written.append("updated_at")
    bulk_update_rows(model, changed, written, batch_size=500)
    return len(changed)
