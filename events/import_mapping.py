"""Which column of an attendee list goes into which field: presets, suggestions, memory.

An upload is read as a table (events.imports); this module decides what each of its columns
means. A preset knows the headers of one kind of export (``generic``: the headers people type,
in English or German; ``pretix``: pretix's order and check-in list exports; ``eventbrite``:
Eventbrite's attendee report). The preset is detected from the headers, and each column gets a
suggested target field or "ignore". The admin shows the mapping above the preview, where staff
can change it; the mapping a user confirmed for a list of headers is suggested to that user the
next time the same headers come (ImportColumnMapping). Nothing here writes attendees.

Rows are built from a mapping by apply_mapping(): a full name is split into first and last
name where a row has no separate parts, and an external id can be made of two columns (pretix:
order code and position, "ABC12-1": an order code alone names an order, which can hold several
tickets).
"""

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

IGNORE = "ignore"
FULL_NAME = "full_name"
EXTERNAL_ID_PART = "external_id_part"

# The fields a column can be imported as, in the order the mapping form lists them. Besides the
# attendee-row fields (events.forms.ATTENDEE_ROW_FIELDS): a full name to split and the second
# part of an external id.
TARGETS: dict[str, object] = {
    "email": capfirst(_("e-mail")),
    "first_name": capfirst(_("first name")),
    "last_name": capfirst(_("last name")),
    FULL_NAME: _("Full name (split into first and last name)"),
    "organization": capfirst(_("organization")),
    "job_title": capfirst(_("job title")),
    "role": capfirst(_("role")),
    "status": capfirst(_("status")),
    "checked_in_at": capfirst(_("checked in at")),
    "external_id": capfirst(_("external id")),
    EXTERNAL_ID_PART: _("External id, second part (added with “-”, e.g. a position ID)"),
    "source": capfirst(_("source")),
    IGNORE: _("Ignore this column"),
}
EXTERNAL_ID_SEPARATOR = "-"

# Column headers people actually use (Excel lists in English and German, other tools' exports).
# "ticket" is not among them: in pretix and Eventbrite "Ticket" is the product ("Early bird"), no id.
HEADER_ALIASES = {
    "email": "email", "e_mail": "email", "mail": "email", "email_address": "email", "e_mail_address": "email",
    "e_mail_adresse": "email", "emailadresse": "email",
    "first_name": "first_name", "firstname": "first_name", "given_name": "first_name", "vorname": "first_name",
    "last_name": "last_name", "lastname": "last_name", "surname": "last_name", "family_name": "last_name",
    "nachname": "last_name",
    "name": FULL_NAME, "full_name": FULL_NAME, "fullname": FULL_NAME,
    "organization": "organization", "organisation": "organization", "company": "organization", "firma": "organization",
    "unternehmen": "organization",
    "firmenname": "organization", "company_name": "organization",
    "job_title": "job_title", "title": "job_title", "position": "job_title", "jobtitle": "job_title",
    "funktion": "job_title", "jobtitel": "job_title", "berufsbezeichnung": "job_title",
    "role": "role", "rolle": "role",
    "status": "status", "teilnahmestatus": "status", "anmeldestatus": "status",
    "checked_in_at": "checked_in_at", "check_in": "checked_in_at", "checked_in": "checked_in_at",
    "checkin": "checked_in_at", "check_in_time": "checked_in_at", "eingecheckt_am": "checked_in_at",
    "eingecheckt": "checked_in_at", "check_in_zeit": "checked_in_at", "check_in_am": "checked_in_at",
    "external_id": "external_id", "ticket_id": "external_id", "registration_id": "external_id",
    "externe_id": "external_id", "ticket_nr": "external_id", "ticket_no": "external_id",
    "ticket_number": "external_id", "ticketnummer": "external_id", "ticket_nummer": "external_id",
    "source": "source", "quelle": "source",
}  # fmt: skip (the app's own column names in English and German among them: the export's headers)


def header_key(header: str) -> str:
    """ "E-Mail", "e mail", "Attendee name: Given name", "Order #" → e_mail, attendee_name_given_name, order_no."""
    text = header.strip().lower().replace("#", " no ")
    return re.sub(r"[\W_]+", "_", text).strip("_")


@dataclass(frozen=True)
class Preset:
    label: object
    # target → the header keys (header_key) that mean it, the preferred first.
    targets: dict[str, tuple[str, ...]]
    # Headers whose presence says a file is this tool's export.
    markers: frozenset[str] = frozenset()
    # Header keys of an order number: an id only when no value repeats in the file (one ticket per order).
    order_ids: frozenset[str] = frozenset()


def _generic_targets() -> dict[str, tuple[str, ...]]:
    targets: dict[str, list[str]] = {}
    for key, target in HEADER_ALIASES.items():
        targets.setdefault(target, []).append(key)
    return {target: tuple(keys) for target, keys in targets.items()}


