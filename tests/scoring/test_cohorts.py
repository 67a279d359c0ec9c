"""Cohort retention per series (scoring.services.cohorts) and GET /api/v1/reports/cohorts/.

The figures are worked out by hand in tests/scoring/cohort_history.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from contacts.models import Contact
from events.models import EventSeries
from partners.models import PartnerAPIKey
from scoring.services.cohorts import cohort_matrix
from scoring.services.event_metrics import compute_event_metrics
from tests.scoring.cohort_history import roadshow
from tests.scoring.validity_history import attend, completed_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/cohorts/"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def cells(cohort) -> list[tuple[int, int, float | None]]:
    return [(cell.event_id, cell.count, cell.share) for cell in cohort.cells]


def test_the_hand_computed_matrix_of_three_editions():
    history = roadshow()
    first, second, third = history.editions

    matrix = cohort_matrix(history.series.pk, as_of=NOW)

    assert (matrix.series_id, matrix.series_name, matrix.as_of) == (history.series.pk, "CX Roadshow", NOW)
    # The cancelled event and the planned fourth edition are no editions; the dinner is no edition.
    assert [edition.event_id for edition in matrix.editions] == [first.pk, second.pk, third.pk]
    assert [edition.attended for edition in matrix.editions] == [4, 5, 5]
    assert [edition.new for edition in matrix.editions] == [4, 3, 1]
    assert [(cohort.event_id, cohort.size) for cohort in matrix.cohorts] == [(first.pk, 4), (second.pk, 3), (third.pk, 1)]
    assert cells(matrix.cohorts[0]) == [(second.pk, 2, 0.5), (third.pk, 3, 0.75)]
    assert cells(matrix.cohorts[1]) == [(third.pk, 1, 0.3333)]
    assert cells(matrix.cohorts[2]) == []
    assert matrix.contacts == 8
    assert matrix.has_data


def test_the_crr_line_beneath():
    history = roadshow()
    first, second, _third = history.editions

    editions = cohort_matrix(history.series.pk, as_of=NOW).editions

    assert [edition.previous_event_id for edition in editions] == [None, first.pk, second.pk]
    assert [edition.previous_attended for edition in editions] == [None, 4, 5]  # S
    assert [edition.not_at_previous for edition in editions] == [None, 3, 2]  # N
    assert [edition.retention_rate for edition in editions] == [None, 50.0, 60.0]  # ((E − N) / S) × 100


def test_erased_contacts_keep_counting():
    history = roadshow()
    assert Contact.objects.get(pk=history.people["V"].pk).erased_at is not None

    matrix = cohort_matrix(history.series.pk, as_of=NOW)

    assert matrix.cohorts[0].size == 4  # P, Q, S and the erased V


def test_an_edition_not_known_as_of_the_time_is_left_out():
    history = roadshow()
    first, second, third = history.editions

    before = cohort_matrix(history.series.pk, as_of=third.ends_at - timedelta(microseconds=1))
    at_its_end = cohort_matrix(history.series.pk, as_of=third.ends_at)

    assert [edition.event_id for edition in before.editions] == [first.pk, second.pk]
    assert [cohort.size for cohort in before.cohorts] == [4, 3]
    assert cells(before.cohorts[0]) == [(second.pk, 2, 0.5)]
    assert before.contacts == 7  # T came only to the third
    # Ended by T, though completed only an hour later: its attendance is known, as scoring counts it.
    assert [edition.event_id for edition in at_its_end.editions] == [first.pk, second.pk, third.pk]
    assert at_its_end.editions[2].retention_rate == 60.0
    assert cohort_matrix(history.series.pk, as_of=first.starts_at).editions == []


def test_an_edition_completed_early_is_known_from_its_completion():
    history = roadshow()
    third = history.editions[2]
    completed_at = third.starts_at + timedelta(hours=2)
    type(third).objects.filter(pk=third.pk).update(ends_at=NOW + timedelta(days=1), completed_at=completed_at)

    matrix = cohort_matrix(history.series.pk, as_of=completed_at)

    assert [edition.event_id for edition in matrix.editions][-1] == third.pk


def test_the_crr_agrees_with_the_stored_event_metrics():
    history = roadshow()

    matrix = cohort_matrix(history.series.pk, as_of=NOW)

    for edition in history.editions:
        stored = compute_event_metrics(edition.pk, as_of=NOW).series_retention_rate
        computed = next(row for row in matrix.editions if row.event_id == edition.pk).retention_rate
        assert computed == stored, edition.name


def test_the_crr_compares_with_the_latest_completed_edition_as_the_stored_metrics_do():
    """B ended but was never completed: it is a column (its attendance is known), but the CRR of
    C compares with A, the latest completed edition before C, as the event's metrics do."""
    series = EventSeries.objects.create(name="Breakfast club")
    a = completed_event("Breakfast A", datetime(2025, 3, 1, 8, 0, tzinfo=UTC), series=series)
    b = completed_event("Breakfast B", datetime(2025, 4, 1, 8, 0, tzinfo=UTC), series=series)
    type(b).objects.filter(pk=b.pk).update(status="live", completed_at=None)
    c = completed_event("Breakfast C", datetime(2025, 5, 1, 8, 0, tzinfo=UTC), series=series)
    one, two, three = (Contact.objects.create(email=f"{n}@breakfast.example") for n in ("one", "two", "three"))
    attend(a, one, two)
    attend(b, two, three)
    attend(c, one, three)

    editions = cohort_matrix(series.pk, as_of=NOW).editions

    assert [edition.event_id for edition in editions] == [a.pk, b.pk, c.pk]
    assert [edition.previous_event_id for edition in editions] == [None, a.pk, a.pk]
    # B: S = 2 (one, two), E = 2, N = 1 (three) → 50. C: S = 2, E = 2, N = 1 (three) → 50.
    assert [edition.retention_rate for edition in editions] == [None, 50.0, 50.0]
    assert editions[2].retention_rate == compute_event_metrics(c.pk, as_of=NOW).series_retention_rate


