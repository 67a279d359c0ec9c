"""Bad input gets a 4xx (or a per-row error), never a 500, and a refused request writes nothing.

A corpus of what partners, scanners, spreadsheets and fuzzers actually send: JSON nested past
the decoder's recursion limit, lone UTF-16 surrogates ("\\ud800", valid JSON, no UTF-8), bodies
of the wrong type or size, garbage cursors and page sizes, free text of a megabyte, and attendee
lists with a BOM, CRLF, `;`, Windows-1252, formula cells, NUL bytes or a million rows.
"""

import io
import json
import zipfile
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, FollowUp
from events import imports
from events.forms import ATTENDEE_ROW_FIELDS
from events.models import Attendance, AttendeeImport, Event, EventSeries, Feedback, Interaction
from ror_crm.validators import FREE_TEXT_MAX_LENGTH
from scoring.services import recompute_contacts
from tests.attendee_imports import confirm, file_error, result_text, upload

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800"


def post_json(client, url: str, body) -> object:
    """json.dumps writes "\\ud800" as an escape, as a partner's JSON library would."""
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch_json(client, url: str, body) -> object:
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Contact, FollowUp, Interaction, Feedback, EventSeries, Event, Attendance))


def assert_error_shape(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert body
    if status == 400:
        assert all(isinstance(messages, list | dict) for messages in body.values()), body
    else:
        assert "detail" in body
    return body


@pytest.fixture
def other(db):
    return Contact.objects.create(email="ben@example.com", first_name="Ben", last_name="Kurz")


class TestNestedJSON:
    @pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000, "[" * 100_000 + "]" * 100_000])
    @pytest.mark.parametrize("path", ["/api/v1/contacts/", "/api/v1/follow-ups/", "/api/v1/series/"])
    def test_is_a_400_with_non_field_errors(self, write_client, path, body):
        before = counts()

        response = write_client.post(path, data=body, content_type="application/json")

        assert list(assert_error_shape(response)) == ["non_field_errors"]
        assert counts() == before

    def test_in_bulk_rows_too(self, write_client, event):
        response = write_client.post(f"/api/v1/events/{event.pk}/attendances/bulk/", data='{"rows":' + "[" * 100_000,
                                     content_type="application/json")

        assert list(assert_error_shape(response)) == ["non_field_errors"]
        assert Attendance.objects.count() == 0


# (endpoint, a valid body, the text fields to poison one at a time)
def _bodies(anna, other, event) -> list[tuple[str, dict, list[str]]]:
    return [
        ("/api/v1/contacts/", {"email": "new@example.com", "first_name": "N", "last_name": "N", "job_title": "",
                               "phone": "", "tags": ["a"]},
         ["email", "first_name", "last_name", "job_title", "phone", "tags"]),
        ("/api/v1/follow-ups/", {"contact": anna.pk, "channel": "email", "status": "planned", "summary": "s",
                                 "next_step": "n", "outcome": "", "deal_status": "none"},
         ["channel", "status", "summary", "next_step", "outcome", "deal_status"]),
        ("/api/v1/interactions/", {"event": event.pk, "contact": anna.pk, "counterpart": other.pk, "kind": "meeting",
                                   "notes": "n", "source": "app", "external_id": "x-1"},
         ["kind", "notes", "source", "external_id"]),
        ("/api/v1/feedback/", {"event": event.pk, "contact": anna.pk, "nps": 9, "comment": "c"}, ["comment"]),
        ("/api/v1/series/", {"name": "S", "description": "d"}, ["name", "description"]),
        ("/api/v1/events/", {"name": "E", "starts_at": "2026-01-01T10:00:00+01:00", "ends_at": "2026-01-01T12:00:00+01:00",
                             "venue": "v", "city": "c", "currency": "EUR", "kind": "conference"},
         ["name", "venue", "city", "currency", "kind", "format", "status"]),
    ]


