"""Column mapping of the admin attendee import: presets (generic, pretix, Eventbrite), the mapping
form of the preview, the mapping remembered per user, and status labels in English and German.

Staff report: a pretix export lost the names ("Attendee name: Given name" / "… Family name" were
ignored) and "Ticket" was read as the ticket id (a false duplicate error).
"""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone, translation

from contacts.models import Contact
from events import import_mapping
from events.choices import ImportStatus
from events.import_mapping import IGNORE, detect_preset, split_full_name, suggest_mapping
from events.imports import read_attendee_file
from events.models import Attendance, Event, ImportColumnMapping
from tests.attendee_imports import confirm, page_url, post_mapping, result_text, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db) -> Event:
    now = timezone.now()
    return Event.objects.create(name="Berlin Roadshow", starts_at=now - timedelta(hours=8), ends_at=now)


def mapping_of(preview) -> dict[str, str]:
    """Header → target of the mapping the preview shows."""
    form = preview.context["mapping_form"]
    return {header: form[f"column_{position}"].value() for position, header in enumerate(form.headers)}


def shows_no_preview(response) -> bool:
    """The page shows no preview table and offers no import: the mapping has to be fixed first."""
    body = response.content.decode()
    return 'id="result_list"' not in body and 'name="confirm"' not in body


def messages_of(response) -> list[tuple[int, str]]:
    return [(message.level, str(message)) for message in get_messages(response.wsgi_request)]


def to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def pretix_time(moment) -> str:
    """A check-in time as pretix's English check-in list writes it (SHORT_DATETIME_FORMAT "m/d/Y P")."""
    local = timezone.localtime(moment)
    return f"{local:%m/%d/%Y} {local.hour % 12 or 12}:{local:%M} {'a.m.' if local.hour < 12 else 'p.m.'}"


CHECKED_IN = (timezone.now() - timedelta(hours=3)).replace(minute=15, second=0, microsecond=0)

# pretix "Order data" → "Order positions", with a "Checked in" column as the check-in list has.
# Order ABC12 holds two tickets bought by one person: same order code, same order e-mail.
PRETIX_HEADERS = [
    "Event slug",
    "Order code",
    "Position ID",
    "Status",
    "Email",
    "Phone number",
    "Order date",
    "Order time",
    "Product",
    "Variation",
    "Price",
    "Tax rate",
    "Attendee name",
    "Attendee name: Title",
    "Attendee name: Given name",
    "Attendee name: Family name",
    "Attendee email",
    "Company",
    "Address",
    "City",
    "Checked in",
    "Pseudonymization ID",
    "Company",
    "Invoice address name",
    "Sales channel",
]
PRETIX_EXPORT = to_csv(
    [
        PRETIX_HEADERS,
        [
            "roadshow",
            "ABC12",
            "1",
            "paid",
            "office@hafen.example",
            "",
            "2026-10-01",
            "10:00:00",
            "Early bird",
            "",
            "99.00",
            "19.00",
            "Dr. Anna Schmidt",
            "Dr.",
            "Anna",
            "Schmidt",
            "anna@hafen.example",
            "Hafen AG",
            "",
            "",
            pretix_time(CHECKED_IN),
            "X7P2K",
            "Hafen AG",
            "Office Hafen",
            "web",
        ],
        [
            "roadshow",
            "ABC12",
            "2",
            "paid",
            "office@hafen.example",
            "",
            "2026-10-01",
            "10:00:00",
            "Early bird",
            "",
            "99.00",
            "19.00",
            "Ben Meyer",
            "",
            "Ben",
            "Meyer",
            "ben@hafen.example",
            "Hafen AG",
            "",
            "",
            "",
            "Q8M3Z",
            "Hafen AG",
            "Office Hafen",
            "web",
        ],
        [
            "roadshow",
            "XYZ34",
            "1",
            "canceled",
            "carla@nordlicht.example",
            "",
            "2026-10-02",
            "11:00:00",
            "Early bird",
            "",
            "99.00",
            "19.00",
            "Carla Wolf",
            "",
            "",
            "",
            "carla@nordlicht.example",
            "Nordlicht GmbH",
            "",
            "",
            "",
            "R4T5U",
            "",
            "",
            "web",
        ],
    ]
)

