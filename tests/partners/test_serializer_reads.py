"""PartnerModelSerializer builds its output in one pass (partners/serializers.py): it must equal
DRF's own field-by-field output for every resource, list and detail, with the demo's data."""

from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from contacts.models import Contact, FollowUp, Organization, Referral
from contacts.services import erase_contact
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from partners.models import PartnerAPIKey
from partners.serializers import PartnerModelSerializer, moment_text
from scoring.models import ContactScore, EventMetrics, ScoreSnapshot

RESOURCES = {
    "organizations": Organization, "contacts": Contact, "follow-ups": FollowUp, "referrals": Referral,
    "series": EventSeries, "events": Event, "attendances": Attendance, "interactions": Interaction,
    "feedback": Feedback, "scores": ContactScore,
}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo agency, loaded once for the module's read-only tests, in a transaction rolled back
    after them (each test's own transaction is a savepoint inside it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", "--contacts", "40", "-v", "0")
        erase_contact(Contact.objects.filter(score__isnull=False).order_by("pk").first())
        yield PartnerAPIKey.objects.create_key(name="reads", can_read=True, can_write=False)[1]
        transaction.set_rollback(True)


def drf_output(client: APIClient, url: str):
    """The response as DRF's own Serializer.to_representation builds it."""
    with mock.patch.object(PartnerModelSerializer, "to_representation", serializers.ModelSerializer.to_representation):
        return get_json(client, url)


def get_json(client: APIClient, url: str):
    response = client.get(url, {"page_size": 500} if "?" not in url else None)
    assert response.status_code == 200, response.content[:300]
    return response.json()


@pytest.fixture
def client(demo, db) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {demo}")
    return client


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_lists_and_details_equal_drfs_output(client, resource):
    assert RESOURCES[resource].objects.exists()
    url = f"/api/v1/{resource}/"
    page = get_json(client, url)

    assert page["results"]
    assert page == drf_output(client, url)
    pk = page["results"][0].get("id") or page["results"][0].get("contact")
    assert get_json(client, f"{url}{pk}/") == drf_output(client, f"{url}{pk}/")


@pytest.mark.parametrize("url", [
    "/api/v1/contacts/?ordering=-score", "/api/v1/contacts/?ordering=last_attended_at", "/api/v1/contacts/?stage=growth",
])
def test_ordered_and_filtered_pages_equal_drfs_output(client, url):
    assert get_json(client, url) == drf_output(client, url)


def test_nested_score_history_and_metrics_equal_drfs_output(client):
    contact = ScoreSnapshot.objects.values_list("contact_id", flat=True).first()
    event = EventMetrics.objects.values_list("event_id", flat=True).first()
    for url in (f"/api/v1/contacts/{contact}/score-history/", f"/api/v1/contacts/{contact}/score/",
                f"/api/v1/events/{event}/metrics/"):
        assert get_json(client, url) == drf_output(client, url)


def test_erased_and_unscored_contacts_equal_drfs_output(client):
    erased = Contact.objects.filter(erased_at__isnull=False).get()
    unscored = Contact.objects.create(email="new@example.com", first_name="New")
    for contact in (erased, unscored):
        url = f"/api/v1/contacts/{contact.pk}/"
        assert get_json(client, url) == drf_output(client, url)
    assert get_json(client, f"/api/v1/contacts/{erased.pk}/")["email"] is None


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "America/St_Johns"])
def test_moments_read_as_drfs_datetime_field_shows_them(zone):
    field = serializers.DateTimeField()
    moment = timezone.now()
    with timezone.override(zone):
        assert moment_text(moment, timezone.get_current_timezone()) == field.to_representation(moment)


def test_instances_fresh_from_the_services_equal_drfs_output(demo, db):
    from contacts.api.serializers import ContactSerializer
    from contacts.services import create_contact
    from events.api.serializers import EventSerializer
    from events.services import create_event

    now = timezone.now()
    contact = create_contact(email=" Fresh@Example.com ", first_name="Fresh", tags=["vip"], cadence_days=30)
    event = create_event(name="Fresh Summit", starts_at=now, ends_at=now + timezone.timedelta(hours=3))
    for serializer_class, instance in ((ContactSerializer, contact), (EventSerializer, event)):
        fast = serializer_class(instance).data
        with mock.patch.object(PartnerModelSerializer, "to_representation", serializers.ModelSerializer.to_representation):
            assert fast == serializer_class(instance).data


def test_fields_drf_leaves_out_are_left_out():
    class WithMissingSource(PartnerModelSerializer):
        nickname = serializers.CharField(source="profile.nickname", read_only=True)  # no such attribute

        class Meta:
            model = Organization
            fields = ["id", "name", "nickname"]

    organization = Organization(pk=7, name="Acme")
    fast = WithMissingSource(organization).data
    with mock.patch.object(PartnerModelSerializer, "to_representation", serializers.ModelSerializer.to_representation):
        assert fast == WithMissingSource(organization).data == {"id": 7, "name": "Acme"}


def test_the_base_serializer_describes_no_resource_in_the_schema(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    described = {name: part.get("description", "") for name, part in schema["components"]["schemas"].items()}
    assert not [name for name, text in described.items() if "DRF" in text or "tests/" in text]


def test_validated_data_reads_as_drf_reads_it():
    from events.api.serializers import SeriesSerializer

    serializer = SeriesSerializer(data={"name": "Summit"})
    assert serializer.is_valid(), serializer.errors

    assert serializer.data["name"] == "Summit"