class TestLoneSurrogates:
    def test_every_text_field_of_these_endpoints_is_a_400_naming_the_field(self, write_client, anna, other, event):
        for path, valid, fields in _bodies(anna, other, event):
            for name in fields:
                before = counts()
                value = [SURROGATE] if name == "tags" else f"x{SURROGATE}y"

                response = post_json(write_client, path, {**valid, name: value})

                body = assert_error_shape(response)
                assert name in body, (path, name, body)
                assert counts() == before, (path, name)

    def test_an_update_with_one_is_refused_and_changes_nothing(self, write_client, anna):
        response = patch_json(write_client, f"/api/v1/contacts/{anna.pk}/", {"first_name": SURROGATE})

        assert "first_name" in assert_error_shape(response)
        anna.refresh_from_db()
        assert anna.first_name == "Anna"

    @pytest.mark.parametrize("name", ATTENDEE_ROW_FIELDS)
    def test_bulk_rows_report_it_per_row_and_apply_the_others(self, write_client, event, name):
        rows = [{"email": "ok@example.com"}, {"email": "bad@example.com", name: f"a{SURROGATE}"}]

        response = post_json(write_client, f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows})

        assert response.status_code == 200
        assert response.json()["errors"] == [{"row": 1, "errors": {name: ["Surrogate characters are not allowed: U+D800."]}}]
        assert list(Contact.objects.values_list("email", flat=True)) == ["ok@example.com"]

    def test_an_echoed_choice_is_shown_with_a_replacement_character(self, write_client, anna):
        response = post_json(write_client, "/api/v1/follow-ups/", {"contact": anna.pk, "channel": SURROGATE})

        assert assert_error_shape(response) == {"channel": ['"\ufffd" is not a valid choice.']}

    def test_check_ins_refuse_them(self, write_client, event):
        response = post_json(write_client, f"/api/v1/events/{event.pk}/check-ins/", {"emails": [SURROGATE]})

        assert "emails" in assert_error_shape(response)


class TestBodies:
    @pytest.mark.parametrize(("content_type", "data"), [
        ("text/plain", "email=a@example.com"),
        ("application/x-www-form-urlencoded", "email=a@example.com"),
        ("application/xml", "<contact><email>a@example.com</email></contact>"),
        ("multipart/form-data; boundary=xyz", "--xyz--"),
    ])
    def test_a_wrong_content_type_is_a_415(self, write_client, content_type, data):
        response = write_client.post("/api/v1/contacts/", data=data, content_type=content_type)

        assert_error_shape(response, 415)
        assert Contact.objects.count() == 0

    @pytest.mark.parametrize("data", [b"{", b"", b"null", b"[]", b'"text"', b"42", b"\xff\xfe{}", b'{"email": "a@\xe9.de"}',
                                      b"\x00", b'{"email": "a@example.com"}' * 2])
    def test_a_body_that_is_not_one_json_object_is_a_400(self, write_client, data):
        response = write_client.post("/api/v1/contacts/", data=data, content_type="application/json")

        assert_error_shape(response)
        assert Contact.objects.count() == 0

    def test_an_oversize_body_is_a_413(self, write_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        body = json.dumps({"email": "a@example.com", "first_name": "x" * 2000})

        response = write_client.post("/api/v1/contacts/", data=body, content_type="application/json")

        assert_error_shape(response, 413)
        assert Contact.objects.count() == 0

    def test_more_than_1000_bulk_rows_is_a_413(self, write_client, event):
        rows = [{"email": f"p{i}@example.com"} for i in range(1001)]

        response = post_json(write_client, f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows})

        assert_error_shape(response, 413)
        assert Contact.objects.count() == 0

    @pytest.mark.parametrize("field", ["emails", "external_ids"])
    def test_more_than_1000_check_ins_break_the_schemas_max_items_a_400(self, write_client, event, field):
        """Not the bulk rows' 413: a fuzzer reading the schema takes a 413 for a request it knows
        breaks maxItems as accepted; API.md names the 413 for bulk rows only."""
        response = post_json(write_client, f"/api/v1/events/{event.pk}/check-ins/",
                             {field: [f"p{i}@example.com" for i in range(1001)]})

        assert_error_shape(response, 400)
        assert list(response.json()) == [field]

    @pytest.mark.parametrize("rows", [None, "rows", [1, 2], [[]], [None], {"email": "a@example.com"}])
    def test_bulk_rows_of_the_wrong_shape_are_refused(self, write_client, event, rows):
        response = post_json(write_client, f"/api/v1/events/{event.pk}/attendances/bulk/", {"rows": rows})

        assert response.status_code in (200, 400), response.content
        if response.status_code == 200:
            assert response.json()["created"] == 0
            assert response.json()["errors"]
        assert Contact.objects.count() == 0


