"""Admin import of attendee lists (CSV, XLSX) into an event: upload → preview → import, in the background.

The rows go through the same upsert as the bulk API (events.services.upsert_attendee_rows),
so an admin import and a partner's API call give the same contacts and attendances, and
importing the same list twice changes nothing. The preview shows that upsert's own plan
(plan_attendee_rows: errors, repeated e-mails, what changes and what stays), so it says what
the import will do; nothing is written before the user confirms.

The file is read as a table (headers and cells); which column is which comes from a column
mapping (events.import_mapping: presets for generic lists, pretix and Eventbrite, a suggestion
from the headers, the user's last mapping for the same headers), shown above the preview and
changeable there.

An upload is kept as an AttendeeImport row (the file in the database: web and worker share no
disk). The preview and the import are Celery tasks that work in batches of settings.IMPORT_BATCH_ROWS
rows (one plan, or one upsert, per batch; the rules still judge the whole list:
events.services.EarlierRows), so the request returns at once and a list of a million rows never
sits in memory whole. The preview streams the file and keeps what each row says on its own
(CheckedRowsWriter); the import streams that instead of the file. Each imported batch and the
import's progress commit together: a task that dies resumes after the last batch, and the row's
`run` lets a cancel or a newer start stop it.
"""

import codecs
import contextlib
import csv
import io
import itertools
import json
import logging
import re
import zipfile
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from xml.etree import ElementTree

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, override

from contacts.models import Contact
from contacts.resources import FORMULA_TRIGGERS
from events.choices import AttendanceRole, AttendanceStatus, ImportStatus
from events.import_mapping import (
    HEADER_ALIASES,  # noqa: F401 - re-exported: the generic preset's headers
    IGNORE,
    apply_mapping,
    column_label,
    header_key,
    mapped_fields,
    suggest_mapping,
)
from events.models import (
    CANCELLED_MESSAGE,
    CHECKED_IN_BEFORE_MESSAGE,
    NOT_STARTED_MESSAGE,
    ONLY_ATTENDED_CHECKED_IN_MESSAGE,
    Attendance,
    AttendeeImport,
    Event,
)
from events.services import (
    ATTENDANCE_ROW_FIELDS,
    CANCELLED_MESSAGE_EN,
    CHECKED_IN_BEFORE_MESSAGE_EN,
    EXTERNAL_ID_REPEATED,
    EXTERNAL_ID_TAKEN,
    NOT_STARTED_MESSAGE_EN,
    ONLY_ATTENDED_CHECKED_IN_MESSAGE_EN,
    CheckedRow,
    EarlierRows,
    FieldChange,
    check_attendee_rows,
    plan_attendee_rows,
    upsert_attendee_rows,
)
from ror_crm import queue
from ror_crm.db import read_bytes, write_bytes

logger = logging.getLogger(__name__)

FIRST_ROWS = 1000  # rows kept for the column mapping's suggestions and the form's examples
PREVIEW_MAX_ROWS = 200  # rows shown in the preview table; rows with errors too, up to KEPT_ERROR_ROWS
KEPT_ERROR_ROWS = 1000  # rows with errors (and repeated e-mails) listed in a preview or result
# What an import forgets when it ends (imported, cancelled, failed): the file and the people's
# details of its preview. Its counts, and the line numbers and messages of rows skipped, stay.
FORGOTTEN = {"data": b"", "checked_rows": b"", "first_rows": [], "preview": None}


# What reading a damaged file raises: the csv module (a cell past its size limit, an unclosed
# quote), a truncated or corrupt workbook (zip, XML, a missing part), a chart-only workbook.
READ_ERRORS = (csv.Error, ElementTree.ParseError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, IndexError,
               ValueError, OSError)
SNIFF_CHARACTERS = 65536  # of the first line, to find the separator
MAX_COLUMNS = 500
XLSX_UNPACKED_FACTOR = 5  # a workbook may unpack to this many times the largest file taken


def stale_seconds() -> int:
    """A task that has not written a batch (its heartbeat) for this long is taken for dead (its
    worker was killed, the broker lost the message): the sweep sends its run again, and the next
    task of the run takes over. A batch takes about a second."""
    return settings.IMPORT_STALE_SECONDS


def import_max_rows() -> int:
    return settings.IMPORT_MAX_ROWS


def import_max_bytes() -> int:
    return settings.IMPORT_MAX_MB * 1024 * 1024

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


@dataclass
class TableStream:
    """A file being read: its header row, and its attendee rows as (spreadsheet line, cells)
    one at a time (blank rows left out, cells trimmed); more than the row limit is an error."""

    headers: list[str]
    description: str
    rows: Iterator[tuple[int, list[str]]]


def read_attendee_file(data: bytes, filename: str = "", mapping: Sequence[str] | None = None) -> AttendeeFile:
    """The attendee rows of a file, by the given mapping or the one suggested for its headers."""
    table = read_attendee_table(data, filename)
    if mapping is None:
        mapping = suggest_mapping(table.headers, table.rows).mapping
        if "email" not in mapping:
            raise ImportFileError(no_email_column_message(table.headers))
    return attendee_file(table, mapping)


