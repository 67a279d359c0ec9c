"""The resources of API.md, their filters, orderings and rules, one by one."""

import importlib
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact, FollowUp, Organization, Referral, normalize_email
from contacts.services import create_contact, create_follow_up, get_or_create_organization
from events.models import Attendance, Event, EventSeries, Feedback
from events.services import create_attendance, create_event, record_interaction
from scoring.services.recompute import recompute_contacts

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat()


class TestCrudOfEveryResource:
    @pytest.mark.parametrize(("path", "body", "change"), [
        ("organizations", {"name": "Hanse Events GmbH", "domain": "hanse.example"}, {"industry": "Events"}),
        ("contacts", {"email": "neu@example.com", "first_name": "Nina", "tags": ["vip"]}, {"job_title": "CMO"}),
        ("series", {"name": "CX Roadshow"}, {"description": "DACH tour"}),
        ("events", {"name": "CX Hamburg", "starts_at": "2026-10-01T09:00:00+02:00", "ends_at": "2026-10-01T18:00:00+02:00",
                    "kind": "roadshow", "format": "hybrid", "cost": 1200.5}, {"city": "Hamburg"}),
    ])
    def test_create_read_update_delete(self, write_client, path, body, change):
        created = write_client.post(f"/api/v1/{path}/", body, format="json")
        assert created.status_code == 201, created.json()
        url = f"/api/v1/{path}/{created.json()['id']}/"
        assert write_client.get(url).json()["id"] == created.json()["id"]
        updated = write_client.patch(url, change, format="json")
        assert updated.status_code == 200, updated.json()
        assert all(updated.json()[name] == value for name, value in change.items())
        assert {"created_at", "updated_at"} <= set(updated.json())
        assert write_client.delete(url).status_code == 204
        assert write_client.get(url).status_code == 404

    def test_attendances_interactions_follow_ups_feedback_referrals(self, write_client, event, anna):
        ben = create_contact(email="ben@example.com")
        bodies = {
            "attendances": {"event": event.pk, "contact": anna.pk, "role": "speaker", "status": "attended",
                            "source": "tix", "external_id": "T-1"},
            "interactions": {"event": event.pk, "contact": anna.pk, "counterpart": ben.pk, "kind": "meeting",
                             "occurred_at": iso(timezone.now()), "duration_minutes": 45, "quality": 4},
            "follow-ups": {"contact": anna.pk, "event": event.pk, "channel": "phone", "due_at": iso(timezone.now()),
                           "deal_value": 1500, "deal_status": "open"},
            "feedback": {"event": event.pk, "contact": anna.pk, "nps": 9, "satisfaction": 8, "comment": "Great"},
            "referrals": {"referrer": anna.pk, "referred": ben.pk, "event": event.pk},
        }
        for path, body in bodies.items():
            created = write_client.post(f"/api/v1/{path}/", body, format="json")
            assert created.status_code == 201, (path, created.json())
            url = f"/api/v1/{path}/{created.json()['id']}/"
            assert write_client.patch(url, {}, format="json").status_code == 200
            assert write_client.get(f"/api/v1/{path}/").json()["results"][0]["id"] == created.json()["id"]
        follow_up = write_client.get("/api/v1/follow-ups/").json()["results"][0]
        assert follow_up["deal_value"] == 1500  # decimals are JSON numbers
        for path in bodies:
            item = write_client.get(f"/api/v1/{path}/").json()["results"][0]
            assert write_client.delete(f"/api/v1/{path}/{item['id']}/").status_code == 204


