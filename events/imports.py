"""Admin import of attendee lists (CSV, XLSX) into an event: upload → preview → confirm.

The rows go through the same upsert as the bulk API (events.services.upsert_attendee_rows),
so an admin import and a partner's API call give the same contacts and attendances, and
importing the same list twice changes nothing. The preview shows that upsert's own plan
(plan_attendee_rows: errors, repeated e-mails, what changes and what stays), so it says what
the import will do; nothing is written before the user confirms.
"""

import contextlib
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django import forms
from django.contrib import messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from contacts.models import Contact
from contacts.resources import FORMULA_TRIGGERS
from events.choices import AttendanceRole, AttendanceStatus
from events.forms import ATTENDEE_ROW_FIELDS
from events.models import Attendance, Event
from events.services import (
    ATTENDANCE_ROW_FIELDS,
    EXTERNAL_ID_TAKEN,
    FieldChange,
    plan_attendee_rows,
    upsert_attendee_rows,
)

IMPORT_MAX_ROWS = 10_000
IMPORT_MAX_BYTES = 5 * 1024 * 1024
PREVIEW_MAX_ROWS = 200  # rows shown in the preview table; rows with errors are always shown
PAYLOAD_MAX_AGE = 6 * 3600  # seconds between preview and confirm
PAYLOAD_SALT = "events.imports.attendees"
MESSAGE_MAX_ROWS = 50  # rows named in the message after an import

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
        # Rows are read one by one and reading stops past the row limit: a sheet of a million
        # rows (a few MB zipped) is refused after IMPORT_MAX_ROWS + 1 of them, not read whole.
        with contextlib.closing(_xlsx_rows(data)) as table:
            return _rows_from_table(table, "XLSX")
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise ImportFileError(_("Old Excel files (.xls) are not supported: save the list as .xlsx or .csv."))
    text = _decode(data)
    delimiter = _sniff_delimiter(text)
    description = _("CSV, separated by “%(delimiter)s”") % {"delimiter": {"\t": "tab"}.get(delimiter, delimiter)}
    return _rows_from_table(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), description)


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


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    """The first sheet's rows as text, streamed (openpyxl's read-only mode)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(_("The file could not be read as an Excel workbook (.xlsx).")) from exc
    try:
        sheet = workbook.worksheets[0]
        # The sheet's declared size is not trusted: "A1:XFD1048576" would pad every row to
        # 16,384 cells and add empty rows up to the millionth.
        sheet.reset_dimensions()
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(value) for value in row]
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


def _rows_from_table(table: Iterable[list[str]], description: str) -> AttendeeFile:
    """The attendee rows of a table read row by row; stops reading past IMPORT_MAX_ROWS."""
    table = iter(table)
    header_index, header_row = next(
        ((i, row) for i, row in enumerate(table) if any(cell.strip() for cell in row)), (None, None)
    )
    if header_row is None:
        raise ImportFileError(_("The file is empty."))
    columns: dict[int, str] = {}
    ignored = []
    for position, header in enumerate(header_row):
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
    for index, cells in enumerate(table, start=header_index + 2):
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
    changes: list[str] = field(default_factory=list)  # what changes, or stays, of a known contact or attendance
    duplicate_of: int | None = None  # the line of the earlier row with the same e-mail
    cells: list[str] = field(default_factory=list)  # the values in the order of the preview's columns


@dataclass
class Preview:
    rows: list[PreviewRow]
    new_contacts: int = 0
    new_attendances: int = 0
    existing_attendances: int = 0
    changed: int = 0  # rows that change a known contact or attendance
    kept: int = 0  # rows with values the import does not apply (services.STATUS_STAGE, …)
    duplicates: int = 0

    @property
    def error_rows(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.errors]

    @property
    def valid_count(self) -> int:
        """Rows that will be imported: not those with errors nor the repeated e-mails."""
        return len(self.rows) - len(self.error_rows) - self.duplicates

    @property
    def shown_rows(self) -> list[PreviewRow]:
        return [row for index, row in enumerate(self.rows) if row.errors or index < PREVIEW_MAX_ROWS]


def with_default_source(rows: list[dict[str, str]], source: str) -> list[dict[str, str]]:
    if not source:
        return rows
    return [{**row, "source": row.get("source") or source} for row in rows]


# The service's own messages are the API's (English); the admin shows them translated.
SERVICE_MESSAGES = {EXTERNAL_ID_TAKEN: gettext_lazy("This external id belongs to another attendance.")}


def _row_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: [str(SERVICE_MESSAGES.get(message, message)) for message in messages_]
            for name, messages_ in errors.items()}


def _field_label(name: str) -> str:
    model = Attendance if name in ATTENDANCE_ROW_FIELDS else Contact
    return capfirst(str(model._meta.get_field(name).verbose_name))


def _display(name: str, value) -> str:
    if value in (None, ""):
        return "—"
    if name == "status":
        return str(AttendanceStatus(value).label)
    if name == "role":
        return str(AttendanceRole(value).label)
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    return str(value)


def describe_change(change: FieldChange) -> str:
    values = {"field": _field_label(change.field), "old": _display(change.field, change.old),
              "new": _display(change.field, change.new)}
    if change.applied:
        return _("%(field)s: %(old)s → %(new)s") % values
    return _("%(field)s stays %(old)s (file: %(new)s)") % values


def preview_import(event: Event, rows: list[dict[str, str]], lines: list[int]) -> Preview:
    """Say what importing each row would do, by the import's own plan; writes nothing (4 queries)."""
    plan = plan_attendee_rows(event, rows)
    preview = Preview(rows=[])
    for row_plan, row, line in zip(plan.rows, rows, lines, strict=True):
        item = PreviewRow(line=line, values=row)
        preview.rows.append(item)
        if row_plan.errors:
            item.errors = _row_errors(row_plan.errors)
            continue
        item.values = {**row, "email": row_plan.row["email"]}
        if row_plan.duplicate_of is not None:
            item.duplicate_of = lines[row_plan.duplicate_of]
            item.action = _("Same e-mail as row %(line)d: ignored, only row %(line)d is imported") % {
                "line": item.duplicate_of}
            preview.duplicates += 1
            continue
        item.changes = [describe_change(change) for change in row_plan.changes]
        if row_plan.contact is None:
            item.action = _("New contact, new attendance")
            preview.new_contacts += 1
            preview.new_attendances += 1
        elif row_plan.attendance is None:
            item.action = _("Known contact, new attendance")
            preview.new_attendances += 1
        else:
            item.action = _("Already registered: changes") if row_plan.changed else _("Already registered: no change")
            preview.existing_attendances += 1
        preview.changed += row_plan.changed
        preview.kept += any(not change.applied for change in row_plan.changes)
    return preview


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)  # (spreadsheet row, errors)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (spreadsheet row, row imported instead)