# Eventbrite's attendee report (Manage attendees → Reports → Attendee summary, CSV).
EVENTBRITE_EXPORT = to_csv(
    [
        [
            "Order #",
            "Order Date",
            "First Name",
            "Last Name",
            "Email",
            "Quantity",
            "Price Tier",
            "Ticket Type",
            "Attendee #",
            "Group",
            "Order Type",
            "Currency",
            "Total Paid",
            "Fees Paid",
            "Eventbrite Fees",
            "Eventbrite Payment Processing",
            "Attendee Status",
            "Job Title",
            "Company",
        ],
        [
            "1234567890",
            "2026-10-01 09:12:00-07:00",
            "Anna",
            "Schmidt",
            "anna@hafen.example",
            "1",
            "",
            "General Admission",
            "9876543210",
            "",
            "Free Order",
            "EUR",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "Checked In",
            "CTO",
            "Hafen AG",
        ],
        [
            "1234567891",
            "2026-10-01 09:15:00-07:00",
            "Ben",
            "Meyer",
            "ben@hafen.example",
            "2",
            "",
            "General Admission",
            "9876543211",
            "",
            "Free Order",
            "EUR",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "Attending",
            "Buyer",
            "Hafen AG",
        ],
        [
            "1234567891",
            "2026-10-01 09:15:00-07:00",
            "Carla",
            "Wolf",
            "carla@nordlicht.example",
            "2",
            "",
            "General Admission",
            "9876543212",
            "",
            "Free Order",
            "EUR",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "Not Attending",
            "",
            "Nordlicht GmbH",
        ],
    ]
)


