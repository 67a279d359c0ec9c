"""Driving the admin's attendee import in tests: upload → the import's page (preview) → import.

Celery runs eagerly in these tests, so the preview and the import have run by the time the
page shows; each helper follows the redirect to the import's page and returns that response.
"""

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from events.models import AttendeeImport, Event


def import_url(event: Event) -> str:
    return reverse("admin:events_event_import_attendees", args=[event.pk])


def page_url(response) -> str:
    return reverse("admin:events_attendeeimport_change", args=[response.context["attendee_import"].pk])


def upload(client, event: Event, content: bytes, name: str = "attendees.csv", **extra):
    """The upload; the import's page (its preview) when the file was taken, else the form with its errors."""
    return client.post(import_url(event), {"file": SimpleUploadedFile(name, content), **extra}, follow=True)


def confirm(client, event: Event | None, preview):
    """Import as previewed: the import's page with the result."""
    return client.post(page_url(preview), {"confirm": "1"}, follow=True)


def post_mapping(client, preview, button: str = "remap", preset: str | None = None, **changes: str):
    """Post the preview's mapping form back, with some columns (by header) changed."""
    form = preview.context["mapping_form"]
    data = {"preset": preset or form["preset"].value(), button: "1"}
    for position, header in enumerate(form.headers):
        data[f"column_{position}"] = changes.get(header, form[f"column_{position}"].value())
    return client.post(page_url(preview), data, follow=True)


def result_text(response) -> str:
    """The import's result as the page says it (counts, skipped and ignored rows), tags stripped."""
    body = response.content.decode()
    match = re.search(r'<div id="ror-import-result">(.*?)</div>', body, re.S)
    assert match, "the page shows no result"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def file_error(response) -> str:
    """The upload form's error about the file, or the failed import's reason."""
    assert response.status_code == 200
    if "form" in response.context and response.context["form"].errors.get("file"):
        return response.context["form"].errors["file"][0]
    attendee_import: AttendeeImport = response.context["attendee_import"]
    assert attendee_import.status == "failed", attendee_import.status
    return attendee_import.failure