class TestFreeTextLength:
    @pytest.mark.parametrize(("path", "field"), [("/api/v1/follow-ups/", "summary"), ("/api/v1/follow-ups/", "next_step"),
                                                 ("/api/v1/interactions/", "notes"), ("/api/v1/feedback/", "comment"),
                                                 ("/api/v1/series/", "description")])
    def test_over_the_cap_is_a_400_and_at_the_cap_is_kept(self, write_client, anna, other, event, path, field):
        valid = next(body for endpoint, body, _fields in _bodies(anna, other, event) if endpoint == path)
        before = counts()

        too_long = post_json(write_client, path, {**valid, field: "x" * (FREE_TEXT_MAX_LENGTH + 1)})

        assert list(assert_error_shape(too_long)) == [field]
        assert counts() == before
        assert post_json(write_client, path, {**valid, field: "x" * FREE_TEXT_MAX_LENGTH}).status_code == 201

    @pytest.mark.parametrize("padding", [" ", "\x1c"])  # \x1c: str.strip() takes it for whitespace too
    def test_the_schemas_max_length_counts_the_text_as_sent(self, write_client, anna, padding):
        url = f"/api/v1/contacts/{anna.pk}/"

        too_long = patch_json(write_client, url, {"job_title": padding + "x" * 200})

        assert list(assert_error_shape(too_long)) == ["job_title"]
        anna.refresh_from_db()
        assert anna.job_title == ""
        at_the_cap = patch_json(write_client, url, {"job_title": padding + "x" * 199})
        assert at_the_cap.status_code == 200, at_the_cap.content
        assert at_the_cap.json()["job_title"] == "x" * 199  # trimmed

    def test_whitespace_alone_past_the_max_length_is_refused_too(self, write_client, anna):
        # DRF takes whitespace alone for blank before it measures anything.
        response = patch_json(write_client, f"/api/v1/contacts/{anna.pk}/", {"job_title": " " * 201})

        assert list(assert_error_shape(response)) == ["job_title"]

    @pytest.mark.parametrize("currency", [" EUR", "EUR ", "EU"])
    def test_a_currency_is_three_letters_as_sent(self, write_client, event, currency):
        response = patch_json(write_client, f"/api/v1/events/{event.pk}/", {"currency": currency})

        assert list(assert_error_shape(response)) == ["currency"]
        assert patch_json(write_client, f"/api/v1/events/{event.pk}/", {"currency": "usd"}).json()["currency"] == "USD"

    def test_a_megabyte_note_is_refused(self, write_client, anna, event):
        response = post_json(write_client, "/api/v1/interactions/",
                             {"event": event.pk, "contact": anna.pk, "notes": "x" * 1_000_000})

        assert "notes" in assert_error_shape(response)
        assert Interaction.objects.count() == 0

    def test_the_admin_form_refuses_it_too(self, admin_client, anna):
        response = admin_client.post(reverse("admin:contacts_followup_add"), {
            "contact": anna.pk, "channel": "email", "status": "planned", "deal_status": "none",
            "summary": "x" * (FREE_TEXT_MAX_LENGTH + 1),
        })

        assert response.status_code == 200  # the form again, with the error
        assert "summary" in response.context["adminform"].form.errors
        assert FollowUp.objects.count() == 0


