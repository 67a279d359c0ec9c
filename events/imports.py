"""Admin import of attendee lists (CSV, XLSX) into an event: upload → preview → confirm.

The rows go through the same upsert as the bulk API (events.services.upsert_attendee_rows),
so an admin import and a partner's API call give the same contacts and attendances, and
importing the same list twice changes nothing. The preview shows that upsert's own plan
(plan_attendee_rows: errors, repeated e-mails, what changes and what stays), so it says what
the import will do; nothing is written before the user confirms.

The file is read as a table (headers and cells); which column is which comes from a column
mapping (events.import_mapping: presets for generic lists, pretix and Eventbrite, a suggestion
from the headers, the user's last mapping for the same headers), shown above the preview and
changeable there. The table and the mapping travel signed in the preview page, so a changed
mapping is previewed again without uploading the file again.
"""

import contextlib
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache

from django import forms
from django.conf import settings
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
from django.utils.translation import gettext_lazy, ngettext, override

from contacts.models import Contact
from contacts.resources import FORMULA_TRIGGERS
from events.choices import AttendanceRole, AttendanceStatus
from events.forms import ATTENDEE_ROW_FIELDS
from events.import_mapping import (
    HEADER_ALIASES,  # noqa: F401 - re-exported: the generic preset's headers
    IGNORE,
    ColumnMappingForm,
    Suggestion,
    apply_mapping,
    column_label,
    column_samples,
    header_key,
    mapped_fields,
    mapping_errors,
    remember_mapping,
    suggest_for_user,
    suggest_mapping,
)
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

# Dates as people type them in German spreadsheets, and as US ones (pretix's English check-in
# list); ISO formats are parsed by the form itself.
LOCAL_DATETIME_FORMATS = (
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I %p", "%m/%d/%Y %H:%M", "%m/%d/%Y",
)


class ImportFileError(Exception):
    """The file cannot be read as an attendee list; the message says why, for the user."""


@dataclass
class AttendeeTable:
    """The file as read: its header row and the cells of each attendee row, before any mapping."""

    headers: list[str]
    rows: list[list[str]]  # cells as text, trimmed; blank rows left out
    lines: list[int]  # the spreadsheet row number of each row (the header is row 1)
    description: str


@dataclass
class AttendeeFile:
    rows: list[dict[str, str]]
    lines: list[int]  # the spreadsheet row number of each row (the header is row 1)
    columns: list[str]
    ignored_columns: list[str]
    description: str


# Reading files ------------------------------------------------------------------------------


def read_attendee_file(data: bytes, filename: str = "", mapping: Sequence[str] | None = None) -> AttendeeFile:
    """The attendee rows of a file, by the given mapping or the one suggested for its headers."""
    table = read_attendee_table(data, filename)
    if mapping is None:
        mapping = suggest_mapping(table.headers, table.rows).mapping
        if "email" not in mapping:
            raise ImportFileError(no_email_column_message())
    return attendee_file(table, mapping)


def read_attendee_table(data: bytes, filename: str = "") -> AttendeeTable:
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


