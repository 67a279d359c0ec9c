"""Cursor pages of orderings on a contact's score (KeysetCursorPagination): the same order as the
COALESCE sort keys (no score as the lowest, no next touch due as the highest, id tiebreak),
forwards and backwards, with ties across page ends; a fixed number of queries per page; and on
PostgreSQL every page, the deep ones too, read from an index without sorting the matching set."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from scoring.models import ContactScore

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
COMPONENTS = ("attendance", "care", "networking", "dialogue", "advocacy", "recency")
LOW_SCORE, EARLY, LATE = -1.0, datetime(1900, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)


@pytest.fixture
def contacts(db) -> list[Contact]:
    """17 contacts: scores with ties (so page ends fall inside a tie), some never attended, some
    with no next touch due, and three without any score."""
    people = Contact.objects.bulk_create([Contact(email=f"k{index}@example.com") for index in range(17)])
    for index, person in enumerate(people[:14]):
        ContactScore.objects.create(
            contact=person, score=[40.0, 55.5, 55.5, 70.0, 12.0][index % 5], components=dict.fromkeys(COMPONENTS, 0.1),
            stage="growth" if index % 2 else "maturity", churn_risk="low", computed_at=NOW, profile_version=1,
            last_attended_at=None if index % 4 == 0 else NOW - timedelta(days=index % 3),
            next_touch_due=None if index % 3 == 0 else NOW + timedelta(days=index % 2),
        )
    return people


def expected(ordering: str, **filters) -> list[int]:
    """The order the COALESCE keys give, computed in Python."""
    rows = []
    for person in Contact.objects.filter(**filters).select_related("score"):
        score = getattr(person, "score", None)
        keys = {
            "score": score.score if score else LOW_SCORE,
            "last_attended_at": (score.last_attended_at if score else None) or EARLY,
            # more days overdue = an earlier next touch due
            "days_overdue": (score.next_touch_due if score else None) or LATE,
        }
        rows.append((keys[ordering.removeprefix("-")], person.pk))
    descending = ordering.startswith("-") != (ordering.removeprefix("-") == "days_overdue")
    return [pk for _, pk in sorted(rows, reverse=descending)]


def walk(client, url: str, key: str = "id") -> tuple[list[int], list[str]]:
    """Every page forwards; returns the ids and the pages' `previous` links."""
    ids, previous = [], []
    while url:
        assert len(previous) < 100, f"still paging at {url}"
        page = client.get(url).json()
        ids += [row[key] for row in page["results"]]
        previous.append(page["previous"])
        url = page["next"]
    return ids, previous


@pytest.mark.parametrize("ordering", ["score", "-score", "last_attended_at", "-last_attended_at",
                                      "days_overdue", "-days_overdue"])
def test_pages_follow_the_sort_keys_forwards_and_backwards(read_client, contacts, ordering):
    ids, previous = walk(read_client, f"/api/v1/contacts/?ordering={ordering}&page_size=4")
    assert ids == expected(ordering)
    assert previous[0] is None
    assert all(previous[1:])

    # backwards from the last page: the same pages in reverse
    last = read_client.get(f"/api/v1/contacts/?ordering={ordering}&page_size=4")
    while last.json()["next"]:
        last = read_client.get(last.json()["next"])
    back, url = [], last.json()["previous"]
    while url:
        page = read_client.get(url).json()
        back = [row["id"] for row in page["results"]] + back
        url = page["previous"]
    assert back + [row["id"] for row in last.json()["results"]] == ids


@pytest.mark.parametrize("ordering", ["score", "last_attended_at", "created_at"])
def test_a_plus_prefix_orders_ascending_as_no_prefix(read_client, contacts, ordering):
    plus, _ = walk(read_client, f"/api/v1/contacts/?ordering=%2B{ordering}&page_size=4")
    plain, _ = walk(read_client, f"/api/v1/contacts/?ordering={ordering}&page_size=4")
    assert plus == plain
    assert len(plus) == Contact.objects.count()


def test_filters_and_the_scores_list_page_the_same_way(read_client, contacts):
    ids, _ = walk(read_client, "/api/v1/contacts/?ordering=-score&stage=maturity&page_size=2")
    assert ids == expected("-score", score__stage="maturity")
    scores, _ = walk(read_client, "/api/v1/scores/?ordering=-days_overdue&page_size=3", key="contact")
    assert scores == [pk for pk in expected("-days_overdue") if ContactScore.objects.filter(pk=pk).exists()]


@pytest.mark.parametrize("url", [
    "/api/v1/scores/?ordering=score", "/api/v1/scores/?ordering=-score", "/api/v1/scores/?losing_touch=true",
    "/api/v1/contacts/?ordering=created_at", "/api/v1/contacts/?ordering=-created_at",
])
def test_more_than_a_thousand_equal_keys_are_paged_through_once_each(read_client, url):
    """DRF's cursor pages ties by an offset that stops at 1,000: its `next` then pointed at the page
    itself (every no-show scores 0; a list imported at once shares its creation time)."""
    at = datetime(2026, 5, 1, tzinfo=UTC)
    people = Contact.objects.bulk_create(Contact(email=f"tie{index}@example.com", created_at=at) for index in range(1250))
    ContactScore.objects.bulk_create(
        ContactScore(contact=person, score=0.0, components=dict.fromkeys(COMPONENTS, 0.0), stage="at_risk",
                     churn_risk="high", computed_at=NOW, profile_version=1, next_touch_due=NOW - timedelta(days=1))
        for person in people)
    key = "contact" if "/scores/" in url else "id"

    ids, _ = walk(read_client, f"{url}&page_size=100", key=key)

    assert sorted(ids) == sorted(person.pk for person in people)
    assert ids == sorted(ids, reverse="-" in url or "losing_touch" in url)  # ties by id, in the key's direction