class TestQueries:
    @pytest.mark.parametrize("cursor", ["garbage", "cj0xJnA9", "bz0tMQ==", "%ED%A0%80", "x" * 5000])
    def test_a_garbage_cursor_is_a_400(self, read_client, anna, cursor):
        response = read_client.get(f"/api/v1/contacts/?cursor={cursor}")

        assert list(assert_error_shape(response)) == ["cursor"]

    @pytest.mark.parametrize("resource", ["events", "contacts", "attendances", "scores"])
    @pytest.mark.parametrize("cursor", ["!!!", "%25%25%25", "AA%3D%3D", "eD0x", "cD0xJnE9Mg%3D%3D"])
    def test_a_cursor_no_page_link_holds_is_a_400_not_the_first_page(self, read_client, anna, resource, cursor):
        # (a garbled cursor read as the first page would start a partner's sync over, silently)
        response = read_client.get(f"/api/v1/{resource}/?cursor={cursor}")

        assert list(assert_error_shape(response)) == ["cursor"]

    def test_every_next_link_of_a_list_still_reads(self, read_client, anna):
        Event.objects.bulk_create(Event(name=f"E{i}", starts_at=timezone.now(), ends_at=timezone.now()) for i in range(5))
        url, seen = "/api/v1/events/?page_size=2", 0
        while url:
            page = read_client.get(url).json()
            seen += len(page["results"])
            url = page["next"]
        assert seen == 5

    # A huge offset is cut off by DRF.
    @pytest.mark.parametrize("cursor", ["!!!", "%00", "bz05OTk5OTk5OTk5OTk5OTk5OTk5OQ==", "cj0x"])
    def test_a_cursor_that_decodes_to_something_is_a_page_or_a_400(self, read_client, anna, cursor):
        response = read_client.get(f"/api/v1/contacts/?cursor={cursor}")

        assert response.status_code in (200, 400), response.content
        if response.status_code == 400:
            assert list(assert_error_shape(response)) == ["cursor"]

    @pytest.mark.parametrize("size", ["0", "-1", "abc", "1e3", "1.5", "%00", ""])
    def test_a_page_size_that_is_no_positive_number_is_a_400(self, read_client, anna, size):
        response = read_client.get(f"/api/v1/contacts/?page_size={size}")

        assert list(assert_error_shape(response)) == ["page_size"]

    @pytest.mark.parametrize(("query", "bound"), [("score_min=1e400", "1000000"), ("organization=1e999", str(2**63 - 1))])
    def test_a_number_beyond_its_filters_bound_names_that_bound_alone(self, read_client, query, bound):
        response = read_client.get(f"/api/v1/contacts/?{query}")
        assert response.status_code == 400
        assert response.json()[query.partition("=")[0]] == [f"Ensure this value is less than or equal to {bound}."]

    @pytest.mark.parametrize("resource", ["organizations", "contacts", "series", "events", "attendances", "interactions",
                                          "follow-ups", "feedback", "referrals", "scores"])
    @pytest.mark.parametrize("pk", [str(2**63), "9" * 30, "%2B" + "9" * 30, "%20" + "9" * 30, "-" + "9" * 30])
    def test_an_id_beyond_64_bits_is_a_404(self, read_client, resource, pk):
        response = read_client.get(f"/api/v1/{resource}/{pk}/")

        assert_error_shape(response, 404)

    @pytest.mark.parametrize("path", [
        "/api/v1/contacts/?organization=%D9%A1", "/api/v1/contacts/?score_min=%D9%A1",  # Arabic-Indic 1
        "/api/v1/reports/follow-up-performance/?event=%D9%A1", "/api/v1/follow-ups/missed/?owner=%C2%B2",  # ²
    ])
    def test_digits_other_than_ascii_are_a_400(self, read_client, anna, path):
        response = read_client.get(path)

        assert_error_shape(response, 400)

    @pytest.mark.parametrize("path", ["/api/v1/follow-ups/missed/?open=", "/api/v1/contacts/?losing_touch=",
                                      "/api/v1/scores/?is_returning="])
    @pytest.mark.parametrize("value", ["yes", "on", "t", "null", "FALSE"])
    def test_a_boolean_parameter_is_true_or_false_everywhere(self, read_client, anna, path, value):
        assert read_client.get(path + value).json() == {path.rpartition("?")[2][:-1]: ["Give true or false."]}

    @pytest.mark.parametrize("path", ["contacts/{id}/", "contacts/{id}/export/", "scores/{id}/", "contacts/{id}/score/"])
    def test_a_detail_page_takes_no_ordering(self, read_client, anna, path):
        recompute_contacts([anna.pk])

        assert read_client.get("/api/v1/" + path.format(id=anna.pk) + "?ordering=bogus").status_code == 200

    def test_a_superscript_owner_on_the_lapsed_list_is_a_400(self, read_client, anna):
        event = Event.objects.create(name="Roadshow", starts_at=timezone.now(), ends_at=timezone.now())
        response = read_client.get(f"/api/v1/events/{event.pk}/lapsed/?owner=%C2%B2")

        assert response.json() == {"owner": ["A user id (a whole number)."]}

    @pytest.mark.parametrize("path", ["contacts/{digit}/", "contacts/{digit}/score/", "scores/{digit}/",
                                      "contacts/{digit}/timeline/"])
    def test_an_id_in_a_path_is_ascii_digits(self, read_client, anna, path):
        arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in str(anna.pk))
        response = read_client.get("/api/v1/" + path.format(digit=quote(arabic_indic)))

        assert_error_shape(response, 404)

    def test_a_huge_page_size_is_capped_at_500(self, read_client, anna):
        response = read_client.get("/api/v1/contacts/?page_size=" + "9" * 40)

        assert response.status_code == 200
        assert len(response.json()["results"]) == 1

    @pytest.mark.parametrize("query", ["updated_since=garbage", "updated_since=99999-01-01", "search=%00",
                                       "score_min=abc", "stage=nope", "ordering=-email", "email=%ED%A0%80",
                                       "organization=1e999", "owner=-1"])
    def test_bad_filters_are_a_400_or_an_empty_answer(self, read_client, anna, query):
        response = read_client.get(f"/api/v1/contacts/?{query}")

        assert response.status_code in (200, 400), (query, response.content)
        if response.status_code == 400:
            assert_error_shape(response)


