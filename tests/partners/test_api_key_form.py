"""The admin's partner API key form refuses keys that could never be used."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from partners.models import PartnerAPIKey

pytestmark = pytest.mark.django_db


def key_form(**fields) -> dict:
    return {"name": "Ticketing", "can_read": "on", **fields}


def test_a_key_without_scopes_or_expired_already_is_refused_at_its_field(admin_client):
    url = reverse("admin:partners_partnerapikey_add")
    no_scope = admin_client.post(url, {"name": "Ticketing"}).context["adminform"].form
    assert list(no_scope.errors) == ["can_read"]
    past = timezone.localtime() - timedelta(days=1)
    expired = admin_client.post(url, key_form(expiry_date_0=past.strftime("%Y-%m-%d"),
                                              expiry_date_1="09:00")).context["adminform"].form
    assert list(expired.errors) == ["expiry_date"]
    assert not PartnerAPIKey.objects.exists()

    assert admin_client.post(url, key_form()).status_code == 302
    key = PartnerAPIKey.objects.get()
    # an existing key may be ended by an expiry now or before
    change = reverse("admin:partners_partnerapikey_change", args=[key.pk])
    ended = admin_client.post(change, key_form(expiry_date_0=past.strftime("%Y-%m-%d"), expiry_date_1="09:00"))
    assert ended.status_code == 302
    assert PartnerAPIKey.objects.get().expiry_date is not None


@pytest.mark.parametrize(("language", "said"), [
    ("en", "The API key for Ticketing is: {key} Store it somewhere safe now: it cannot be shown again."),
    ("de", "Der API-Schlüssel für Ticketing lautet: {key} Bitte jetzt sicher aufbewahren: Er wird nie wieder angezeigt."),
])
def test_a_new_key_is_shown_once_in_the_admins_language_and_it_works(admin_client, client, language, said):
    response = admin_client.post(reverse("admin:partners_partnerapikey_add"), key_form(), follow=True,
                                 HTTP_ACCEPT_LANGUAGE=language)

    shown = [str(message) for message in get_messages(response.wsgi_request)]
    key = re.search(r"<code>([^<]+)</code>", shown[0]).group(1)
    assert shown[0] == said.format(key=f"<code>{key}</code>")
    assert client.get("/api/v1/contacts/", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200
    page = admin_client.get(reverse("admin:partners_partnerapikey_changelist"), HTTP_ACCEPT_LANGUAGE=language)
    assert ("Präfix" if language == "de" else "Prefix") in page.content.decode()