def test_a_series_without_known_editions():
    series = EventSeries.objects.create(name="Not yet")
    matrix = cohort_matrix(series.pk, as_of=NOW)
    assert (matrix.editions, matrix.cohorts, matrix.contacts, matrix.has_data) == ([], [], 0, False)


def test_an_unknown_series_raises():
    with pytest.raises(EventSeries.DoesNotExist):
        cohort_matrix(987654, as_of=NOW)


def test_a_fixed_number_of_queries_however_many_editions_and_contacts(django_assert_num_queries):
    small = roadshow("Small")
    big = roadshow("Big")
    last = big.editions[-1]
    people = Contact.objects.bulk_create(Contact(email=f"p{n}@big.example") for n in range(40))
    for number in range(3):
        edition = completed_event(f"Big {number + 5}", last.ends_at + timedelta(days=30 * (number + 1)), series=big.series)
        attend(edition, *people[number * 10:])

    # The series, its editions, and one aggregate over the attendances.
    with django_assert_num_queries(3):
        small_matrix = cohort_matrix(small.series.pk, as_of=NOW)
    with django_assert_num_queries(3):
        big_matrix = cohort_matrix(big.series.pk, as_of=NOW)

    assert len(small_matrix.editions) == 3
    assert len(big_matrix.editions) == 6
    assert [cohort.size for cohort in big_matrix.cohorts] == [4, 3, 1, 40, 0, 0]
    assert cells(big_matrix.cohorts[4]) == [(big_matrix.editions[5].event_id, 0, None)]  # an empty cohort
    assert [cell.count for cell in big_matrix.cohorts[3].cells] == [30, 20]
    assert big_matrix.editions[4].retention_rate == 75.0  # 30 of the 40 came back


