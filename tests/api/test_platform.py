"""Authentication, scopes, throttling, pagination, idempotency and error shapes (API.md: Basics)."""

import threading
import time
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connection
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.models import Contact, Organization
from events.api.views import AttendanceViewSet, EventViewSet
from events.models import Attendance, Event
from partners.models import PartnerAPIKey

pytestmark = pytest.mark.django_db


class TestAuthentication:
    def test_anonymous_requests_get_401_with_the_scheme(self, api_client):
        response = api_client.get("/api/v1/contacts/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Api-Key"
        assert "detail" in response.json()

    def test_schema_and_docs_are_public(self, api_client):
        assert api_client.get("/api/schema/").status_code == 200
        assert api_client.get("/api/docs/").status_code == 200

    def test_a_read_key_reads_but_cannot_write(self, read_client):
        assert read_client.get("/api/v1/contacts/").status_code == 200
        for method in ("post", "patch", "put", "delete"):
            response = getattr(read_client, method)("/api/v1/contacts/1/" if method != "post" else "/api/v1/contacts/",
                                                    {"email": "x@y.de"}, format="json")
            assert response.status_code == 403, method
        assert not Contact.objects.exists()

    def test_revoked_and_expired_keys_get_401(self, api_client, write_key):
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {write_key}")
        PartnerAPIKey.objects.update(revoked=True)
        assert api_client.get("/api/v1/contacts/").status_code == 401
        PartnerAPIKey.objects.update(revoked=False, expiry_date=timezone.now() - timedelta(minutes=1))
        assert api_client.get("/api/v1/contacts/").status_code == 401

    def test_a_wrong_key_gets_401(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Api-Key abc.def")
        assert api_client.get("/api/v1/contacts/").status_code == 401

    def test_staff_sessions_may_use_the_api_and_others_may_not(self, staff_client, sales_user, api_client):
        assert staff_client.post("/api/v1/contacts/", {"email": "s@x.de"}, format="json").status_code == 201
        sales_user.is_staff = False
        sales_user.save()
        api_client.force_login(sales_user)
        assert api_client.get("/api/v1/contacts/").status_code == 403

    def test_a_staff_session_may_do_what_its_groups_allow(self, sales_user, api_client, event, anna):
        api_client.force_login(sales_user)  # Sales: contacts and follow-ups; events read-only; no erasure
        assert api_client.get("/api/v1/events/").status_code == 200
        assert api_client.get(f"/api/v1/contacts/{anna.pk}/timeline/").status_code == 200
        assert api_client.post("/api/v1/contacts/", {"email": "new@x.de"}, format="json").status_code == 201
        assert api_client.patch(f"/api/v1/events/{event.pk}/", {"name": "Renamed"}, format="json").status_code == 403
        assert api_client.post(f"/api/v1/events/{event.pk}/complete/").status_code == 403
        response = api_client.post(f"/api/v1/contacts/{anna.pk}/erase/")
        assert response.status_code == 403
        assert response.json() == {"detail": "Your user account may not do this."}
        anna.refresh_from_db()
        assert anna.erased_at is None
        assert Event.objects.get(pk=event.pk).name == "Hamburg Summit"

    def test_create_api_key_prints_the_key_alone_on_the_last_line(self, capsys, api_client):
        call_command("create_api_key", "Badge scanner", "--scopes", "read,write")
        key = capsys.readouterr().out.strip().splitlines()[-1]
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        assert api_client.post("/api/v1/contacts/", {"email": "k@x.de"}, format="json").status_code == 201
        stored = PartnerAPIKey.objects.get(name="Badge scanner")
        assert key not in (stored.hashed_key, stored.id)  # only a hash is kept

    def test_create_api_key_refuses_unknown_scopes(self):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="read and/or write"):
            call_command("create_api_key", "X", "--scopes", "admin")


class TestThrottling:
    def test_too_many_requests_get_429_with_retry_after(self, read_client, settings):
        settings.API_THROTTLE_RATE = "3/min"
        statuses = [read_client.get("/api/v1/series/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = read_client.get("/api/v1/series/")
        assert int(response["Retry-After"]) > 0
        assert "detail" in response.json()


class TestPagination:
    def test_cursor_pages_walk_every_row_once(self, read_client):
        Contact.objects.bulk_create([Contact(email=f"p{i}@x.de") for i in range(7)])
        seen, url = [], "/api/v1/contacts/?page_size=3"
        while url:
            body = read_client.get(url).json()
            assert set(body) == {"next", "previous", "results"}
            seen += [row["id"] for row in body["results"]]
            url = body["next"]
        assert sorted(seen) == sorted(Contact.objects.values_list("pk", flat=True))
        assert len(seen) == 7

    def test_huge_page_sizes_are_clamped_and_bad_ones_refused(self, read_client):
        Contact.objects.bulk_create([Contact(email=f"p{i}@x.de") for i in range(3)])
        assert len(read_client.get("/api/v1/contacts/?page_size=100000").json()["results"]) == 3
        assert read_client.get("/api/v1/contacts/?page_size=abc").status_code == 400
        assert read_client.get("/api/v1/contacts/?page_size=0").status_code == 400

    def test_a_tampered_cursor_is_a_400(self, read_client):
        assert read_client.get("/api/v1/contacts/?cursor=bz1hYmM%3D").status_code == 400  # "o=abc": not an offset
        assert read_client.get("/api/v1/contacts/?cursor=cD1ub3RhbnVtYmVy").status_code == 400  # "p=notanumber"
        assert read_client.get("/api/v1/contacts/?ordering=-score&cursor=cD1ub3RhbnVtYmVy").status_code == 400
        assert read_client.get("/api/v1/contacts/?ordering=last_attended_at&cursor=cD1ub3RhbnVtYmVy").status_code == 400

    def test_updated_since_on_lists(self, read_client, anna):
        future = (timezone.now() + timedelta(days=1)).isoformat()
        assert read_client.get("/api/v1/contacts/", {"updated_since": future}).json()["results"] == []
        past = (timezone.now() - timedelta(days=1)).isoformat()
        assert len(read_client.get("/api/v1/contacts/", {"updated_since": past}).json()["results"]) == 1
        assert read_client.get("/api/v1/contacts/", {"updated_since": "yesterday"}).status_code == 400

    def test_a_contact_counts_as_updated_when_its_score_is(self, read_client, write_client, anna):
        from scoring.models import ContactScore
        from scoring.services import recompute_contacts

        ben = Contact.objects.create(email="ben@example.com")
        since = timezone.now()
        Contact.objects.update(updated_at=since - timedelta(days=2))
        recompute_contacts([anna.pk])  # a new stage, churn risk and score for Anna; Ben untouched

        [synced] = read_client.get("/api/v1/contacts/", {"updated_since": since.isoformat()}).json()["results"]
        assert synced["id"] == anna.pk
        assert synced["score"] is not None
        assert synced["updated_at"] == write_client.get(f"/api/v1/contacts/{anna.pk}/").json()["updated_at"]
        score_written_at = ContactScore.objects.get(contact=anna).updated_at
        assert datetime.fromisoformat(synced["updated_at"]) == score_written_at >= since
        ben_updated_at = read_client.get(f"/api/v1/contacts/{ben.pk}/").json()["updated_at"]
        assert datetime.fromisoformat(ben_updated_at) == since - timedelta(days=2)
        patched = write_client.patch(f"/api/v1/contacts/{anna.pk}/", {"job_title": "CTO"}, format="json").json()
        assert datetime.fromisoformat(patched["updated_at"]) > score_written_at  # its own write is the latest now


class TestFiltering:
    def test_a_list_without_filter_parameters_builds_no_filter_form(self, read_client, anna):
        from contacts.api.filtersets import ContactFilterSet

        with mock.patch.object(ContactFilterSet, "get_form_class", side_effect=AssertionError("form built")):
            response = read_client.get("/api/v1/contacts/", {"page_size": 10, "ordering": "-score", "search": "anna"})
        assert [row["id"] for row in response.json()["results"]] == [anna.pk]

    def test_the_filter_form_is_built_once_per_set_of_parameters_and_holds_only_them(self, read_client, anna):
        from contacts.api.filtersets import ContactFilterSet
        from partners.filters import FORM_CLASSES

        FORM_CLASSES.clear()
        for email in ("anna@example.com", "nobody@example.com"):
            read_client.get("/api/v1/contacts/", {"email": email, "cursor": "", "ordering": "-score"})
        assert read_client.get("/api/v1/contacts/", {"stage": "nonsense"}).status_code == 400
        response = read_client.get("/api/v1/contacts/", {"stage": "", "tag": "vip", "email": "ANNA@example.com"})
        assert [row["id"] for row in response.json()["results"]] == [anna.pk]

        assert {names: list(form.base_fields) for (_, names), form in FORM_CLASSES.items()} == {
            frozenset({"email"}): ["email"], frozenset({"stage"}): ["stage"],
            frozenset({"email", "stage", "tag"}): ["email", "tag", "stage"],  # the filter set's order
        }
        assert all(filterset is ContactFilterSet for filterset, _ in FORM_CLASSES)


    def test_the_browsable_apis_filter_form_shows_every_filter(self, staff_client, anna):
        page = staff_client.get("/api/v1/contacts/", {"stage": "growth"}, HTTP_ACCEPT="text/html")

        assert page.status_code == 200
        html = page.content.decode()
        assert all(f'name="{name}"' in html for name in ("stage", "score_min", "email", "losing_touch"))


class TestErrors:
    def test_errors_are_json_also_to_a_client_asking_for_html(self, staff_client, client):
        """API.md: JSON in and out. The browsable API answers a page, but never an error page."""
        assert staff_client.get("/api/v1/contacts/", HTTP_ACCEPT="text/html")["Content-Type"].startswith("text/html")
        for response in (
            staff_client.get("/api/v1/contacts/999999/", HTTP_ACCEPT="text/html"),
            staff_client.get("/api/v1/contacts/", {"score_min": "lots"}, HTTP_ACCEPT="text/html"),
            client.get("/api/v1/contacts/", HTTP_ACCEPT="text/html"),
        ):
            assert response["Content-Type"] == "application/json", response.status_code
            assert response.status_code in (400, 401, 403, 404)
            assert response.json()

    @pytest.mark.parametrize("accept", ["text/html", "text/html,application/xhtml+xml,*/*;q=0.8", "image/png"])
    def test_a_partner_key_gets_json_whatever_it_accepts(self, read_client, anna, accept):
        for path in ("/api/v1/contacts/", f"/api/v1/contacts/{anna.pk}/", "/api/v1/contacts/999999/",
                     "/api/v1/contacts/?format=api"):
            response = read_client.get(path, HTTP_ACCEPT=accept)
            assert response["Content-Type"] == "application/json", (path, response.status_code)
            assert response.status_code in (200, 404)

    def test_an_overlong_idempotency_key_is_a_400_of_the_documented_shape(self, write_client):
        response = write_client.post("/api/v1/series/", {"name": "S"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["Idempotency-Key must be 1 to 255 characters."]}

    def test_non_json_bodies_get_400(self, write_client):
        response = write_client.post("/api/v1/contacts/", "{not json", content_type="application/json")
        assert response.status_code == 400
        [message] = response.json()["non_field_errors"]  # API.md: a 400 has field errors or these
        assert message.startswith("JSON parse error")
        assert set(response.json()) == {"non_field_errors"}

    def test_oversize_bodies_get_413(self, write_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = write_client.post("/api/v1/contacts/", {"email": "x@y.de", "phone": "1" * 2000}, format="json")
        assert response.status_code == 413
        assert "detail" in response.json()
        assert not Contact.objects.exists()

    def test_a_constraint_violation_is_a_409_of_the_documented_shape(self, write_client, event, anna, monkeypatch):
        # e.g. a concurrent request deleted a row this change refers to, caught at commit
        attendance = Attendance.objects.create(event=event, contact=anna)

        def violate(_attendance):
            raise IntegrityError("insert or update violates foreign key constraint")

        monkeypatch.setattr(AttendanceViewSet, "delete_service", staticmethod(violate))
        response = write_client.delete(f"/api/v1/attendances/{attendance.pk}/")

        assert response.status_code == 409
        assert response.json() == {"detail": "The change conflicts with existing data.", "code": "conflict"}

    @pytest.mark.parametrize("cause", ["DeadlockDetected", "SerializationFailure"])
    def test_a_deadlock_with_a_concurrent_request_is_a_409_to_retry(self, write_client, event, monkeypatch, cause):
        import psycopg.errors

        def collide(_event):
            raise OperationalError("deadlock detected") from getattr(psycopg.errors, cause)("collision")

        with monkeypatch.context() as patched:
            patched.setattr(EventViewSet, "delete_service", staticmethod(collide))
            response = write_client.delete(f"/api/v1/events/{event.pk}/", HTTP_IDEMPOTENCY_KEY="d1")

        assert response.status_code == 409
        assert response.json()["code"] == "conflict"
        assert response["Retry-After"] == "1"
        assert Event.objects.filter(pk=event.pk).exists()
        # "Retry" is no answer to keep: the same key runs the request again, and this time it works.
        assert write_client.delete(f"/api/v1/events/{event.pk}/", HTTP_IDEMPOTENCY_KEY="d1").status_code == 204

    def test_other_database_errors_stay_server_errors(self, write_client, event, monkeypatch):
        def broken(_event):
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(EventViewSet, "delete_service", staticmethod(broken))
        write_client.raise_request_exception = False
        assert write_client.delete(f"/api/v1/events/{event.pk}/").status_code == 500

    def test_unknown_paths_are_json_404(self, read_client):
        response = read_client.get("/api/v1/unknown/")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}

    def test_text_fields_take_only_strings(self, write_client):
        response = write_client.post("/api/v1/series/", {"name": 42}, format="json")
        assert response.status_code == 400
        assert "name" in response.json()
        response = write_client.post("/api/v1/contacts/", {"email": "n@x.de", "first_name": 1.5}, format="json")
        assert response.status_code == 400
        assert "first_name" in response.json()
        assert not Contact.objects.exists()

    def test_ids_and_booleans_in_json_bodies_have_their_json_types(self, write_client, anna):
        organization = Organization.objects.create(name="Elbwerk")
        url = f"/api/v1/contacts/{anna.pk}/"
        response = write_client.patch(url, {"organization": str(organization.pk)}, format="json")
        assert response.status_code == 400
        assert "organization" in response.json()
        assert write_client.patch(url, {"organization": organization.pk}, format="json").status_code == 200
        response = write_client.patch(f"/api/v1/contacts/{anna.pk}/", {"do_not_contact": 1}, format="json")
        assert response.status_code == 400
        assert "do_not_contact" in response.json()

    def test_a_null_character_in_a_search_is_a_400_of_the_documented_shape(self, read_client):
        response = read_client.get("/api/v1/organizations/?search=a%00b")
        assert response.status_code == 400
        assert list(response.json()) == ["non_field_errors"]

    def test_boolean_filters_refuse_other_values(self, read_client):
        assert read_client.get("/api/v1/scores/?is_returning=32456").status_code == 400
        assert read_client.get("/api/v1/follow-ups/?overdue=maybe").status_code == 400
        assert read_client.get("/api/v1/scores/?is_returning=true").status_code == 200
        assert read_client.get("/api/v1/follow-ups/?overdue=0").status_code == 200
        assert read_client.get("/api/v1/follow-ups/?overdue=").status_code == 200  # empty: no filter

    def test_time_filters_take_any_offset_and_refuse_implausible_years(self, read_client):
        # +17:22 parses in Python but PostgreSQL refuses offsets beyond ±15:59.
        assert read_client.get("/api/v1/series/?updated_since=2026-02-17T05:43:42%2B17:22").status_code == 200
        assert read_client.get("/api/v1/follow-ups/?due_before=2026-02-17T05:43:42-17:22").status_code == 200
        response = read_client.get("/api/v1/series/?updated_since=9999-12-31T23:59:59-17:00")
        assert response.status_code == 400
        assert "updated_since" in response.json()

    def test_empty_filters_mean_no_filter_as_the_schema_says(self, read_client):
        assert read_client.get("/api/v1/events/?kind=").status_code == 200
        schema = read_client.get("/api/schema/?format=json").json()
        kind = next(p for p in schema["paths"]["/api/v1/events/"]["get"]["parameters"] if p["name"] == "kind")
        assert kind["allowEmptyValue"] is True
        assert read_client.get("/api/v1/events/?kind=party").status_code == 400

    def test_unknown_ids_are_404(self, read_client):
        response = read_client.get("/api/v1/contacts/999999/")
        assert response.status_code == 404
        assert "detail" in response.json()


class TestIdempotency:
    def test_the_same_key_and_body_replays_the_first_response(self, write_client):
        first = write_client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        again = write_client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert Contact.objects.count() == 1

    def test_the_same_json_written_otherwise_is_the_same_request(self, write_client):
        first = write_client.post("/api/v1/contacts/", '{"email": "i@x.de", "tags": ["a"]}',
                                  content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc")
        again = write_client.post("/api/v1/contacts/", '{\n  "tags": [ "a" ],\n  "email":"i@x.de"\n}',
                                  content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc")
        other = write_client.post("/api/v1/contacts/", '{"email": "i@x.de", "tags": ["b"]}',
                                  content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc")
        assert first.status_code == again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert other.status_code == 422
        assert Contact.objects.count() == 1

    def test_the_same_key_with_another_body_is_refused(self, write_client):
        write_client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        other = write_client.post("/api/v1/contacts/", {"email": "j@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        assert other.status_code == 422
        assert "detail" in other.json()
        assert not Contact.objects.filter(email="j@x.de").exists()

    def test_keys_belong_to_one_credential(self, write_client, staff_client):
        write_client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        response = staff_client.post("/api/v1/contacts/", {"email": "s@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        assert response.status_code == 201

    def test_a_request_that_fails_half_way_leaves_neither_its_writes_nor_its_key(self, write_client, write_key,
                                                                                   monkeypatch):
        """The contact was saved, then the answer failed (a 500): the retry with the key creates it
        once, as if the first had never run, instead of a 409 for the contact it half-made."""
        from contacts.api.serializers import ContactSerializer

        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {write_key}")
        with monkeypatch.context() as patched:
            patched.setattr(ContactSerializer, "to_representation", mock.Mock(side_effect=RuntimeError("died")))
            failed = client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
        assert failed.status_code == 500
        assert not Contact.objects.exists()

        retried = client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
        assert retried.status_code == 201
        assert "Idempotent-Replayed" not in retried
        assert Contact.objects.count() == 1

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="an aborted transaction is PostgreSQL's state")
    def test_a_database_error_the_view_answered_itself_keeps_nothing(self, write_client, monkeypatch):
        """The view turned a database error into a 4xx, leaving the transaction aborted: the answer
        is given, nothing is kept (no 500 for storing it), and the retry runs again."""
        from contacts.api.views import ContactViewSet

        def statement_error(**fields):  # a constraint violation outside any savepoint: answered 409
            with connection.cursor() as cursor:
                cursor.execute("CREATE TEMPORARY TABLE once (x int PRIMARY KEY)")
                cursor.execute("INSERT INTO once VALUES (1), (1)")

        with monkeypatch.context() as patched:
            patched.setattr(ContactViewSet, "create_service", staticmethod(statement_error))
            answered = write_client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json",
                                         HTTP_IDEMPOTENCY_KEY="k3")
        assert answered.status_code == 409
        retried = write_client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="k3")
        assert retried.status_code == 201
        assert "Idempotent-Replayed" not in retried

    def test_records_expire_after_24_hours(self, write_client):
        from partners.models import IdempotencyRecord

        write_client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
        response = write_client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json", HTTP_IDEMPOTENCY_KEY="abc")
        assert response.status_code == 409  # executed again: the contact exists now


def test_a_link_cleared_by_a_deletion_moves_updated_at(read_client, write_client, anna):
    """Incremental sync: a partner must learn that a contact's organization is gone."""
    organization = Organization.objects.create(name="Hanse Events")
    Contact.objects.filter(pk=anna.pk).update(organization=organization, updated_at=timezone.now() - timedelta(days=3))
    since = timezone.now()

    assert write_client.delete(f"/api/v1/organizations/{organization.pk}/").status_code == 204

    [synced] = read_client.get("/api/v1/contacts/", {"updated_since": since.isoformat()}).json()["results"]
    assert (synced["id"], synced["organization"]) == (anna.pk, None)
    assert datetime.fromisoformat(synced["updated_at"]) >= since


@pytest.mark.parametrize("debug", [False, True])  # with DEBUG on (the demo) Django's own redirect fails
def test_an_unsafe_request_without_the_trailing_slash_is_redirected_keeping_its_method(write_client, anna, settings,
                                                                                      debug):
    settings.DEBUG = debug
    response = write_client.post("/api/v1/contacts?x=1", {"email": "slash@example.com"}, format="json")
    assert (response.status_code, response["Location"]) == (308, "/api/v1/contacts/?x=1")
    assert response.json() == {"detail": "The path ends with a slash: send the request there."}
    patched = write_client.patch(f"/api/v1/contacts/{anna.pk}", {"first_name": "A"}, format="json")
    assert (patched.status_code, patched["Location"]) == (308, f"/api/v1/contacts/{anna.pk}/")
    assert write_client.delete(f"/api/v1/contacts/{anna.pk}").status_code == 308
    assert write_client.post("/api/v1/nothing-here", {}, format="json").status_code == 404
    assert write_client.get("/api/v1/contacts").status_code == 301  # reads may follow as they like


def test_one_key_is_one_idempotency_credential_however_its_header_is_spelled(write_client, write_key):
    body = {"name": "Spelled GmbH"}
    first = write_client.post("/api/v1/organizations/", body, format="json", HTTP_IDEMPOTENCY_KEY="spelling-1")
    write_client.credentials(HTTP_AUTHORIZATION=f"api-key   {write_key} ")
    again = write_client.post("/api/v1/organizations/", body, format="json", HTTP_IDEMPOTENCY_KEY="spelling-1")
    assert first.status_code == 201
    assert (again.status_code, again["Idempotent-Replayed"], again.json()) == (201, "true", first.json())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent requests need PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_a_second_request_with_the_key_waits_for_the_first_and_replays_it(write_key, monkeypatch):
    from contacts.api.serializers import ContactSerializer

    first_running, answers = threading.Event(), {}
    original = ContactSerializer.to_representation

    def slow(serializer, instance):
        first_running.set()
        time.sleep(0.5)  # the second request arrives meanwhile
        return original(serializer, instance)

    monkeypatch.setattr(ContactSerializer, "to_representation", slow)

    def post(name: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {write_key}")
        answers[name] = client.post("/api/v1/contacts/", {"email": "i@x.de"}, format="json",
                                    HTTP_IDEMPOTENCY_KEY="k2")
        connection.close()

    first = threading.Thread(target=post, args=("first",))
    first.start()
    assert first_running.wait(5)
    second = threading.Thread(target=post, args=("second",))
    second.start()
    first.join(10)
    second.join(10)

    assert answers["first"].status_code == answers["second"].status_code == 201
    assert answers["second"].json() == answers["first"].json()
    assert answers["second"]["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1