def import_attendees(event: Event, rows: list[dict[str, str]], lines: list[int]) -> ImportResult:
    """Upsert the rows with the bulk API's rules, in one transaction and one plan, so repeated
    e-mails and external ids are judged across the whole file (as the preview judged them)."""
    upserted = upsert_attendee_rows(event, rows)
    return ImportResult(
        created=upserted.created, updated=upserted.updated, unchanged=upserted.unchanged,
        errors=[(lines[error["row"]], _row_errors(error["errors"])) for error in upserted.errors],
        duplicates=[(lines[row], lines[first]) for row, first in upserted.duplicates],
    )


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
            "%(count)d row was skipped because of errors: %(rows)s.",
            "%(count)d rows were skipped because of errors: %(rows)s.",
            len(result.errors),
        ) % {"count": len(result.errors), "rows": _skipped_rows(result.errors)})
    if result.duplicates:
        messages.info(request, ngettext(
            "%(count)d row repeated an earlier e-mail and was ignored: %(rows)s.",
            "%(count)d rows repeated an earlier e-mail and were ignored: %(rows)s.",
            len(result.duplicates),
        ) % {"count": len(result.duplicates), "rows": "; ".join(
            _("row %(line)d (same as row %(first)d)") % {"line": line, "first": first}
            for line, first in result.duplicates[:MESSAGE_MAX_ROWS]
        ) + _more(len(result.duplicates))})
    return HttpResponseRedirect(reverse("admin:events_event_change", args=[target.pk]))


def _skipped_rows(errors: list[tuple[int, dict[str, list[str]]]]) -> str:
    """Each skipped row with its reasons: row 12 (external_id: This external id belongs to …); row 14 (…)."""
    described = [
        _("row %(line)d (%(reasons)s)") % {"line": line, "reasons": " ".join(
            f"{name}: {message}" for name, messages_ in row_errors.items() for message in messages_)}
        for line, row_errors in errors[:MESSAGE_MAX_ROWS]
    ]
    return "; ".join(described) + _more(len(errors))


def _more(count: int) -> str:
    hidden = count - MESSAGE_MAX_ROWS
    return (" " + _("and %(count)d more") % {"count": hidden}) if hidden > 0 else ""