class TestContractRules:
    def test_duplicate_email_is_409_with_the_existing_id(self, write_client, anna):
        response = write_client.post("/api/v1/contacts/", {"email": "  ANNA@Example.com "}, format="json")
        assert response.status_code == 409
        assert response.json()["id"] == anna.pk
        assert "detail" in response.json()

    @pytest.mark.parametrize("again", ["idn@xn--mller-kva.example", "idn@mu\u0308ller.example", " IDN@MÜLLER.example"])
    def test_one_mailbox_however_its_domain_and_letters_are_spelled(self, write_client, again):
        first = write_client.post("/api/v1/contacts/", {"email": "idn@müller.example"}, format="json")
        second = write_client.post("/api/v1/contacts/", {"email": again}, format="json")

        assert (second.status_code, second.json()["id"]) == (409, first.json()["id"])
        assert write_client.get("/api/v1/contacts/?email=idn@xn--mller-kva.example").json()["results"][0]["id"] == \
            first.json()["id"]

    def test_a_german_sharp_s_domain_is_one_mailbox_in_both_spellings(self, write_client):
        first = write_client.post("/api/v1/contacts/", {"email": "a@straße.de"}, format="json")
        again = write_client.post("/api/v1/contacts/", {"email": "a@xn--strae-oqa.de"}, format="json")
        assert (again.status_code, again.json()["id"]) == (409, first.json()["id"])

    def test_the_upgrade_respells_stored_emails_unless_another_contact_has_the_spelling(self, write_client):
        from django.apps import apps

        upgrade = importlib.import_module("contacts.migrations.0016_emails_in_one_spelling")
        # stored before the rule, in the spellings it now folds
        ascii_form, decomposed, taken = Contact.objects.bulk_create([
            Contact(email="idn@xn--mller-kva.example"), Contact(email="ann@mu\u0308ller.example"),
            Contact(email="bob@xn--mller-kva.example")])
        kept = Contact.objects.create(email="bob@müller.example")
        referral = Referral.objects.create(referrer=kept, referred_email="x@xn--mller-kva.example")
        Referral.objects.filter(pk=referral.pk).update(referred_email="x@xn--mller-kva.example")

        upgrade.respell(apps, None)

        emails = dict(Contact.objects.values_list("pk", "email"))
        assert (emails[ascii_form.pk], emails[decomposed.pk]) == ("idn@müller.example", "ann@müller.example")
        assert emails[taken.pk] == "bob@xn--mller-kva.example"  # the spelling is another contact's: left as it was
        assert Referral.objects.get(pk=referral.pk).referred_email == "x@müller.example"
        found = write_client.get("/api/v1/contacts/?email=idn@xn--mller-kva.example").json()["results"]
        assert [row["id"] for row in found] == [ascii_form.pk]

    def test_an_ascii_form_that_is_no_domain_stays_as_written(self, write_client):
        assert normalize_email("a@xn--zz.example") == "a@xn--zz.example"
        assert normalize_email("no-at-sign") == "no-at-sign"

    def test_organization_names_are_unique_case_insensitively_beyond_ascii(self, write_client):
        # The database's lower() folds only ASCII letters on SQLite and under PostgreSQL's C locale.
        first = write_client.post("/api/v1/organizations/", {"name": "Äpfel & Söhne"}, format="json")
        again = write_client.post("/api/v1/organizations/", {"name": " äPFEL & sÖHNE "}, format="json")
        assert first.status_code == 201
        assert (again.status_code, again.json()["code"], again.json()["id"]) == (409, "organization_exists", first.json()["id"])
        found = write_client.get("/api/v1/organizations/", {"name": "ÄPFEL & SÖHNE"}).json()["results"]
        assert [organization["id"] for organization in found] == [first.json()["id"]]
        # Lists and imports match organizations by name the same way.
        assert get_or_create_organization("äpfel & söhne").pk == first.json()["id"]
        assert Organization.objects.count() == 1

    def test_duplicate_attendance_and_feedback_are_409_with_the_existing_id(self, write_client, event, anna):
        first = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk}, format="json").json()
        again = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk}, format="json")
        assert (again.status_code, again.json()["id"]) == (409, first["id"])
        feedback = write_client.post("/api/v1/feedback/", {"event": event.pk, "contact": anna.pk, "nps": 7}, format="json")
        repeated = write_client.post("/api/v1/feedback/", {"event": event.pk, "contact": anna.pk, "nps": 9}, format="json")
        assert (repeated.status_code, repeated.json()["id"]) == (409, feedback.json()["id"])

    def test_an_interactions_external_id_taken_is_409_with_the_existing_id_as_an_attendances(
        self, write_client, event, anna,
    ):
        row = {"event": event.pk, "contact": anna.pk, "kind": "meeting", "source": "badge-scanner", "external_id": "S-9"}
        first = write_client.post("/api/v1/interactions/", row, format="json").json()
        again = write_client.post("/api/v1/interactions/", row, format="json")
        assert (again.status_code, again.json()["code"], again.json()["id"]) == (409, "external_id_exists", first["id"])
        other = write_client.post("/api/v1/interactions/", {**row, "external_id": "S-10"}, format="json").json()
        moved = write_client.patch(f"/api/v1/interactions/{other['id']}/", {"external_id": "S-9"}, format="json")
        assert (moved.status_code, moved.json()["id"]) == (409, first["id"])
        assert write_client.patch(f"/api/v1/interactions/{first['id']}/", {"external_id": "S-9"},
                                  format="json").status_code == 200  # its own id again

    @pytest.mark.parametrize(("path", "body", "field"), [
        ("feedback", {"nps": 11}, "nps"),
        ("feedback", {"nps": -1}, "nps"),
        ("feedback", {"satisfaction": 0}, "satisfaction"),
        ("interactions", {"quality": 6}, "quality"),
        ("interactions", {"duration_minutes": -5}, "duration_minutes"),
        ("interactions", {"kind": "party"}, "kind"),
        ("attendances", {"role": "king"}, "role"),
        ("follow-ups", {"channel": "pigeon"}, "channel"),
        ("follow-ups", {"deal_value": "lots"}, "deal_value"),
        ("follow-ups", {"deal_value": 1000, "deal_status": "none"}, "deal_status"),  # a value counted nowhere
    ])
    def test_validation_ranges_and_enums(self, write_client, event, anna, path, body, field):
        base = {"event": event.pk, "contact": anna.pk, "occurred_at": iso(timezone.now())}
        response = write_client.post(f"/api/v1/{path}/", {**base, **body}, format="json")
        assert response.status_code == 400
        assert field in response.json()

    def test_a_follow_up_of_an_event_is_done_once_the_event_has_begun(self, write_client, event, anna):
        body = {"contact": anna.pk, "event": event.pk, "channel": "phone", "status": "done"}
        early = write_client.post("/api/v1/follow-ups/", {**body, "completed_at": iso(event.starts_at - timedelta(days=30))},
                                  format="json")
        assert (early.status_code, list(early.json())) == (400, ["completed_at"])
        during = write_client.post("/api/v1/follow-ups/", {**body, "completed_at": iso(event.starts_at)}, format="json")
        assert during.status_code == 201
        assert FollowUp.objects.count() == 1

    def test_a_deal_value_alone_is_an_open_deal_and_old_rows_keep_taking_changes(self, write_client, anna):
        created = write_client.post("/api/v1/follow-ups/", {"contact": anna.pk, "deal_value": 1000}, format="json")
        assert (created.status_code, created.json()["deal_status"]) == (201, "open")
        url = f"/api/v1/follow-ups/{created.json()['id']}/"
        refused = write_client.patch(url, {"deal_status": "none"}, format="json")
        assert (refused.status_code, list(refused.json())) == (400, ["deal_status"])

        FollowUp.objects.filter(pk=created.json()["id"]).update(deal_status="none")  # stored before the rule
        body = write_client.get(url).json()
        assert write_client.patch(url, {"summary": "called"}, format="json").status_code == 200
        assert write_client.put(url, {**body, "summary": "again"}, format="json").status_code == 200
        assert write_client.patch(url, {"status": "done"}, format="json").status_code == 200

    def test_feedback_is_for_an_event_that_took_place(self, write_client, anna):
        ahead = create_event(name="Next year", starts_at=timezone.now() + timedelta(days=30),
                             ends_at=timezone.now() + timedelta(days=31))
        cancelled = create_event(name="Off", starts_at=timezone.now() - timedelta(days=3),
                                 ends_at=timezone.now() - timedelta(days=2), status="cancelled")
        for event in (ahead, cancelled):
            response = write_client.post("/api/v1/feedback/", {"event": event.pk, "contact": anna.pk, "nps": 9},
                                         format="json")
            assert (response.status_code, list(response.json())) == (400, ["event"]), event.name
        assert not Feedback.objects.exists()

    def test_feedback_stays_editable_when_its_event_is_cancelled_or_moved_later(self, write_client, event, anna):
        answer = write_client.post("/api/v1/feedback/", {"event": event.pk, "contact": anna.pk, "nps": 9},
                                   format="json").json()
        url = f"/api/v1/feedback/{answer['id']}/"
        assert write_client.patch(f"/api/v1/events/{event.pk}/", {"status": "cancelled"}, format="json").status_code == 200
        assert write_client.patch(url, {"comment": "great"}, format="json").status_code == 200
        other = create_event(name="Other", starts_at=event.starts_at, ends_at=event.ends_at)
        assert write_client.patch(url, {"event": other.pk}, format="json").status_code == 200
        moved = write_client.patch(url, {"event": event.pk}, format="json")  # back to the cancelled one
        assert (moved.status_code, list(moved.json())) == (400, ["event"])

    def test_the_models_rules_answer_at_their_fields(self, write_client, event, anna):
        now = timezone.now()
        backwards = write_client.post("/api/v1/events/", {"name": "Backwards", "starts_at": iso(now),
                                                          "ends_at": iso(now - timedelta(hours=1))}, format="json")
        assert (backwards.status_code, backwards.json()) == (400, {"ends_at": ["The event cannot end before it starts."]})
        moved = write_client.patch(f"/api/v1/events/{event.pk}/", {"ends_at": iso(event.starts_at - timedelta(hours=1))},
                                   format="json")
        assert (moved.status_code, list(moved.json())) == (400, ["ends_at"])
        lower = write_client.post("/api/v1/events/", {"name": "Gala", "starts_at": iso(now), "ends_at": iso(now),
                                                      "currency": "chf"}, format="json")
        assert (lower.status_code, lower.json()["currency"]) == (201, "CHF")
        alone = write_client.post("/api/v1/interactions/", {"event": event.pk, "contact": anna.pk, "counterpart": anna.pk,
                                                            "kind": "meeting"}, format="json")
        assert (alone.status_code, alone.json()) == (400, {"counterpart": ["A contact cannot interact with themselves."]})

    def test_a_referral_names_someone_other_than_its_referrer(self, write_client, anna):
        for body in ({"referrer": anna.pk}, {"referrer": anna.pk, "referred_email": ""},
                     {"referrer": anna.pk, "referred_email": f"  {anna.email.upper()} "}):
            response = write_client.post("/api/v1/referrals/", body, format="json")
            assert response.status_code == 400, body
            assert list(response.json()) == ["referred_email"]
        itself = write_client.post("/api/v1/referrals/", {"referrer": anna.pk, "referred": anna.pk}, format="json")
        assert (itself.status_code, list(itself.json())) == (400, ["referred"])
        assert not Referral.objects.exists()
        created = write_client.post("/api/v1/referrals/", {"referrer": anna.pk, "referred_email": "new@x.de"},
                                    format="json").json()
        emptied = write_client.patch(f"/api/v1/referrals/{created['id']}/", {"referred_email": ""}, format="json")
        assert (emptied.status_code, list(emptied.json())) == (400, ["referred_email"])
        assert Referral.objects.get().referred_email == "new@x.de"

    def test_a_referral_whose_referred_contact_was_deleted_stays_editable(self, write_client, event, anna):
        ben = create_contact(email="ben@example.com")
        referral = write_client.post("/api/v1/referrals/", {"referrer": anna.pk, "referred": ben.pk},
                                     format="json").json()
        assert write_client.delete(f"/api/v1/contacts/{ben.pk}/").status_code == 204
        url = f"/api/v1/referrals/{referral['id']}/"
        body = write_client.get(url).json()
        assert (body["referred"], body["referred_email"]) == (None, "")
        assert write_client.patch(url, {"event": event.pk}, format="json").status_code == 200
        assert write_client.put(url, {**body, "event": None}, format="json").status_code == 200

    def test_a_referral_is_dated_when_it_was_made(self, write_client, anna):
        made = timezone.now().replace(microsecond=0) - timedelta(days=400)
        created = write_client.post("/api/v1/referrals/", {"referrer": anna.pk, "referred_email": "new@x.de",
                                                           "created_at": iso(made)}, format="json")
        assert created.status_code == 201, created.json()
        assert Referral.objects.get().created_at == made
        recompute_contacts([anna.pk])  # (a referral without an event waits for the nightly run)
        score = write_client.get(f"/api/v1/contacts/{anna.pk}/score/").json()
        assert datetime.fromisoformat(score["last_touch_at"]) == made  # a touchpoint of then, not of the request
        future = write_client.post("/api/v1/referrals/", {"referrer": anna.pk, "referred_email": "b@x.de",
                                                          "created_at": iso(timezone.now() + timedelta(days=2))},
                                   format="json")
        assert (future.status_code, list(future.json())) == (400, ["created_at"])
        now = write_client.post("/api/v1/referrals/", {"referrer": anna.pk, "referred_email": "c@x.de"}, format="json")
        assert abs(Referral.objects.get(pk=now.json()["id"]).created_at - timezone.now()) < timedelta(minutes=1)

    def test_null_for_an_optional_text_is_no_text(self, write_client, event):
        """Partners send a missing value as null; the text columns keep "" for none."""
        created = write_client.post("/api/v1/contacts/", {"email": "n@x.de", "first_name": None, "phone": None,
                                                          "job_title": None}, format="json")
        assert created.status_code == 201, created.json()
        assert (created.json()["first_name"], created.json()["phone"]) == ("", "")
        patched = write_client.patch(f"/api/v1/events/{event.pk}/", {"venue": None, "city": None}, format="json")
        assert (patched.status_code, patched.json()["venue"], patched.json()["city"]) == (200, "", "")
        assert write_client.patch(f"/api/v1/events/{event.pk}/", {"name": None}, format="json").status_code == 400

    def test_events_end_after_they_start_also_on_patch(self, write_client, event):
        response = write_client.patch(f"/api/v1/events/{event.pk}/", {"ends_at": iso(event.starts_at - timedelta(hours=1))},
                                      format="json")
        assert response.status_code == 400
        assert "ends_at" in response.json()

    def test_unknown_foreign_keys_are_field_errors(self, write_client):
        response = write_client.post("/api/v1/attendances/", {"event": 987654, "contact": 123456}, format="json")
        assert response.status_code == 400
        assert {"event", "contact"} <= set(response.json())

    def test_a_done_follow_up_gets_completed_at(self, write_client, anna):
        response = write_client.post("/api/v1/follow-ups/", {"contact": anna.pk, "status": "done"}, format="json")
        assert response.status_code == 201
        assert response.json()["completed_at"] is not None

    def test_a_done_follow_up_s_time_sent_as_null_is_a_400_and_stays(self, write_client, anna):
        done_at = timezone.now().replace(microsecond=0) - timedelta(days=30)
        created = write_client.post("/api/v1/follow-ups/", {"contact": anna.pk, "status": "done",
                                                            "completed_at": iso(done_at)}, format="json").json()

        response = write_client.patch(f"/api/v1/follow-ups/{created['id']}/", {"completed_at": None}, format="json")

        assert (response.status_code, list(response.json())) == (400, ["completed_at"])
        assert FollowUp.objects.get().completed_at == done_at

    def test_erased_contacts_read_null_and_refuse_writes(self, write_client, anna, event):
        assert write_client.post(f"/api/v1/contacts/{anna.pk}/erase/").status_code == 204
        body = write_client.get(f"/api/v1/contacts/{anna.pk}/").json()
        assert all(body[field] is None for field in ("email", "first_name", "last_name", "job_title", "phone", "tags"))
        assert write_client.patch(f"/api/v1/contacts/{anna.pk}/", {"first_name": "A"}, format="json").status_code == 409
        attend = write_client.post("/api/v1/attendances/", {"event": event.pk, "contact": anna.pk}, format="json")
        assert attend.status_code == 409

    def test_erased_contacts_rows_are_neither_changed_nor_deleted_nor_linked_to(self, write_client, anna, event):
        ben = create_contact(email="ben@example.com")
        attendance = create_attendance(event=event, contact=anna, external_id="A-1")
        interaction = record_interaction(event=event, contact=ben, counterpart=anna, notes="met Anna")
        referral = write_client.post("/api/v1/referrals/", {"referrer": ben.pk, "referred_email": "c@x.de"},
                                     format="json").json()
        assert write_client.post(f"/api/v1/contacts/{anna.pk}/erase/").status_code == 204

        refused = [
            write_client.delete(f"/api/v1/contacts/{anna.pk}/"),
            write_client.delete(f"/api/v1/attendances/{attendance.pk}/"),
            write_client.patch(f"/api/v1/interactions/{interaction.pk}/", {"notes": "about Anna"}, format="json"),
            write_client.delete(f"/api/v1/interactions/{interaction.pk}/"),
            write_client.post("/api/v1/referrals/", {"referrer": ben.pk, "referred": anna.pk}, format="json"),
            write_client.patch(f"/api/v1/referrals/{referral['id']}/", {"referred": anna.pk}, format="json"),
        ]
        assert [response.status_code for response in refused] == [409] * 6
        assert {response.json()["code"] for response in refused} == {"contact_erased"}

        check_in = write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {"external_ids": ["A-1"]}, format="json")
        assert check_in.json() == {"checked_in": 0, "already_checked_in": 0, "unknown": ["A-1"]}
        attendance.refresh_from_db()
        assert (attendance.status, attendance.checked_in_at) == ("registered", None)
        interaction.refresh_from_db()
        assert interaction.notes == ""  # erasure cleared it; nothing wrote it back
        assert Contact.objects.filter(pk=anna.pk).exists()
        assert not Contact.objects.get(pk=ben.pk).referrals_made.filter(referred=anna).exists()

    def test_an_id_or_number_is_never_an_empty_string_in_json(self, write_client, event):
        for body in ({"series": ""}, {"cost": ""}):
            response = write_client.patch(f"/api/v1/events/{event.pk}/", body, format="json")
            assert response.status_code == 400
            assert set(response.json()) == set(body)
        assert write_client.patch(f"/api/v1/events/{event.pk}/", {"series": None, "cost": None},
                                  format="json").status_code == 200

    @pytest.mark.parametrize("field", ["capacity", "follow_up_deadline_minutes"])
    @pytest.mark.parametrize("value", ["120", True, "", 1.5])
    def test_a_whole_number_in_json_is_a_number(self, write_client, event, field, value):
        # The schema says integer, as it does for ids, which refuse "12" too.
        response = write_client.patch(f"/api/v1/events/{event.pk}/", {field: value}, format="json")

        assert response.status_code == 400
        assert set(response.json()) == {field}
        event.refresh_from_db()
        assert getattr(event, field) is None

    @pytest.mark.parametrize("cost", ["1e3", "120.50", "  ", True])
    def test_money_in_json_is_a_number(self, write_client, event, cost):
        response = write_client.patch(f"/api/v1/events/{event.pk}/", {"cost": cost}, format="json")

        assert (response.status_code, set(response.json())) == (400, {"cost"})
        assert write_client.patch(f"/api/v1/events/{event.pk}/", {"cost": 120.5}, format="json").json()["cost"] == 120.5

    def test_a_whole_number_in_json_may_be_written_with_a_zero_fraction(self, write_client, event):
        assert write_client.patch(f"/api/v1/events/{event.pk}/", {"capacity": 120.0}, format="json").json()["capacity"] == 120

    def test_an_erased_contact_refuses_even_a_write_that_changes_nothing(self, write_client, anna):
        assert write_client.post(f"/api/v1/contacts/{anna.pk}/erase/").status_code == 204

        response = write_client.patch(f"/api/v1/contacts/{anna.pk}/", {}, format="json")

        assert (response.status_code, response.json()["code"]) == (409, "contact_erased")

    def test_export_holds_the_contacts_data(self, read_client, anna):
        body = read_client.get(f"/api/v1/contacts/{anna.pk}/export/").json()
        assert body["contact"]["email"] == "anna@example.com"

    def test_an_erased_contacts_export_shows_its_personal_fields_as_the_contact_does(self, read_client, write_client,
                                                                                     anna):
        assert write_client.post(f"/api/v1/contacts/{anna.pk}/erase/").status_code == 204
        shown = read_client.get(f"/api/v1/contacts/{anna.pk}/").json()
        exported = read_client.get(f"/api/v1/contacts/{anna.pk}/export/").json()["contact"]
        personal = ("email", "first_name", "last_name", "job_title", "phone", "tags")
        assert {name: exported[name] for name in personal} == {name: shown[name] for name in personal} == dict.fromkeys(
            personal)


