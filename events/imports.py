"""Admin import of attendee lists (CSV, XLSX) into an event: upload → preview → confirm.

The rows go through the same upsert as the bulk API (events.services.bulk_upsert_attendances),
so an admin import and a partner's API call give the same contacts and attendances, and
importing the same list twice changes nothing. The preview only validates (AttendeeRowForm)
and looks up which people are known; nothing is written before the user confirms.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from django import forms
from django.contrib import messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.models import Contact, normalize_email
from contacts.resources import FORMULA_TRIGGERS
from events.choices import AttendanceRole, AttendanceStatus
from events.forms import ATTENDEE_ROW_FIELDS, AttendeeRowForm
from events.models import Attendance, Event
from events.services import BULK_MAX_ROWS, bulk_upsert_attendances

IMPORT_MAX_ROWS = 10_000
IMPORT_MAX_BYTES = 5 * 1024 * 1024
PREVIEW_MAX_ROWS = 200  # rows shown in the preview table; rows with errors are always shown
PAYLOAD_MAX_AGE = 6 * 3600  # seconds between preview and confirm
PAYLOAD_SALT = "events.imports.attendees"

# Column headers people actually use (ticketing exports, Excel lists in English and German).
HEADER_ALIASES = {
    "email": "email", "e_mail": "email", "mail": "email", "email_address": "email", "e_mail_address": "email",
    "e_mail_adresse": "email", "emailadresse": "email",
    "first_name": "first_name", "firstname": "first_name", "given_name": "first_name", "vorname": "first_name",
    "last_name": "last_name", "lastname": "last_name", "surname": "last_name", "family_name": "last_name",
    "nachname": "last_name",
    "organization": "organization", "organisation": "organization", "company": "organization", "firma": "organization",
    "unternehmen": "organization",
    "job_title": "job_title", "title": "job_title", "position": "job_title", "jobtitle": "job_title",
    "role": "role", "rolle": "role",
    "status": "status",
    "checked_in_at": "checked_in_at", "check_in": "checked_in_at", "checked_in": "checked_in_at",
    "checkin": "checked_in_at", "check_in_time": "checked_in_at",
    "external_id": "external_id", "ticket_id": "external_id", "ticket": "external_id", "registration_id": "external_id",
    "source": "source", "quelle": "source",
}
# Dates as people type them in German spreadsheets; ISO formats are parsed by the form itself.
LOCAL_DATETIME_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")


class ImportFileError(Exception):
    """The file cannot be read as an attendee list; the message says why, for the user."""


@dataclass
class AttendeeFile:
    rows: list[dict[str, str]]
    lines: list[int]  # the spreadsheet row number of each row (the header is row 1)
    columns: list[str]
    ignored_columns: list[str]
    description: str


# Reading files ------------------------------------------------------------------------------


def read_attendee_file(data: bytes, filename: str = "") -> AttendeeFile:
    """CSV (UTF-8 with or without BOM, or Windows-1252; ';', ',' or tab; any line ends) or XLSX."""
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if len(data) > IMPORT_MAX_BYTES:
        raise ImportFileError(_("The file is larger than %(size)d MB.") % {"size": IMPORT_MAX_BYTES // (1024 * 1024)})
    name = filename.lower()
    if data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        table, description = _xlsx_table(data), "XLSX"
    elif data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise ImportFileError(_("Old Excel files (.xls) are not supported: save the list as .xlsx or .csv."))
    else:
        text = _decode(data)
        delimiter = _sniff_delimiter(text)
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        description = _("CSV, separated by “%(delimiter)s”") % {"delimiter": {"\t": "tab"}.get(delimiter, delimiter)}
    return _rows_from_table(table, description)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # also strips the BOM Excel writes
    except UnicodeDecodeError:
        # Excel's plain "CSV" on Windows writes Windows-1252, not UTF-8.
        return data.decode("cp1252", errors="replace")


def _sniff_delimiter(text: str) -> str:
    """The separator that splits the header line most; headers rarely contain any of them."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: len(next(csv.reader([header], delimiter=delimiter), [])) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > 1 else ","