# pretix (English and German exports): "Order data" → order positions, and check-in lists.
# Columns like "Product", "Price", "Invoice address name" or "Secret" (the ticket's entry code)
# are not imported.
PRETIX_TARGETS = {
    "email": ("attendee_email", "e_mail_teilnehmer_in", "teilnehmer_e_mail", "e_mail", "email"),
    "first_name": ("attendee_name_given_name", "name_teilnehmer_in_vorname", "teilnehmername_vorname"),
    "last_name": ("attendee_name_family_name", "name_teilnehmer_in_nachname", "teilnehmername_nachname"),
    FULL_NAME: ("attendee_name", "name_teilnehmer_in", "teilnehmername"),
    "organization": ("company", "firma"),
    "status": ("status",),
    "checked_in_at": ("checked_in", "eingecheckt"),
    "external_id": ("order_code", "bestellnummer", "bestellcode"),
    EXTERNAL_ID_PART: ("position_id", "positions_id", "position"),
}
EVENTBRITE_TARGETS = {
    "email": ("email", "e_mail"),
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "organization": ("company",),
    "job_title": ("job_title",),
    "status": ("attendee_status",),
    "checked_in_at": ("check_in_date", "checked_in_date", "date_checked_in", "check_in_time", "checked_in"),
    "external_id": ("attendee_no", "attendee_id", "ticket_no", "order_no"),
}

PRESETS: dict[str, Preset] = {
    "generic": Preset(label=_("Generic list (CSV or Excel)"), targets=_generic_targets()),
    "pretix": Preset(
        label=_("pretix export (order data or check-in list)"),
        targets=PRETIX_TARGETS,
        markers=frozenset({"order_code", "bestellnummer", "attendee_name_given_name", "name_teilnehmer_in_vorname",
                           "attendee_email", "e_mail_teilnehmer_in"}),
        order_ids=frozenset({"order_code", "bestellnummer", "bestellcode"}),
    ),
    "eventbrite": Preset(
        label=_("Eventbrite attendee report"),
        targets=EVENTBRITE_TARGETS,
        markers=frozenset({"order_no", "attendee_no", "attendee_status"}),
        order_ids=frozenset({"order_no"}),
    ),
}  # fmt: skip
DEFAULT_PRESET = "generic"

EMAIL_VALUE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SNIFF_ROWS = 50  # rows looked at to find an e-mail column without a known header


@dataclass
class Suggestion:
    preset: str
    mapping: list[str]  # a target (or IGNORE) per column
    remembered: bool = False  # the user's last confirmed mapping for these headers


@dataclass
class MappingError:
    message: str
    columns: list[int] = field(default_factory=list)  # the columns it concerns, by position


def detect_preset(headers: Sequence[str]) -> str:
    keys = {header_key(header) for header in headers}
    for name, preset in PRESETS.items():
        if preset.markers & keys:
            return name
    return DEFAULT_PRESET


def _column_has_values(rows: Sequence[Sequence[str]], position: int) -> bool:
    return any(position < len(row) and row[position].strip() for row in rows)


def _values_repeat(rows: Sequence[Sequence[str]], position: int) -> bool:
    values = [row[position].strip() for row in rows if position < len(row) and row[position].strip()]
    return len(values) != len(set(values))


def _looks_like_emails(rows: Sequence[Sequence[str]], position: int) -> bool:
    values = [row[position].strip() for row in rows[:SNIFF_ROWS] if position < len(row) and row[position].strip()]
    return bool(values) and sum(bool(EMAIL_VALUE.match(value)) for value in values) >= 0.8 * len(values)


def suggest_mapping(headers: Sequence[str], rows: Sequence[Sequence[str]], preset: str | None = None) -> Suggestion:
    """A target per column: the preset's headers first, then the generic ones for what is left.

    Where several columns mean the same field, the first of the preset's preference that has
    values wins (pretix: the attendee's e-mail, else the order's); the others are ignored. Without
    an e-mail header, a column of e-mail addresses is taken.
    """
    preset = preset if preset in PRESETS else detect_preset(headers)
    keys = [header_key(header) for header in headers]
    mapping = [IGNORE] * len(headers)
    rule_sets = [PRESETS[preset].targets] + ([PRESETS[DEFAULT_PRESET].targets] if preset != DEFAULT_PRESET else [])
    for targets in rule_sets:
        for target, candidates in targets.items():
            if target in mapping:
                continue
            positions = [
                position for candidate in candidates for position, key in enumerate(keys)
                if key == candidate and mapping[position] == IGNORE
            ]  # fmt: skip
            if positions:
                chosen = next((p for p in positions if _column_has_values(rows, p)), positions[0])
                mapping[chosen] = target

    if "external_id" in mapping and EXTERNAL_ID_PART not in mapping:
        position = mapping.index("external_id")
        if keys[position] in PRESETS[preset].order_ids and _values_repeat(rows, position):
            mapping[position] = IGNORE  # an order with several tickets: the order number is no ticket id
    if EXTERNAL_ID_PART in mapping and "external_id" not in mapping:
        mapping[mapping.index(EXTERNAL_ID_PART)] = IGNORE
    if (
        FULL_NAME in mapping
        and "first_name" in mapping
        and "last_name" not in mapping
        and keys[mapping.index(FULL_NAME)] == "name"
    ):
        mapping[mapping.index(FULL_NAME)] = "last_name"  # "Vorname" and "Name": the name is the last name
    if "email" not in mapping:
        position = next((p for p in range(len(headers)) if mapping[p] == IGNORE and _looks_like_emails(rows, p)), None)
        if position is not None:
            mapping[position] = "email"
    return Suggestion(preset=preset, mapping=mapping)