class TestEventActions:
    def test_bulk_partial_success_and_idempotent_replay(self, write_client, event):
        rows = [{"email": f"p{i}@x.de", "first_name": f"P{i}", "organization": "Acme"} for i in range(3)]
        rows.insert(1, {"email": "not-an-email"})
        first = write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows}, format="json").json()
        assert (first["created"], first["updated"], first["unchanged"]) == (3, 0, 0)
        assert [error["row"] for error in first["errors"]] == [1]
        replay = write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows[:1] + rows[2:]}, format="json")
        assert replay.json() == {"created": 0, "updated": 0, "unchanged": 3, "errors": []}

    def test_bulk_over_1000_rows_is_413_and_writes_nothing(self, write_client, event):
        rows = [{"email": f"p{i}@x.de"} for i in range(1001)]
        response = write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows}, format="json")
        assert response.status_code == 413
        assert not Attendance.objects.exists()

    def test_bulk_needs_a_list_of_rows(self, write_client, event):
        for body in ({}, {"rows": "x"}, [1, 2]):
            assert write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", body, format="json").status_code == 400

    def test_check_ins_by_email_and_external_id(self, write_client, event):
        write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/",
                          {"rows": [{"email": "a@x.de"}, {"email": "b@x.de", "external_id": "B-2"}]}, format="json")
        by_email = write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {"emails": ["A@x.de", "who@x.de"]}, format="json")
        assert by_email.json() == {"checked_in": 1, "already_checked_in": 0, "unknown": ["who@x.de"]}
        by_id = write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {"external_ids": ["B-2", "Z-9"]}, format="json")
        assert by_id.json()["unknown"] == ["Z-9"]
        assert Attendance.objects.filter(status="attended").count() == 2
        assert not Contact.objects.filter(email="who@x.de").exists()
        assert write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {}, format="json").status_code == 400

    @pytest.mark.parametrize(("field", "known"), [("emails", "a@x.de"), ("external_ids", "A-1")])
    def test_a_blank_or_malformed_entry_is_unknown_and_the_others_are_checked_in(self, write_client, event, field, known):
        write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/",
                          {"rows": [{"email": "a@x.de", "external_id": "A-1"}]}, format="json")

        response = write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {field: [known, "", "  ", "bad-one"]},
                                     format="json")

        assert response.json() == {"checked_in": 1, "already_checked_in": 0, "unknown": ["", "bad-one"]}  # trimmed
        assert Attendance.objects.get().status == "attended"

    def test_check_ins_by_external_id_of_one_source(self, write_client, event):
        for email, source in (("a@x.de", "tix"), ("b@x.de", "badges")):
            contact = create_contact(email=email)
            create_attendance(event=event, contact=contact, source=source, external_id="DUP")
        url = f"/api/v1/events/{event.pk}/check-ins/"
        one = write_client.post(url, {"external_ids": ["DUP", "T-9"], "source": "badges"}, format="json")
        assert one.json() == {"checked_in": 1, "already_checked_in": 0, "unknown": ["T-9"]}
        assert list(Attendance.objects.filter(status="attended").values_list("source", flat=True)) == ["badges"]
        other = write_client.post(url, {"external_ids": ["DUP"], "source": "elsewhere"}, format="json")
        assert other.json() == {"checked_in": 0, "already_checked_in": 0, "unknown": ["DUP"]}
        both = write_client.post(url, {"external_ids": ["DUP"]}, format="json")  # every source's
        assert both.json() == {"checked_in": 1, "already_checked_in": 1, "unknown": []}
        blank = create_attendance(event=event, contact=create_contact(email="c@x.de"), external_id="DUP")  # source ""
        only_blank = write_client.post(url, {"external_ids": ["DUP"], "source": ""}, format="json")
        assert only_blank.json() == {"checked_in": 1, "already_checked_in": 0, "unknown": []}
        blank.refresh_from_db()
        assert blank.status == "attended"
        with_emails = write_client.post(url, {"emails": ["a@x.de"], "source": "tix"}, format="json")
        assert (with_emails.status_code, list(with_emails.json())) == (400, ["source"])

    def test_complete_twice_is_harmless_and_cancelled_is_409(self, write_client, event):
        first = write_client.post(f"/api/v1/events/{event.pk}/complete/").json()
        second = write_client.post(f"/api/v1/events/{event.pk}/complete/").json()
        assert first["status"] == "completed"
        assert second["completed_at"] == first["completed_at"]
        cancelled = create_event(name="Off", starts_at=event.starts_at, ends_at=event.ends_at, status="cancelled")
        response = write_client.post(f"/api/v1/events/{cancelled.pk}/complete/")
        assert response.status_code == 409
        assert Event.objects.get(pk=cancelled.pk).status == "cancelled"

    @pytest.mark.django_db(transaction=True)  # scoring runs after commit
    def test_metrics_are_404_until_computed_then_there(self, write_client, event, anna):
        create_attendance(event=event, contact=anna, status="attended")
        assert write_client.get(f"/api/v1/events/{event.pk}/metrics/").status_code == 404
        write_client.post(f"/api/v1/events/{event.pk}/complete/")  # eager Celery: computed after commit
        metrics = write_client.get(f"/api/v1/events/{event.pk}/metrics/").json()
        assert (metrics["attended"], metrics["new_attendees"]) == (1, 1)
        assert metrics["computed_at"] >= Event.objects.get(pk=event.pk).completed_at.isoformat()[:19]
        score = write_client.get(f"/api/v1/contacts/{anna.pk}/score/").json()
        assert score["events_attended"] == 1
        assert write_client.get(f"/api/v1/contacts/{anna.pk}/score-history/").json()["results"][0]["trigger"] == "event"

    def test_recompute_is_accepted(self, write_client, event):
        response = write_client.post(f"/api/v1/events/{event.pk}/recompute/")
        assert response.status_code == 202

    @pytest.mark.django_db(transaction=True)  # scoring runs after commit
    def test_recompute_of_an_event_not_yet_completed_scores_its_contacts_but_gives_it_no_metrics(
        self, write_client, event, anna
    ):
        create_attendance(event=event, contact=anna, status="registered")
        assert write_client.post(f"/api/v1/events/{event.pk}/recompute/").status_code == 202
        assert write_client.get(f"/api/v1/contacts/{anna.pk}/score/").json()["events_registered"] == 1
        assert write_client.get(f"/api/v1/events/{event.pk}/metrics/").status_code == 404
        write_client.post(f"/api/v1/events/{event.pk}/complete/")
        assert write_client.get(f"/api/v1/events/{event.pk}/metrics/").json()["registered"] == 1

    @pytest.mark.django_db(transaction=True)  # scoring runs after commit
    def test_series_report_with_retention_computed_by_hand(self, write_client):
        """Three editions: 4 came to the first; 3 of them and 1 new to the second; CRR = (4−1)/4 = 75 %."""
        series = EventSeries.objects.create(name="Summit")
        start = timezone.now() - timedelta(days=400)
        people = [create_contact(email=f"p{i}@x.de") for i in range(6)]
        attendees = [people[0:4], [*people[0:3], people[4]], [people[0], people[5]]]
        for edition, group in enumerate(attendees):
            event = create_event(name=f"Summit {edition}", series=series, starts_at=start + timedelta(days=150 * edition),
                                 ends_at=start + timedelta(days=150 * edition, hours=8), cost=1000)
            for person in group:
                create_attendance(event=event, contact=person, status="attended")
            write_client.post(f"/api/v1/events/{event.pk}/complete/")
        editions = write_client.get(f"/api/v1/series/{series.pk}/report/").json()["editions"]
        assert [edition["attended"] for edition in editions] == [4, 4, 2]
        assert [edition["new"] for edition in editions] == [4, 1, 1]
        assert [edition["series_retention_rate"] for edition in editions] == [None, 75.0, 25.0]
        assert editions[1]["returning_share"] == 0.75
        assert editions[0]["ror_percent"] == -100.0


