"""The partner API's view of cadences and next best actions: fields, filters, orderings, schema."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from scoring.models import COMPONENTS, ContactScore

pytestmark = pytest.mark.django_db


def scored(email: str, *, score: float, due_in_days: float | None, action: str = "wait") -> Contact:
    """A contact with a stored score whose next touch is due in `due_in_days` (negative: overdue)."""
    contact = Contact.objects.create(email=email)
    now = timezone.now()
    ContactScore.objects.create(
        contact=contact, score=score, components=dict.fromkeys(COMPONENTS, 0.1), stage="growth", churn_risk="low",
        computed_at=now, profile_version=1, cadence_days=90, cadence_source="stage",
        next_touch_due=None if due_in_days is None else now + timedelta(days=due_in_days),
        next_action=action, next_action_reason="Because.", next_action_figures={"cadence_days": 90},
    )
    return contact


@pytest.fixture
def people(db):
    return {
        "overdue_low": scored("a@example.com", score=20, due_in_days=-40, action="check_in"),
        "overdue_high": scored("b@example.com", score=80, due_in_days=-3, action="re_engage"),
        "fine": scored("c@example.com", score=60, due_in_days=30, action="invite"),
        "blocked": scored("d@example.com", score=70, due_in_days=None, action="do_nothing"),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] if "id" in row else row["contact"] for row in response.json()["results"]]


def test_losing_touch_lists_who_is_past_their_cadence_most_valuable_first(read_client, people):
    response = read_client.get("/api/v1/contacts/?losing_touch=true")
    assert ids(response) == [people["overdue_high"].pk, people["overdue_low"].pk]
    assert set(ids(read_client.get("/api/v1/contacts/?losing_touch=false"))) == {people["fine"].pk, people["blocked"].pk}


def test_losing_touch_ordered_by_days_overdue(read_client, people):
    longest_first = ids(read_client.get("/api/v1/contacts/?losing_touch=true&ordering=-days_overdue"))
    assert longest_first == [people["overdue_low"].pk, people["overdue_high"].pk]
    shortest_first = ids(read_client.get("/api/v1/contacts/?losing_touch=true&ordering=days_overdue"))
    assert shortest_first == [people["overdue_high"].pk, people["overdue_low"].pk]


def test_scores_have_the_same_filters_and_the_figures(read_client, people):
    rows = read_client.get("/api/v1/scores/?losing_touch=true&ordering=-days_overdue").json()["results"]
    assert [row["contact"] for row in rows] == [people["overdue_low"].pk, people["overdue_high"].pk]
    first = rows[0]
    assert first["days_overdue"] == 40
    assert first["cadence_days"] == 90
    assert first["cadence_source"] == "stage"
    assert first["next_action"] == "check_in"
    assert first["next_action_reason"] == "Because."
    assert first["next_action_figures"] == {"cadence_days": 90}
    fine = read_client.get(f"/api/v1/scores/{people['fine'].pk}/").json()
    assert fine["days_overdue"] == 0
    blocked = read_client.get(f"/api/v1/scores/{people['blocked'].pk}/").json()
    assert blocked["days_overdue"] is None
    assert blocked["next_touch_due"] is None
    # every contact carries it in its score summary too (the issue: "each contact gets days_overdue")
    summaries = {row["id"]: row["score"] for row in read_client.get("/api/v1/contacts/").json()["results"]}
    assert summaries[people["overdue_low"].pk]["days_overdue"] == 40
    assert summaries[people["fine"].pk]["days_overdue"] == 0
    assert summaries[people["blocked"].pk]["days_overdue"] is None


def test_filter_by_next_action(read_client, people):
    assert ids(read_client.get("/api/v1/contacts/?next_action=invite")) == [people["fine"].pk]
    assert ids(read_client.get("/api/v1/scores/?next_action=re_engage")) == [people["overdue_high"].pk]
    contact = read_client.get(f"/api/v1/contacts/{people['fine'].pk}/").json()
    assert contact["score"]["next_action"] == "invite"
    assert contact["score"]["next_action_reason"] == "Because."


def test_bad_values_are_a_400_naming_the_parameter(read_client, people):
    response = read_client.get("/api/v1/contacts/?next_action=pray")
    assert response.status_code == 400
    assert "next_action" in response.json()
    response = read_client.get("/api/v1/contacts/?losing_touch=maybe")
    assert response.status_code == 400
    assert "losing_touch" in response.json()


def test_a_contacts_own_cadence_is_writable_and_checked(write_client, people):
    contact = people["fine"]
    response = write_client.patch(f"/api/v1/contacts/{contact.pk}/", {"cadence_days": 14}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["cadence_days"] == 14
    response = write_client.patch(f"/api/v1/contacts/{contact.pk}/", {"cadence_days": 0}, format="json")
    assert response.status_code == 400
    assert "cadence_days" in response.json()


def test_the_losing_touch_list_runs_a_fixed_number_of_queries(read_client, people):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert read_client.get("/api/v1/contacts/?losing_touch=true&page_size=500").status_code == 200
        return len(captured)

    few = count()
    for n in range(30):
        scored(f"more{n}@example.com", score=n, due_in_days=-n - 1)
    assert count() == few


def test_the_schema_documents_the_filters(read_client):
    schema = read_client.get("/api/schema/?format=json").json()
    parameters = {parameter["name"]: parameter for parameter in schema["paths"]["/api/v1/contacts/"]["get"]["parameters"]}
    assert "cadence" in parameters["losing_touch"]["description"]
    assert "invite" in parameters["next_action"]["schema"]["enum"]
    assert [example["value"] for example in parameters["losing_touch"]["examples"].values()] == [True, False]
    assert "invite" in [example["value"] for example in parameters["next_action"]["examples"].values()]
    assert "-days_overdue" in parameters["ordering"]["schema"]["enum"]
    score_fields = schema["components"]["schemas"]["ContactScore"]["properties"]
    assert "call_now" in score_fields["next_action"]["description"]
