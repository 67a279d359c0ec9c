"""The partner API and contact fatigue: planning a follow-up for a contact the agency reached out
to often enough lately is a 409 `contact_fatigue` unless the body says `"override": true`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import FollowUp

pytestmark = pytest.mark.django_db

URL = "/api/v1/follow-ups/"


@pytest.fixture
def tired(anna):
    """Anna had three agency follow-ups this week: the 7-day cap of 3."""
    FollowUp.objects.bulk_create(
        FollowUp(contact=anna, status=FollowUpStatus.DONE, completed_at=timezone.now() - timedelta(days=days))
        for days in (1, 2, 3)
    )
    return anna


def plan(contact, **extra) -> dict:
    due_at = (timezone.now() + timedelta(days=2)).isoformat()
    return {"contact": contact.pk, "status": "planned", "due_at": due_at, "channel": "phone", **extra}


def test_planning_for_a_fatigued_contact_is_a_409_with_its_code(write_client, tired):
    response = write_client.post(URL, plan(tired), format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "contact_fatigue"
    assert "3 agency touches in the last 7 days" in body["detail"]
    assert "(cap 3)" in body["detail"]
    assert not FollowUp.objects.filter(contact=tired, status=FollowUpStatus.PLANNED).exists()


def test_override_plans_it_anyway(write_client, tired):
    response = write_client.post(URL, plan(tired, override=True), format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "planned"
    assert "override" not in response.json()  # write-only
    assert FollowUp.objects.filter(contact=tired, status=FollowUpStatus.PLANNED).count() == 1


def test_a_done_follow_up_is_never_refused(write_client, tired):
    response = write_client.post(URL, {"contact": tired.pk, "status": "done", "outcome": "positive"}, format="json")

    assert response.status_code == 201


def test_a_contact_below_the_caps_gets_its_follow_up(write_client, anna):
    assert write_client.post(URL, plan(anna), format="json").status_code == 201


def test_making_a_follow_up_planned_again_is_checked_too(write_client, tired):
    cancelled = FollowUp.objects.create(contact=tired, status=FollowUpStatus.CANCELLED)

    refused = write_client.patch(f"{URL}{cancelled.pk}/", {"status": "planned"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "contact_fatigue"
    accepted = write_client.patch(f"{URL}{cancelled.pk}/", {"status": "planned", "override": True}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "planned"


def test_override_is_a_json_boolean(write_client, tired):
    response = write_client.post(URL, plan(tired, override="yes"), format="json")

    assert response.status_code == 400
    assert "override" in response.json()


def test_the_schema_documents_override_and_the_409(read_client):
    schema = read_client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    override = components["FollowUpRequest"]["properties"]["override"]
    assert override["type"] == "boolean"
    assert override["default"] is False
    assert override["writeOnly"] is True
    assert "contact_fatigue" in override["description"]
    assert "override" not in components["FollowUp"]["properties"]
    conflict = schema["paths"][URL]["post"]["responses"]["409"]["content"]["application/json"]
    [example] = conflict["examples"].values()
    assert example["value"]["code"] == "contact_fatigue"
    assert "contact_fatigue" in schema["paths"][URL]["post"]["description"]