# Admin attendee import ------------------------------------------------------------------------


@pytest.fixture
def roadshow(db) -> Event:
    now = timezone.now()
    return Event.objects.create(name="Berlin Roadshow", starts_at=now - timedelta(hours=8), ends_at=now)


class TestImportFiles:
    @pytest.mark.parametrize("content", [
        "\ufeffE-Mail;Vorname;Nachname\r\nanna@example.com;Anna;Müller\r\n".encode(),  # Excel's UTF-8 "CSV", ';', CRLF
        "email,first_name,last_name\rbob@x.de,Bob,B\r".replace("bob@x.de,Bob,B", "anna@example.com,Anna,Müller").encode(),
        "email\tfirst_name\tlast_name\nanna@example.com\tAnna\tMüller\n".encode(),
        "E-Mail;Vorname;Nachname\r\nanna@example.com;Anna;Müller\r\n".encode("cp1252"),  # Excel on Windows
    ])
    def test_bom_crlf_semicolons_tabs_and_windows_1252_are_read(self, admin_client, roadshow, content):
        response = confirm(admin_client, roadshow, upload(admin_client, roadshow, content))

        assert "1 new, 0 updated, 0 unchanged" in result_text(response)
        assert Contact.objects.get().last_name == "Müller"

    def test_formula_cells_are_kept_as_text_and_a_formula_e_mail_is_a_row_error(self, admin_client, roadshow):
        content = (b"email,first_name,last_name,job_title,organization\n"
                   b"a@example.com,=HYPERLINK(\"http://x\"),+49 30 1,-1+1,@SUM(A1)\n"
                   b"=cmd|'/c calc'!A1,x,y,,\n")

        preview = upload(admin_client, roadshow, content)

        rows = preview.context["preview"].rows
        assert rows[0].errors == {}
        assert "email" in rows[1].errors
        confirm(admin_client, roadshow, preview)
        contact = Contact.objects.get()
        assert (contact.first_name, contact.last_name, contact.job_title) == ('=HYPERLINK("http://x")', "+49 30 1", "-1+1")

    def test_nul_bytes_are_a_row_error(self, admin_client, roadshow):
        preview = upload(admin_client, roadshow, b"email,first_name\na@example.com,A\x00B\nb@example.com,B\n")

        rows = preview.context["preview"].rows
        assert "first_name" in rows[0].errors
        assert not rows[1].errors
        confirm(admin_client, roadshow, preview)
        assert list(Contact.objects.values_list("email", flat=True)) == ["b@example.com"]

    @pytest.mark.parametrize(("content", "name"), [
        (b"PK\x03\x04 not really a zip", "list.xlsx"),
        (b"\xd0\xcf\x11\xe0 old excel", "list.xls"),
        (bytes(range(256)) * 10, "random.bin"),
        (b"   \n\n", "blank.csv"),
        (b"name,company\nAnna,ACME\n", "no-email.csv"),
        (b"email\n", "header-only.csv"),
    ])
    def test_unreadable_files_are_a_form_error(self, admin_client, roadshow, content, name):
        response = upload(admin_client, roadshow, content, name)

        assert response.context["form"].errors["file"] == [file_error(response)]
        assert not AttendeeImport.objects.exists()
        assert Contact.objects.count() == 0

    def test_a_file_over_the_row_limit_is_refused_and_nothing_is_written(self, admin_client, roadshow, settings):
        settings.IMPORT_MAX_ROWS = 20
        content = b"email\n" + b"".join(f"p{i}@example.com\n".encode() for i in range(21))

        assert "more than 20 attendees" in file_error(upload(admin_client, roadshow, content))
        assert Contact.objects.count() == 0


