"""Erasure leaves no copy: stored idempotent answers, other contacts' notes and follow-ups, their
history, webhook payloads and the admin log lose the person's e-mail and name (README: erasure).
The real-stack proof (a full pg_dump and the Redis keyspace) is tests/contacts/test_erasure_no_copies.py."""

import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from contacts import services
from contacts.erasure import PersonalMentions
from contacts.models import Contact, FollowUp, Referral
from events.models import Interaction
from partners.models import IdempotencyRecord, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

EMAIL, FIRST, LAST = "zyx.erase-me@example.org", "Zyxwvut", "Qwertzuiop"


def mentions(text: str) -> bool:
    text = text.lower()
    return any(needle.lower() in text for needle in (EMAIL, FIRST, LAST))


def write(client, method: str, url: str, body: dict, key: str):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.fixture
def person(db) -> Contact:
    return services.create_contact(email=EMAIL, first_name=FIRST, last_name=LAST, job_title="Head of Zyx", phone="+49 1")


@pytest.fixture
def ben(db) -> Contact:
    return services.create_contact(email="ben@example.com", first_name="Ben", last_name="Kurz")


class TestIdempotencyRecords:
    def test_a_replayed_patch_after_erasure_shows_nothing_of_the_person_and_changes_nothing(self, write_client, person):
        url = f"/api/v1/contacts/{person.pk}/"
        first = write(write_client, "patch", url, {"job_title": "CTO", "phone": "+49 30 123"}, "patch-1")
        assert mentions(first.content.decode())
        write_client.post(f"/api/v1/contacts/{person.pk}/erase/")

        replay = write(write_client, "patch", url, {"job_title": "CTO", "phone": "+49 30 123"}, "patch-1")

        assert replay.status_code == 200
        assert replay["Idempotent-Replayed"] == "true"
        assert not mentions(replay.content.decode())
        assert "CTO" not in replay.content.decode()
        assert {key: replay.json()[key] for key in ("id", "email", "first_name", "job_title", "phone", "tags")} == {
            "id": person.pk, "email": None, "first_name": None, "job_title": None, "phone": None, "tags": None}
        person.refresh_from_db()
        assert person.job_title == ""

    def test_another_contacts_note_keeps_its_text_without_the_mention(self, write_client, person, ben, event):
        note = f"Intro to {FIRST} {LAST} ({EMAIL.upper()}), wants a demo"
        write(write_client, "post", "/api/v1/interactions/", {"event": event.pk, "contact": ben.pk, "notes": note}, "i-1")
        services.erase_contact(person)

        replay = write(write_client, "post", "/api/v1/interactions/",
                       {"event": event.pk, "contact": ben.pk, "notes": note}, "i-1")

        assert replay.status_code == 201
        assert replay.json()["notes"] == "Intro to [erased] ([erased]), wants a demo"
        assert Interaction.objects.get().notes == "Intro to [erased] ([erased]), wants a demo"

    def test_the_persons_own_rows_lose_their_free_text_in_the_stored_answers(self, write_client, person, event):
        write(write_client, "post", "/api/v1/follow-ups/", {"contact": person.pk, "summary": "Talked about the kids"}, "f-1")
        write(write_client, "post", "/api/v1/interactions/",
              {"event": event.pk, "contact": person.pk, "notes": "Allergic to nuts"}, "i-2")
        services.erase_contact(person)

        bodies = [bytes(record.response_body).decode() for record in IdempotencyRecord.objects.all()]

        assert not any("kids" in body or "nuts" in body for body in bodies)
        assert json.loads(bodies[0])["contact"] == person.pk  # the rest of the answer stays for the replay

    def test_a_stored_answer_that_is_not_json_is_deleted(self, person):
        IdempotencyRecord.objects.create(credential="user:1", key="html", method="PATCH", path="/api/v1/contacts/",
                                         request_hash="0" * 64, status_code=200, content_type="text/html",
                                         response_body=f"<td>{EMAIL}</td>".encode())
        services.erase_contact(person)

        assert not IdempotencyRecord.objects.exists()

    def test_records_about_someone_else_are_left_alone(self, write_client, person, ben):
        write(write_client, "patch", f"/api/v1/contacts/{ben.pk}/", {"job_title": "CEO"}, "ben-1")
        before = bytes(IdempotencyRecord.objects.get().response_body)

        services.erase_contact(person)

        assert bytes(IdempotencyRecord.objects.get().response_body) == before