def read_attendee_table(data: bytes, filename: str = "", max_rows: int | None = None) -> AttendeeTable:
    """The whole table (or its first `max_rows` rows) in memory: for short lists and the upload's first look."""
    with open_attendee_table(data, filename) as table:
        read = list(itertools.islice(table.rows, max_rows))
    if not read:
        raise ImportFileError(_("The file has a header but no attendees."))
    return AttendeeTable(headers=table.headers, rows=[cells for _line, cells in read],
                         lines=[line for line, _cells in read], description=table.description)


@contextlib.contextmanager
def open_attendee_table(data: bytes, filename: str = "") -> Iterator[TableStream]:
    """CSV (UTF-8 with or without BOM, UTF-16 with one, or Windows-1252; ';', ',' or tab; any line ends) or XLSX,
    read row by row: reading stops at the first row past IMPORT_MAX_ROWS (a sheet of a million
    rows, a few MB zipped, is refused then, not read whole)."""
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if len(data) > import_max_bytes():
        raise ImportFileError(_("The file is larger than %(size)d MB.") % {"size": settings.IMPORT_MAX_MB})
    name = filename.lower()
    if data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        with contextlib.closing(_xlsx_rows(data)) as table:
            yield _table_stream(table, "XLSX")
        return
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise ImportFileError(_("Old Excel files (.xls) are not supported: save the list as .xlsx or .csv."))
    if _looks_binary(data):
        # An image, a PDF or a program read as CSV would fail later with a misleading message.
        raise ImportFileError(_("This is not a CSV or Excel (.xlsx) file: save the list as .xlsx or .csv."))
    text = io.TextIOWrapper(io.BytesIO(data), encoding=_encoding(data), errors="replace", newline="")
    first_line = text.readline(SNIFF_CHARACTERS)
    # Excel's "sep=;" first line names the separator (the table skips it, _table_stream()).
    directive = SEPARATOR_LINE.fullmatch(first_line.rstrip("\r\n"))
    delimiter = directive.group(1) if directive else _sniff_delimiter(first_line)
    text.seek(0)
    description = CSV_DESCRIPTION % {"delimiter": {"\t": "tab"}.get(delimiter, delimiter)}  # stored in English
    yield _table_stream(csv.reader(text, delimiter=delimiter, strict=True), description)


UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
BINARY_SNIFF_BYTES = 8192
# Control characters other than tab, line ends, vertical tab and form feed: about a tenth of the bytes of
# compressed or binary data, next to none of a text (a stray NUL in a cell is a row error).
CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32)])  # not 11 either: FileMaker's line break in a cell


def _looks_binary(data: bytes) -> bool:
    """Whether the start of the file is not text: over 5 % control characters (UTF-16, with
    its byte order mark, is text whose every other byte is NUL)."""
    head = data[:BINARY_SNIFF_BYTES]
    if head.startswith(UTF16_BOMS):
        return False
    return len(head) - len(head.translate(None, CONTROL_BYTES)) > len(head) * 0.05