def xlsx(rows: int) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["email", "first_name"])
    for i in range(rows):
        sheet.append([f"p{i}@example.com", f"P{i}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class TestLargeSpreadsheets:
    def test_reading_stops_past_the_row_limit(self, monkeypatch, settings):
        settings.IMPORT_MAX_ROWS = 100
        read = []
        stream = imports._xlsx_rows

        def counting(data):
            for row in stream(data):
                read.append(row)
                yield row

        monkeypatch.setattr(imports, "_xlsx_rows", counting)

        with pytest.raises(imports.ImportFileError, match="more than 100 attendees"):
            imports.read_attendee_file(xlsx(5000), "big.xlsx")

        assert len(read) == 1 + 101  # the header, then one row past the limit

    def test_a_declared_million_row_sheet_is_not_padded(self):
        """A sheet whose <dimension> claims A1:XFD1048576 is read as the rows it holds."""
        data = xlsx(3)
        source, patched = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
        with zipfile.ZipFile(patched, "w") as target:
            for item in source.infolist():
                content = source.read(item.filename)
                if item.filename.startswith("xl/worksheets/"):
                    content = content.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>', 1)
                target.writestr(item, content)

        parsed = imports.read_attendee_file(patched.getvalue(), "declared.xlsx")

        assert [row["email"] for row in parsed.rows] == ["p0@example.com", "p1@example.com", "p2@example.com"]


def test_errors_of_list_items_are_the_fields_messages_naming_the_item(write_client, anna):
    """API.md: a 400 is field → messages, also for a list whose items are refused."""
    response = write_client.patch(f"/api/v1/contacts/{anna.pk}/", {"tags": ["ok", ""]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"tags": ["[1]: This field may not be blank."]}


def test_item_errors_of_objects_name_the_item_and_its_field():
    from partners.exceptions import _item_messages

    assert _item_messages({"3": {"email": ["Enter a valid email address."]}, "5": ["Not a valid string."]}) == [
        "[3] email: Enter a valid email address.", "[5]: Not a valid string."]
    assert _item_messages({"email": ["Enter a valid email address."]}) == {"email": ["Enter a valid email address."]}


@pytest.mark.parametrize("url", [
    "/api/v1/follow-ups/missed/?event=7.0", "/api/v1/follow-ups/missed/?owner=1.0",
    "/api/v1/reports/follow-up-performance/?event=2.0", "/api/v1/reports/cohorts/?series=1.0",
    "/api/v1/reports/score-validity/?series=1.5", "/api/v1/attendances/?event=3.0",
])
def test_a_whole_number_parameter_written_with_a_decimal_point_is_a_400(read_client, url):
    """The schema says integer: "7.0" is refused everywhere, as the id filters refuse it."""
    response = read_client.get(url)
    name = url.rsplit("?", 1)[1].split("=")[0]
    assert response.status_code == 400, url
    assert name in response.json(), response.json()