class TestContactReads:
    def test_score_is_404_before_the_first_computation(self, read_client, anna):
        assert read_client.get(f"/api/v1/contacts/{anna.pk}/score/").status_code == 404
        assert read_client.get(f"/api/v1/contacts/{anna.pk}/").json()["score"] is None

    def test_timeline_newest_first(self, read_client, event, anna):
        create_attendance(event=event, contact=anna, status="attended")
        record_interaction(event=event, contact=anna, occurred_at=timezone.now() - timedelta(minutes=5))
        create_follow_up(contact=anna, event=event, status="done")
        items = read_client.get(f"/api/v1/contacts/{anna.pk}/timeline/").json()["results"]
        assert [item["type"] for item in items] == ["follow_up", "interaction", "attendance"]
        page = read_client.get(f"/api/v1/contacts/{anna.pk}/timeline/?page_size=2").json()
        rest = read_client.get(page["next"]).json()
        assert [item["type"] for item in page["results"] + rest["results"]] == ["follow_up", "interaction", "attendance"]

    def test_timeline_details_write_moments_as_every_api_time(self, read_client, anna):
        due = timezone.now() + timedelta(days=2)
        create_follow_up(contact=anna, due_at=due)
        item = read_client.get(f"/api/v1/contacts/{anna.pk}/timeline/").json()["results"][0]
        assert item["details"]["due_at"] == timezone.localtime(due).isoformat()  # site offset, microseconds
        assert item["at"].endswith(item["details"]["due_at"][-6:])  # the same offset as the item's own time

    def test_timeline_pages_through_items_at_one_moment_without_gaps_or_repeats(self, read_client, event, anna):
        moment = timezone.now() - timedelta(days=1)
        for _ in range(3):
            record_interaction(event=event, contact=anna, occurred_at=moment)
            create_follow_up(contact=anna, status="done", completed_at=moment)
        seen, url = [], f"/api/v1/contacts/{anna.pk}/timeline/?page_size=2"
        while url:
            page = read_client.get(url).json()
            seen += [(item["type"], item["id"]) for item in page["results"]]
            url = page["next"]
        assert len(seen) == len(set(seen)) == 6
        assert read_client.get(f"/api/v1/contacts/{anna.pk}/timeline/?before_item=nonsense:1&before=2026-01-01T00:00:00Z"
                               ).status_code == 400
        alone = read_client.get(f"/api/v1/contacts/{anna.pk}/timeline/?before_item=follow_up:1")
        assert (alone.status_code, list(alone.json())) == (400, ["before_item"])

    def test_timeline_pages_by_cursor_both_ways_and_refuses_a_bad_cursor(self, read_client, event, anna):
        moment = timezone.now() - timedelta(days=1)
        for minutes in range(4):
            record_interaction(event=event, contact=anna, occurred_at=moment)
            create_follow_up(contact=anna, status="done", completed_at=moment - timedelta(minutes=minutes))
        url = f"/api/v1/contacts/{anna.pk}/timeline/"
        everything = [(item["type"], item["id"]) for item in read_client.get(url).json()["results"]]

        forward, pages, link = [], [], f"{url}?page_size=3"
        while link:
            page = read_client.get(link).json()
            assert "cursor=" in (page["next"] or "cursor=")
            assert "before=" not in (page["next"] or "")
            pages.append(page)
            forward += [(item["type"], item["id"]) for item in page["results"]]
            link = page["next"]
        assert forward == everything
        assert pages[0]["previous"] is None
        assert pages[1]["previous"] is not None
        backward, link = [], pages[-1]["previous"]
        while link:
            page = read_client.get(link).json()
            backward = [(item["type"], item["id"]) for item in page["results"]] + backward
            link = page["previous"]
        assert backward == everything[: len(everything) - len(pages[-1]["results"])]
        for cursor in ("garbage", "eyJ0IjoxfQ", "eyJ0IjoiMjAyNi0wMS0wMVQwMDowMDowMCIsImsiOiJmZWVkYmFjayIsImkiOjEsInIiOmZhbHNlfQ"):
            refused = read_client.get(url, {"cursor": cursor})
            assert refused.status_code == 400
            assert refused.json() == {"cursor": ["Invalid cursor."]}

    def test_timeline_pages_from_a_time_lose_nothing_at_either_end(self, read_client, event, anna):
        for minutes in (10, 20, 30):
            record_interaction(event=event, contact=anna, occurred_at=timezone.now() - timedelta(minutes=minutes))
        url = f"/api/v1/contacts/{anna.pk}/timeline/"
        everything = [item["id"] for item in read_client.get(url).json()["results"]]

        nothing_older = read_client.get(url, {"before": "2020-01-01T00:00:00Z"})
        assert nothing_older.status_code == 200
        assert nothing_older.json()["results"] == []
        assert [item["id"] for item in read_client.get(nothing_older.json()["previous"]).json()["results"]] == everything

        future = (timezone.now() + timedelta(days=1)).isoformat()
        page = read_client.get(url, {"before": future, "page_size": 2}).json()
        assert [item["id"] for item in page["results"]] == everything[:2]
        newer = read_client.get(page["previous"]).json()  # nothing is newer than the first item
        assert newer["results"] == []
        assert newer["previous"] is None
        seen, link = [], newer["next"]
        while link:
            following = read_client.get(link).json()
            seen += [item["id"] for item in following["results"]]
            link = following["next"]
        assert seen == everything

    def test_timeline_shows_the_referrals_naming_the_contact(self, read_client, anna):
        ben = create_contact(email="ben@example.com")
        Referral.objects.create(referrer=ben, referred=anna)

        items = read_client.get(f"/api/v1/contacts/{anna.pk}/timeline/").json()["results"]

        assert [(item["type"], item["summary"], item["details"]) for item in items] == [
            ("referral", "Referred by a contact", {"referrer": ben.pk, "referred": anna.pk})]

    def test_timeline_and_score_history_take_updated_since(
        self, read_client, write_client, event, anna, django_capture_on_commit_callbacks
    ):
        create_attendance(event=event, contact=anna, status="attended")
        with django_capture_on_commit_callbacks(execute=True):
            write_client.post(f"/api/v1/events/{event.pk}/complete/")  # eager: a first score and its snapshot
        later = (timezone.now() + timedelta(seconds=1)).isoformat()
        for path in ("timeline", "score-history"):
            url = f"/api/v1/contacts/{anna.pk}/{path}/"
            assert read_client.get(url).json()["results"], path
            assert read_client.get(url, {"updated_since": later}).json()["results"] == [], path
            assert read_client.get(url, {"updated_since": "garbage"}).status_code == 400, path