# The API ----------------------------------------------------------------------------------


@pytest.fixture
def read_client() -> APIClient:
    cache.clear()  # the throttle counts live in the cache
    key = PartnerAPIKey.objects.create_key(name="BI tool", can_read=True, can_write=False)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_a_read_key_gets_the_matrix(read_client):
    history = roadshow()
    first, second, third = history.editions

    response = read_client.get(URL, {"series": history.series.pk, "as_of": "2026-01-01T00:00:00Z"})

    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"series", "name", "as_of", "contacts", "editions", "cohorts"}
    assert (data["series"], data["name"], data["contacts"]) == (history.series.pk, "CX Roadshow", 8)
    assert [row["event"] for row in data["editions"]] == [first.pk, second.pk, third.pk]
    assert data["editions"][2] | {"starts_at": None} == {
        "event": third.pk, "name": "CX Roadshow 3", "starts_at": None, "status": "completed", "attended": 5,
        "new": 1, "previous_edition": second.pk, "previous_attended": 5, "not_at_previous": 2,
        "series_retention_rate": 60.0,
    }
    assert data["cohorts"][0]["size"] == 4
    assert data["cohorts"][0]["cells"] == [{"edition": second.pk, "count": 2, "share": 0.5},
                                           {"edition": third.pk, "count": 3, "share": 0.75}]
    assert data["cohorts"][1]["cells"] == [{"edition": third.pk, "count": 1, "share": 0.3333}]


def test_as_of_in_the_api(read_client):
    history = roadshow()
    as_of = history.editions[2].ends_at - timedelta(seconds=1)

    data = read_client.get(URL, {"series": history.series.pk, "as_of": as_of.isoformat()}).json()

    assert len(data["editions"]) == 2
    assert datetime.fromisoformat(data["as_of"]) == as_of


@pytest.mark.parametrize("query", [
    {}, {"series": ""}, {"series": "abc"}, {"series": "0"}, {"series": "987654"}, {"series": "99999999999999999999999"},
])
def test_a_missing_or_bad_series_is_a_400(read_client, query):
    response = read_client.get(URL, query)
    assert response.status_code == 400
    assert list(response.json()) == ["series"]


def test_an_unknown_series_says_so(read_client):
    assert read_client.get(URL, {"series": 987654}).json() == {"series": ["No series with id 987654."]}


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
                                   "1849-06-21T14:54:47+09:28"])  # answered with an offset in seconds before
def test_a_bad_as_of_is_a_400(read_client, value):
    series = EventSeries.objects.create(name="Any")
    response = read_client.get(URL, {"series": series.pk, "as_of": value})
    assert response.status_code == 400
    assert list(response.json()) == ["as_of"]


def test_who_may_read_it(staff_user):
    series = EventSeries.objects.create(name="Any")
    assert APIClient().get(URL, {"series": series.pk}).status_code == 401
    staff = APIClient()
    staff.force_login(staff_user)
    assert staff.get(URL, {"series": series.pk}).status_code == 200
    plain = User.objects.create_user("plain", "plain@agency.example", "pw", is_staff=True)
    client = APIClient()
    client.force_login(plain)
    assert client.get(URL, {"series": series.pk}).status_code == 403  # no view permission on event metrics