class TestSuggestions:
    def test_a_pretix_export_is_detected_and_mapped_by_its_own_headers(self):
        parsed = read_attendee_file(PRETIX_EXPORT, "pretix.csv")
        suggestion = suggest_mapping(PRETIX_HEADERS, [])

        assert suggestion.preset == "pretix"
        mapped = {header: target for header, target in zip(PRETIX_HEADERS, suggestion.mapping, strict=True) if target != IGNORE}
        assert mapped == {
            "Order code": "external_id",
            "Position ID": "external_id_part",
            "Status": "status",
            "Attendee name": "full_name",
            "Attendee name: Given name": "first_name",
            "Attendee name: Family name": "last_name",
            "Attendee email": "email",
            "Company": "organization",
            "Checked in": "checked_in_at",
        }
        assert suggestion.mapping.index("organization") == PRETIX_HEADERS.index("Company")  # the attendee's, not the invoice's
        assert "Product" in parsed.ignored_columns
        assert [row["external_id"] for row in parsed.rows] == ["ABC12-1", "ABC12-2", "XYZ34-1"]
        assert [(row["first_name"], row["last_name"]) for row in parsed.rows] == [
            ("Anna", "Schmidt"),
            ("Ben", "Meyer"),
            ("Carla", "Wolf"),
        ]  # Carla's parts are empty: her full name is split

    def test_a_pretix_check_in_list_without_position_ids_does_not_take_the_order_code_as_ticket_id(self):
        headers = [
            "Order code",
            "Attendee name",
            "Attendee name: Given name",
            "Attendee name: Family name",
            "Product",
            "Price",
            "Checked in",
            "Checked out",
            "Automatically checked in",
            "E-mail",
            "Company",
        ]
        rows = [
            ["ABC12", "Anna Schmidt", "Anna", "Schmidt", "Early bird", "99.00", "", "", "No", "anna@x.example", ""],
            ["ABC12", "Ben Meyer", "Ben", "Meyer", "Early bird", "99.00", "", "", "No", "ben@x.example", ""],
        ]

        suggestion = suggest_mapping(headers, rows)

        assert suggestion.preset == "pretix"
        assert "external_id" not in suggestion.mapping  # one order, two tickets: the code is no ticket id
        assert suggestion.mapping[headers.index("E-mail")] == "email"
        assert suggest_mapping(headers, rows[:1]).mapping[0] == "external_id"  # one ticket per order: it is one

    def test_pretix_takes_the_order_e_mail_when_no_attendee_e_mail_was_asked_for(self):
        headers = ["Order code", "Position ID", "Email", "Attendee name", "Attendee email"]
        suggestion = suggest_mapping(headers, [["ABC12", "1", "anna@x.example", "Anna Schmidt", ""]])

        assert suggestion.mapping == ["external_id", "external_id_part", "email", "full_name", IGNORE]

    def test_a_german_pretix_export(self):
        headers = [
            "Bestellnummer",
            "Position",
            "Status",
            "E-Mail",
            "Produkt",
            "Name Teilnehmer*in",
            "Name Teilnehmer*in: Vorname",
            "Name Teilnehmer*in: Nachname",
            "E-Mail Teilnehmer*in",
            "Firma",
        ]

        suggestion = suggest_mapping(headers, [])

        assert suggestion.preset == "pretix"
        assert suggestion.mapping == [
            "external_id",
            "external_id_part",
            "status",
            IGNORE,
            IGNORE,
            "full_name",
            "first_name",
            "last_name",
            "email",
            "organization",
        ]

    def test_an_eventbrite_report_takes_the_attendee_number_as_id(self):
        parsed = read_attendee_file(EVENTBRITE_EXPORT, "eventbrite.csv")

        assert detect_preset(["Order #", "First Name", "Email", "Attendee #"]) == "eventbrite"
        assert parsed.columns == ["first_name", "last_name", "email", "external_id", "status", "job_title", "organization"]
        assert [row["external_id"] for row in parsed.rows] == ["9876543210", "9876543211", "9876543212"]
        assert [row["status"] for row in parsed.rows] == ["attended", "registered", "cancelled"]

    @pytest.mark.parametrize("language", ["en", "de"])
    def test_the_fields_own_names_are_read_in_either_language(self, language):
        fields = ["email", "first_name", "last_name", "organization", "job_title", "role", "status", "checked_in_at",
                  "external_id", "source"]
        with translation.override(language):
            headers = [str(import_mapping.TARGETS[name]) for name in fields]

        assert suggest_mapping(headers, []).mapping == fields, headers

    def test_a_german_excel_list_s_usual_headers(self):
        headers = ["E-Mail", "Vorname", "Nachname", "Firma", "Funktion", "Status", "Eingecheckt am", "Ticket-Nr.", "Quelle"]

        assert suggest_mapping(headers, []).mapping == [
            "email", "first_name", "last_name", "organization", "job_title", "status", "checked_in_at", "external_id",
            "source"]

    def test_generic_lists_no_longer_read_ticket_as_an_id(self):
        suggestion = suggest_mapping(["email", "Ticket", "Vorname", "Name"], [])

        assert suggestion.preset == "generic"
        assert suggestion.mapping == ["email", IGNORE, "first_name", "last_name"]  # "Name" next to "Vorname": the last name
        assert suggest_mapping(["email", "Name"], []).mapping == ["email", "full_name"]

    def test_an_unknown_e_mail_header_is_found_by_its_values(self):
        suggestion = suggest_mapping(["Kontakt", "Teilnehmer-Mail"], [["Anna", "anna@x.example"], ["Ben", "ben@x.example"]])

        assert suggestion.mapping == [IGNORE, "email"]

    @pytest.mark.parametrize(
        ("name", "parts"),
        [
            ("Anna Maria Schmidt", ("Anna Maria", "Schmidt")),
            ("Schmidt, Anna", ("Anna", "Schmidt")),
            ("  Anna   Schmidt ", ("Anna", "Schmidt")),
            ("Schmidt", ("", "Schmidt")),
            ("", ("", "")),
        ],
    )
    def test_split_full_name(self, name, parts):
        assert split_full_name(name) == parts