def _rows_from_table(table: Iterable[list[str]], description: str) -> AttendeeTable:
    """The header and the attendee rows of a table read row by row; stops reading past IMPORT_MAX_ROWS."""
    table = iter(table)
    header_index, header_row = next(
        ((i, row) for i, row in enumerate(table) if any(cell.strip() for cell in row)), (None, None)
    )
    if header_row is None:
        raise ImportFileError(_("The file is empty."))
    headers = [header.strip() for header in header_row]
    while headers and not headers[-1]:
        headers.pop()  # the empty cells right of the last header
    rows, lines = [], []
    for index, cells in enumerate(table, start=header_index + 2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, e.g. the trailing ones Excel leaves
        row = [cell.strip() for cell in cells[: len(headers)]]
        while row and not row[-1]:
            row.pop()  # kept short: the table travels signed in the preview page
        rows.append(row)
        lines.append(index)
        if len(rows) > IMPORT_MAX_ROWS:
            raise ImportFileError(
                _("The file has more than %(max)d attendees; split it into smaller lists.") % {"max": IMPORT_MAX_ROWS}
            )
    if not rows:
        raise ImportFileError(_("The file has a header but no attendees."))
    return AttendeeTable(headers=headers, rows=rows, lines=lines, description=description)


def no_email_column_message() -> str:
    return _("The file needs an e-mail column (header “email”). Recognised headers: %(fields)s.") % {
        "fields": ", ".join(ATTENDEE_ROW_FIELDS)}


def attendee_rows(table: AttendeeTable, mapping: Sequence[str]) -> list[dict[str, str]]:
    """The table's rows as attendee rows by the mapping, normalised for the row form."""
    return [_normalise_row(row) for row in apply_mapping((_unquote(cells) for cells in table.rows), mapping)]


def attendee_file(table: AttendeeTable, mapping: Sequence[str]) -> AttendeeFile:
    return AttendeeFile(
        rows=attendee_rows(table, mapping), lines=table.lines, columns=mapped_fields(mapping),
        ignored_columns=[column_label(table.headers, position) for position, target in enumerate(mapping)
                         if target == IGNORE and table.headers[position]],
        description=table.description,
    )


def _unquote(cells: list[str]) -> list[str]:
    # Our exports quote cells a spreadsheet would run ("'=…", contacts.resources); undo it.
    return [cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_TRIGGERS) else cell for cell in cells]


# Values of ticketing exports, besides our own labels: pretix order states (English, German),
# Eventbrite attendee states, and spellings people use. An order state (paid, pending, …) says
# the person is registered; with a check-in time in the row, that they came.
ORDER_STATES = {"paid", "bezahlt", "pending", "ausstehend", "confirmed", "bestätigt", "attending"}
STATUS_SYNONYMS = {
    **dict.fromkeys(ORDER_STATES, AttendanceStatus.REGISTERED),
    **dict.fromkeys(("canceled", "storniert", "expired", "abgelaufen", "not_attending", "refunded", "erstattet"),
                    AttendanceStatus.CANCELLED),
    "checked_in": AttendanceStatus.ATTENDED, "eingecheckt": AttendanceStatus.ATTENDED,
    "no_show": AttendanceStatus.NO_SHOW, "noshow": AttendanceStatus.NO_SHOW,
    "waitlist": AttendanceStatus.WAITLISTED, "waiting_list": AttendanceStatus.WAITLISTED,
}
# A "Checked in" column that says whether, not when (pretix "Automatically checked in", Eventbrite).
CHECKED_IN_YES = {"yes", "ja", "true", "wahr", "x", "1"}
CHECKED_IN_NO = {"no", "nein", "false", "falsch", "0", "-"}


@cache
def _choice_lookup(choices) -> dict[str, str]:
    """A choice by its value or its label in any of the site's languages, whichever is active."""
    lookup = {key: str(value) for key, value in STATUS_SYNONYMS.items()} if choices is AttendanceStatus else {}
    for value, label in choices.choices:
        lookup[header_key(value)] = value
        for language, _name in settings.LANGUAGES:
            with override(language):
                lookup[header_key(str(label))] = value
    return lookup


def _normalise_row(row: dict[str, str]) -> dict[str, str]:
    """Accept "Speaker", "Teilgenommen", "paid", "20.11.2026 10:00": what people and ticketing tools
    write; the form checks the rest."""
    order_state = header_key(row.get("status", "")) in ORDER_STATES
    for name, choices in (("role", AttendanceRole), ("status", AttendanceStatus)):
        if row.get(name):
            row[name] = _choice_lookup(choices).get(header_key(row[name]), row[name])
    checked_in = row.get("checked_in_at", "").lower()
    if checked_in in CHECKED_IN_YES:
        row["checked_in_at"] = ""
        row["status"] = AttendanceStatus.ATTENDED.value  # checked in, at a time the file does not say
    elif checked_in in CHECKED_IN_NO:
        row["checked_in_at"] = ""
    elif checked_in:
        row["checked_in_at"] = _local_datetime(row["checked_in_at"])
        if order_state:
            row["status"] = AttendanceStatus.ATTENDED.value  # a paid ticket that was checked in
    return row


