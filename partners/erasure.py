"""GDPR erasure in the partner API's own tables (contacts.erasure sends `contact_erased`).

Idempotency records keep the first response to a write for 24 h to replay it: a PATCH of the
contact, a meeting note naming them. Those responses are rewritten like the rows they
describe (the contact's fields null, its own free text blank, mentions elsewhere
"[erased]"), so a replay still changes nothing and shows nothing of the person; a stored
answer that is not JSON (the browsable API's HTML) is deleted. Webhook payloads carry ids
and figures only today; any mention of the person in them, or in a receiver's error text,
is scrubbed all the same.
"""

import json
from urllib.parse import quote

from django.db.models import BooleanField, F, Func, Q, Value

from contacts.erasure import PersonalMentions, scrub_text_fields
from partners.models import IdempotencyRecord, WebhookDelivery
from ror_crm.bulk import bulk_update_rows

CONTACT_REFERENCES = ("contact", "counterpart", "referrer", "referred")


class BytesContain(Func):
    """`haystack` (bytea, BLOB) contains `needle` bytes: SQLite's instr(), PostgreSQL's position()."""

    output_field = BooleanField()
    arity = 2
    template = "instr(%(expressions)s) > 0"

    def as_postgresql(self, compiler, connection, **extra_context):
        haystack, needle = (compiler.compile(expression) for expression in self.get_source_expressions())
        return f"position({needle[0]} in {haystack[0]}) > 0", (*needle[1], *haystack[1])


def _response_needles(mentions: PersonalMentions) -> list[bytes]:
    """What a stored response about the person contains: their e-mail or name (as DRF's JSON
    writes them, UTF-8 or \\u-escaped), or their id in a row's contact field (compact JSON)."""
    needles = [needle.encode() for needle in mentions.needles]
    needles += [f'"{key}":{mentions.contact_id}{end}'.encode() for key in CONTACT_REFERENCES for end in ",}"]
    return needles


def scrub_idempotency_records(mentions: PersonalMentions) -> int:
    """Rewrite (or delete) the stored responses about the person: 2–3 queries."""
    condition = Q(path__startswith=f"/api/v1/contacts/{mentions.contact_id}/")
    if mentions.email:
        condition |= Q(path__icontains=mentions.email) | Q(path__icontains=quote(mentions.email))
    for needle in _response_needles(mentions):
        condition |= Q(BytesContain(F("response_body"), Value(needle)))
    records = list(IdempotencyRecord.objects.filter(condition))
    unreadable, changed = [], []
    for record in records:
        body = bytes(record.response_body or b"")
        try:
            data = json.loads(body) if body else None
        except ValueError:  # UnicodeDecodeError included
            unreadable.append(record.pk)
            continue
        scrubbed = mentions.scrub_data(data)
        record.path = mentions.scrub(record.path)
        if body:
            # The renderer's own format: compact, UTF-8 (rest_framework.renderers.JSONRenderer).
            record.response_body = json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")).encode()
        changed.append(record)
    IdempotencyRecord.objects.filter(pk__in=unreadable).delete()
    bulk_update_rows(IdempotencyRecord, changed, ["path", "response_body"], batch_size=500)
    return len(records)


def scrub_webhook_deliveries(mentions: PersonalMentions) -> int:
    deliveries = list(WebhookDelivery.objects.filter(mentions.text_filter("payload", json_text=True)).only("pk", "payload"))
    for delivery in deliveries:
        delivery.payload = mentions.scrub_data(delivery.payload)
    bulk_update_rows(WebhookDelivery, deliveries, ["payload"], batch_size=500)
    return len(deliveries) + scrub_text_fields(WebhookDelivery, ["last_error"], mentions)
