"""Attendee-list import (CSV/XLSX: upload → preview → confirm) and spreadsheet-safe exports."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from contacts.models import Contact
from contacts.resources import ContactResource, escape_formula
from events.choices import ImportStatus
from events.import_mapping import IGNORE
from events.models import Attendance, AttendeeImport, Event
from events.resources import AttendanceResource
from scoring.models import ContactScore
from tests.attendee_imports import confirm, import_url, page_url, result_text, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db) -> Event:
    now = timezone.now()
    # Under way: its list may say who attended (before an event a row saying so is refused).
    return Event.objects.create(name="Berlin Roadshow", starts_at=now - timedelta(hours=2),
                                ends_at=now + timedelta(hours=4))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def ignored_columns(preview) -> list[str]:
    """The file's columns the preview's mapping leaves out."""
    form = preview.context["mapping_form"]
    return [header for position, header in enumerate(form.headers) if form[f"column_{position}"].value() == IGNORE]


GOOD_CSV = (
    b"email,first_name,last_name,organization,role,status\n"
    b"anna@client.example,Anna,Schmidt,Hafen AG,speaker,registered\n"
    b"ben@client.example,Ben,Meyer,Hafen AG,,\n"
    b"carla@client.example,Carla,Wolf,Nordlicht GmbH,attendee,attended\n"
)


class TestImportFlow:
    def test_a_row_saying_someone_attended_an_event_a_week_ahead_is_refused(self, admin_client):
        ahead = Event.objects.create(name="Next week", starts_at=timezone.now() + timedelta(days=7),
                                     ends_at=timezone.now() + timedelta(days=7, hours=4))

        preview = upload(admin_client, ahead, GOOD_CSV)

        errors = preview.context["preview"].error_rows
        assert [(row.line, row.errors) for row in errors] == [
            (4, {"status": ["This event has not started yet: nobody can have attended or missed it."]})]
        assert preview.context["preview"].new_contacts == 2

    def test_good_csv_previews_without_writing_then_imports_on_confirm(self, admin_client, event):
        preview = upload(admin_client, event, GOOD_CSV, source="ticketing-export")

        assert preview.status_code == 200
        assert preview.context["preview"].new_contacts == 3
        assert preview.context["preview"].error_rows == []
        assert not Contact.objects.exists()
        assert not Attendance.objects.exists()  # nothing written yet

        response = confirm(admin_client, event, preview)

        assert response.redirect_chain == [(page_url(preview), 302)]  # back to the import's page, with the result
        assert response.context["attendee_import"].status == ImportStatus.DONE
        attendances = Attendance.objects.filter(event=event).select_related("contact__organization")
        assert {a.contact.email for a in attendances} == {"anna@client.example", "ben@client.example", "carla@client.example"}
        anna = attendances.get(contact__email="anna@client.example")
        assert (anna.role, anna.status, anna.source, anna.contact.organization.name) == (
            "speaker", "registered", "ticketing-export", "Hafen AG")
        assert "3 new, 0 updated, 0 unchanged" in result_text(response)

    def test_bad_rows_are_shown_by_row_number_and_nothing_is_written_until_confirmed(self, admin_client, event):
        content = (
            b"email,first_name,role,checked_in_at\n"
            b"ok@client.example,Ok,attendee,\n"
            b"not-an-email,Bad,attendee,\n"
            b"king@client.example,King,king,\n"
            b"late@client.example,Late,attendee,yesterday\n"
        )

        preview = upload(admin_client, event, content)

        errors = {row.line: set(row.errors) for row in preview.context["preview"].error_rows}
        assert errors == {3: {"email"}, 4: {"role"}, 5: {"checked_in_at"}}
        body = preview.content.decode()
        assert "3 rows with errors will be skipped" in body
        assert "Import 1 row" in body
        assert "<li>E-mail: Enter a valid email address.</li>" in body  # labels, not field names
        assert "<th>Checked in at</th>" in body
        assert not Contact.objects.exists()

        response = confirm(admin_client, event, preview)

        assert list(Attendance.objects.values_list("contact__email", flat=True)) == ["ok@client.example"]
        assert (
            "3 rows were skipped because of errors Row Errors "
            "3 E-mail: Enter a valid email address. "  # labels, as the preview shows them
            "4 Role: “king” is not one of attendee, speaker, vip, sponsor, exhibitor. "
            "5 Checked in at: Enter a valid date/time."
        ) in result_text(response)

    def test_reimporting_the_same_list_changes_nothing(self, admin_client, event):
        confirm(admin_client, event, upload(admin_client, event, GOOD_CSV))
        before = list(Attendance.objects.order_by("pk").values_list("pk", "updated_at", "role", "status"))
        contacts_before = list(Contact.objects.order_by("pk").values_list("pk", "updated_at"))

        preview = upload(admin_client, event, GOOD_CSV)
        assert preview.context["preview"].existing_attendances == 3
        response = confirm(admin_client, event, preview)

        assert "0 new, 0 updated, 3 unchanged" in result_text(response)
        assert list(Attendance.objects.order_by("pk").values_list("pk", "updated_at", "role", "status")) == before
        assert list(Contact.objects.order_by("pk").values_list("pk", "updated_at")) == contacts_before

    def test_excel_csv_with_bom_semicolons_crlf_and_german_headers(self, admin_client, event):
        checked_in = timezone.localtime(event.starts_at + timedelta(minutes=15))
        content = (
            "\ufeffE-Mail;Vorname;Nachname;Firma;Status;Checked in at\r\n"
            f"dora@client.example;Dora;Müller;Hafen AG;Attended;{checked_in:%d.%m.%Y %H:%M}\r\n"
            "\r\n"
            "emil@client.example;Emil;Groß;\"Nord; Süd GmbH\";No-show;\r\n"
        ).encode()

        preview = upload(admin_client, event, content)

        assert preview.context["description"].startswith("CSV")
        assert [row.line for row in preview.context["preview"].rows] == [2, 4]  # the blank line is skipped
        assert preview.context["preview"].error_rows == []
        confirm(admin_client, event, preview)
        dora = Attendance.objects.select_related("contact").get(contact__email="dora@client.example")
        assert dora.contact.last_name == "Müller"
        assert dora.status == "attended"
        assert timezone.localtime(dora.checked_in_at).strftime("%Y-%m-%d %H:%M") == f"{checked_in:%Y-%m-%d %H:%M}"
        emil = Attendance.objects.select_related("contact__organization").get(contact__email="emil@client.example")
        assert emil.status == "no_show"
        assert emil.contact.organization.name == "Nord; Süd GmbH"

    def test_windows_1252_csv(self, admin_client, event):
        content = "email;last_name\r\nfranz@client.example;Weiß\r\n".encode("cp1252")
        confirm(admin_client, event, upload(admin_client, event, content))
        assert Contact.objects.get(email="franz@client.example").last_name == "Weiß"

    @pytest.mark.parametrize("separator", [";", ",", "\t"])
    def test_excels_separator_line_names_the_separator_and_is_no_header(self, admin_client, event, separator):
        content = (f"sep={separator}\r\nE-Mail-Adresse{separator}Nachname\r\nfranz@client.example{separator}Weiß\r\n"
                   f"{separator}Ohne\r\n").encode("cp1252")
        preview = upload(admin_client, event, content)
        # the row without an e-mail, named by its line in the file
        assert [row.line for row in preview.context["preview"].error_rows] == [4]
        confirm(admin_client, event, preview)
        assert Contact.objects.get(email="franz@client.example").last_name == "Weiß"

    def test_xlsx(self, admin_client, event):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["Email", "First name", "Last name", "Ticket ID", "Checked in at", "Shoe size"])
        checked_in = timezone.localtime(event.starts_at + timedelta(minutes=30)).replace(tzinfo=None, microsecond=0)
        sheet.append(["gina@client.example", "Gina", "Lang", 10042, checked_in, 38])
        sheet.append([None, None, None, None, None, None])
        sheet.append(["hans@client.example", "Hans", "Kurz", 10043, None, 44])
        buffer = io.BytesIO()
        workbook.save(buffer)

        preview = upload(admin_client, event, buffer.getvalue(), name="list.xlsx")

        assert preview.context["description"] == "XLSX"
        assert ignored_columns(preview) == ["Shoe size"]
        assert preview.context["preview"].error_rows == []
        confirm(admin_client, event, preview)
        gina = Attendance.objects.get(contact__email="gina@client.example")
        assert gina.external_id == "10042"  # a number cell, not "10042.0"
        assert gina.status == "attended"  # a check-in time means they came
        assert Attendance.objects.filter(event=event).count() == 2

    def test_repeated_emails_keep_the_first_row_and_ignore_the_others(self, admin_client, event):
        content = b"email,first_name\nivy@client.example,Ivy\nIVY@client.example ,Ivonne\n"
        preview = upload(admin_client, event, content)
        assert preview.context["preview"].duplicates == 1
        assert "Same e-mail as row 2: ignored, only row 2 is imported" in preview.content.decode()
        assert "Import 1 row" in preview.content.decode()
        response = confirm(admin_client, event, preview)
        assert Contact.objects.get(email="ivy@client.example").first_name == "Ivy"
        assert Attendance.objects.filter(event=event).count() == 1
        assert "1 row repeated an earlier e-mail and was ignored Row Same e-mail as row 3 2" in result_text(response)

    def test_line_breaks_in_cells_as_filemaker_writes_them_are_text(self, admin_client, event):
        """FileMaker writes a line break inside a cell as a vertical tab (0x0B): a text, however many."""
        rows = "".join(f"p{i}@client.example,{chr(11).join(['a'] * 20)}\n" for i in range(5))
        preview = upload(admin_client, event, f"email,notes\n{rows}".encode())
        confirm(admin_client, event, preview)
        assert Attendance.objects.filter(event=event).count() == 5

    def test_excel_unicode_text_is_read(self, admin_client, event):
        """Excel's "Unicode text": UTF-16 with its byte order mark, tab-separated."""
        text = "email\tfirst_name\tlast_name\r\nzoe@client.example\tZoë\tKöhler\r\n"
        preview = upload(admin_client, event, text.encode("utf-16"))
        confirm(admin_client, event, preview)
        attendance = Attendance.objects.get(event=event)
        assert (attendance.contact.email, attendance.contact.first_name) == ("zoe@client.example", "Zoë")

    def test_more_rows_than_one_bulk_call_are_imported_in_chunks(self, admin_client, event):
        lines = ["email,last_name"] + [f"p{i}@client.example,P{i}" for i in range(1203)]
        preview = upload(admin_client, event, "\n".join(lines).encode())
        response = confirm(admin_client, event, preview)
        assert "1203 new, 0 updated, 0 unchanged" in result_text(response)
        assert Attendance.objects.filter(event=event).count() == 1203

    @pytest.mark.parametrize(("content", "name", "message"), [
        (b"Name;Firma\nA;B\n", "a.csv", "The file needs a column of e-mail addresses, with a header such as “E-Mail” or "
                                          "“email”. Its headers: “Name”, “Firma”."),
        (b"", "a.csv", "The file is empty."),
        (b"email\n\n\n", "a.csv", "The file has a header but no attendees."),
        (b"\xd0\xcf\x11\xe0 old excel", "a.xls", "Old Excel files (.xls) are not supported"),
        (b"PK\x03\x04 broken", "a.xlsx", "could not be read as an Excel workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "photo.csv", "This is not a CSV or Excel (.xlsx) file"),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 40, "tool.csv", "This is not a CSV or Excel (.xlsx) file"),
    ])
    def test_unreadable_files_are_a_form_error(self, admin_client, event, content, name, message):
        response = admin_client.post(import_url(event), {"file": SimpleUploadedFile(name, content or b" ")})
        assert response.status_code == 200
        assert not AttendeeImport.objects.exists()
        assert message in " ".join(response.context["form"].errors["file"])

    def test_an_import_that_moved_on_is_refused(self, admin_client, event):
        preview = upload(admin_client, event, GOOD_CSV)
        cancelled = admin_client.post(page_url(preview), {"cancel": "1"}, follow=True)
        assert cancelled.context["attendee_import"].status == ImportStatus.CANCELLED

        response = admin_client.post(page_url(preview), {"confirm": "1"}, follow=True)

        assert response.redirect_chain == [(page_url(preview), 302)]
        assert "This import has moved on meanwhile; see its state below." in messages_of(response)
        assert response.context["attendee_import"].status == ImportStatus.CANCELLED
        assert not Attendance.objects.exists()

    def test_import_from_the_attendance_list_asks_for_the_event(self, admin_client, event):
        url = reverse("admin:events_attendance_import")
        page = admin_client.get(url)
        assert "event" in page.context["form"].fields
        changelist = admin_client.get(reverse("admin:events_attendance_changelist")).content.decode()
        assert url in changelist

        preview = admin_client.post(url, {"event": event.pk, "file": SimpleUploadedFile("a.csv", GOOD_CSV)}, follow=True)
        assert preview.context["attendee_import"].event == event
        response = admin_client.post(page_url(preview), {}, follow=True)  # no mapping posted: import as previewed

        assert response.redirect_chain == [(page_url(preview), 302)]
        assert Attendance.objects.filter(event=event).count() == 3

    def test_import_button_on_the_event_page(self, admin_client, event):
        body = admin_client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()
        assert import_url(event) in body


class TestFormulaEscaping:
    @pytest.mark.parametrize(("value", "expected"), [
        ("=1+1", "'=1+1"), ("+49 30 123", "'+49 30 123"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"), ("\r=cmd", "'\r=cmd"), ("Anna", "Anna"), ("", ""), (None, None), (-2, -2), (3.5, 3.5),
    ])
    def test_escape_formula(self, value, expected):
        assert escape_formula(value) == expected

    @pytest.fixture
    def evil_contact(self, db):
        return Contact.objects.create(email="evil@client.example", first_name='=HYPERLINK("http://x.example","hi")',
                                      last_name="Normal", job_title="@SUM(A1)", tags=["-vip"])

    def export(self, client, model_path: str, resource, file_format: str):
        fields = {f"{resource.__name__.lower()}_{name}": "on" for name in resource().get_export_order()}
        return client.post(reverse(f"admin:{model_path}_export"),
                           {"format": {"csv": "0", "xlsx": "1"}[file_format], "resource": "0", **fields})

    def test_export_pages_offer_csv_and_xlsx(self, admin_client, evil_contact):
        for model_path in ("contacts_contact", "events_attendance"):
            response = admin_client.get(reverse(f"admin:{model_path}_export"))
            assert response.status_code == 200
            formats = [label for _value, label in response.context["form"].fields["format"].choices if _value != ""]
            assert formats == ["csv", "xlsx"]

    def test_the_export_page_names_the_columns_in_the_admins_language(self, admin_client, evil_contact):
        admin_client.cookies["django_language"] = "de"

        page = admin_client.get(reverse("admin:contacts_contact_export")).content.decode()

        for label in ("Vorname (first_name)", "Phase (stage)", "Organisation (organization)", "Alle auswählen"):
            assert label in page
        assert "First Name" not in page
        attendances = admin_client.get(reverse("admin:events_attendance_export")).content.decode()
        for label in ("E-Mail (email)", "Organisation (organization)", "Veranstaltung (event)", "Reihe (series)"):
            assert label in attendances
        assert "Kontakt (" not in attendances  # each column by its own field, not by the relation it passes

    def test_contact_csv_export_escapes_formula_cells(self, admin_client, evil_contact):
        response = self.export(admin_client, "contacts_contact", ContactResource, "csv")

        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response.content.startswith(b"\xef\xbb\xbf")  # a byte order mark: Excel reads the umlauts as UTF-8
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0]["first_name"] == "'=HYPERLINK(\"http://x.example\",\"hi\")"
        assert rows[0]["job_title"] == "'@SUM(A1)"
        assert rows[0]["tags"] == "'-vip"
        assert rows[0]["last_name"] == "Normal"

    def test_contact_xlsx_export_escapes_formula_cells(self, admin_client, evil_contact):
        response = self.export(admin_client, "contacts_contact", ContactResource, "xlsx")

        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        header = [cell.value for cell in sheet[1]]
        row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
        assert row["first_name"].startswith("'=")
        assert row["job_title"] == "'@SUM(A1)"
        assert sheet.cell(row=2, column=header.index("first_name") + 1).data_type == "s"  # text, not a formula

    def test_a_workbook_has_phone_numbers_without_a_quote_and_numbers_as_numbers(self, admin_client, evil_contact):
        Contact.objects.filter(pk=evil_contact.pk).update(phone="+47 55 574-35 93")
        ContactScore.objects.create(contact=evil_contact, score=23.7, components={}, stage="growth", churn_risk="low",
                                    events_attended=3, computed_at=timezone.now(), profile_version=1)

        workbook = self.export(admin_client, "contacts_contact", ContactResource, "xlsx")
        text = self.export(admin_client, "contacts_contact", ContactResource, "csv")

        sheet = load_workbook(io.BytesIO(workbook.content)).active
        row = dict(zip([cell.value for cell in sheet[1]], [cell.value for cell in sheet[2]], strict=True))
        assert (row["phone"], row["score"], row["events_attended"]) == ("+47 55 574-35 93", 23.7, 3)
        assert row["tags"] == "'-vip"  # no number: still quoted
        assert next(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))["phone"] == "'+47 55 574-35 93"

    def test_attendance_export_reimports_into_another_event(self, admin_client, event, evil_contact):
        Attendance.objects.create(event=event, contact=evil_contact, role="speaker", status="attended")
        other = Event.objects.create(name="Earlier Roadshow", starts_at=event.starts_at - timedelta(days=30),
                                     ends_at=event.ends_at - timedelta(days=30))

        exported = self.export(admin_client, "events_attendance", AttendanceResource, "csv")
        assert "'=HYPERLINK" in exported.content.decode("utf-8-sig")

        preview = upload(admin_client, other, exported.content)
        assert preview.context["preview"].error_rows == []
        confirm(admin_client, other, preview)
        copied = Attendance.objects.get(event=other)
        assert (copied.contact_id, copied.role, copied.status) == (evil_contact.pk, "speaker", "attended")
        evil_contact.refresh_from_db()
        assert evil_contact.first_name == '=HYPERLINK("http://x.example","hi")'  # the export's quote is undone