def mapping_errors(mapping: Sequence[str], headers: Sequence[str] | None = None) -> list[MappingError]:
    """What keeps a mapping from being imported: a field chosen twice, no e-mail, half an id."""
    errors = []
    positions: dict[str, list[int]] = {}
    for position, target in enumerate(mapping):
        if target != IGNORE:
            positions.setdefault(target, []).append(position)
    for target, columns in positions.items():
        if len(columns) > 1:
            names = ", ".join(
                f"“{column_label(headers, column)}”" if headers is not None else str(column + 1) for column in columns
            )
            errors.append(MappingError(
                _("“%(field)s” is chosen for more than one column (%(columns)s); choose it for one column only.")
                % {"field": TARGETS[target], "columns": names},
                columns,
            ))  # fmt: skip
    if "email" not in positions:
        errors.append(MappingError(_("No column is imported as e-mail; choose the column that holds the e-mail addresses.")))
    if EXTERNAL_ID_PART in positions and "external_id" not in positions:
        errors.append(MappingError(
            _("“%(part)s” needs a column imported as “%(field)s”.")
            % {"part": TARGETS[EXTERNAL_ID_PART], "field": TARGETS["external_id"]},
            positions[EXTERNAL_ID_PART],
        ))  # fmt: skip
    return errors


def column_label(headers: Sequence[str] | None, position: int) -> str:
    header = headers[position].strip() if headers is not None and position < len(headers) else ""
    return header or str(_("Column %(number)d") % {"number": position + 1})


def split_full_name(name: str) -> tuple[str, str]:
    """ "Anna Maria Schmidt" → (Anna Maria, Schmidt); "Schmidt, Anna" → (Anna, Schmidt); "Schmidt" → ("", Schmidt)."""
    name = " ".join(name.split())
    if "," in name:
        last, _comma, first = name.partition(",")
        return first.strip(), last.strip()
    first, _space, last = name.rpartition(" ")
    return first, last


def apply_mapping(rows: Iterable[Sequence[str]], mapping: Sequence[str]) -> list[dict[str, str]]:
    """Attendee rows (field → text) from the table's rows; values are trimmed, nothing else is changed."""
    targets = [(position, target) for position, target in enumerate(mapping) if target != IGNORE]
    result = []
    for cells in rows:
        values = {target: (cells[position].strip() if position < len(cells) else "") for position, target in targets}
        if FULL_NAME in values:
            first, last = split_full_name(values.pop(FULL_NAME))
            # The separate parts win; the full name fills what a row leaves empty.
            values["first_name"] = values.get("first_name") or first
            values["last_name"] = values.get("last_name") or last
        if EXTERNAL_ID_PART in values:
            part = values.pop(EXTERNAL_ID_PART)
            if values.get("external_id") and part:
                values["external_id"] = f"{values['external_id']}{EXTERNAL_ID_SEPARATOR}{part}"
        result.append(values)
    return result


def mapped_fields(mapping: Sequence[str]) -> list[str]:
    """The attendee-row fields the mapping fills, in the order of its columns."""
    fields: list[str] = []
    for target in mapping:
        names = {FULL_NAME: ["first_name", "last_name"], EXTERNAL_ID_PART: ["external_id"], IGNORE: []}.get(target, [target])
        fields += [name for name in names if name not in fields]
    return fields


# Memory: the last mapping a user confirmed, by the list of headers ------------------------------


def headers_key(headers: Sequence[str]) -> str:
    """The same for the same headers in the same order, however they are spelled ("E-Mail", "e mail")."""
    normalized = json.dumps([header_key(header) for header in headers])
    return hashlib.sha256(normalized.encode()).hexdigest()