class TestFilters:
    def test_contact_filters(self, read_client, event, anna):
        org = Organization.objects.create(name="Acme")
        ben = create_contact(email="ben@example.com", organization=org, tags=["partner"])
        create_attendance(event=event, contact=ben, status="attended")

        def ids(**params):
            response = read_client.get("/api/v1/contacts/", params)
            assert response.status_code == 200, response.json()
            return {row["id"] for row in response.json()["results"]}

        assert ids(email=" BEN@example.com") == {ben.pk}
        assert ids(organization=org.pk) == {ben.pk}
        assert ids(tag="vip") == {anna.pk}
        assert ids(attended_event=event.pk) == {ben.pk}
        assert ids(search="Müller") == {anna.pk}
        assert read_client.get("/api/v1/contacts/", {"stage": "legend"}).status_code == 400
        assert read_client.get("/api/v1/contacts/", {"score_min": "high"}).status_code == 400

    def test_interactions_of_a_contact_on_one_side_or_either(self, read_client, event, anna):
        ben, cleo = create_contact(email="ben@example.com"), create_contact(email="cleo@example.com")
        as_contact = record_interaction(event=event, contact=anna, counterpart=ben)
        as_counterpart = record_interaction(event=event, contact=cleo, counterpart=anna)
        record_interaction(event=event, contact=ben, counterpart=cleo)

        def ids(**params):
            return {row["id"] for row in read_client.get("/api/v1/interactions/", params).json()["results"]}

        assert ids(contact=anna.pk) == {as_contact.pk}
        assert ids(participant=anna.pk) == {as_contact.pk, as_counterpart.pk}
        assert ids(participant=anna.pk, event=event.pk) == {as_contact.pk, as_counterpart.pk}
        assert read_client.get("/api/v1/interactions/", {"participant": "x"}).status_code == 400

    def test_the_tag_filter_matches_any_case_beyond_ascii(self, read_client):
        kuehl = create_contact(email="k@example.com", tags=["Kühlkette", 'Say "hi"', "ΣΊΣΥΦΟΣ", "50% off_!"])
        create_contact(email="h@example.com", tags=["Kühlkettenlogistik", "kuhlkette", "50% offx!", "50 % off_!"])

        def ids(tag):
            response = read_client.get("/api/v1/contacts/", {"tag": tag})
            assert response.status_code == 200, response.json()
            return {row["id"] for row in response.json()["results"]}

        for tag in ("Kühlkette", "KÜHLKETTE", " kühlkette ", 'say "HI"', "σίσυφος", "50% OFF_!"):
            assert ids(tag) == {kuehl.pk}, tag
        assert ids("Kühl") == set()  # a whole tag, not a part of one

    def test_every_before_filter_leaves_out_its_moment_and_every_after_filter_takes_it(self, read_client, anna):
        """`*_after` ≥, `*_before` <: a time range [after, before) splits a list without gaps or overlap."""
        from scoring.models import ContactScore

        moment = timezone.now().replace(microsecond=0) - timedelta(days=2)
        ContactScore.objects.create(contact=anna, score=10, components={}, stage="growth", churn_risk="low",
                                    computed_at=moment, profile_version=1, last_attended_at=moment)
        event = Event.objects.create(name="Summit", starts_at=moment, ends_at=moment + timedelta(hours=2))
        follow_up = create_follow_up(contact=anna, due_at=moment)
        at = moment.isoformat()
        for path, after, before, row in [("contacts", "last_attended_after", "last_attended_before", anna.pk),
                                         ("events", "starts_after", "starts_before", event.pk),
                                         ("follow-ups", "due_after", "due_before", follow_up.pk)]:
            def ids(name, path=path):
                return [item["id"] for item in read_client.get(f"/api/v1/{path}/", {name: at}).json()["results"]]
            assert (ids(after), ids(before)) == ([row], []), path

    def test_tags_repeated_in_another_case_are_one_tag(self, write_client, anna):
        response = write_client.patch(f"/api/v1/contacts/{anna.pk}/", {"tags": ["vip", " VIP ", "Partner", "partner"]},
                                      format="json")
        assert response.json()["tags"] == ["vip", "Partner"]

    def test_follow_up_overdue_filter(self, read_client, anna):
        late = create_follow_up(contact=anna, due_at=timezone.now() - timedelta(days=1))
        create_follow_up(contact=anna, due_at=timezone.now() + timedelta(days=1))
        rows = read_client.get("/api/v1/follow-ups/", {"overdue": "true"}).json()["results"]
        assert [row["id"] for row in rows] == [late.pk]

    @pytest.mark.django_db(transaction=True)  # scoring runs after commit
    def test_contacts_ordered_by_score_with_unscored_last(self, read_client, write_client, event, anna):
        ben = create_contact(email="ben@example.com")
        create_contact(email="cleo@example.com")
        create_attendance(event=event, contact=anna, status="attended", role="speaker")
        create_attendance(event=event, contact=ben, status="attended")
        write_client.post(f"/api/v1/events/{event.pk}/complete/")
        rows = read_client.get("/api/v1/contacts/?ordering=-score").json()["results"]
        assert [row["email"] for row in rows] == ["anna@example.com", "ben@example.com", "cleo@example.com"]
        scores = read_client.get("/api/v1/scores/?ordering=-score&stage=socialization").json()["results"]
        assert [row["contact"] for row in scores] == [anna.pk, ben.pk]