class TestFreeTextElsewhere:
    def test_notes_summaries_history_comments_referrals_and_payloads(self, person, ben, event, staff_user):
        from events.models import Feedback

        meeting = Interaction.objects.create(event=event, contact=ben, notes=f"Met {FIRST}  {LAST} at the bar")
        follow_up = services.create_follow_up(contact=ben, summary=f"Ask {EMAIL} for the deck",
                                              next_step=f"Call {FIRST} {LAST}")
        services.update_follow_up(follow_up, summary=f"Asked {FIRST} {LAST}")
        Feedback.objects.create(event=event, contact=ben, nps=9, comment=f"Loved meeting {FIRST} {LAST}")
        referral = Referral.objects.create(referrer=ben, referred_email=EMAIL)
        subscription = WebhookSubscription.objects.create(name="CRM", url="https://example.com/hook", secret="s",
                                                          event_types=["contact.score_changed"])
        delivery = WebhookDelivery.objects.create(subscription=subscription, event_type="contact.score_changed",
                                                  payload={"contact_id": person.pk, "note": f"{FIRST} {LAST}"},
                                                  last_error=f"400: unknown {EMAIL}")
        LogEntry.objects.create(user=staff_user, content_type=ContentType.objects.get_for_model(Contact),
                                object_id=str(person.pk), object_repr=str(person), action_flag=CHANGE,
                                change_message="[]")

        services.erase_contact(person)

        meeting.refresh_from_db()
        assert meeting.notes == "Met [erased] at the bar"
        follow_up.refresh_from_db()
        assert (follow_up.summary, follow_up.next_step) == ("Asked [erased]", "Call [erased]")
        for historical in FollowUp.history.filter(id=follow_up.pk):
            assert not mentions(historical.summary + historical.next_step)
        assert Feedback.objects.get().comment == "Loved meeting [erased]"
        referral.refresh_from_db()
        assert referral.referred_email == ""
        delivery.refresh_from_db()
        assert delivery.payload == {"contact_id": person.pk, "note": "[erased]"}
        assert delivery.last_error == "400: unknown [erased]"
        assert not mentions(LogEntry.objects.get().object_repr)

    def test_a_first_name_alone_is_not_scrubbed_elsewhere(self, person, ben, event):
        """Another "Zyxwvut" may exist; only the e-mail and the full name identify the person."""
        meeting = Interaction.objects.create(event=event, contact=ben, notes=f"{FIRST} from accounting")

        services.erase_contact(person)

        meeting.refresh_from_db()
        assert meeting.notes == f"{FIRST} from accounting"

    def test_the_queries_do_not_grow_with_the_rows(self, person, ben, event, django_assert_max_num_queries):
        other = services.create_contact(email="z2@example.com", first_name="Zed", last_name="Two")
        Interaction.objects.bulk_create(
            Interaction(event=event, contact=ben, notes=f"{i}: {FIRST} {LAST}") for i in range(40)
        )
        Interaction.objects.bulk_create(Interaction(event=event, contact=ben, notes="Zed Two") for _ in range(2))
        with django_assert_max_num_queries(40) as few:
            services.erase_contact(other)
        with django_assert_max_num_queries(len(few.captured_queries)):
            services.erase_contact(person)

        assert not Interaction.objects.filter(notes__contains=LAST).exists()


def test_mentions_match_the_email_in_any_case_and_the_name_across_whitespace():
    found = PersonalMentions(contact_id=1, email=EMAIL, first_name=FIRST, last_name=LAST)

    assert found.scrub(f"{EMAIL.upper()} / {FIRST}\n{LAST} / {LAST}") == f"[erased] / [erased] / {LAST}"
    assert PersonalMentions(contact_id=1, email=None, first_name=FIRST, last_name="").scrub(FIRST) == FIRST