def is_valid_mapping(mapping: object, headers: Sequence[str]) -> bool:
    return (
        isinstance(mapping, list) and len(mapping) == len(headers)
        and all(isinstance(target, str) and target in TARGETS for target in mapping)
        and not mapping_errors(mapping)
    )  # fmt: skip


def remembered_mapping(user, headers: Sequence[str]) -> Suggestion | None:
    from events.models import ImportColumnMapping

    if user is None or not user.is_authenticated:
        return None
    stored = ImportColumnMapping.objects.filter(user=user, headers_key=headers_key(headers)).first()
    if stored is None or not is_valid_mapping(stored.mapping, headers):
        return None
    preset = stored.preset if stored.preset in PRESETS else DEFAULT_PRESET
    return Suggestion(preset=preset, mapping=list(stored.mapping), remembered=True)


def remember_mapping(user, headers: Sequence[str], preset: str, mapping: Sequence[str]) -> None:
    from events.models import ImportColumnMapping

    if user is None or not user.is_authenticated:
        return
    ImportColumnMapping.objects.update_or_create(
        user=user, headers_key=headers_key(headers), defaults={"preset": preset, "mapping": list(mapping)}
    )


def suggest_for_user(user, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Suggestion:
    """The user's remembered mapping for these headers, else the detected preset's suggestion."""
    return remembered_mapping(user, headers) or suggest_mapping(headers, rows)


# The mapping form of the preview ----------------------------------------------------------------


def column_field_name(position: int) -> str:
    return f"column_{position}"


class ColumnMappingForm(forms.Form):
    """The preset and a target per column. Another preset than the shown one suggests its mapping again."""

    preset = forms.ChoiceField(
        label=_("Preset"),
        choices=[(name, preset.label) for name, preset in PRESETS.items()],
        help_text=_("Choosing another preset and updating the preview suggests that preset's mapping again."),
    )

    def __init__(self, headers: Sequence[str], *args, samples: Sequence[str] = (), shown_preset: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = list(headers)
        self.shown_preset = shown_preset
        self.samples = list(samples)
        for position in range(len(self.headers)):
            self.fields[column_field_name(position)] = forms.ChoiceField(
                label=column_label(self.headers, position), choices=list(TARGETS.items())
            )

    @classmethod
    def for_suggestion(cls, headers: Sequence[str], suggestion: Suggestion, samples: Sequence[str] = ()) -> "ColumnMappingForm":
        """The form showing a mapping; bound, with its errors, when the mapping cannot be imported
        (a preset that finds no e-mail column)."""
        values = {"preset": suggestion.preset}
        values.update({column_field_name(position): target for position, target in enumerate(suggestion.mapping)})
        if mapping_errors(suggestion.mapping):
            form = cls(headers, values, samples=samples, shown_preset=suggestion.preset)
            form.full_clean()
            return form
        return cls(headers, samples=samples, shown_preset=suggestion.preset, initial=values)

    def column_rows(self) -> list[tuple[str, str, forms.BoundField]]:
        """(header, example value, select) per column, for the template."""
        return [
            (column_label(self.headers, position), self.samples[position] if position < len(self.samples) else "",
             self[column_field_name(position)])
            for position in range(len(self.headers))
        ]  # fmt: skip

    def chosen_preset(self) -> str:
        return self.data.get("preset", self.shown_preset) if self.is_bound else self.shown_preset

    def preset_changed(self) -> bool:
        return self.is_bound and self.chosen_preset() in PRESETS and self.chosen_preset() != self.shown_preset

    def clean(self):
        cleaned = super().clean()
        if self.preset_changed() or any(column_field_name(p) not in cleaned for p in range(len(self.headers))):
            return cleaned  # a new preset brings its own mapping; a missing select has its own error
        mapping = [cleaned[column_field_name(position)] for position in range(len(self.headers))]
        for error in mapping_errors(mapping, self.headers):
            if error.columns:
                for position in error.columns:
                    self.add_error(column_field_name(position), error.message)
            else:
                self.add_error(None, error.message)
        return cleaned

    def suggestion(self, rows: Sequence[Sequence[str]]) -> Suggestion:
        """The mapping chosen in the valid form, or the new preset's suggestion."""
        if self.preset_changed():
            return suggest_mapping(self.headers, rows, self.cleaned_data["preset"])
        mapping = [self.cleaned_data[column_field_name(position)] for position in range(len(self.headers))]
        return Suggestion(preset=self.cleaned_data["preset"], mapping=mapping)


def column_samples(headers: Sequence[str], rows: Sequence[Sequence[str]], max_length: int = 40) -> list[str]:
    """The first value of each column, shortened: what the mapping form shows next to the header."""
    samples = []
    for position in range(len(headers)):
        value = next((row[position].strip() for row in rows if position < len(row) and row[position].strip()), "")
        samples.append(value if len(value) <= max_length else value[: max_length - 1] + "…")
    return samples
