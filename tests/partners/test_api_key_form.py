"""The admin's partner API key form refuses keys that could never be used."""

from datetime import timedelta

import pytest
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