def _local_datetime(value: str) -> str:
    """German and US spreadsheet dates (pretix writes "11/20/2026 10:15 a.m." in English) as ISO."""
    text = value.replace("a.m.", "AM").replace("p.m.", "PM").replace("noon", "12 PM").replace("midnight", "12 AM")
    for pattern in LOCAL_DATETIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).isoformat(sep=" ")  # noqa: DTZ007 - the form makes it aware in the current time zone
        except ValueError:
            continue
    return value


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
            "CSV (comma or semicolon, UTF-8 or Excel's Windows encoding) or Excel .xlsx, e.g. a pretix or "
            "Eventbrite export. First row: column headers; the preview suggests which column is which "
            "(at least the e-mail), and you can change it there."
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


@dataclass
class ImportState:
    """What the preview page carries, signed: the table as read and the mapping of the preview."""

    event: int
    filename: str
    source: str  # the upload form's source, for rows without one
    table: AttendeeTable
    preset: str
    mapping: list[str]
    remembered: bool = False

    def dumps(self) -> str:
        table = self.table
        return signing.dumps({
            "event": self.event, "filename": self.filename, "source": self.source, "headers": table.headers,
            "rows": table.rows, "lines": table.lines, "description": table.description, "preset": self.preset,
            "mapping": self.mapping, "remembered": self.remembered,
        }, salt=PAYLOAD_SALT, compress=True)

    @classmethod
    def loads(cls, text: str) -> "ImportState":
        """Raises signing.BadSignature (also when expired) or ValueError (a payload of another form)."""
        data = signing.loads(text, salt=PAYLOAD_SALT, max_age=PAYLOAD_MAX_AGE)
        try:
            table = AttendeeTable(headers=data["headers"], rows=data["rows"], lines=data["lines"],
                                  description=data["description"])
            state = cls(event=data["event"], filename=data["filename"], source=data["source"], table=table,
                        preset=data["preset"], mapping=data["mapping"], remembered=data["remembered"])
        except (KeyError, TypeError) as exc:
            raise ValueError("not an import payload") from exc
        if len(state.mapping) != len(table.headers):
            raise ValueError("the mapping does not fit the headers")
        return state

    def with_suggestion(self, suggestion: Suggestion) -> "ImportState":
        return replace(self, preset=suggestion.preset, mapping=suggestion.mapping, remembered=suggestion.remembered)


def import_attendees_view(model_admin, request, event: Event | None = None):
    """Upload (GET/POST with a file) → preview with the column mapping (the table signed in the
    page; a changed mapping previews again) → confirm (POST). Nothing is written before confirm."""
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
        return _preview_or_confirm(request, event, context)

    form = AttendeeImportForm(request.POST or None, request.FILES or None, event=event, admin_site=admin_site)
    if request.method == "POST" and form.is_valid():
        target = event or form.cleaned_data["event"]
        upload = form.cleaned_data["file"]
        try:
            table = read_attendee_table(upload.read(), upload.name)
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            suggestion = suggest_for_user(request.user, table.headers, table.rows)
            if "email" in suggestion.mapping:
                state = ImportState(event=target.pk, filename=upload.name, source=form.cleaned_data["source"],
                                    table=table, preset=suggestion.preset, mapping=suggestion.mapping,
                                    remembered=suggestion.remembered)
                return _preview_response(request, context, target, state)
            form.add_error("file", no_email_column_message())
    context.update({"form": form, "media": model_admin.media + form.media})
    return TemplateResponse(request, "admin/events/attendee_import.html", context)