@pytest.mark.parametrize("path", [
    "organizations", "contacts", "series", "events", "attendances", "interactions", "follow-ups", "feedback",
    "referrals", "scores",
])
def test_list_endpoints_run_a_fixed_number_of_queries(read_client, path):
    """Same count for 5 and 50 rows: the key lookup, the page (joins, no query per row)."""
    from scoring.services import recompute_contacts

    def fill(count: int, offset: int) -> None:
        now = timezone.now()
        series = EventSeries.objects.create(name=f"S{offset}")
        event = Event.objects.create(name=f"E{offset}", series=series, starts_at=now, ends_at=now)
        for i in range(offset, offset + count):
            Organization.objects.create(name=f"Org {i}")
            contact = Contact.objects.create(email=f"c{i}@x.de", tags=["a"])
            other = Contact.objects.create(email=f"o{i}@x.de")
            Attendance.objects.create(event=event, contact=contact, status="attended")
            event.interactions.create(contact=contact, counterpart=other, occurred_at=now)
            FollowUp.objects.create(contact=contact, event=event)
            event.feedback.create(contact=contact, nps=9)
            contact.referrals_made.create(referred=other, event=event)
            EventSeries.objects.create(name=f"Series {i}")
            Event.objects.create(name=f"Event {i}", starts_at=now, ends_at=now)
        recompute_contacts(Contact.objects.values_list("pk", flat=True))

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            response = read_client.get(f"/api/v1/{path}/?page_size=500")
        assert response.status_code == 200
        return len(context.captured_queries), len(response.json()["results"])

    fill(5, 0)
    few, few_rows = count_queries()
    fill(45, 100)
    many, many_rows = count_queries()
    assert many_rows > few_rows
    assert few == many