def test_a_page_is_a_fixed_number_of_queries(read_client, contacts):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert read_client.get(url).status_code == 200
        return len(captured)

    first = queries("/api/v1/contacts/?ordering=-score&page_size=3")
    deep = read_client.get("/api/v1/contacts/?ordering=-score&page_size=9").json()["next"]
    assert queries(deep.replace("page_size=9", "page_size=3")) <= first + 1  # + the no-score segment at the end
    Contact.objects.bulk_create([Contact(email=f"more{index}@example.com") for index in range(20)])
    assert queries("/api/v1/contacts/?ordering=-score&page_size=3") == first


@pytest.mark.parametrize(("ordering", "cursor"), [
    ("-score", "not-base64!"),
    ("-score", "cz01Jmk9MQ=="),  # s=5&i=1: no such segment
    ("-score", "cz0wJmk9eA=="),  # s=0&i=x
    ("-score", "cz0wJnY9Zjp4Jmk9MQ=="),  # s=0&v=f:x&i=1
    ("-score", "cz0wJnY9ZjpuYW4maT0x"),  # s=0&v=f:nan&i=1
    ("-score", "cz0wJnY9ZjoxJmk9OTk5OTk5OTk5OTk5OTk5OTk5OTk="),  # an id beyond 64 bits
    ("-score", "cz0wJnY9ZDoyMDIwLTAxLTAxVDAwOjAwOjAwKzAwOjAwJmk9MQ=="),  # a time for a score
    ("-last_attended_at", "cz0wJnY9ZjoxLjAmaT0x"),  # a number for a time
    ("-last_attended_at", "cz0wJnY9ZDoyMDIwLTAxLTAxVDAwOjAwOjAwJmk9MQ=="),  # a time without its zone
])
def test_a_made_up_cursor_is_a_400(read_client, contacts, ordering, cursor):
    answer = read_client.get(f"/api/v1/contacts/?ordering={ordering}&cursor={cursor}")
    assert answer.status_code == 400
    assert "cursor" in answer.json()


def plan_of(captured: CaptureQueriesContext, marker: str) -> str:
    """PostgreSQL's plan of the captured page query (a LIMIT) whose SQL holds `marker`, with
    sequential scans and sorts priced out: the question is whether an index can serve the query
    (a plan that cannot still scans and sorts), not which plan a few thousand test rows favour
    when the suite's earlier tests have left dead index entries behind (until autovacuum runs,
    at its own moment)."""
    page_query = next(query["sql"] for query in captured.captured_queries
                      if "LIMIT" in query["sql"] and marker in query["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + page_query)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans of PostgreSQL")
@pytest.mark.parametrize("ordering", ["-score", "score", "-last_attended_at", "-days_overdue"])
def test_on_postgresql_a_deep_page_is_read_from_an_index_without_sorting(read_client, contacts, ordering):
    more = Contact.objects.bulk_create([Contact(email=f"bulk{index}@example.com") for index in range(3000)])
    ContactScore.objects.bulk_create([
        ContactScore(contact=person, score=(index * 7) % 100, components={}, stage="growth", churn_risk="low",
                     computed_at=NOW, profile_version=1, last_attended_at=NOW - timedelta(hours=index),
                     next_touch_due=NOW + timedelta(hours=index % 50))
        for index, person in enumerate(more)
    ])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact; ANALYZE scoring_contactscore")
    deep = read_client.get(f"/api/v1/contacts/?ordering={ordering}&page_size=100")
    for _ in range(15):
        deep = read_client.get(deep.json()["next"])
    with CaptureQueriesContext(connection) as captured:
        assert read_client.get(deep.json()["next"]).status_code == 200
    plan = plan_of(captured, 'FROM "contacts_contact"')
    assert "Index Scan" in plan, plan
    assert "contact_score_" in plan, plan
    assert "Sort" not in plan, plan  # no sort of the whole matching set, not even an incremental one


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans of PostgreSQL")
def test_on_postgresql_the_contacts_without_a_score_come_from_the_never_scored_index(read_client, contacts):
    more = Contact.objects.bulk_create([Contact(email=f"scored{index}@example.com") for index in range(3000)])
    ContactScore.objects.bulk_create([
        ContactScore(contact=person, score=index % 100, components={}, stage="growth", churn_risk="low",
                     computed_at=NOW, profile_version=1)
        for index, person in enumerate(more)
    ])
    Contact.objects.filter(pk__in=[person.pk for person in more]).update(never_scored=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact; ANALYZE scoring_contactscore")
    with CaptureQueriesContext(connection) as captured:
        first = read_client.get("/api/v1/contacts/?ordering=score&page_size=5").json()["results"]
    # the three without a score first (the fixture's scores, written directly, left their flag set)
    assert [row["id"] for row in first] == expected("score")[:5]
    assert [row["score"] for row in first[:3]] == [None] * 3
    plan = plan_of(captured, "never_scored")  # (an anti-join over every contact could not use the index)
    assert "contact_never_scored_idx" in plan, plan
    assert "Seq Scan" not in plan, plan  # no anti-join over every contact
