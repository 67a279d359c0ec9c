from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.services import create_contact
from events.services import create_event
from partners.models import PartnerAPIKey


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()  # throttling counts live in the cache


@pytest.fixture
def read_key(db) -> str:
    return PartnerAPIKey.objects.create_key(name="Survey tool", can_read=True, can_write=False)[1]


@pytest.fixture
def write_key(db) -> str:
    return PartnerAPIKey.objects.create_key(name="Ticketing", can_read=True, can_write=True)[1]


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def read_client(read_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {read_key}")
    return client


@pytest.fixture
def write_client(write_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {write_key}")
    return client


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    client = APIClient()
    client.force_login(staff_user)
    return client


@pytest.fixture
def event(db):
    now = timezone.now()
    return create_event(name="Hamburg Summit", starts_at=now - timedelta(hours=8), ends_at=now - timedelta(hours=1))


@pytest.fixture
def anna(db):
    return create_contact(email="anna@example.com", first_name="Anna", last_name="Müller", tags=["vip", "speaker"])
