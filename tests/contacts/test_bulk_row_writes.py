"""Contacts' bulk writes through ror_crm.bulk.bulk_update_rows(): bulk tag changes write the
contact rows and history rows bulk_update_with_history() wrote; erasure's scrubs write each
table's changed rows in one statement (on PostgreSQL `UPDATE … FROM unnest(…)`, no CASE;
elsewhere bulk_update())."""

import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from contacts import services
from contacts.erasure import PersonalMentions
from contacts.models import Contact
from partners.erasure import scrub_idempotency_records, scrub_webhook_deliveries
from partners.models import IdempotencyRecord, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

HISTORY_COLUMNS = ("email", "first_name", "tags", "history_type", "history_user", "history_change_reason")
EMAIL, FIRST, LAST = "zyx.erase-me@example.org", "Zyxwvut", "Qwertzuiop"


def updates_of(queries: CaptureQueriesContext, table: str) -> list[str]:
    return [
        query["sql"] for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith("UPDATE") and f'"{table}"' in query["sql"].split("SET")[0]
    ]


def contacts(prefix: str, count: int) -> list[Contact]:
    return [
        services.create_contact(email=f"{prefix}{i}@x.de", first_name=f"F{i}", tags=["old", f'q"{i}\\', "keep,me"])
        for i in range(count)
    ]


class TestChangeTags:
    def test_the_rows_and_history_bulk_update_with_history_wrote(self, staff_user):
        by_library, by_service = contacts("a", 6), contacts("b", 6)
        add, remove = ["vip", "{brace}", 'say "hi"', "ä€"], ["old"]
        now = timezone.now()
        for contact in by_library:
            contact.tags = [tag for tag in contact.tags if tag not in remove] + add
            contact.updated_at = now
        bulk_update_with_history(by_library, Contact, ["tags", "updated_at"], batch_size=500, default_user=staff_user)

        with CaptureQueriesContext(connection) as queries:
            result = services.change_tags(
                Contact.objects.filter(pk__in=[c.pk for c in by_service]), add=add, remove=remove, by=staff_user
            )

        assert result.changed == 6
        stored = dict(Contact.objects.values_list("email", "tags"))
        for i in range(6):
            assert stored[f"b{i}@x.de"] == stored[f"a{i}@x.de"] == [f'q"{i}\\', "keep,me", *add]

        def history(prefix: str) -> list[tuple]:
            rows = Contact.history.filter(email__startswith=prefix).order_by("email", "history_id")
            return [(row[0].removeprefix(prefix), *row[1:]) for row in rows.values_list(*HISTORY_COLUMNS)]

        assert history("b") == history("a")
        assert [row[3:] for row in history("b") if row[3] == "~"] == [("~", staff_user.pk, None)] * 6
        (update,) = updates_of(queries, "contacts_contact")
        if connection.vendor == "postgresql":  # elsewhere bulk_update()'s CASE
            assert "FROM unnest(" in update
            assert "CASE" not in update


class TestErasureScrubs:
    @pytest.fixture
    def person(self) -> Contact:
        return services.create_contact(email=EMAIL, first_name=FIRST, last_name=LAST)

    def test_stored_answers_payloads_and_the_admin_log_in_one_statement_each(self, person, staff_user):
        mentions = PersonalMentions(contact_id=person.pk, email=EMAIL, first_name=FIRST, last_name=LAST)
        bodies = [
            {"id": 999, "note": f'Met {FIRST} {LAST} said "hi" \\ {{x}}', "tags": ["a,b", None]},
            {"contact": person.pk, "notes": f"Ask {EMAIL}", "amount": 1.5},
        ]
        for i, body in enumerate(bodies * 3):
            IdempotencyRecord.objects.create(
                credential="user:1", key=f"k{i}", method="PATCH", path=f"/api/v1/notes/{i}/?by={EMAIL}",
                request_hash="h", status_code=200, response_body=json.dumps(body, ensure_ascii=False).encode(),
            )
        subscription = WebhookSubscription.objects.create(
            name="CRM", url="https://example.com/hook", secret="s", event_types=["contact.score_changed"]
        )
        for i in range(3):
            WebhookDelivery.objects.create(
                subscription=subscription, event_type="contact.score_changed",
                payload={"contact_id": 1, "note": f"{FIRST} {LAST} #{i}", "quote": 'a "b" \\ c'},
            )
        for i in range(3):
            LogEntry.objects.create(
                user=staff_user, content_type=ContentType.objects.get_for_model(Contact), object_id=str(person.pk),
                object_repr=f"{person} #{i}", action_flag=CHANGE, change_message=json.dumps([{"changed": EMAIL}]),
            )

        with CaptureQueriesContext(connection) as queries:
            assert scrub_idempotency_records(mentions) == 6
            assert scrub_webhook_deliveries(mentions) == 3
            services._scrub_admin_log(person, replacement="[erased]")

        for table in ("partners_idempotencyrecord", "partners_webhookdelivery", "django_admin_log"):
            (update,) = updates_of(queries, table)
            if connection.vendor == "postgresql":
                assert "FROM unnest(" in update
                assert "CASE" not in update
        stored = {
            json.loads(bytes(body)) and bytes(body).decode()
            for body in IdempotencyRecord.objects.values_list("response_body", flat=True)
        }
        assert stored == {
            json.dumps({"id": 999, "note": 'Met [erased] said "hi" \\ {x}', "tags": ["a,b", None]}, separators=(",", ":")),
            json.dumps({"contact": person.pk, "notes": "", "amount": 1.5}, separators=(",", ":")),
        }
        assert {path.split("?")[1] for path in IdempotencyRecord.objects.values_list("path", flat=True)} == {"by=[erased]"}
        assert sorted(WebhookDelivery.objects.values_list("payload", flat=True), key=lambda p: p["note"]) == [
            {"contact_id": 1, "note": f"[erased] #{i}", "quote": 'a "b" \\ c'} for i in range(3)
        ]
        assert sorted(LogEntry.objects.values_list("object_repr", "change_message")) == [
            (f"[erased] #{i}", json.dumps([{"changed": "[erased]"}])) for i in range(3)
        ]