class TestPresetImports:
    def test_a_pretix_export_imports_with_names_and_no_false_duplicate(self, admin_client, event):
        preview = upload(admin_client, event, PRETIX_EXPORT, name="roadshow_orders.csv")

        assert preview.context["preview"].error_rows == []  # "Ticket"/"Product" is no id; ABC12-1 and ABC12-2 differ
        assert preview.context["mapping_form"]["preset"].value() == "pretix"
        body = preview.content.decode()
        assert "Column mapping" in body
        assert "Attendee name: Given name" in body
        assert "Import 3 rows" in body
        assert not Contact.objects.exists()

        response = confirm(admin_client, event, preview)

        assert "3 new, 0 updated, 0 unchanged" in result_text(response)
        attendances = {a.contact.email: a for a in Attendance.objects.filter(event=event).select_related("contact__organization")}
        anna, ben, carla = (
            attendances[f"{name}@{domain}.example"]
            for name, domain in (("anna", "hafen"), ("ben", "hafen"), ("carla", "nordlicht"))
        )
        assert (anna.contact.first_name, anna.contact.last_name) == ("Anna", "Schmidt")
        assert anna.contact.organization.name == "Hafen AG"
        assert (ben.contact.first_name, ben.contact.last_name) == ("Ben", "Meyer")
        assert (carla.contact.first_name, carla.contact.last_name) == ("Carla", "Wolf")
        assert (anna.external_id, ben.external_id, carla.external_id) == ("ABC12-1", "ABC12-2", "XYZ34-1")
        assert (anna.status, ben.status, carla.status) == ("attended", "registered", "cancelled")  # paid + checked in
        assert anna.checked_in_at == CHECKED_IN
        assert not Contact.objects.filter(email="office@hafen.example").exists()  # the buyer is no attendee

    def test_an_eventbrite_report_imports(self, admin_client, event):
        preview = upload(admin_client, event, EVENTBRITE_EXPORT, name="report.csv")

        assert preview.context["mapping_form"]["preset"].value() == "eventbrite"
        assert preview.context["preview"].error_rows == []
        confirm(admin_client, event, preview)

        anna = Attendance.objects.select_related("contact__organization").get(contact__email="anna@hafen.example")
        assert (anna.contact.first_name, anna.contact.last_name, anna.contact.job_title) == ("Anna", "Schmidt", "CTO")
        assert (anna.external_id, anna.status, anna.contact.organization.name) == ("9876543210", "attended", "Hafen AG")
        assert Attendance.objects.get(contact__email="carla@nordlicht.example").status == "cancelled"
        assert Attendance.objects.filter(event=event).count() == 3


GENERIC_LIST = (
    b"E-Mail;Vorname;Abteilung;Mitgliedsnummer\nanna@client.example;Anna;Einkauf;M-1\nben@client.example;Ben;Vertrieb;M-2\n"
)