def _preview_or_confirm(request, event: Event | None, context: dict):
    """A POST from the preview: import ("confirm", or no mapping posted), or preview the posted mapping."""
    try:
        state = ImportState.loads(request.POST["payload"])
    except (signing.BadSignature, ValueError):
        messages.error(request, _("The preview expired or was changed; please upload the file again."))
        return HttpResponseRedirect(request.get_full_path())
    target = Event.objects.filter(pk=state.event).first()
    if target is None or (event is not None and event.pk != target.pk):
        messages.error(request, _("The event of this import no longer exists; please upload the file again."))
        return HttpResponseRedirect(request.get_full_path())
    if "preset" not in request.POST and "remap" not in request.POST and not mapping_errors(state.mapping):
        return _confirm(request, target, state)  # the preview's own mapping

    mapping_form = ColumnMappingForm(
        state.table.headers, request.POST, samples=column_samples(state.table.headers, state.table.rows),
        shown_preset=state.preset,
    )
    if not mapping_form.is_valid():
        return _preview_response(request, context, target, state, mapping_form)
    chosen = mapping_form.suggestion(state.table.rows)
    if "remap" not in request.POST and chosen.mapping == state.mapping and not mapping_errors(chosen.mapping):
        return _confirm(request, target, replace(state, preset=chosen.preset))
    if "remap" not in request.POST:
        messages.warning(request, _("The column mapping was changed: check the new preview, then import."))
    return _preview_response(request, context, target, state.with_suggestion(chosen))


def _preview_response(request, context: dict, target: Event, state: ImportState,
                      mapping_form: ColumnMappingForm | None = None):
    """The preview page: the mapping form and, for a valid mapping, what importing would do."""
    table = state.table
    samples = column_samples(table.headers, table.rows)
    if mapping_form is None:
        mapping_form = ColumnMappingForm.for_suggestion(
            table.headers, Suggestion(state.preset, state.mapping), samples=samples
        )
    context.update({
        "event": target, "filename": state.filename, "payload": state.dumps(), "preview_max_rows": PREVIEW_MAX_ROWS,
        "mapping_form": mapping_form, "remembered": state.remembered, "preview": None,
        "file": AttendeeFile(rows=[], lines=table.lines, columns=[], ignored_columns=[], description=table.description),
    })
    if not mapping_form.errors:
        parsed = attendee_file(table, state.mapping)
        rows = with_default_source(parsed.rows, state.source)
        preview = preview_import(target, rows, parsed.lines)
        columns = parsed.columns + (["source"] if state.source and "source" not in parsed.columns else [])
        for row in preview.rows:
            row.cells = [row.values.get(name, "") for name in columns]
        if preview.duplicates:
            messages.warning(request, ngettext(
                "%(counter)s repeated e-mail (ignored: only the first row of an e-mail is imported)",
                "%(counter)s repeated e-mails (ignored: only the first row of an e-mail is imported)",
                preview.duplicates,
            ) % {"counter": preview.duplicates})
        context.update({"file": parsed, "preview": preview, "columns": columns})
    return TemplateResponse(request, "admin/events/attendee_import_preview.html", context)


def _confirm(request, target: Event, state: ImportState):
    parsed = attendee_file(state.table, state.mapping)
    result = import_attendees(target, with_default_source(parsed.rows, state.source), parsed.lines)
    remember_mapping(request.user, state.table.headers, state.preset, state.mapping)
    messages.success(request, _(
        "Imported %(filename)s into %(event)s: %(created)d new, %(updated)d updated, %(unchanged)d unchanged."
    ) % {"filename": state.filename, "event": target, "created": result.created, "updated": result.updated,
         "unchanged": result.unchanged})
    if result.errors:
        messages.warning(request, ngettext(
            "%(count)d row was skipped because of errors: %(rows)s.",
            "%(count)d rows were skipped because of errors: %(rows)s.",
            len(result.errors),
        ) % {"count": len(result.errors), "rows": _skipped_rows(result.errors)})
    if result.duplicates:
        # Rows left out are a warning, as skipped rows are: the file said more than was imported.
        messages.warning(request, ngettext(
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