def _encoding(data: bytes) -> str:
    """UTF-16 with its byte order mark (Excel's "Unicode text"); UTF-8 (the BOM Excel writes is
    dropped) if the whole file is, else Excel's plain "CSV" on Windows: Windows-1252. Checked in
    pieces, without a decoded copy of the file."""
    if data.startswith(UTF16_BOMS):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), 1 << 20):
            decoder.decode(data[start:start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


SEPARATOR_LINE = re.compile(r"sep=(.)", re.IGNORECASE)


def _sniff_delimiter(header: str) -> str:
    """The separator that splits the header line most; headers rarely contain any of them."""
    counts = {delimiter: len(next(csv.reader([header], delimiter=delimiter), [])) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > 1 else ","


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    """The first sheet's rows as text, streamed (openpyxl's read-only mode)."""
    from openpyxl import load_workbook

    unreadable = _("The file could not be read as an Excel workbook (.xlsx).")
    try:
        # openpyxl reads the shared strings whole when it opens a workbook: refuse a file that
        # unpacks to far more than it weighs (a zip bomb) before that.
        unpacked = sum(item.file_size for item in zipfile.ZipFile(io.BytesIO(data)).infolist())
        if unpacked > XLSX_UNPACKED_FACTOR * import_max_bytes():
            raise ImportFileError(_("The workbook unpacks to more than %(size)d MB.")
                                  % {"size": XLSX_UNPACKED_FACTOR * settings.IMPORT_MAX_MB})
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except READ_ERRORS as exc:
        raise ImportFileError(unreadable) from exc
    try:
        if not workbook.worksheets:
            raise ImportFileError(unreadable)
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


# A file's format as stored with its import (English: another reader may use another language).
CSV_DESCRIPTION = gettext_noop("CSV, separated by “%(delimiter)s”")
_STORED_CSV_DESCRIPTION = re.compile(r"CSV, separated by “(.+)”")


def description_text(stored: str) -> str:
    """An import's stored format in the reader's language."""
    match = _STORED_CSV_DESCRIPTION.fullmatch(stored)
    return _(CSV_DESCRIPTION) % {"delimiter": match.group(1)} if match else stored


def _table_stream(table: Iterable[list[str]], description: str) -> TableStream:
    """The header of a table read row by row, and a stream of the rows after it."""
    table = iter(table)
    try:
        header_index, header_row = next(
            ((i, row) for i, row in enumerate(table)
             if any(cell.strip() for cell in row) and not (i == 0 and _separator_directive(row))), (None, None)
        )
    except READ_ERRORS as exc:
        raise ImportFileError(_("The file could not be read: it is damaged or not a table.")) from exc
    if header_row is None:
        raise ImportFileError(_("The file is empty."))
    headers = [header.strip() for header in header_row]
    while headers and not headers[-1]:
        headers.pop()  # the empty cells right of the last header
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(_("The file has more than %(max)d columns.") % {"max": MAX_COLUMNS})
    return TableStream(headers=headers, description=description,
                       rows=_table_rows(table, len(headers), header_index + 2))


def _separator_directive(row: list[str]) -> bool:
    """Excel's "sep=;" line, as the CSV reader splits it: ["sep=", ""] (or "sep=|" whole)."""
    return bool(SEPARATOR_LINE.fullmatch("".join(row).strip()) or (
        len(row) == 2 and row[0].strip().lower() == "sep=" and not row[1].strip()))


def _table_rows(table: Iterator[list[str]], width: int, first_line: int) -> Iterator[tuple[int, list[str]]]:
    max_rows = import_max_rows()
    count, line = 0, first_line - 1
    try:
        for line, cells in enumerate(table, start=first_line):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, e.g. the trailing ones Excel leaves
            row = [cell.strip() for cell in cells[:width]]
            while row and not row[-1]:
                row.pop()  # kept short: the first rows are stored with the import
            count += 1
            if count > max_rows:
                raise ImportFileError(
                    _("The file has more than %(max)d attendees; split it into smaller lists.") % {"max": max_rows}
                )
            yield line, row
    except READ_ERRORS as exc:
        # (the csv module's words for a quote left open, or text after a closing quote)
        quotes = isinstance(exc, csv.Error) and ("expected after" in str(exc) or "unexpected end of data" in str(exc))
        message = _(
            "The file could not be read after row %(line)d: a quoted cell is not closed, or goes on after its "
            "closing quote (as in \"Acme\" GmbH). Put the whole cell in quotes and upload it again."
        ) if quotes else _("The file could not be read after row %(line)d: it is damaged or not a table.")
        raise ImportFileError(message % {"line": line}) from exc


def no_email_column_message(headers: Sequence[str]) -> str:
    """Said when no column holds e-mail addresses: the file's own headers, for finding the one meant."""
    named = ", ".join(f"“{header}”" for header in headers if header.strip()) or "—"
    return _("The file needs a column of e-mail addresses, with a header such as “E-Mail” or “email”. Its "
             "headers: %(headers)s.") % {"headers": named}


def attendee_rows(rows: Iterable[list[str]], mapping: Sequence[str]) -> list[dict[str, str]]:
    """Rows of cells as attendee rows by the mapping, normalised for the row form."""
    keys = _HeaderKeys()  # for this batch only: its texts are the file's
    return [_normalise_row(row, keys) for row in apply_mapping((_unquote(cells) for cells in rows), mapping)]


class _HeaderKeys(dict):
    """header_key() of texts, each computed once: a list's statuses and roles repeat a handful."""

    def __missing__(self, text: str) -> str:
        self[text] = key = header_key(text)
        return key


def attendee_file(table: AttendeeTable, mapping: Sequence[str]) -> AttendeeFile:
    return AttendeeFile(
        rows=attendee_rows(table.rows, mapping), lines=table.lines, columns=mapped_fields(mapping),
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
# Roles as people write them (German in either form, the usual English words).
ROLE_SYNONYMS = {
    **dict.fromkeys(("teilnehmer", "teilnehmerin", "teilnehmer_in", "teilnehmende", "participant", "delegate",
                     "besucher", "besucherin", "gast", "guest", "visitor"), AttendanceRole.ATTENDEE),
    **dict.fromkeys(("referent", "referentin", "sprecher", "sprecherin", "redner", "rednerin", "speakerin",
                     "presenter", "panelist", "keynote"), AttendanceRole.SPEAKER),
    **dict.fromkeys(("aussteller", "ausstellerin", "aussteller_in", "exhibitors"), AttendanceRole.EXHIBITOR),
    **dict.fromkeys(("sponsorin", "sponsoren", "sponsors"), AttendanceRole.SPONSOR),
}
# A "Checked in" column that says whether, not when (pretix "Automatically checked in", Eventbrite).
CHECKED_IN_YES = {"yes", "ja", "true", "wahr", "x", "1"}
CHECKED_IN_NO = {"no", "nein", "false", "falsch", "0", "-"}


@cache
def _choice_lookup(choices) -> dict[str, str]:
    """A choice by its value or its label in any of the site's languages, whichever is active."""
    synonyms = STATUS_SYNONYMS if choices is AttendanceStatus else ROLE_SYNONYMS
    lookup = {key: str(value) for key, value in synonyms.items()}
    for value, label in choices.choices:
        lookup[header_key(value)] = value
        for language, _name in settings.LANGUAGES:
            with override(language):
                lookup[header_key(str(label))] = value
    return lookup


def _normalise_row(row: dict[str, str], keys: _HeaderKeys) -> dict[str, str]:
    """Accept "Speaker", "Teilgenommen", "paid", "20.11.2026 10:00": what people and ticketing tools
    write; the form checks the rest."""
    order_state = keys[row.get("status", "")] in ORDER_STATES
    for name, choices in (("role", AttendanceRole), ("status", AttendanceStatus)):
        if row.get(name):
            row[name] = _choice_lookup(choices).get(keys[row[name]], row[name])
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


# Preview --------------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    line: int
    cells: list[str]  # the row's values in the order of the preview's columns
    errors: dict[str, list[str]] = field(default_factory=dict)
    action: str = ""
    changes: list[str] = field(default_factory=list)  # what changes, or stays, of a known contact or attendance
    duplicate_of: int | None = None  # the line of the earlier row with the same e-mail


ACTIONS = {
    "new": gettext_lazy("New contact, new attendance"),
    "known": gettext_lazy("Known contact, new attendance"),
    "changes": gettext_lazy("Already registered: changes"),
    "same": gettext_lazy("Already registered: no change"),
}


@dataclass
class Preview:
    """What importing a list does: counts over every row, and the rows shown (the first
    PREVIEW_MAX_ROWS, and those with errors up to KEPT_ERROR_ROWS). Stored with the import as JSON."""

    columns: list[str] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list)
    row_count: int = 0
    error_count: int = 0
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
        return self.row_count - self.error_count - self.duplicates

    @property
    def more_than_shown(self) -> bool:
        return self.row_count > len(self.rows)

    def add(self, event: Event, rows: list[dict[str, str]], lines: Sequence[int], earlier: EarlierRows,
            checked: list[CheckedRow] | None = None) -> None:
        """Plan a batch of rows (3 queries, nothing written) and count what importing them does;
        `lines`: the spreadsheet line of every row of the list so far, by position; `checked`:
        check_attendee_rows() of the rows, when made. Only the rows shown are described (a
        hundred thousand descriptions took a fifth of a preview)."""
        plan = plan_attendee_rows(event, rows, earlier, checked=checked)
        earlier.record(plan)
        for row_plan, row in zip(plan.rows, rows, strict=True):
            self.row_count += 1
            shown, action = self.row_count <= PREVIEW_MAX_ROWS, ""
            if row_plan.errors:
                self.error_count += 1
                shown = shown or self.error_count <= KEPT_ERROR_ROWS
            elif row_plan.duplicate_of is not None:
                self.duplicates += 1
            else:
                action = self._count(row_plan)
            if shown:
                self.rows.append(self._shown_row(row_plan, row, lines, action))

    def _shown_row(self, row_plan, row: dict[str, str], lines: Sequence[int], action: str) -> PreviewRow:
        item = PreviewRow(line=lines[row_plan.index], cells=[])
        values = row
        if row_plan.errors:
            item.errors = _row_errors(row_plan.errors)
        else:
            values = {**row, "email": row_plan.row["email"]}
        if row_plan.duplicate_of is not None:
            item.duplicate_of = lines[row_plan.duplicate_of]
            item.action = _("Same e-mail as row %(line)d: ignored, only row %(line)d is imported") % {
                "line": item.duplicate_of}
        elif action:
            item.action = str(ACTIONS[action])
            item.changes = [describe_change(change) for change in row_plan.changes]
        # A choice by its label, a time as the page writes times: as read (a refused row's choices too,
        # which the file may have written in either language).
        read = row_plan.row if not row_plan.errors else {
            name: values[name] for name in ("status", "role") if values.get(name) in CHOICE_VALUES[name]}
        item.cells = [_display(name, read[name]) if name in DISPLAYED_AS_READ and read.get(name) else values.get(name, "")
                      for name in self.columns]
        return item

    def _count(self, row_plan) -> str:
        """Count a row that applies; what it does (a key of ACTIONS)."""
        self.changed += row_plan.changed
        self.kept += any(not change.applied for change in row_plan.changes)
        if row_plan.contact is None:
            self.new_contacts += 1
            self.new_attendances += 1
            return "new"
        if row_plan.attendance is None:
            self.new_attendances += 1
            return "known"
        self.existing_attendances += 1
        return "changes" if row_plan.changed else "same"

    def as_json(self) -> dict:
        return storable(asdict(self))

    @classmethod
    def from_json(cls, data: dict) -> "Preview":
        return cls(**{**data, "rows": [PreviewRow(**row) for row in data["rows"]]})


def storable(value: Any) -> Any:
    """Texts of a file as PostgreSQL stores them (text and jsonb take no NUL character): NUL
    shown as U+FFFD. The rows themselves are refused with a row error for it (the row form)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value


def with_default_source(rows: list[dict[str, str]], source: str) -> list[dict[str, str]]:
    if not source:
        return rows
    return [{**row, "source": row.get("source") or source} for row in rows]


# The service's own messages are the API's (English); the admin shows them translated.
SERVICE_MESSAGES = {
    EXTERNAL_ID_TAKEN: gettext_lazy("This external id belongs to another attendance."),
    EXTERNAL_ID_REPEATED: gettext_lazy("An earlier row of this list has the same external id."),
    NOT_STARTED_MESSAGE_EN: NOT_STARTED_MESSAGE,
    CHECKED_IN_BEFORE_MESSAGE_EN: CHECKED_IN_BEFORE_MESSAGE,
    CANCELLED_MESSAGE_EN: CANCELLED_MESSAGE,
    ONLY_ATTENDED_CHECKED_IN_MESSAGE_EN: ONLY_ATTENDED_CHECKED_IN_MESSAGE,
}


def _row_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: [str(SERVICE_MESSAGES.get(message, message)) for message in messages_]
            for name, messages_ in errors.items()}


def field_label(name: str) -> str:
    """A row column's name as people read it ("First name", "Vorname"); other keys (the
    errors' "non_field_errors") as "Row"."""
    model = Attendance if name in ATTENDANCE_ROW_FIELDS else Contact
    try:
        return capfirst(str(model._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:
        return str(_("Row"))


DISPLAYED_AS_READ = frozenset({"status", "role", "checked_in_at"})
CHOICE_VALUES = {"status": frozenset(AttendanceStatus.values), "role": frozenset(AttendanceRole.values)}


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
    values = {"field": field_label(change.field), "old": _display(change.field, change.old),
              "new": _display(change.field, change.new)}
    if change.applied:
        return _("%(field)s: %(old)s → %(new)s") % values
    return _("%(field)s stays %(old)s (file: %(new)s)") % values


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)  # (spreadsheet row, errors)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (spreadsheet row, row imported instead)


def import_attendees(event: Event, rows: list[dict[str, str]], lines: list[int]) -> ImportResult:
    """Upsert a list held in memory with the bulk API's rules, in one transaction and one plan."""
    upserted = upsert_attendee_rows(event, rows)
    return ImportResult(
        created=upserted.created, updated=upserted.updated, unchanged=upserted.unchanged,
        errors=[(lines[error["row"]], _row_errors(error["errors"])) for error in upserted.errors],
        duplicates=[(lines[row], lines[first]) for row, first in upserted.duplicates],
    )


# Imports in the background: start, run, cancel ------------------------------------------------
#
# The functions that start work are called outside a transaction (the admin views): the row is
# committed when its task is sent. A task finds its work by (import, run, status) and stops,
# writing nothing more, as soon as the row says otherwise.


def create_import(event: Event, user, filename: str, data: bytes, source: str = "", *, send: bool = True) -> AttendeeImport:
    """Keep the uploaded file and preview it by the suggested mapping; ImportFileError when it
    cannot be read or has no e-mail column (read up to its first FIRST_ROWS rows here). `send`
    False: no task is sent, the caller runs run_preview() itself (the demo's loader)."""
    from events.import_mapping import suggest_for_user

    table = read_attendee_table(data, filename, max_rows=FIRST_ROWS)
    suggestion = suggest_for_user(user, table.headers, table.rows)
    if "email" not in suggestion.mapping:
        raise ImportFileError(no_email_column_message(table.headers))
    with transaction.atomic():
        attendee_import = AttendeeImport.objects.create(
            event=event, created_by=user if user is not None and user.is_authenticated else None,
            filename=storable(filename[:255]), source=source, description=table.description,
            headers=storable(table.headers), first_rows=storable(table.rows), preset=suggestion.preset,
            mapping=suggestion.mapping, remembered=suggestion.remembered,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        write_bytes(AttendeeImport, attendee_import.pk, "data", data)
    attendee_import.data = data
    if send:
        _send(attendee_import)
    return attendee_import


def preview_again(attendee_import: AttendeeImport, preset: str, mapping: list[str]) -> bool:
    """Preview by another mapping (which must have no mapping_errors); False when the import has
    moved on (started, cancelled) meanwhile."""
    return _restart(attendee_import, (ImportStatus.PREVIEWING, ImportStatus.READY), ImportStatus.PREVIEWING,
                    preset=preset, mapping=mapping, remembered=False, preview=None, checked_rows=b"", rows_total=None,
                    failure="")


def start_import(attendee_import: AttendeeImport, *, send: bool = True) -> bool:
    """Import the previewed list; False unless its preview is ready. `send` as in create_import()."""
    return _restart(attendee_import, (ImportStatus.READY,), ImportStatus.IMPORTING, send=send,
                    rows_total=F("rows_done"))


def cancel_import(attendee_import: AttendeeImport) -> bool:
    """Stop a preview or an import at its next batch and forget the file; the batches imported
    before stay. False when there is nothing to cancel."""
    stopped = AttendeeImport.objects.filter(
        pk=attendee_import.pk, status__in=(ImportStatus.PREVIEWING, ImportStatus.READY, ImportStatus.IMPORTING)
    ).update(status=ImportStatus.CANCELLED, run=F("run") + 1, updated_at=timezone.now(), **FORGOTTEN)
    attendee_import.refresh_from_db()
    return bool(stopped)


def _restart(attendee_import: AttendeeImport, allowed: tuple[str, ...], status: str, *, send: bool = True,
             **fields) -> bool:
    started = AttendeeImport.objects.filter(pk=attendee_import.pk, status__in=allowed).update(
        status=status, run=F("run") + 1, rows_done=0, attempts=0, heartbeat_at=None, updated_at=timezone.now(),
        **fields)
    attendee_import.refresh_from_db()
    if started and send:
        _send(attendee_import)
    return bool(started)


def _send(attendee_import: AttendeeImport) -> bool:
    """Send the task of the import's current run. When the broker is down the row waits for the
    sweep (sweep_imports), like any run whose task was lost."""
    from events import tasks

    task = tasks.preview_import_task if attendee_import.status == ImportStatus.PREVIEWING else tasks.import_task
    return queue.publish(lambda: task.delay(attendee_import.pk, attendee_import.run),
                         what=f"attendee import {attendee_import.pk} ({attendee_import.status})")


def sweep_imports() -> int:
    """Send again the previews and imports whose task was lost: not started, or its heartbeat
    stopped, for stale_seconds() (a task finding a live one at work leaves it alone). Previews not
    imported within IMPORT_KEEP_PREVIEW_HOURS are cancelled."""
    now = timezone.now()
    # A preview nobody imported: its file is not kept for ever (personal data).
    AttendeeImport.objects.filter(
        status=ImportStatus.READY, updated_at__lt=now - timedelta(hours=settings.IMPORT_KEEP_PREVIEW_HOURS),
    ).update(status=ImportStatus.CANCELLED, run=F("run") + 1, updated_at=now, **FORGOTTEN)
    stale = AttendeeImport.objects.filter(
        status__in=(ImportStatus.PREVIEWING, ImportStatus.IMPORTING),
        updated_at__lt=now - timedelta(seconds=stale_seconds()),
    ).only("pk", "status", "run")
    sent = 0
    for attendee_import in stale:
        AttendeeImport.objects.filter(pk=attendee_import.pk, run=attendee_import.run).update(updated_at=now)
        sent += _send(attendee_import)
    return sent


def _claim(import_id: int, run: int, status: str) -> AttendeeImport | None:
    """The import, for a task that starts the work of its run; None when the import moved on or a
    live task (a heartbeat within stale_seconds()) is at it. Each start counts: a run that started
    more than IMPORT_MAX_ATTEMPTS times without finishing (its file kills the worker, say) fails."""
    now = timezone.now()
    claimed = AttendeeImport.objects.filter(pk=import_id, run=run, status=status).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - timedelta(seconds=stale_seconds()))
    ).update(heartbeat_at=now, attempts=F("attempts") + 1, updated_at=now)
    attendee_import = _current(import_id, run, status) if claimed else None
    if attendee_import is not None and attendee_import.attempts > settings.IMPORT_MAX_ATTEMPTS:
        logger.error("Attendee import %s: run %s started %s times without finishing; given up.",
                     import_id, run, attendee_import.attempts)
        _finish(import_id, run, status, status=ImportStatus.FAILED, **FORGOTTEN,
                failure=gettext_lazy("The import stopped again and again; the error is logged."))
        return None
    return attendee_import


def forget_imports_mentioning(mentions) -> int:
    """GDPR erasure (contacts.erasure.PersonalMentions): previews and imports not finished whose
    file names the person (e-mail, or first and last name) are cancelled and forget the file; run
    to the end, they would bring the person back. Finished ones kept no file and no rows. A file
    that cannot be read any more counts as naming them."""
    if mentions.pattern is None:
        return 0
    unfinished = (ImportStatus.PREVIEWING, ImportStatus.READY, ImportStatus.IMPORTING)
    cancelled = 0
    for pk, filename in AttendeeImport.objects.filter(status__in=unfinished).values_list("pk", "filename"):
        if _file_mentions(pk, filename, mentions.pattern):  # one file in memory at a time
            cancelled += AttendeeImport.objects.filter(pk=pk, status__in=unfinished).update(
                status=ImportStatus.CANCELLED, run=F("run") + 1, updated_at=timezone.now(), **FORGOTTEN,
                failure=str(_("Cancelled: a person in this list was erased meanwhile.")))
    return cancelled


def _file_mentions(pk: int, filename: str, pattern) -> bool:
    try:
        with open_attendee_table(read_bytes(AttendeeImport, pk, "data"), filename) as table:
            return bool(pattern.search("\t".join(table.headers))) or any(
                pattern.search("\t".join(cells)) for _line, cells in table.rows)
    except ImportFileError:
        return True


def _current(import_id: int, run: int, status: str) -> AttendeeImport | None:
    # The file and the preview's rows, megabytes each, are read when asked for: a preview needs
    # the file, an import the rows (the file only when its preview kept none).
    return (AttendeeImport.objects.select_related("event", "created_by").defer("data", "checked_rows")
            .filter(pk=import_id, run=run, status=status).first())


def _finish(import_id: int, run: int, current: str, **fields) -> bool:
    """Write the progress or the end of a run, unless the import moved on (a cancel, a newer run)."""
    fields = {name: str(value) if name == "failure" else value for name, value in fields.items()}
    return bool(AttendeeImport.objects.filter(pk=import_id, run=run, status=current).update(
        updated_at=timezone.now(), **fields))


def _batches(attendee_import: AttendeeImport) -> Iterator[tuple[list[int], list[dict[str, str]]]]:
    """The file's rows by the import's mapping, IMPORT_BATCH_ROWS at a time, with their lines."""
    with open_attendee_table(read_bytes(AttendeeImport, attendee_import.pk, "data"), attendee_import.filename) as table:
        while batch := list(itertools.islice(table.rows, settings.IMPORT_BATCH_ROWS)):
            rows = attendee_rows((cells for _line, cells in batch), attendee_import.mapping)
            yield [line for line, _cells in batch], with_default_source(rows, attendee_import.source)


class CheckedRowsWriter:
    """What a preview's rows say on their own (check_attendee_rows()), batch by batch, for the
    import to read instead of reading and cleaning the file again (a third of its work): one JSON
    line per batch, its lines and rows, compressed as it comes (about a quarter of a CSV file's size)."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(1)
        self._parts: list[bytes] = []

    def add(self, lines: Sequence[int], checked: list[CheckedRow]) -> None:
        text = json.dumps({"lines": list(lines), "rows": checked}, default=_json_moment, separators=(",", ":"))
        self._parts.append(self._compressor.compress(text.encode() + b"\n"))

    def finish(self) -> bytes:
        self._parts.append(self._compressor.flush())
        return b"".join(self._parts)


def _json_moment(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not kept with a preview")


def _stored_batches(data: bytes | memoryview) -> Iterator[tuple[list[int], list[CheckedRow]]]:
    """CheckedRowsWriter's batches back, one at a time (the check-in times as datetimes again),
    never more than a megabyte of text unpacked ahead of the batch at hand."""
    decompressor, pending, data = zlib.decompressobj(), b"", memoryview(data)
    try:
        for start in range(0, len(data), 1 << 16):
            chunk = data[start : start + (1 << 16)]
            while chunk:
                pending += decompressor.decompress(chunk, 1 << 20)
                chunk = decompressor.unconsumed_tail
                *complete, pending = pending.split(b"\n")
                yield from map(_stored_batch, complete)
        pending += decompressor.flush()
    except zlib.error as exc:
        raise ImportFileError(STORED_ROWS_DAMAGED) from exc
    if not decompressor.eof:  # cut short: the rows after the cut would be left out unseen
        raise ImportFileError(STORED_ROWS_DAMAGED)
    if pending.strip():
        yield _stored_batch(pending)


STORED_ROWS_DAMAGED = gettext_lazy("The preview's rows could not be read back; upload the file again.")


def _stored_batch(line: bytes) -> tuple[list[int], list[CheckedRow]]:
    batch = json.loads(line)
    rows = []
    for values, errors in batch["rows"]:
        if values.get("checked_in_at"):
            values["checked_in_at"] = datetime.fromisoformat(values["checked_in_at"])
        rows.append((values, errors))
    return batch["lines"], rows


def _checked_batches(attendee_import: AttendeeImport) -> Iterator[tuple[list[int], list[CheckedRow]]]:
    """The import's batches as its preview found them; read from the file again when the preview
    kept none (one made before previews kept them)."""
    checked_rows = read_bytes(AttendeeImport, attendee_import.pk, "checked_rows")
    if checked_rows:
        yield from _stored_batches(checked_rows)
        return
    for lines, rows in _batches(attendee_import):
        yield lines, check_attendee_rows(rows)


def run_preview(import_id: int, run: int) -> bool:
    """The preview task's work: plan every row, batch by batch, and store what importing does.
    False when the import moved on meanwhile."""
    attendee_import = _claim(import_id, run, ImportStatus.PREVIEWING)
    if attendee_import is None:
        return False
    with translation.override(attendee_import.language or settings.LANGUAGE_CODE):
        columns = mapped_fields(attendee_import.mapping)
        preview = Preview(columns=columns + (["source"] if attendee_import.source and "source" not in columns else []))
        earlier, lines, checked_rows = EarlierRows(), array("q"), CheckedRowsWriter()
        try:
            for batch_lines, rows in _batches(attendee_import):
                lines.extend(batch_lines)
                checked = check_attendee_rows(rows)
                checked_rows.add(batch_lines, checked)
                preview.add(attendee_import.event, rows, lines, earlier, checked)
                if not _finish(import_id, run, ImportStatus.PREVIEWING, rows_done=preview.row_count,
                               heartbeat_at=timezone.now()):
                    return False
        except ImportFileError as exc:
            return _finish(import_id, run, ImportStatus.PREVIEWING, status=ImportStatus.FAILED, **FORGOTTEN,
                           failure=str(exc))
        if not preview.row_count:
            return _finish(import_id, run, ImportStatus.PREVIEWING, status=ImportStatus.FAILED, **FORGOTTEN,
                           failure=_("The file has a header but no attendees."))
        with transaction.atomic():  # the rows only with the run's end (its row locked till then)
            if not _finish(import_id, run, ImportStatus.PREVIEWING, status=ImportStatus.READY,
                           preview=preview.as_json(), rows_done=preview.row_count):
                return False
            write_bytes(AttendeeImport, import_id, "checked_rows", checked_rows.finish())
        return True


def run_import(import_id: int, run: int) -> bool:
    """The import task's work: upsert the rows batch by batch, each batch with the import's
    progress in one transaction; a run sent again skips the batches committed before. False when
    the import moved on meanwhile (cancelled, or another task of the same run went ahead)."""
    attendee_import = _claim(import_id, run, ImportStatus.IMPORTING)
    if attendee_import is None:
        return False
    progress = {name: getattr(attendee_import, name) for name in (
        "created", "updated", "unchanged", "error_count", "duplicate_count", "errors", "duplicates")}
    earlier, lines = EarlierRows(), array("q")
    with translation.override(attendee_import.language or settings.LANGUAGE_CODE):
        try:
            return _import_batches(attendee_import, run, progress, earlier, lines)
        # The preview's rows damaged, or (a preview that kept none) the file read again and the
        # limits lowered since.
        except ImportFileError as exc:
            return _finish(import_id, run, ImportStatus.IMPORTING, status=ImportStatus.FAILED, **FORGOTTEN,
                           failure=str(exc))


def _import_batches(attendee_import: AttendeeImport, run: int, progress: dict, earlier: EarlierRows,
                    lines: array) -> bool:
    import_id = attendee_import.pk
    for batch_lines, checked in _checked_batches(attendee_import):
        lines.extend(batch_lines)
        done_before = max(0, min(len(checked), attendee_import.rows_done - earlier.offset))
        if done_before:
            earlier.skip(checked[:done_before])
            checked = checked[done_before:]
        if not checked:
            continue
        with transaction.atomic():
            position = (AttendeeImport.objects.select_for_update()
                        .filter(pk=import_id, run=run, status=ImportStatus.IMPORTING)
                        .values_list("rows_done", flat=True).first())
            if position != earlier.offset:
                return False
            upserted = upsert_attendee_rows(attendee_import.event, None, earlier,
                                            history_user=attendee_import.created_by, checked=checked)
            _count_batch(progress, upserted, lines)
            now = timezone.now()
            AttendeeImport.objects.filter(pk=import_id).update(
                rows_done=earlier.offset, heartbeat_at=now, updated_at=now, **progress)
    return _finish(import_id, run, ImportStatus.IMPORTING, status=ImportStatus.DONE, **FORGOTTEN)


def _count_batch(progress: dict, upserted, lines: Sequence[int]) -> None:
    progress["created"] += upserted.created
    progress["updated"] += upserted.updated
    progress["unchanged"] += upserted.unchanged
    progress["error_count"] += len(upserted.errors)
    progress["duplicate_count"] += len(upserted.duplicates)
    room = KEPT_ERROR_ROWS - len(progress["errors"])
    if upserted.errors and room > 0:
        progress["errors"] = progress["errors"] + [
            [lines[error["row"]], storable(_row_errors(error["errors"]))] for error in upserted.errors[:room]]
    room = KEPT_ERROR_ROWS - len(progress["duplicates"])
    if upserted.duplicates and room > 0:
        progress["duplicates"] = progress["duplicates"] + [
            [lines[row], lines[first]] for row, first in upserted.duplicates[:room]]