class TestMappingForm:
    def test_a_changed_mapping_previews_again_and_the_import_uses_it(self, admin_client, event):
        preview = upload(admin_client, event, GENERIC_LIST)
        assert mapping_of(preview) == {"E-Mail": "email", "Vorname": "first_name", "Abteilung": IGNORE, "Mitgliedsnummer": IGNORE}
        assert preview.context["preview"].columns == ["email", "first_name"]
        assert preview.context["columns"] == ["E-mail", "First name"]  # as people read them

        remapped = post_mapping(admin_client, preview, Abteilung="job_title", Mitgliedsnummer="external_id")

        assert remapped.status_code == 200
        assert mapping_of(remapped)["Abteilung"] == "job_title"
        assert remapped.context["preview"].columns == ["email", "first_name", "job_title", "external_id"]
        assert [row.cells for row in remapped.context["preview"].rows] == [
            ["anna@client.example", "Anna", "Einkauf", "M-1"],
            ["ben@client.example", "Ben", "Vertrieb", "M-2"],
        ]
        assert not Contact.objects.exists()  # still nothing written

        response = post_mapping(admin_client, remapped, button="confirm")

        assert "2 new, 0 updated, 0 unchanged" in result_text(response)
        anna = Attendance.objects.select_related("contact").get(contact__email="anna@client.example")
        assert (anna.contact.job_title, anna.external_id) == ("Einkauf", "M-1")

    def test_importing_with_a_changed_but_not_previewed_mapping_previews_first(self, admin_client, event):
        preview = upload(admin_client, event, GENERIC_LIST)

        response = post_mapping(admin_client, preview, button="confirm", Abteilung="job_title")

        assert response.status_code == 200
        assert response.context["preview"] is not None
        assert response.context["attendee_import"].status == ImportStatus.READY
        assert mapping_of(response)["Abteilung"] == "job_title"
        assert response.context["preview"].columns == ["email", "first_name", "job_title"]
        assert not Attendance.objects.exists()
        assert (messages.WARNING, "The column mapping was changed: check the new preview, then import.") in messages_of(response)

    def test_another_preset_suggests_its_mapping(self, admin_client, event):
        content = b"email,Order code,Position ID,Given name\nanna@client.example,ABC12,1,Anna\n"
        preview = upload(admin_client, event, content)
        assert preview.context["mapping_form"]["preset"].value() == "pretix"

        response = post_mapping(admin_client, preview, preset="generic")

        assert response.context["mapping_form"]["preset"].value() == "generic"
        assert mapping_of(response) == {"email": "email", "Order code": IGNORE, "Position ID": IGNORE, "Given name": "first_name"}

    def test_two_columns_for_one_field_is_a_form_error(self, admin_client, event):
        preview = upload(admin_client, event, GENERIC_LIST)

        response = post_mapping(admin_client, preview, button="confirm", Vorname="email")

        assert response.status_code == 200
        form = response.context["mapping_form"]
        message = "“E-mail” is chosen for more than one column (“E-Mail”, “Vorname”); choose it for one column only."
        assert form.errors["column_0"] == [message]
        assert form.errors["column_1"] == [message]
        assert shows_no_preview(response)
        assert "Fix the column mapping to see the preview." in response.content.decode()
        assert not Contact.objects.exists()

    def test_no_e_mail_column_is_a_form_error(self, admin_client, event):
        preview = upload(admin_client, event, GENERIC_LIST)

        response = post_mapping(admin_client, preview, **{"E-Mail": IGNORE})

        assert response.context["mapping_form"].non_field_errors() == [
            "No column is imported as e-mail; choose the column that holds the e-mail addresses."
        ]
        assert shows_no_preview(response)
        assert not Contact.objects.exists()

    def test_a_second_id_part_needs_the_first(self, admin_client, event):
        preview = upload(admin_client, event, GENERIC_LIST)

        response = post_mapping(admin_client, preview, Mitgliedsnummer="external_id_part")

        assert "column_3" in response.context["mapping_form"].errors

    def test_a_file_without_any_e_mail_column_is_refused_at_upload(self, admin_client, event):
        response = upload(admin_client, event, b"Name;Firma\nAnna Schmidt;Hafen AG\n")

        assert "The file needs a column of e-mail addresses" in response.context["form"].errors["file"][0]

    def test_an_import_that_moved_on_is_not_remapped(self, admin_client, event):
        preview = upload(admin_client, event, GENERIC_LIST)
        confirm(admin_client, event, preview)

        response = post_mapping(admin_client, preview, Abteilung="job_title")

        assert response.redirect_chain == [(page_url(preview), 302)]
        assert (messages.ERROR, "This import has moved on meanwhile; see its state below.") in messages_of(response)
        attendee_import = response.context["attendee_import"]
        assert attendee_import.status == ImportStatus.DONE
        assert attendee_import.mapping == ["email", "first_name", IGNORE, IGNORE]


class TestRememberedMapping:
    @pytest.fixture
    def other_admin(self, django_user_model):
        user = django_user_model.objects.create_superuser("berta", "berta@agency.example", "pw-berta-123")
        client = Client()
        client.force_login(user)
        return client

    def test_the_confirmed_mapping_is_suggested_to_the_same_user_for_the_same_headers(self, admin_client, other_admin, event):
        preview = upload(admin_client, event, GENERIC_LIST)
        remapped = post_mapping(admin_client, preview, Abteilung="job_title")
        assert not ImportColumnMapping.objects.exists()  # remembered on import, not on preview
        post_mapping(admin_client, remapped, button="confirm")
        assert ImportColumnMapping.objects.count() == 1

        # The next list with the same headers, spelled a little differently, other rows.
        again = upload(admin_client, event, b"e-mail;vorname;abteilung;mitgliedsnummer\ncarl@client.example;Carl;IT;M-3\n")

        assert again.context["remembered"] is True
        assert "Suggested from your last import of a list with these columns." in again.content.decode()
        assert list(mapping_of(again).values()) == ["email", "first_name", "job_title", IGNORE]

        theirs = upload(other_admin, event, GENERIC_LIST)
        assert theirs.context["remembered"] is False
        assert mapping_of(theirs)["Abteilung"] == IGNORE

        other_headers = upload(admin_client, event, b"E-Mail;Vorname;Abteilung\nanna@client.example;Anna;Einkauf\n")
        assert other_headers.context["remembered"] is False

    def test_importing_again_updates_the_remembered_mapping(self, admin_client, event, admin_user):
        confirm(
            admin_client,
            event,
            post_mapping(admin_client, upload(admin_client, event, GENERIC_LIST), Abteilung="job_title"),
        )
        confirm(
            admin_client,
            event,
            post_mapping(
                admin_client, upload(admin_client, event, GENERIC_LIST), Abteilung=IGNORE, Mitgliedsnummer="external_id"
            ),
        )

        stored = ImportColumnMapping.objects.get(user=admin_user)
        assert stored.mapping == ["email", "first_name", IGNORE, "external_id"]
        assert stored.headers_key == import_mapping.headers_key(["E-Mail", "Vorname", "Abteilung", "Mitgliedsnummer"])


