"""CSV/XLSX exports of contacts (django-import-export), safe to open in a spreadsheet."""

import re

from import_export import fields, resources, widgets

from contacts.models import Contact

# A cell starting with one of these is read as a formula by Excel, LibreOffice and
# Google Sheets (CSV injection, OWASP); tab and carriage return hide such a start.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    """Prefix a text cell that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


# A phone number ("+49 30 1234-56"): in a workbook's typed text cell it runs nothing, and a quote
# before it would show. (A CSV cell is parsed by the spreadsheet, so there it keeps its quote.)
PLAIN_NUMBER_TEXT = re.compile(r"[+-][\d\s()./-]*")


class SpreadsheetSafeResource(resources.ModelResource):
    """Every exported text cell goes through escape_formula(); numbers and dates stay typed."""

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if kwargs.get("force_native_type") and isinstance(value, str) and PLAIN_NUMBER_TEXT.fullmatch(value):
            return value  # a workbook (typed cells)
        return escape_formula(value)


class ContactResource(SpreadsheetSafeResource):
    organization = fields.Field(attribute="organization__name", column_name="organization")
    owner = fields.Field(attribute="owner__username", column_name="owner")
    tags = fields.Field(column_name="tags")
    # Numbers in a workbook's number cells (the default widget writes text); in a CSV as Python writes
    # them (23.5), whatever the admin's language.
    score = fields.Field(attribute="score__score", column_name="score",
                         widget=widgets.FloatWidget(coerce_to_string=False))
    stage = fields.Field(attribute="score__stage", column_name="stage")
    churn_risk = fields.Field(attribute="score__churn_risk", column_name="churn_risk")
    events_attended = fields.Field(attribute="score__events_attended", column_name="events_attended",
                                   widget=widgets.IntegerWidget(coerce_to_string=False))
    last_touch_at = fields.Field(
        attribute="score__last_touch_at", column_name="last_touch_at", widget=widgets.DateTimeWidget()
    )

    class Meta:
        model = Contact
        fields = (
            "id", "email", "first_name", "last_name", "organization", "job_title", "phone", "owner", "tags",
            "marketing_consent", "marketing_consent_at", "marketing_consent_source", "do_not_contact", "erased_at",
            "score", "stage", "churn_risk", "events_attended", "last_touch_at", "created_at",
        )
        export_order = fields

    def dehydrate_tags(self, contact: Contact) -> str:
        return ", ".join(contact.tags or [])