class TestTouchpointsHappened:
    """A future check-in, meeting, conversation or answer would keep its contact fresh for years."""

    def test_future_touchpoint_times_are_field_errors(self, write_client, event, anna):
        future = iso(timezone.now() + timedelta(days=400))
        attendance = create_attendance(event=event, contact=anna)
        refused = {
            "checked_in_at": write_client.patch(f"/api/v1/attendances/{attendance.pk}/", {"checked_in_at": future},
                                                format="json"),
            "occurred_at": write_client.post("/api/v1/interactions/", {"event": event.pk, "contact": anna.pk,
                                                                       "occurred_at": future}, format="json"),
            "completed_at": write_client.post("/api/v1/follow-ups/", {"contact": anna.pk, "status": "done",
                                                                      "completed_at": future}, format="json"),
            "submitted_at": write_client.post("/api/v1/feedback/", {"event": event.pk, "contact": anna.pk, "nps": 9,
                                                                    "submitted_at": future}, format="json"),
        }
        for field, response in refused.items():
            assert response.status_code == 400, field
            assert response.json()[field] == ["This time is in the future: it cannot have happened yet."]
        check_in = write_client.post(f"/api/v1/events/{event.pk}/check-ins/",
                                     {"emails": [anna.email], "checked_in_at": future}, format="json")
        bulk = write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/",
                                 {"rows": [{"email": anna.email, "checked_in_at": future}]}, format="json")
        assert check_in.status_code == 400
        assert [error["row"] for error in bulk.json()["errors"]] == [0]
        attendance.refresh_from_db()
        assert attendance.checked_in_at is None
        assert not FollowUp.objects.exists()

    def test_a_few_minutes_of_clock_skew_are_fine(self, write_client, event, anna):
        soon = iso(timezone.now() + timedelta(minutes=2))
        response = write_client.post("/api/v1/follow-ups/", {"contact": anna.pk, "status": "done", "completed_at": soon},
                                     format="json")
        assert response.status_code == 201


class TestTimesCarryTheirOffset:
    """API.md: times are ISO 8601 with offset; one without would be read in some zone, silently."""

    MESSAGE = "Give the time with its offset, as in 2026-05-04T09:30:00+02:00 or 2026-05-04T07:30:00Z."

    def test_a_time_without_offset_is_a_400_at_its_field_and_writes_nothing(self, write_client, anna, event):
        created = write_client.post("/api/v1/events/", {"name": "Summit", "starts_at": "2026-01-10T09:00:00",
                                                         "ends_at": "2026-01-10T10:00:00Z"}, format="json")
        check_in = write_client.post(f"/api/v1/events/{event.pk}/check-ins/",
                                     {"emails": [anna.email], "checked_in_at": "2026-01-10T09:00:00"}, format="json")

        assert (created.status_code, created.json()) == (400, {"starts_at": [self.MESSAGE]})
        assert (check_in.status_code, check_in.json()) == (400, {"checked_in_at": [self.MESSAGE]})
        assert Event.objects.count() == 1

    def test_with_z_or_an_offset_it_is_taken(self, write_client):
        response = write_client.post("/api/v1/events/", {"name": "Summit", "starts_at": "2026-01-10T08:00:00Z",
                                                          "ends_at": "2026-01-10T10:00:00+01:00"}, format="json")

        assert response.status_code == 201
        event = Event.objects.get(pk=response.json()["id"])
        assert event.ends_at - event.starts_at == timedelta(hours=1)

    def test_in_a_query_parameter_it_is_read_in_the_sites_zone(self, read_client, anna, event):
        """README: a query's time without an offset is Berlin time, as the list filters read theirs."""
        series = EventSeries.objects.create(name="Summits")
        for path in (f"/api/v1/contacts/{anna.pk}/timeline/?before=2026-01-01T10:00:00",
                     f"/api/v1/reports/cohorts/?series={series.pk}&as_of=2026-01-01T10:00:00",
                     "/api/v1/contacts/?updated_since=2026-01-01T10:00:00"):
            assert read_client.get(path).status_code == 200, path
        # a minute before anna's last change in Berlin time finds her (read as UTC it were an hour or two later)
        since = (timezone.localtime(anna.updated_at) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
        assert [row["id"] for row in read_client.get(f"/api/v1/contacts/?updated_since={since}").json()["results"]] \
            == [anna.pk]

    def test_a_bulk_row_without_offset_is_a_row_error(self, write_client, event):
        at = timezone.localtime(event.starts_at).replace(tzinfo=None).isoformat()
        response = write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": [
            {"email": "a@x.de", "checked_in_at": at}, {"email": "b@x.de"}]}, format="json")

        assert response.json() == {"created": 1, "updated": 0, "unchanged": 0,
                                   "errors": [{"row": 0, "errors": {"checked_in_at": [self.MESSAGE]}}]}


