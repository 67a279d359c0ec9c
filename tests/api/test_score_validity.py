"""GET /api/v1/reports/score-validity/: who may read it, its shape, and the series filter.

The figures themselves are worked out by hand in tests/scoring/test_validity.py.
"""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.scoring.validity_history import score_loses, six_contacts

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/score-validity/"
GROUP_FIELDS = {
    "series", "name", "editions", "contacts", "pairs", "returned", "return_rate", "score_auc", "baseline_auc",
    "component_auc", "score_beaten_by", "calibration",
}


def test_anonymous_requests_get_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_a_read_key_gets_the_report(read_client):
    history = six_contacts()

    response = read_client.get(URL)

    assert response.status_code == 200
    data = response.json()
    assert set(data) == {
        "overall", "series", "series_filter", "profile_version", "data_version", "computed_at", "from_cache", "has_data",
    }
    assert set(data["overall"]) == GROUP_FIELDS
    assert data["has_data"] is True
    assert data["series_filter"] is None
    overall = data["overall"]
    assert (overall["series"], overall["name"], overall["pairs"], overall["returned"]) == (None, None, 6, 3)
    assert overall["score_auc"] == pytest.approx(6 / 9, abs=1e-4)
    assert overall["baseline_auc"] == {"days_since_last_attendance": pytest.approx(6 / 9, abs=1e-4),
                                       "editions_attended": 0.5}
    assert set(overall["component_auc"]) == {"attendance", "networking", "dialogue", "care", "advocacy", "recency"}
    assert set(overall["calibration"][0]) == {"decile", "pairs", "min_score", "max_score", "mean_score", "return_rate"}
    assert [(row["series"], row["name"]) for row in data["series"]] == [(history.series.pk, "Hamburg Summit")]
    assert read_client.get(URL).json()["from_cache"] is True


def test_the_series_filter(read_client):
    summit = six_contacts().series
    score_loses()

    everything = read_client.get(URL).json()
    only = read_client.get(URL, {"series": summit.pk}).json()

    assert [row["name"] for row in everything["series"]] == ["Hamburg Summit", "Partner Dinner"]
    assert everything["overall"]["pairs"] == 10
    assert only["series_filter"] == summit.pk
    assert [row["name"] for row in only["series"]] == ["Hamburg Summit"]
    assert only["overall"]["pairs"] == 6
    assert read_client.get(URL, {"series": ""}).json()["overall"]["pairs"] == 10  # empty: no filter


@pytest.mark.parametrize("value", ["999", "abc", "0", "99999999999999999999999"])
def test_a_bad_series_is_a_400(read_client, value):
    response = read_client.get(URL, {"series": value})
    assert response.status_code == 400
    assert "series" in response.json()


def test_a_loss_to_a_baseline_is_in_the_answer(read_client):
    score_loses()
    overall = read_client.get(URL).json()["overall"]
    assert overall["score_beaten_by"] == ["days_since_last_attendance", "editions_attended"]


def test_without_data_the_report_is_empty(read_client):
    data = read_client.get(URL).json()
    assert data["has_data"] is False
    assert data["series"] == []
    assert (data["overall"]["pairs"], data["overall"]["score_auc"], data["overall"]["calibration"]) == (0, None, [])


def test_staff_sessions_need_view_permission_on_scores(staff_client):
    assert staff_client.get(URL).status_code == 200
    plain = User.objects.create_user("plain", "plain@agency.example", "pw", is_staff=True)
    client = APIClient()
    client.force_login(plain)
    assert client.get(URL).status_code == 403
    plain.is_staff = False
    plain.save()
    assert client.get(URL).status_code == 403


def test_the_schema_documents_every_field(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/reports/score-validity/"]["get"]
    assert "Mann–Whitney" in operation["description"]
    assert [parameter["name"] for parameter in operation["parameters"]] == ["series"]
    for name in ("ScoreValidityReport", "ValidityGroup", "CalibrationGroup", "BaselineAUC", "ComponentAUC"):
        properties = schema["components"]["schemas"][name]["properties"]
        assert all(field.get("description") for field in properties.values()), name
