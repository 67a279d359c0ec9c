"""The meeting suggestions page of an event in the admin, and its CSV for the matchmaking tool.

The suggestions and their rules are events.meeting_suggestions (docs/meeting-suggestions.md);
the page shows the most valuable ones, the CSV all of them.
"""

import csv

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Contact
from contacts.resources import escape_formula
from events.choices import EventStatus
from events.exceptions import EventClosed
from events.meeting_suggestions import (
    OPEN_STATUSES,
    PER_ATTENDEE_MAX,
    MeetingSuggestion,
    default_per_attendee,
    meeting_suggestions,
)
from events.models import Event

TEMPLATE = "admin/events/event/meeting_suggestions.html"
SHOWN = 200  # rows on the page; the CSV has every suggestion
# The page names contacts and the CSV their e-mails: it needs seeing events and contacts.
CONTACT_PERMISSION = "contacts.view_contact"
CSV_COLUMNS = [
    "contact_id", "contact_name", "contact_email", "contact_organization",
    "counterpart_id", "counterpart_name", "counterpart_email", "counterpart_organization",
    "value", "reasons", "reason",
]


class PerAttendeeForm(forms.Form):
    per_attendee = forms.IntegerField(
        label=gettext_lazy("Suggestions per attendee"), min_value=1, max_value=PER_ATTENDEE_MAX, required=False,
    )


def may_view(model_admin, request, event: Event) -> bool:
    return model_admin.has_view_permission(request, event) and request.user.has_perm(CONTACT_PERMISSION)


def offered(model_admin, request, event: Event) -> bool:
    """The event page links to the suggestions: a planned or live event, for those who may see them."""
    return event.status in OPEN_STATUSES and may_view(model_admin, request, event)


def meeting_suggestions_view(model_admin, request, event: Event, *, as_csv: bool = False) -> HttpResponse:
    """GET: the suggestions as a table (the SHOWN most valuable) or, with `as_csv`, all as CSV.
    `?per_attendee=` (1–50) overrides the setting's number per attendee."""
    if not may_view(model_admin, request, event):
        raise PermissionDenied
    form = PerAttendeeForm(request.GET or None)
    per_attendee = (form.is_valid() and form.cleaned_data["per_attendee"]) or default_per_attendee()
    change_url = reverse("admin:events_event_change", args=[event.pk])
    try:
        suggestions = meeting_suggestions(event, per_attendee=per_attendee)
    except EventClosed:
        model_admin.message_user(request, _(
            "Meeting suggestions are made for planned and live events; %(event)s is %(status)s."
        ) % {"event": event, "status": EventStatus(event.status).label.lower()}, messages.ERROR)
        return HttpResponseRedirect(change_url)
    if as_csv:
        return _csv_response(event, suggestions)
    admin_site = model_admin.admin_site
    request.current_app = admin_site.name
    csv_url = reverse("admin:events_event_meeting_suggestions_csv", args=[event.pk]) + f"?per_attendee={per_attendee}"
    context = {
        **admin_site.each_context(request),
        "opts": Event._meta,
        "contact_opts": Contact._meta,
        "original": event,
        "title": _("Meeting suggestions: %(event)s") % {"event": event},
        "form": form if form.is_bound else PerAttendeeForm(initial={"per_attendee": per_attendee}),
        "per_attendee": per_attendee,
        "suggestions": suggestions[:SHOWN],
        "count": len(suggestions),
        "change_url": change_url,
        "csv_url": csv_url,
    }
    return TemplateResponse(request, TEMPLATE, context)


def _csv_response(event: Event, suggestions: list[MeetingSuggestion]) -> HttpResponse:
    """One row per pair; every text cell spreadsheet-safe (contacts.resources.escape_formula)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-suggestions-event-{event.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for suggestion in suggestions:
        a, b = suggestion.attendee_a, suggestion.attendee_b
        writer.writerow([
            a.contact_id, escape_formula(a.name), escape_formula(a.email), escape_formula(a.organization or ""),
            b.contact_id, escape_formula(b.name), escape_formula(b.email), escape_formula(b.organization or ""),
            f"{suggestion.value:g}", " ".join(suggestion.reasons), escape_formula(suggestion.reason),
        ])
    return response