class TestStatusLabels:
    @pytest.mark.parametrize("language", ["en", "de"])
    def test_german_and_english_labels_and_codes_are_accepted_whatever_the_language(self, admin_client, event, language):
        content = (
            b"email,status\n"
            b"a@client.example,Teilgenommen\n"
            b"b@client.example,attended\n"
            b"c@client.example,Nicht erschienen\n"
            b"d@client.example,ABGESAGT\n"
            b"e@client.example,No-show\n"
            b"f@client.example,angemeldet\n"
        )

        with translation.override(language):
            preview = upload(admin_client, event, content, HTTP_ACCEPT_LANGUAGE=language)
            assert preview.context["preview"].error_rows == []
            confirm(admin_client, event, preview)

        assert dict(Attendance.objects.values_list("contact__email", "status")) == {
            "a@client.example": "attended",
            "b@client.example": "attended",
            "c@client.example": "no_show",
            "d@client.example": "cancelled",
            "e@client.example": "no_show",
            "f@client.example": "registered",
        }

    def test_german_role_labels(self, event):
        parsed = read_attendee_file(b"email;Rolle\na@x.example;Referent(in)\nb@x.example;Aussteller\n", "a.csv")

        assert [row["role"] for row in parsed.rows] == ["speaker", "exhibitor"]

    def test_role_words_people_write(self, event):
        content = "email;Rolle\n" + "".join(f"p{i}@x.example;{word}\n" for i, word in enumerate(
            ["Referent", "Referentin", "Teilnehmerin", "Gast", "Ausstellerin", "Presenter", "participant"]))
        parsed = read_attendee_file(content.encode(), "a.csv")

        assert [row["role"] for row in parsed.rows] == [
            "speaker", "speaker", "attendee", "attendee", "exhibitor", "speaker", "attendee"]


class TestRepeatedEmails:
    def test_the_repeated_e_mail_notice_is_in_the_preview_summary_and_in_the_result(self, admin_client, event):
        content = b"email,first_name\nivy@client.example,Ivy\nIVY@client.example ,Ivonne\n"

        preview = upload(admin_client, event, content)

        assert preview.context["preview"].duplicates == 1
        summary = re.search(r'<ul class="ror-summary">(.*?)</ul>', preview.content.decode(), re.S).group(1)
        assert "<li>1 repeated e-mail (ignored: only the first row of an e-mail is imported)</li>" in summary
        assert messages_of(preview) == []  # no longer a message

        response = confirm(admin_client, event, preview)

        assert "1 row repeated an earlier e-mail and was ignored Row Same e-mail as row 3 2" in result_text(response)


class TestCheckInColumns:
    def test_a_yes_no_check_in_column_and_local_check_in_times(self):
        content = (
            b"email,Status,Checked in\n"
            b"a@x.example,Attending,Yes\n"
            b"b@x.example,Attending,No\n"
            b"c@x.example,paid,20.11.2026 10:15\n"
            b"d@x.example,registered,11/20/2026 1:05 p.m.\n"
        )

        rows = read_attendee_file(content, "a.csv").rows

        assert [(row["status"], row["checked_in_at"]) for row in rows] == [
            ("attended", ""),
            ("registered", ""),
            ("attended", "2026-11-20 10:15:00"),  # a paid ticket, checked in
            ("registered", "2026-11-20 13:05:00"),  # a status typed by hand stays as it is
        ]
