"""Attendee import: the preview says what the import does, and the import does what it said.

Staff audit cases: re-importing after check-in, ticket ids used twice, repeated e-mails (also
in test_import_export.py), and details of known contacts the file would change.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, Organization
from events import services
from events.models import Attendance, AttendeeImport, Event
from tests.attendee_imports import confirm, result_text, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db) -> Event:
    now = timezone.now()
    return Event.objects.create(name="Berlin Roadshow", starts_at=now - timedelta(hours=8), ends_at=now)


def rows_by_line(preview) -> dict:
    return {row.line: row for row in preview.context["preview"].rows}


REGISTRATION_LIST = b"email,first_name,status\n" + b"".join(
    f"p{i}@client.example,P{i},registered\n".encode() for i in range(6)
)


class TestReimportAfterCheckIn:
    def test_keeps_check_ins_and_no_shows_and_the_preview_says_so(self, admin_client, event):
        confirm(admin_client, event, upload(admin_client, event, REGISTRATION_LIST))
        services.check_in(event, emails=[f"p{i}@client.example" for i in range(4)])
        Attendance.objects.filter(contact__email="p4@client.example").update(status="no_show")
        services.complete_event(event)
        before = list(Attendance.objects.order_by("pk").values_list("status", "checked_in_at", "updated_at"))

        preview = upload(admin_client, event, REGISTRATION_LIST)

        summary = preview.context["preview"]
        assert (summary.existing_attendances, summary.changed, summary.kept) == (6, 0, 6)
        assert rows_by_line(preview)[2].changes == ["Status stays Attended (file: Registered)"]
        assert rows_by_line(preview)[6].changes == ["Status stays No-show (file: Registered)"]
        # p5 never checked in at an event that used check-in: completing made it a no-show.
        assert rows_by_line(preview)[7].changes == ["Status stays No-show (file: Registered)"]
        assert "An import never moves a status back" in preview.content.decode()

        response = confirm(admin_client, event, preview)

        assert "0 new, 0 updated, 6 unchanged" in result_text(response)
        assert list(Attendance.objects.order_by("pk").values_list("status", "checked_in_at", "updated_at")) == before

    def test_a_forward_move_is_shown_and_applied(self, admin_client, event):
        confirm(admin_client, event, upload(admin_client, event, REGISTRATION_LIST))

        preview = upload(admin_client, event, b"email,status\np0@client.example,attended\n")

        assert rows_by_line(preview)[2].action == "Already registered: changes"
        assert rows_by_line(preview)[2].changes == ["Status: Registered → Attended"]
        assert "0 new, 1 updated, 0 unchanged" in result_text(confirm(admin_client, event, preview))
        assert Attendance.objects.get(contact__email="p0@client.example").status == "attended"


def test_the_preview_shows_statuses_roles_and_times_as_the_page_writes_them(admin_client, event):
    at = timezone.localtime(event.starts_at).replace(microsecond=0)
    content = (f"email,role,status,checked_in_at\np0@client.example,speaker,attended,{at:%Y-%m-%d %H:%M:%S}\n"
               f"bad,speaker,attended,\n").encode()

    admin_client.cookies["django_language"] = "de"

    preview = upload(admin_client, event, content)

    rows = rows_by_line(preview)
    assert rows[2].cells == ["p0@client.example", "Referent(in)", "Teilgenommen", f"{at:%d.%m.%Y %H:%M}"]
    assert rows[3].cells == ["bad", "Referent(in)", "Teilgenommen", ""]  # a refused row's choices too


class TestRefusedRows:
    def test_a_ticket_id_used_twice_is_an_error_in_the_preview_and_writes_nothing(self, admin_client, event):
        content = (
            b"email,ticket_id,firma\n"
            b"anna@client.example,T-4,Hafen AG\n"
            b"ben@client.example,T-5,\n"
            b"carl@client.example,T-4,Carl GmbH\n"
        )

        preview = upload(admin_client, event, content)

        errors = {row.line: row.errors for row in preview.context["preview"].error_rows}
        assert errors == {4: {"external_id": ["An earlier row of this list has the same external id."]}}
        assert "Import 2 rows" in preview.content.decode()

        response = confirm(admin_client, event, preview)

        skipped = ("1 row was skipped because of errors Row Errors 4 External id: "
                   "An earlier row of this list has the same external id.")
        assert skipped in result_text(response)
        assert not Contact.objects.filter(email="carl@client.example").exists()
        assert not Organization.objects.filter(name="Carl GmbH").exists()
        assert Attendance.objects.filter(event=event).count() == 2

    def test_a_ticket_id_of_an_existing_attendance_is_an_error_in_the_preview(self, admin_client, event):
        confirm(admin_client, event, upload(admin_client, event, b"email,ticket_id\nanna@client.example,T-4\n"))

        preview = upload(admin_client, event, b"email,ticket_id\nanna@client.example,T-4\ndora@client.example,T-4\n")

        assert [row.line for row in preview.context["preview"].error_rows] == [3]
        assert rows_by_line(preview)[2].action == "Already registered: no change"


class TestKnownContacts:
    def test_the_preview_names_what_changes_of_a_known_contact(self, admin_client, event):
        nordlicht = Organization.objects.create(name="Nordlicht Logistik GmbH")
        Contact.objects.create(email="nina@client.example", first_name="Nína", last_name="Berg", organization=nordlicht)

        preview = upload(admin_client, event, b"email,vorname,nachname,firma\nnina@client.example,Nina,Berg,Nordlicht Logistik\n")

        row = rows_by_line(preview)[2]
        assert row.action == "Known contact, new attendance"
        assert row.changes == ["First name: Nína → Nina", "Organization: Nordlicht Logistik GmbH → Nordlicht Logistik"]
        body = preview.content.decode()
        assert "Organization: Nordlicht Logistik GmbH → Nordlicht Logistik" in body

        confirm(admin_client, event, preview)

        nina = Contact.objects.get(email="nina@client.example")
        assert (nina.first_name, nina.organization.name) == ("Nina", "Nordlicht Logistik")


def test_the_list_of_imports_offers_to_start_one(admin_client):
    page = admin_client.get(reverse("admin:events_attendeeimport_changelist")).content.decode()

    assert f'href="{reverse("admin:events_attendance_import")}" class="addlink ror-import-link"' in page


def test_a_no_show_with_a_check_in_time_is_a_row_error_in_the_admins_language(admin_client, event):
    at = timezone.localtime(event.starts_at)
    admin_client.cookies["django_language"] = "de"

    preview = upload(admin_client, event, f"email,status,checked_in_at\np0@client.example,no_show,{at:%Y-%m-%d %H:%M}\n"
                                          f"p1@client.example,registered,{at:%Y-%m-%d %H:%M}\n".encode())
    confirm(admin_client, event, preview)

    assert rows_by_line(preview)[2].errors == {"checked_in_at": [
        "Nur wer teilgenommen hat, hat eine Check-in-Zeit: Für „Nicht erschienen“, eine Absage oder einen Platz auf "
        "der Warteliste die Check-in-Zeit leeren."]}
    assert list(Attendance.objects.values_list("contact__email", "status")) == [("p1@client.example", "attended")]


def test_the_file_format_is_said_in_the_readers_language(admin_client, event):
    preview = upload(admin_client, event, b"email;first_name\np0@client.example;Pia\n")
    stored = AttendeeImport.objects.get()
    assert stored.description == "CSV, separated by “;”"  # stored in English, whoever uploaded it
    assert "CSV, separated by “;”" in preview.content.decode()

    admin_client.cookies["django_language"] = "de"
    page = admin_client.get(reverse("admin:events_attendeeimport_change", args=[stored.pk])).content.decode()
    assert "CSV, getrennt durch „;“" in page