def test_the_schema_documents_it_with_an_example():
    client = APIClient()
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][URL]["get"]

    assert operation["summary"]
    assert "((E − N) / S) × 100" in operation["description"]
    assert "Example: `GET /api/v1/reports/cohorts/?series=" in operation["description"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {"series", "as_of"}
    assert parameters["series"]["required"] is True
    example = next(iter(operation["responses"]["200"]["content"]["application/json"]["examples"].values()))
    assert example["value"]["cohorts"][0]["cells"][0] == {"edition": 12, "count": 2, "share": 0.5}
    assert example["value"]["editions"][1]["series_retention_rate"] == 50.0
    for name in ("CohortMatrix", "CohortEdition", "Cohort", "CohortCell"):
        properties = schema["components"]["schemas"][name]["properties"]
        assert all(field.get("description") for field in properties.values()), name


# The admin page ---------------------------------------------------------------------------

PAGE = "/admin/ror/cohorts/"


@pytest.fixture
def staff_page(client, staff_user):
    client.force_login(staff_user)
    return client


def test_the_page_shows_the_heat_map_and_the_crr_line(staff_page):
    history = roadshow()
    second, third = history.editions[1:]

    response = staff_page.get(PAGE, {"series": history.series.pk})

    assert response.status_code == 200
    html = response.content.decode()
    rows = response.context["rows"]
    assert [row["size"] for row in rows] == ["4", "3", "1"]
    assert [(cell["share"], cell["bucket"], cell["count"]) for cell in rows[0]["cells"]] == [
        ("50 %", "5", 2), ("75 %", "8", 3),
    ]
    assert rows[1]["cells"][0] is None
    assert rows[1]["cells"][1]["bucket"] == "4"  # 33 %: the fourth shade
    assert rows[2]["cells"] == [None, None]
    assert 'class="ror-cell ror-heat-8" title="3 of 4 contacts came to CX Roadshow 3" data-count="3">75 %</td>' in html
    assert [point["rate"] for point in response.context["retention"]] == ["50.0 %", "60.0 %"]
    assert "3 of the 5 who attended CX Roadshow 2 came back" in response.context["retention"][1]["title"]
    assert f'data-event="{second.pk}"' in html
    assert f'data-event="{third.pk}"' in html
    assert 'style="' not in html.split('id="ror-cohorts-matrix"')[1].split("</table>")[0]  # shades are classes


def test_the_page_opens_on_the_first_series_by_name(staff_page):
    roadshow("Zeta tour")
    alpha = roadshow("Alpha tour")

    response = staff_page.get(PAGE)

    assert response.context["matrix"].series_id == alpha.series.pk


def test_an_unknown_series_on_the_page_is_a_form_error(staff_page):
    roadshow()
    response = staff_page.get(PAGE, {"series": "987654"})
    assert response.status_code == 200
    assert response.context["matrix"] is None
    assert "series" in response.context["form"].errors


def test_the_csv_has_counts_and_shares(staff_page):
    history = roadshow()
    first, second, third = history.editions

    response = staff_page.get(PAGE, {"series": history.series.pk, "format": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="cohorts-series-{history.series.pk}.csv"' in response["Content-Disposition"]
    lines = [line.split(",") for line in response.content.decode().splitlines()]
    assert lines[0][:9] == ["cohort_event_id", "cohort_edition", "cohort_starts_at", "cohort_size", "event_id",
                            "edition", "edition_starts_at", "count", "share"]
    picked = [(int(row[0]), int(row[4]), int(row[7]), row[8], row[13]) for row in lines[1:]]
    assert picked == [
        (first.pk, first.pk, 4, "1.0000", ""), (first.pk, second.pk, 2, "0.5000", "50.00"),
        (first.pk, third.pk, 3, "0.7500", "60.00"),
        (second.pk, second.pk, 3, "1.0000", "50.00"), (second.pk, third.pk, 1, "0.3333", "60.00"),
        (third.pk, third.pk, 1, "1.0000", "60.00"),
    ]


def test_the_page_needs_view_permission_on_event_metrics(client):
    plain = User.objects.create_user("plain", "plain@agency.example", "pw", is_staff=True)
    client.force_login(plain)
    assert client.get(PAGE).status_code == 403


def test_the_series_page_links_to_its_cohorts(staff_page):
    history = roadshow()
    response = staff_page.get(f"/admin/events/eventseries/{history.series.pk}/change/")
    assert f'href="/admin/ror/cohorts/?series={history.series.pk}"' in response.content.decode()