class TestOnlyAnAttendedRowHasACheckInTime:
    MESSAGE = ("Only someone who attended has a check-in time: clear it for a no-show, a cancellation or a place on "
               "the waiting list.")

    def test_a_no_show_with_a_check_in_time_is_a_400_and_writes_nothing(self, write_client, event, anna):
        response = write_client.post("/api/v1/attendances/", {
            "event": event.pk, "contact": anna.pk, "status": "no_show", "checked_in_at": iso(event.starts_at)},
            format="json")

        assert (response.status_code, response.json()) == (400, {"checked_in_at": [self.MESSAGE]})
        assert not Attendance.objects.exists()

    def test_a_checked_in_row_becomes_a_no_show_only_with_its_check_in_time_cleared(self, write_client, event, anna):
        attendance = create_attendance(event=event, contact=anna, checked_in_at=event.starts_at)
        url = f"/api/v1/attendances/{attendance.pk}/"

        refused = write_client.patch(url, {"status": "no_show"}, format="json")
        cleared = write_client.patch(url, {"status": "no_show", "checked_in_at": None}, format="json")

        assert (refused.status_code, refused.json()) == (400, {"status": [self.MESSAGE]})
        assert (cleared.status_code, cleared.json()["status"], cleared.json()["checked_in_at"]) == (200, "no_show", None)

    @pytest.mark.parametrize("status", ["no_show", "cancelled", "waitlisted"])
    def test_a_status_sent_again_with_a_check_in_time_is_still_a_400(self, write_client, event, anna, status):
        attendance = create_attendance(event=event, contact=anna, status=status)

        response = write_client.patch(f"/api/v1/attendances/{attendance.pk}/",
                                      {"status": status, "checked_in_at": iso(event.starts_at)}, format="json")

        assert (response.status_code, response.json()) == (400, {"checked_in_at": [self.MESSAGE]})

    def test_a_no_show_given_a_check_in_time_came_after_all(self, write_client, event, anna):
        attendance = create_attendance(event=event, contact=anna, status="no_show")

        response = write_client.patch(f"/api/v1/attendances/{attendance.pk}/",
                                      {"checked_in_at": iso(event.starts_at)}, format="json")

        assert (response.status_code, response.json()["status"]) == (200, "attended")


class TestCompletionMeansTheEventHappened:
    """API.md, second round: `complete/` is refused before `ends_at` unless `{"force": true}`;
    a status change cannot force and cannot move a completed event back."""

    @pytest.fixture
    def upcoming(self, db) -> Event:
        now = timezone.now()
        return create_event(name="Winter Gala", starts_at=now + timedelta(days=9), ends_at=now + timedelta(days=9, hours=5))

    def test_completing_before_the_end_is_409_event_not_ended(self, write_client, upcoming):
        response = write_client.post(f"/api/v1/events/{upcoming.pk}/complete/", {}, format="json")

        assert response.status_code == 409
        assert response.json()["code"] == "event_not_ended"
        assert response.json()["id"] == upcoming.pk  # as every 409 names its row
        assert "has not ended yet" in response.json()["detail"]
        assert Event.objects.get(pk=upcoming.pk).status == "planned"

    def test_force_completes_it(self, write_client, upcoming):
        response = write_client.post(f"/api/v1/events/{upcoming.pk}/complete/", {"force": True}, format="json")

        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "completed"
        assert response.json()["completed_at"] is not None

    @pytest.mark.parametrize("force", ["true", 1, None, [True], {"yes": True}])
    def test_a_force_that_is_not_a_boolean_is_a_400_field_error(self, write_client, upcoming, force):
        response = write_client.post(f"/api/v1/events/{upcoming.pk}/complete/", {"force": force}, format="json")

        assert response.status_code == 400
        assert list(response.json()) == ["force"]
        assert Event.objects.get(pk=upcoming.pk).status == "planned"

    def test_status_completed_by_create_patch_or_put_is_refused_the_same_way_and_cannot_force(self, write_client, upcoming):
        url = f"/api/v1/events/{upcoming.pk}/"
        body = {"name": "Winter Gala", "starts_at": iso(upcoming.starts_at), "ends_at": iso(upcoming.ends_at),
                "status": "completed"}

        answers = [
            write_client.post("/api/v1/events/", {**body, "name": "Spring Gala"}, format="json"),
            write_client.patch(url, {"status": "completed", "venue": "Halle 3", "force": True}, format="json"),
            write_client.put(url, {**body, "venue": "Halle 3"}, format="json"),
        ]

        assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [(409, "event_not_ended")] * 3
        assert not Event.objects.filter(name="Spring Gala").exists()  # nothing half-created
        assert Event.objects.filter(pk=upcoming.pk, status="planned", venue="").exists()  # nothing half-updated

    def test_registrations_without_check_in_become_no_shows_when_check_in_was_used(self, write_client, event):
        rows = [{"email": "came@x.de"}, {"email": "absent@x.de"}]
        write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows}, format="json")
        write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {"emails": ["came@x.de"]}, format="json")
        before = timezone.now()

        write_client.post(f"/api/v1/events/{event.pk}/complete/")

        changed = write_client.get("/api/v1/attendances/", {"event": event.pk, "updated_since": iso(before)}).json()
        assert [(row["contact"], row["status"]) for row in changed["results"]] == [
            (Contact.objects.get(email="absent@x.de").pk, "no_show")]

    def test_without_check_in_the_statuses_stay(self, write_client, event):
        rows = [{"email": "a@x.de"}, {"email": "b@x.de"}]
        write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows}, format="json")

        write_client.post(f"/api/v1/events/{event.pk}/complete/")

        assert set(Attendance.objects.filter(event=event).values_list("status", flat=True)) == {"registered"}

    @pytest.mark.parametrize("status", ["planned", "live", "cancelled"])
    def test_a_completed_event_is_not_moved_back_but_stays_editable(self, write_client, event, status):
        url = f"/api/v1/events/{event.pk}/"
        completed_at = write_client.post(f"/api/v1/events/{event.pk}/complete/").json()["completed_at"]

        refused = write_client.patch(url, {"status": status}, format="json")
        renamed = write_client.patch(url, {"name": "Hamburg Summit 2026"}, format="json")

        assert refused.status_code == 409
        assert refused.json()["code"] == "event_completed"
        assert renamed.status_code == 200
        assert (renamed.json()["status"], renamed.json()["completed_at"]) == ("completed", completed_at)

    def test_a_completed_events_completion_time_is_not_cleared(self, write_client, event):
        url = f"/api/v1/events/{event.pk}/"
        completed_at = write_client.post(f"/api/v1/events/{event.pk}/complete/").json()["completed_at"]

        response = write_client.patch(url, {"completed_at": None}, format="json")

        assert response.json() == {"completed_at": ["A completed event keeps its completion time."]}
        assert write_client.get(url).json()["completed_at"] == completed_at
        # null on an event not completed is no value, as before
        following = create_event(name="Next", starts_at=event.starts_at, ends_at=event.ends_at)
        assert write_client.patch(f"/api/v1/events/{following.pk}/", {"completed_at": None},
                                  format="json").status_code == 200

    @pytest.mark.parametrize(("path", "body", "content_type", "expected"), [
        ("contacts/{contact}/erase/", "{", "application/json", 400),
        ("contacts/{contact}/erase/", "x", "text/plain", 415),
        ("events/{event}/recompute/", "{", "application/json", 400),
        ("events/{event}/recompute/", "x", "text/plain", 415),
    ])
    def test_an_action_without_a_body_refuses_a_malformed_one(self, write_client, event, anna, path, body,
                                                              content_type, expected):
        response = write_client.post("/api/v1/" + path.format(contact=anna.pk, event=event.pk), body,
                                     content_type=content_type)

        assert response.status_code == expected
        assert Contact.objects.get(pk=anna.pk).erased_at is None
        assert write_client.post(f"/api/v1/contacts/{anna.pk}/erase/", "", content_type="application/json").status_code == 204