def _xlsx_table(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(_("The file could not be read as an Excel workbook (.xlsx).")) from exc
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # ticket numbers typed as numbers come back as 1234.0
    return str(value).strip()


def _header_key(header: str) -> str:
    return re.sub(r"[\s\-./]+", "_", header.strip().lower()).strip("_")


def _rows_from_table(table: list[list[str]], description: str) -> AttendeeFile:
    header_index = next((i for i, row in enumerate(table) if any(cell.strip() for cell in row)), None)
    if header_index is None:
        raise ImportFileError(_("The file is empty."))
    columns: dict[int, str] = {}
    ignored = []
    for position, header in enumerate(table[header_index]):
        target = HEADER_ALIASES.get(_header_key(header))
        if target is None:
            if header.strip():
                ignored.append(header.strip())
            continue
        if target in columns.values():
            raise ImportFileError(_("Two columns mean “%(field)s”; keep one of them.") % {"field": target})
        columns[position] = target
    if "email" not in columns.values():
        raise ImportFileError(
            _("The file needs an e-mail column (header “email”). Recognised headers: %(fields)s.")
            % {"fields": ", ".join(ATTENDEE_ROW_FIELDS)}
        )
    rows, lines = [], []
    for index, cells in enumerate(table[header_index + 1:], start=header_index + 2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, e.g. the trailing ones Excel leaves
        row = {name: (cells[position].strip() if position < len(cells) else "") for position, name in columns.items()}
        rows.append(_normalise_row(row))
        lines.append(index)
        if len(rows) > IMPORT_MAX_ROWS:
            raise ImportFileError(
                _("The file has more than %(max)d attendees; split it into smaller lists.") % {"max": IMPORT_MAX_ROWS}
            )
    if not rows:
        raise ImportFileError(_("The file has a header but no attendees."))
    return AttendeeFile(rows=rows, lines=lines, columns=list(columns.values()), ignored_columns=ignored,
                        description=description)


def _choice_lookup(choices) -> dict[str, str]:
    lookup = {}
    for value, label in choices.choices:
        lookup[value] = value
        lookup[_header_key(str(label))] = value
    return lookup


def _normalise_row(row: dict[str, str]) -> dict[str, str]:
    """Accept "Speaker", "No-show", "20.11.2026 10:00": what people type; the form checks the rest."""
    for name, value in row.items():
        # Our exports quote cells a spreadsheet would run ("'=…", contacts.resources); undo it.
        if value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
            row[name] = value[1:]
    for name, choices in (("role", AttendanceRole), ("status", AttendanceStatus)):
        if row.get(name):
            row[name] = _choice_lookup(choices).get(_header_key(row[name]), row[name])
    if row.get("checked_in_at"):
        for pattern in LOCAL_DATETIME_FORMATS:
            try:
                row["checked_in_at"] = datetime.strptime(row["checked_in_at"], pattern).isoformat(sep=" ")  # noqa: DTZ007 - the form makes it aware in the current time zone
                break
            except ValueError:
                continue
    return row


# Preview and import -------------------------------------------------------------------------


@dataclass
class PreviewRow:
    line: int
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    action: str = ""
    duplicate_of: int | None = None
    cells: list[str] = field(default_factory=list)  # the values in the order of the preview's columns


@dataclass
class Preview:
    rows: list[PreviewRow]
    new_contacts: int = 0
    new_attendances: int = 0
    existing_attendances: int = 0
    duplicates: int = 0

    @property
    def error_rows(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.errors]

    @property
    def valid_count(self) -> int:
        return len(self.rows) - len(self.error_rows)

    @property
    def shown_rows(self) -> list[PreviewRow]:
        return [row for index, row in enumerate(self.rows) if row.errors or index < PREVIEW_MAX_ROWS]


def with_default_source(rows: list[dict[str, str]], source: str) -> list[dict[str, str]]:
    if not source:
        return rows
    return [{**row, "source": row.get("source") or source} for row in rows]


def preview_import(event: Event, rows: list[dict[str, str]], lines: list[int]) -> Preview:
    """Validate every row and say what importing it would do; writes nothing (3 queries)."""
    preview = Preview(rows=[])
    first_line_of: dict[str, int] = {}
    valid_emails = []
    for row, line in zip(rows, lines, strict=True):
        form = AttendeeRowForm(row)
        item = PreviewRow(line=line, values=row)
        if form.is_valid():
            email = normalize_email(form.cleaned_data["email"])
            item.values = {**row, "email": email}
            if email in first_line_of:
                item.duplicate_of = first_line_of[email]
                preview.duplicates += 1
            else:
                first_line_of[email] = line
                valid_emails.append(email)
        else:
            item.errors = {name: [str(message) for message in messages_] for name, messages_ in form.errors.items()}
        preview.rows.append(item)
    known = {contact.email: contact.pk for contact in Contact.objects.with_emails(valid_emails).only("pk", "email")}
    attending = set(Attendance.objects.filter(event=event, contact_id__in=known.values()).values_list("contact_id", flat=True))
    for item in preview.rows:
        if item.errors:
            continue
        if item.duplicate_of is not None:
            item.action = _("Same e-mail as row %(line)d: merged into it") % {"line": item.duplicate_of}
            continue
        contact_id = known.get(item.values["email"])
        if contact_id is None:
            item.action = _("New contact, new attendance")
            preview.new_contacts += 1
            preview.new_attendances += 1
        elif contact_id in attending:
            item.action = _("Already registered: updated where the file differs")
            preview.existing_attendances += 1
        else:
            item.action = _("Known contact, new attendance")
            preview.new_attendances += 1
    return preview


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)  # (spreadsheet row, errors)


@transaction.atomic
def import_attendees(event: Event, rows: list[dict[str, str]], lines: list[int]) -> ImportResult:
    """Upsert the rows through the bulk API's service, in chunks of its maximum, all or nothing."""
    result = ImportResult()
    for offset in range(0, len(rows), BULK_MAX_ROWS):
        chunk = bulk_upsert_attendances(event, rows[offset:offset + BULK_MAX_ROWS])
        result.created += chunk.created
        result.updated += chunk.updated
        result.unchanged += chunk.unchanged
        result.errors.extend((lines[offset + error["row"]], error["errors"]) for error in chunk.errors)
    return result


# Admin views --------------------------------------------------------------------------------


class AttendeeImportForm(forms.Form):
    event = forms.ModelChoiceField(queryset=Event.objects.all(), label=gettext_lazy("Event"))
    file = forms.FileField(
        label=gettext_lazy("Attendee list"),
        help_text=gettext_lazy(
            "CSV (comma or semicolon, UTF-8 or Excel's Windows encoding) or Excel .xlsx. "
            "First row: column headers, at least “email”; also first_name, last_name, organization, job_title, "
            "role, status, checked_in_at, external_id, source."
        ),
    )
    source = forms.CharField(
        label=gettext_lazy("Source"), max_length=100, required=False,
        help_text=gettext_lazy("Recorded on rows without a source column, e.g. “ticketing-export”."),
    )

    def __init__(self, *args, event: Event | None = None, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        if event is not None:
            del self.fields["event"]
        elif admin_site is not None:
            event_field = self.fields["event"]
            event_field.widget = AutocompleteSelect(Attendance._meta.get_field("event"), admin_site)
            event_field.widget.choices = event_field.choices


def _check_permission(request) -> None:
    if not request.user.has_perms(["events.add_attendance", "events.change_attendance"]):
        raise PermissionDenied


def import_attendees_view(model_admin, request, event: Event | None = None):
    """Upload (GET/POST with a file) → preview (signed rows in the page) → confirm (POST)."""
    _check_permission(request)
    admin_site = model_admin.admin_site
    context = {
        **admin_site.each_context(request),
        "opts": Attendance._meta,
        "event_opts": Event._meta,
        "fixed_event": event,
        "title": _("Import attendees") + (f": {event}" if event else ""),
        "max_rows": IMPORT_MAX_ROWS,
    }
    request.current_app = admin_site.name

    if request.method == "POST" and "payload" in request.POST:
        return _confirm(request, event, context)

    form = AttendeeImportForm(request.POST or None, request.FILES or None, event=event, admin_site=admin_site)
    if request.method == "POST" and form.is_valid():
        target = event or form.cleaned_data["event"]
        upload = form.cleaned_data["file"]
        try:
            parsed = read_attendee_file(upload.read(), upload.name)
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            rows = with_default_source(parsed.rows, form.cleaned_data["source"])
            preview = preview_import(target, rows, parsed.lines)
            columns = parsed.columns + (["source"] if form.cleaned_data["source"] and "source" not in parsed.columns else [])
            for row in preview.rows:
                row.cells = [row.values.get(name, "") for name in columns]
            payload = signing.dumps(
                {"event": target.pk, "rows": rows, "lines": parsed.lines, "filename": upload.name},
                salt=PAYLOAD_SALT, compress=True,
            )
            context.update({
                "event": target, "file": parsed, "filename": upload.name, "preview": preview, "payload": payload,
                "preview_max_rows": PREVIEW_MAX_ROWS, "columns": columns,
            })
            return TemplateResponse(request, "admin/events/attendee_import_preview.html", context)
    context.update({"form": form, "media": model_admin.media + form.media})
    return TemplateResponse(request, "admin/events/attendee_import.html", context)


def _confirm(request, event: Event | None, context: dict):
    try:
        payload = signing.loads(request.POST["payload"], salt=PAYLOAD_SALT, max_age=PAYLOAD_MAX_AGE)
    except signing.BadSignature:
        messages.error(request, _("The preview expired or was changed; please upload the file again."))
        return HttpResponseRedirect(request.get_full_path())
    target = Event.objects.filter(pk=payload["event"]).first()
    if target is None or (event is not None and event.pk != target.pk):
        messages.error(request, _("The event of this import no longer exists; please upload the file again."))
        return HttpResponseRedirect(request.get_full_path())
    result = import_attendees(target, payload["rows"], payload["lines"])
    messages.success(request, _(
        "Imported %(filename)s into %(event)s: %(created)d new, %(updated)d updated, %(unchanged)d unchanged."
    ) % {"filename": payload["filename"], "event": target, "created": result.created, "updated": result.updated,
         "unchanged": result.unchanged})
    if result.errors:
        messages.warning(request, ngettext(
            "%(count)d row was skipped because of errors: row %(lines)s.",
            "%(count)d rows were skipped because of errors: rows %(lines)s.",
            len(result.errors),
        ) % {"count": len(result.errors), "lines": ", ".join(str(line) for line, _errors in result.errors[:50])})
    return HttpResponseRedirect(reverse("admin:events_event_change", args=[target.pk]))
