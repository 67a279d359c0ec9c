"""The admin pages of attendee imports (events.imports): the upload form, and one page per
import that follows it from the preview (with its column mapping) to the result.

An upload returns at once with the import's page; while a task reads or imports the file, the
page shows its progress and reloads itself (static/admin-ror/reload-while-running.js), and a
Cancel button stops it. With Celery eager (the embedded default) the work has run by the time
the page shows.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events import imports
from events.choices import ImportStatus
from events.import_mapping import ColumnMappingForm, Suggestion, column_samples, mapping_errors, remember_mapping
from events.models import Attendance, AttendeeImport, Event
from scoring.formatting import localized

IMPORT_PERMISSIONS = ("events.add_attendance", "events.change_attendance")
RELOAD_SECONDS = 2


def can_import(user) -> bool:
    return user.has_perms(IMPORT_PERMISSIONS)


def _check_permission(request) -> None:
    if not can_import(request.user):
        raise PermissionDenied


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


def import_url(attendee_import: AttendeeImport) -> str:
    return reverse("admin:events_attendeeimport_change", args=[attendee_import.pk])


def import_attendees_view(model_admin, request, event: Event | None = None):
    """The upload form; a readable file becomes an import, previewed in the background."""
    _check_permission(request)
    admin_site = model_admin.admin_site
    form = AttendeeImportForm(request.POST or None, request.FILES or None, event=event, admin_site=admin_site)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            attendee_import = imports.create_import(
                event or form.cleaned_data["event"], request.user, upload.name, upload.read(),
                form.cleaned_data["source"],
            )
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return HttpResponseRedirect(import_url(attendee_import))
    context = {
        **admin_site.each_context(request),
        "opts": Attendance._meta,
        "event_opts": Event._meta,
        "fixed_event": event,
        "title": _("Import attendees") + (f": {event}" if event else ""),
        "max_rows": localized(imports.import_max_rows()),
        "max_mb": settings.IMPORT_MAX_MB,
        "form": form,
        "media": model_admin.media + form.media,
    }
    request.current_app = admin_site.name
    return TemplateResponse(request, "admin/events/attendee_import.html", context)


def import_page_view(model_admin, request, attendee_import: AttendeeImport):
    """The import's page: progress, the preview with its mapping, or the result. POST: cancel,
    change the mapping (previews again), or import."""
    _check_permission(request)
    mapping_form = None
    if request.method == "POST":
        if "cancel" in request.POST:
            if imports.cancel_import(attendee_import):
                messages.warning(request, _("The import was cancelled."))
            return HttpResponseRedirect(request.get_full_path())
        if attendee_import.status != ImportStatus.READY:
            messages.error(request, _("This import has moved on meanwhile; see its state below."))
            return HttpResponseRedirect(request.get_full_path())
        response, mapping_form = _preview_or_import(request, attendee_import)
        if response is not None:
            return response
    return _page(model_admin, request, attendee_import, mapping_form)


def _preview_or_import(request, attendee_import: AttendeeImport):
    """A POST from the preview: import ("confirm", or no mapping posted), or preview the posted
    mapping. (response, None), or (None, the mapping form with its errors)."""
    posted_mapping = "preset" in request.POST or "remap" in request.POST
    if not posted_mapping:
        return _import(request, attendee_import, attendee_import.preset), None
    mapping_form = _mapping_form(attendee_import, request.POST)
    if not mapping_form.is_valid():
        return None, mapping_form
    chosen = mapping_form.suggestion(attendee_import.first_rows)
    if "remap" not in request.POST and chosen.mapping == attendee_import.mapping:
        return _import(request, attendee_import, chosen.preset), None
    if mapping_errors(chosen.mapping):  # another preset that finds no e-mail column
        return None, ColumnMappingForm.for_suggestion(
            attendee_import.headers, chosen, samples=column_samples(attendee_import.headers, attendee_import.first_rows))
    if "remap" not in request.POST:
        messages.warning(request, _("The column mapping was changed: check the new preview, then import."))
    imports.preview_again(attendee_import, chosen.preset, chosen.mapping)
    return HttpResponseRedirect(request.get_full_path()), None


def _import(request, attendee_import: AttendeeImport, preset: str):
    headers, mapping = attendee_import.headers, attendee_import.mapping
    if imports.start_import(attendee_import):
        remember_mapping(request.user, headers, preset, mapping)
    else:
        messages.error(request, _("This import has moved on meanwhile; see its state below."))
    return HttpResponseRedirect(request.get_full_path())


def _mapping_form(attendee_import: AttendeeImport, data=None) -> ColumnMappingForm:
    samples = column_samples(attendee_import.headers, attendee_import.first_rows)
    if data is not None:
        return ColumnMappingForm(attendee_import.headers, data, samples=samples, shown_preset=attendee_import.preset)
    return ColumnMappingForm.for_suggestion(
        attendee_import.headers, Suggestion(attendee_import.preset, attendee_import.mapping), samples=samples)


def _page(model_admin, request, attendee_import: AttendeeImport, mapping_form: ColumnMappingForm | None):
    admin_site = model_admin.admin_site
    preview = imports.Preview.from_json(attendee_import.preview) if attendee_import.preview else None
    status = attendee_import.status
    context = {
        **admin_site.each_context(request),
        "opts": AttendeeImport._meta,
        "title": _("Import attendees: %(filename)s") % {"filename": attendee_import.filename},
        "attendee_import": attendee_import,
        "event": attendee_import.event,
        "filename": attendee_import.filename,
        "description": imports.description_text(attendee_import.description),
        "preview": preview,
        # Columns and row errors by their labels ("First name", "Vorname"), not their field names.
        "columns": [imports.field_label(name) for name in preview.columns] if preview else [],
        "shown_rows": [
            (row, {imports.field_label(name): errors for name, errors in row.errors.items()})
            for row in (preview.rows if preview else [])
        ],
        "error_rows": [
            (line, {imports.field_label(name): messages for name, messages in errors.items()})
            for line, errors in attendee_import.errors
        ],
        "preview_max_rows": localized(imports.PREVIEW_MAX_ROWS),
        "kept_error_rows": imports.KEPT_ERROR_ROWS,
        "remembered": attendee_import.remembered,
        "mapping_form": (mapping_form or _mapping_form(attendee_import)) if status == ImportStatus.READY else None,
        "reload_seconds": RELOAD_SECONDS if attendee_import.running else None,
        "upload_url": reverse("admin:events_event_import_attendees", args=[attendee_import.event_id]),
        "statuses": ImportStatus,
    }
    request.current_app = admin_site.name
    return TemplateResponse(request, "admin/events/attendee_import_page.html", context)
