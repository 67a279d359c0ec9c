"""GET follow-ups/missed/ and GET reports/follow-up-performance/ (docs/follow-up-deadlines.md).

The figures themselves are worked out by hand in tests/contacts/test_deadlines.py; these tests
check the contract: fields, filters, pages, 400s, a fixed number of queries, the schema.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event

pytestmark = pytest.mark.django_db

MISSED = "/api/v1/follow-ups/missed/"
REPORT = "/api/v1/reports/follow-up-performance/"


def rep(name: str) -> User:
    return User.objects.create_user(name, f"{name}@agency.example", "pw", first_name=name.title(), last_name="Rep")


def hot_leads_event(name: str = "Hot leads dinner", *, ended_ago: timedelta = timedelta(hours=3)) -> Event:
    """Ended `ended_ago`, with a 60-minute deadline."""
    ends_at = timezone.now() - ended_ago
    return Event.objects.create(name=name, starts_at=ends_at - timedelta(hours=3), ends_at=ends_at,
                                status=EventStatus.COMPLETED, completed_at=ends_at, follow_up_deadline_minutes=60)


def attendees(event: Event, owner: User, count: int, *, prefix: str = "p") -> list[Contact]:
    contacts = Contact.objects.bulk_create(
        Contact(email=f"{prefix}{event.pk}-{owner.pk}-{index}@client.example", first_name=f"P{index}", last_name="Muster",
                owner=owner)
        for index in range(count)
    )
    Attendance.objects.bulk_create(Attendance(event=event, contact=contact, status=AttendanceStatus.ATTENDED)
                                   for contact in contacts)
    return contacts


def follow_up(contact: Contact, event: Event, *, after: timedelta | None = None) -> FollowUp:
    """Done `after` the end of the event, or planned without `after`."""
    if after is None:
        return FollowUp.objects.create(contact=contact, event=event, owner=contact.owner, status=FollowUpStatus.PLANNED,
                                       due_at=timezone.now() + timedelta(days=1))
    return FollowUp.objects.create(contact=contact, event=event, owner=contact.owner, status=FollowUpStatus.DONE,
                                   completed_at=event.ends_at + after)


@pytest.fixture
def scene():
    """Rita: 3 attendees, one called in time, one late (missed, followed up since), one never (missed, open).
    Sam: 2 attendees, neither called; one has a follow-up planned."""
    rita, sam = rep("rita"), rep("sam")
    event = hot_leads_event()
    in_time, late, never = attendees(event, rita, 3)
    follow_up(in_time, event, after=timedelta(minutes=30))
    follow_up(late, event, after=timedelta(minutes=90))
    sam_first, sam_second = attendees(event, sam, 2)
    planned = follow_up(sam_second, event)
    return {"rita": rita, "sam": sam, "event": event, "never": never, "late": late,
            "sam_contacts": [sam_first, sam_second], "planned": planned}


class TestMissedDeadlines:
    def test_lists_the_attendees_still_waiting_with_their_deadline(self, read_client, scene):
        response = read_client.get(MISSED)

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        rows = {row["contact"]: row for row in body["results"]}
        assert set(rows) == {scene["never"].pk, scene["late"].pk, *(contact.pk for contact in scene["sam_contacts"])}
        row = rows[scene["never"].pk]
        event = scene["event"]
        assert set(row) == {"id", "event", "event_name", "contact", "contact_name", "owner", "ends_at", "deadline_at",
                            "hours_overdue", "followed_up_at", "planned_follow_up"}
        assert row["followed_up_at"] is None
        late = rows[scene["late"].pk]
        assert late["followed_up_at"] == (event.ends_at + timedelta(minutes=90)).astimezone(
            timezone.get_current_timezone()).isoformat()
        assert row["id"] == Attendance.objects.get(event=event, contact=scene["never"]).pk
        assert (row["event"], row["event_name"], row["owner"]) == (event.pk, "Hot leads dinner", scene["rita"].pk)
        assert row["contact_name"] == scene["never"].full_name
        assert row["hours_overdue"] == pytest.approx(2.0, abs=0.1)
        assert row["planned_follow_up"] is None
        assert rows[scene["sam_contacts"][1].pk]["planned_follow_up"] == scene["planned"].pk

    def test_filters_by_owner_and_event(self, read_client, scene):
        other = hot_leads_event("Roadshow", ended_ago=timedelta(days=2))
        attendees(other, scene["rita"], 2, prefix="r")

        by_sam = read_client.get(MISSED, {"owner": scene["sam"].pk}).json()["results"]
        by_event = read_client.get(MISSED, {"event": other.pk}).json()["results"]
        both = read_client.get(MISSED, {"owner": scene["rita"].pk, "event": scene["event"].pk}).json()["results"]

        assert [row["owner"] for row in by_sam] == [scene["sam"].pk] * 2
        assert [row["event"] for row in by_event] == [other.pk] * 2
        assert {row["contact"] for row in both} == {scene["never"].pk, scene["late"].pk}
        assert len(read_client.get(MISSED, {"owner": ""}).json()["results"]) == 6  # empty: no filter

    def test_open_keeps_the_actions_still_open_or_those_followed_up_late(self, read_client, scene):
        still_open = read_client.get(MISSED, {"open": "true"}).json()["results"]
        late = read_client.get(MISSED, {"open": "false"}).json()["results"]

        assert {row["contact"] for row in still_open} == {scene["never"].pk, *(c.pk for c in scene["sam_contacts"])}
        assert [row["contact"] for row in late] == [scene["late"].pk]
        assert len(read_client.get(MISSED, {"open": ""}).json()["results"]) == 4
        assert read_client.get(MISSED, {"open": "maybe"}).status_code == 400

    def test_updated_since_keeps_the_rows_new_or_changed_since_then(self, read_client, scene):
        event, never = scene["event"], scene["never"]
        long_ago = timezone.now() - timedelta(days=3)
        Attendance.objects.filter(event=event).update(updated_at=long_ago)
        Contact.objects.filter(attendances__event=event).update(updated_at=long_ago)
        FollowUp.objects.filter(event=event).update(updated_at=long_ago)
        since = {"updated_since": (timezone.now() - timedelta(hours=1)).isoformat()}
        # The deadline passed two hours ago: nothing is new within the last hour.
        assert read_client.get(MISSED, since).json()["results"] == []

        Contact.objects.filter(pk=never.pk).update(updated_at=timezone.now())
        FollowUp.objects.filter(pk=scene["planned"].pk).update(updated_at=timezone.now())
        rows = read_client.get(MISSED, since).json()["results"]
        assert {row["contact"] for row in rows} == {never.pk, scene["sam_contacts"][1].pk}
        earlier = {"updated_since": (timezone.now() - timedelta(hours=3)).isoformat()}  # before the deadline
        assert len(read_client.get(MISSED, earlier).json()["results"]) == 4
        refused = read_client.get(MISSED, {"updated_since": "2026-13-01"})
        assert refused.status_code == 400
        assert list(refused.json()) == ["updated_since"]

    def test_oldest_deadline_first_across_cursor_pages(self, read_client, scene):
        older = hot_leads_event("Older", ended_ago=timedelta(days=3))
        attendees(older, scene["sam"], 4, prefix="o")

        seen, url = [], f"{MISSED}?page_size=2"
        while url:
            page = read_client.get(url).json()
            assert len(page["results"]) <= 2
            seen += page["results"]
            url = page["next"]

        assert len(seen) == 8
        assert len({row["id"] for row in seen}) == 8
        assert [row["event_name"] for row in seen[:4]] == ["Older"] * 4
        assert [row["deadline_at"] for row in seen] == sorted(row["deadline_at"] for row in seen)

    def test_more_than_a_thousand_attendees_of_one_deadline_are_paged_through_once_each(self, read_client):
        event = hot_leads_event("Big one")
        waiting = attendees(event, rep("max"), 1250, prefix="b")

        seen, url = [], f"{MISSED}?page_size=100"
        while url:
            assert len(seen) <= len(waiting), "paging past the end"
            page = read_client.get(url).json()
            seen += [row["id"] for row in page["results"]]
            url = page["next"]

        assert sorted(seen) == sorted(Attendance.objects.filter(event=event).values_list("pk", flat=True))
        assert seen == sorted(seen)  # one deadline: by id

        back, url = [], page["previous"]  # from the last page back: the same rows, none skipped
        while url:
            previous = read_client.get(url).json()
            back = [row["id"] for row in previous["results"]] + back
            url = previous["previous"]
        assert back + [row["id"] for row in page["results"]] == seen

    @pytest.mark.parametrize(("query", "field"), [
        ({"owner": "abc"}, "owner"), ({"owner": "0"}, "owner"), ({"event": "1.5"}, "event"),
        ({"event": "99999999999999999999999"}, "event"), ({"page_size": "x"}, "page_size"), ({"cursor": "nope"}, "cursor"),
    ])
    def test_bad_input_is_a_400_naming_the_parameter(self, read_client, scene, query, field):
        response = read_client.get(MISSED, query)
        assert response.status_code == 400
        assert field in response.json()

    def test_a_fixed_number_of_queries_per_page(self, read_client, scene, django_assert_num_queries):
        # The API key, then one query for the page: attendances with contact, owner, organization
        # and event, the planned follow-up's id in a subquery.
        with django_assert_num_queries(2):
            assert len(read_client.get(MISSED, {"page_size": 500}).json()["results"]) == 4
        attendees(hot_leads_event("Big fair", ended_ago=timedelta(days=1)), scene["sam"], 60, prefix="b")
        with django_assert_num_queries(2):
            assert len(read_client.get(MISSED, {"page_size": 500}).json()["results"]) == 64

    def test_needs_a_key(self, api_client):
        assert api_client.get(MISSED).status_code == 401


class TestFollowUpPerformance:
    def test_per_rep_and_event_per_rep_and_overall(self, read_client, scene):
        response = read_client.get(REPORT)

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"overall", "owners", "rows", "default_deadline_minutes", "computed_at"}
        assert body["default_deadline_minutes"] == 2880
        assert body["overall"] == {"assigned": 5, "followed_up_in_time": 1, "in_time_share": 0.2,
                                   "median_hours_to_first_follow_up": 1.0, "missed": 4, "pending": 0}
        owners = {row["owner_name"]: row for row in body["owners"]}
        assert owners["Rita Rep"]["owner"] == scene["rita"].pk
        assert (owners["Rita Rep"]["assigned"], owners["Rita Rep"]["followed_up_in_time"],
                owners["Rita Rep"]["missed"]) == (3, 1, 2)
        assert owners["Rita Rep"]["in_time_share"] == 0.3333  # 1 / 3, to 4 decimals
        assert owners["Sam Rep"]["median_hours_to_first_follow_up"] is None
        row = next(row for row in body["rows"] if row["owner"] == scene["rita"].pk)
        assert (row["event"], row["event_name"], row["deadline_minutes"]) == (scene["event"].pk, "Hot leads dinner", 60)
        assert set(row) == {"owner", "owner_name", "event", "event_name", "ends_at", "deadline_minutes", "deadline_at",
                            "assigned", "followed_up_in_time", "in_time_share", "median_hours_to_first_follow_up",
                            "missed", "pending"}

    def test_filters(self, read_client, scene):
        other = hot_leads_event("Roadshow", ended_ago=timedelta(days=3))
        attendees(other, scene["sam"], 2, prefix="r")
        today = timezone.localdate(scene["event"].ends_at)

        by_event = read_client.get(REPORT, {"event": other.pk}).json()
        by_owner = read_client.get(REPORT, {"owner": scene["rita"].pk}).json()
        by_days = read_client.get(REPORT, {"from": today.isoformat(), "to": today.isoformat()}).json()
        unknown_owner = read_client.get(REPORT, {"owner": 999999}).json()

        assert {row["event"] for row in by_event["rows"]} == {other.pk}
        assert [row["owner"] for row in by_owner["owners"]] == [scene["rita"].pk]
        assert {row["event"] for row in by_days["rows"]} == {scene["event"].pk}
        assert (unknown_owner["overall"]["assigned"], unknown_owner["rows"]) == (0, [])
        assert read_client.get(REPORT, {"event": ""}).json()["overall"]["assigned"] == 7  # empty: no filter

    @pytest.mark.parametrize(("query", "field"), [
        ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        ({"from": "0001-01-01"}, "from"), ({"event": "abc"}, "event"), ({"event": "999999"}, "event"),
        ({"owner": "-1"}, "owner"),
    ])
    def test_bad_input_is_a_400_naming_the_parameter(self, read_client, scene, query, field):
        response = read_client.get(REPORT, query)
        assert response.status_code == 400
        assert field in response.json()

    def test_a_fixed_number_of_queries(self, read_client, scene, django_assert_num_queries):
        for index in range(5):
            event = hot_leads_event(f"Fair {index}", ended_ago=timedelta(days=index + 1))
            for contact in attendees(event, scene["rita"], 10, prefix=f"f{index}-"):
                follow_up(contact, event, after=timedelta(minutes=20))
        # The API key, then the one report query (assigned attendances with their first follow-up).
        with django_assert_num_queries(2):
            assert read_client.get(REPORT).json()["overall"]["assigned"] == 55
        # With `event`, a third: whether the event exists.
        with django_assert_num_queries(3):
            assert read_client.get(REPORT, {"event": scene["event"].pk}).json()["overall"]["assigned"] == 5

    def test_staff_with_view_permission_on_follow_ups_may_read_it(self, staff_client, sales_user, scene):
        assert staff_client.get(REPORT).status_code == 200


class TestSchema:
    @pytest.fixture(scope="class")
    def schema(self, django_db_blocker):
        from drf_spectacular.generators import SchemaGenerator

        with django_db_blocker.unblock():
            return SchemaGenerator().get_schema(request=None, public=True)

    def test_both_endpoints_are_documented_with_parameters_and_examples(self, schema):
        missed = schema["paths"]["/api/v1/follow-ups/missed/"]["get"]
        report = schema["paths"]["/api/v1/reports/follow-up-performance/"]["get"]

        assert {"owner", "event", "cursor", "page_size"} <= {parameter["name"] for parameter in missed["parameters"]}
        assert {"event", "owner", "from", "to"} <= {parameter["name"] for parameter in report["parameters"]}
        assert "deadline" in missed["description"]
        assert "Missed" in report["description"]
        for operation in (missed, report):
            assert "Example: `GET" in operation["description"]
        assert (missed["tags"], report["tags"]) == (["follow-ups"], ["reports"])
        for operation in (missed, report):
            content = operation["responses"]["200"]["content"]["application/json"]
            assert content["examples"], operation["operationId"]
        page_example = next(iter(missed["responses"]["200"]["content"]["application/json"]["examples"].values()))
        assert page_example["value"]["results"][0]["planned_follow_up"] is None

    def test_the_event_documents_its_follow_up_deadline(self, schema):
        field = schema["components"]["schemas"]["Event"]["properties"]["follow_up_deadline_minutes"]
        assert (field["nullable"], field["minimum"]) == (True, 1)
        assert "hot leads" in field["description"]


class TestEventField:
    def test_an_event_takes_a_follow_up_deadline_and_refuses_zero(self, write_client, event):
        response = write_client.patch(f"/api/v1/events/{event.pk}/", {"follow_up_deadline_minutes": 60}, format="json")
        assert response.status_code == 200
        assert response.json()["follow_up_deadline_minutes"] == 60

        refused = write_client.patch(f"/api/v1/events/{event.pk}/", {"follow_up_deadline_minutes": 0}, format="json")
        assert refused.status_code == 400
        assert "follow_up_deadline_minutes" in refused.json()

        cleared = write_client.patch(f"/api/v1/events/{event.pk}/", {"follow_up_deadline_minutes": None}, format="json")
        assert cleared.json()["follow_up_deadline_minutes"] is None
