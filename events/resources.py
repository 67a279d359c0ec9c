"""CSV/XLSX exports of attendances; the columns re-import as an attendee list."""

from import_export import fields, widgets

from contacts.resources import SpreadsheetSafeResource
from events.models import Attendance


class AttendanceResource(SpreadsheetSafeResource):
    # The attendee-list columns first (events.forms.ATTENDEE_ROW_FIELDS), so an export can be
    # edited and imported again; the event columns after them.
    email = fields.Field(attribute="contact__email", column_name="email")
    first_name = fields.Field(attribute="contact__first_name", column_name="first_name")
    last_name = fields.Field(attribute="contact__last_name", column_name="last_name")
    organization = fields.Field(attribute="contact__organization__name", column_name="organization")
    job_title = fields.Field(attribute="contact__job_title", column_name="job_title")
    event = fields.Field(attribute="event__name", column_name="event")
    event_starts_at = fields.Field(attribute="event__starts_at", column_name="event_starts_at", widget=widgets.DateTimeWidget())
    series = fields.Field(attribute="event__series__name", column_name="series")

    class Meta:
        model = Attendance
        fields = (
            "email", "first_name", "last_name", "organization", "job_title", "role", "status", "checked_in_at",
            "external_id", "source", "registered_at", "event", "event_starts_at", "series",
        )
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        # One query for the whole file, not one per row and relation.
        return queryset.select_related("contact__organization", "event__series")
