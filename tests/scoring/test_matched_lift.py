"""Relationship lift against matched non-attendees: the effect and its interval worked out by hand
on small histories, the matching (strata, nearest score, caliper, replacement), who may be a
control, its cost in queries, the API (200/400/404/409, schema) and the event page's panel.

The histories are in tests/scoring/lift_history.py (and below), written with the ORM directly:
the lift reads raw rows only. Scores by hand follow DOMAIN.md's default profile v1:
score = 100 × Σ weight × component, decay(t) = 0.5 ** (days / 180), sat(x, k) = 1 − exp(−x / k).
"""

import math
from datetime import timedelta

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.models import Contact
from events.models import Event, Interaction
from partners.models import PartnerAPIKey
from scoring.api.matched_lift import MatchedLiftView
from scoring.services import active_parameters, compute_scores
from scoring.services.matched_lift import (
    NO_CANDIDATE,
    OUTSIDE_CALIPER,
    Population,
    bootstrap_interval,
    match_attendees,
    matched_lift,
    standardized_mean_difference,
)
from tests.scoring.lift_history import SUMMIT, known_effect, person
from tests.scoring.validity_history import attend, completed_event, positive_follow_up

pytestmark = pytest.mark.django_db

HALF_LIFE = 180.0


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # cached lifts, and the API's throttling counts


@pytest.fixture(autouse=True)
def _few_controls_suffice(settings):
    """The hand-built histories' pairs have three controls, fewer than a real interval needs
    (TestTooFewControls keeps the default)."""
    settings.LIFT_MIN_DISTINCT_CONTROLS = 2


def decay(days: float) -> float:
    return 0.5 ** (days / HALF_LIFE)


def sat(x: float, k: float) -> float:
    return 1 - math.exp(-x / k)


def rounded(points: float) -> float:
    return round(points, 1)


def hand_scores_after_90_days() -> dict[str, float]:
    """The scores 90 days after the summit's end, by DOMAIN.md's formulas (all were 0 before)."""
    attended = decay(90)  # the summit's attendance, role attendee, and its recency when it is the last touch
    attendance = sat(attended, 2)
    met = decay(90 + 1 / 24)  # A2's meeting, an hour before the end: q = 1, m = 1
    followed = decay(89)  # A3's follow-up a day after the end: positive (1.5), within 48 h (care 1)
    neutral = decay(60)  # C1's follow-up 30 days after the end
    return {
        "A1": rounded(100 * (0.30 * attendance + 0.10 * attended)),
        "A2": rounded(100 * (0.30 * attendance + 0.20 * sat(met, 4) + 0.10 * attended)),
        "A3": rounded(100 * (0.30 * attendance + 0.20 * sat(1.5 * followed, 3) + 0.10 * 1.0 + 0.10 * followed)),
        "C1": rounded(100 * (0.20 * sat(neutral, 3) + 0.10 * neutral)),
    }


class TestTooFewControls:
    def test_fewer_distinct_controls_than_the_setting_give_no_interval_and_say_why(self, settings):
        settings.LIFT_MIN_DISTINCT_CONTROLS = 10  # the default
        lift = matched_lift(known_effect().event.pk)

        assert (lift.matched, lift.distinct_controls) == (4, 3)
        assert lift.effect is not None
        assert (lift.ci_low, lift.ci_high, lift.interval_includes_zero) == (None, None, None)
        assert "Only 3 different non-attendees served as controls: too few to put an interval on it" in lift.summary
        assert "the data do not show that attending changed the score" in lift.summary


class TestKnownEffect:
    def test_the_effect_is_the_hand_computed_difference_in_differences(self):
        history = known_effect()
        after = hand_scores_after_90_days()

        lift = matched_lift(history.event.pk)

        # Pairs A1–C1, A2–C2, A3–C3, A6–C1; every score before is 0, C2 and C3 stay at 0.
        differences = [after["A1"] - after["C1"], after["A2"], after["A3"], after["A1"] - after["C1"]]
        assert lift.effect == pytest.approx(sum(differences) / 4, abs=1e-9)
        assert lift.attendee_change == pytest.approx((2 * after["A1"] + after["A2"] + after["A3"]) / 4, abs=1e-9)
        assert lift.control_change == pytest.approx(2 * after["C1"] / 4, abs=1e-9)
        assert after["A1"] == 16.0  # 30 × sat(0.7071, 2) + 10 × 0.7071 = 8.93 + 7.07
        assert after["C1"] == 12.6  # 20 × sat(0.7937, 3) + 10 × 0.7937 = 4.65 + 7.94

    def test_the_interval_covers_the_effect_and_excludes_zero(self):
        lift = matched_lift(known_effect().event.pk)

        assert lift.ci_low <= lift.effect <= lift.ci_high
        assert lift.ci_low >= 3.4 - 1e-9  # no resample's mean lies below the smallest difference (16.0 − 12.6)
        assert lift.interval_includes_zero is False
        assert "The interval does not include 0." in lift.summary
        assert "includes 0" not in lift.summary

    def test_the_same_seed_gives_the_same_interval_and_another_seed_may_not(self):
        history = known_effect()
        first = matched_lift(history.event.pk, use_cache=False)
        again = matched_lift(history.event.pk, use_cache=False)
        other = matched_lift(history.event.pk, seed=7, use_cache=False)
        assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
        assert other.effect == first.effect
        assert other.seed == 7

    def test_the_window_is_exactly_before_the_start_and_days_after_the_end(self):
        history = known_effect()
        lift = matched_lift(history.event.pk, days=30)
        assert lift.before == SUMMIT - timedelta(microseconds=1)
        assert lift.after == history.event.ends_at + timedelta(days=30)
        # 30 days on, C1's follow-up (30 days after the end) just counts: recency 1, dialogue sat(1, 3).
        pair = next(pair for pair in lift.pairs if pair.attendee_id == history.id("A1"))
        assert pair.control_after == rounded(100 * (0.20 * sat(1.0, 3) + 0.10 * 1.0))


class TestMatching:
    def test_pairs_respect_the_strata_and_take_the_nearest_score_with_replacement(self):
        history = known_effect()

        lift = matched_lift(history.event.pk)

        pairs = {(pair.attendee_id, pair.control_id) for pair in lift.pairs}
        ids = history.id
        # A2 and A3 score 0 like C1, which has the lowest id: only their strata send them to C2 and C3.
        assert pairs == {(ids("A1"), ids("C1")), (ids("A2"), ids("C2")), (ids("A3"), ids("C3")), (ids("A6"), ids("C1"))}
        assert {(pair.attendee_id, pair.stage, pair.org_size) for pair in lift.pairs} == {
            (ids("A1"), "initiation", "none"), (ids("A2"), "initiation", "1"), (ids("A3"), "initiation", "2-9"),
            (ids("A6"), "initiation", "none"),
        }
        assert (lift.attendees, lift.candidates, lift.matched, lift.unmatched, lift.distinct_controls) == (6, 3, 4, 2, 3)

    def test_attendees_without_a_match_are_reported_with_the_reason(self):
        history = known_effect()

        lift = matched_lift(history.event.pk)

        unmatched = {attendee.contact_id: attendee for attendee in lift.unmatched_attendees}
        assert set(unmatched) == {history.id("A4"), history.id("A5")}
        a4, a5 = unmatched[history.id("A4")], unmatched[history.id("A5")]
        assert (a4.stage, a4.org_size, a4.reason) == ("socialization", "none", NO_CANDIDATE)
        assert (a5.stage, a5.org_size, a5.reason) == ("initiation", "none", OUTSIDE_CALIPER)
        # Two positive follow-ups a week before: 20 × sat(3 × decay(7), 3) + 10 × decay(7).
        assert a5.score_before == rounded(100 * (0.20 * sat(3 * decay(7), 3) + 0.10 * decay(7)))

    def test_a_wider_caliper_matches_the_far_attendee(self):
        history = known_effect()
        lift = matched_lift(history.event.pk, caliper=25.0)
        assert (history.id("A5"), history.id("C1")) in {(pair.attendee_id, pair.control_id) for pair in lift.pairs}
        assert [attendee.reason for attendee in lift.unmatched_attendees] == [NO_CANDIDATE]

    def test_the_nearest_score_wins_and_equally_near_ones_take_turns_by_id(self):
        """One stratum; attendees at 10.0, 20.0 and 15.0, candidates at 12.0 (ids 5 and 6), 8.0 (7)
        and 30.0 (8); an attendee of another organization size has no candidate."""
        score = np.array([10.0, 20.0, 15.0, 0.0, 12.0, 12.0, 8.0, 30.0])
        population = Population(
            ids=np.arange(1, 9), attended=np.array([True] * 4 + [False] * 4),
            org_size=np.array([0, 0, 0, 1, 0, 0, 0, 0]), stage=np.zeros(8, dtype=np.int64),
            score=score, score_tenths=np.rint(score * 10).astype(np.int64),
        )

        matching = match_attendees(population, caliper=5.0)

        ids = population.ids
        # 10.0: 12.0 and 8.0 lie 2 away, the lower id (5, of the 12.0s) wins; 15.0: 12.0 (3 away)
        # before 20.0 would, and the 12.0s take turns: 6 this time.
        assert list(zip(ids[matching.attendee_index], ids[matching.control_index], strict=True)) == [(1, 5), (3, 6)]
        # 20.0: 12.0 lies 8 away, 30.0 10 away: outside the caliper of 5.
        assert list(ids[matching.unmatched_index]) == [2, 4]
        assert matching.unmatched_reason == [OUTSIDE_CALIPER, NO_CANDIDATE]
        wide = match_attendees(population, caliper=8.0)  # exactly 8 away is inside
        assert list(ids[wide.control_index]) == [5, 6, 5]

    def test_who_may_be_a_control(self):
        """Not the late and the erased contacts (lower ids, same stratum and score as C1); no-shows may."""
        history = known_effect()
        no_show = person("NoShow")
        attend(history.event, no_show, status="no_show")

        lift = matched_lift(history.event.pk)

        controls = {pair.control_id for pair in lift.pairs}
        assert history.id("Late") not in controls
        assert history.id("Erased") not in controls
        assert lift.candidates == 4  # C1, C2, C3 and the no-show


class TestNullEffect:
    @staticmethod
    def twins() -> tuple[Event, list[tuple[Contact, Contact]]]:
        """Four pairs of twins with 0–3 positive follow-ups a month before the summit (four score
        levels); the attendee of a pair comes to the summit, the twin to an expo at the same hours.
        A0 meets someone at the summit, and C1 at the expo, an hour before the end."""
        summit = completed_event("Summit", SUMMIT)
        expo = completed_event("Expo", SUMMIT)
        pairs = []
        for level in range(4):
            twins = person(f"A{level}"), person(f"C{level}")
            for twin in twins:
                for _ in range(level):
                    positive_follow_up(twin, None, SUMMIT - timedelta(days=30))
            attend(summit, twins[0])
            attend(expo, twins[1])
            pairs.append(twins)
        Interaction.objects.create(event=summit, contact=pairs[0][0], kind="meeting",
                                   occurred_at=summit.ends_at - timedelta(hours=1))
        Interaction.objects.create(event=expo, contact=pairs[1][1], kind="meeting",
                                   occurred_at=expo.ends_at - timedelta(hours=1))
        return summit, pairs

    def test_the_interval_includes_zero_and_says_so(self):
        summit, twins = self.twins()

        lift = matched_lift(summit.pk)

        assert {(pair.attendee_id, pair.control_id) for pair in lift.pairs} == {(a.pk, c.pk) for a, c in twins}
        differences = sorted(pair.difference for pair in lift.pairs)
        met = 100 * 0.20 * sat(decay(90 + 1 / 24), 4)  # the meeting's points, before rounding (3.24)
        assert differences[0] == pytest.approx(-met, abs=0.11)
        assert differences[1:3] == [0, 0]
        assert differences[3] == pytest.approx(met, abs=0.11)
        assert abs(lift.effect) <= 0.05
        assert lift.ci_low < 0 < lift.ci_high
        assert lift.interval_includes_zero is True
        assert "The interval includes 0: the data do not show that attending changed the score." in lift.summary
        assert lift.balance.smd_after_matching == 0.0


class TestBalance:
    def test_shares_and_means_of_each_group(self):
        history = known_effect()

        balance = matched_lift(history.event.pk).balance

        groups = {group.group: group for group in balance.groups}
        assert list(groups) == ["attendees", "candidates", "matched_attendees", "matched_controls"]
        attendees, candidates = groups["attendees"], groups["candidates"]
        matched, controls = groups["matched_attendees"], groups["matched_controls"]
        assert (attendees.contacts, candidates.contacts, matched.contacts, controls.contacts) == (6, 3, 4, 4)
        assert attendees.stage_shares["socialization"] == pytest.approx(1 / 6, abs=1e-4)
        assert attendees.stage_shares["initiation"] == pytest.approx(5 / 6, abs=1e-4)
        assert candidates.org_size_shares == {"none": pytest.approx(1 / 3, abs=1e-4), "1": pytest.approx(1 / 3, abs=1e-4),
                                              "2-9": pytest.approx(1 / 3, abs=1e-4), "10-49": 0.0, "50+": 0.0}
        # The controls counted once per pair: C1 twice.
        assert controls.org_size_shares == {"none": 0.5, "1": 0.25, "2-9": 0.25, "10-49": 0.0, "50+": 0.0}
        assert matched.org_size_shares == controls.org_size_shares
        assert matched.mean_score_before == controls.mean_score_before == 0.0
        assert balance.smd_after_matching == 0.0
        assert balance.smd_before_matching > 0  # A4 and A5 scored above 0 before

    def test_standardized_mean_difference_by_hand(self):
        # means 2 and 1, sample variances 1 and 1: (2 − 1) / √((1 + 1) / 2) = 1
        assert standardized_mean_difference(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0])) == 1.0
        assert standardized_mean_difference(np.array([5.0]), np.array([5.0])) == 0.0
        assert standardized_mean_difference(np.array([]), np.array([5.0])) is None


class TestBootstrap:
    def test_identical_differences_give_a_point_interval(self):
        assert bootstrap_interval(np.array([2.5, 2.5, 2.5]), resamples=500, seed=0) == (2.5, 2.5)

    def test_the_interval_is_the_percentiles_of_the_resampled_means(self):
        differences = np.array([0.0, 10.0])
        low, high = bootstrap_interval(differences, resamples=4000, seed=1)
        # Means of two draws are 0, 5 or 10 with chances ¼, ½, ¼: the 2.5th percentile is 0, the 97.5th 10.
        assert (low, high) == (0.0, 10.0)

    def test_pairs_sharing_a_control_are_drawn_together(self):
        """Three controls serve thirty attendees (matching with replacement): the pairs of a control
        share its change, so there are three independent draws, not thirty."""
        differences = np.repeat([0.0, 10.0, 20.0], 10)
        controls = np.repeat([7, 8, 9], 10)
        as_pairs = bootstrap_interval(differences, resamples=4000, seed=1)
        clustered = bootstrap_interval(differences, resamples=4000, seed=1, clusters=controls)
        assert 6 < as_pairs[0] < as_pairs[1] < 14
        assert clustered[0] < 4 < 16 < clustered[1]  # means of three draws from 0, 10, 20
        # every control serving one attendee: the plain bootstrap over the pairs
        one_each = bootstrap_interval(differences, resamples=4000, seed=1, clusters=np.arange(30))
        assert one_each == pytest.approx(as_pairs, abs=1e-9)


class TestAvailability:
    def test_an_event_not_completed_has_no_lift(self):
        event = Event.objects.create(name="Planned", starts_at=SUMMIT, ends_at=SUMMIT + timedelta(hours=9))
        lift = matched_lift(event.pk)
        assert lift.state == "event_not_completed"
        assert lift.effect is None
        assert "not completed" in lift.summary

    def test_before_the_window_has_passed_it_says_from_when(self):
        history = known_effect()
        end = history.event.ends_at
        assert matched_lift(history.event.pk, now=end + timedelta(days=89)).state == "lift_window_open"
        assert matched_lift(history.event.pk, now=end + timedelta(days=90)).state == "ready"
        summary = matched_lift(history.event.pk, days=30, now=end + timedelta(days=1)).summary
        assert "30 days after the event" in summary
        assert "available from" in summary

    def test_bad_days_and_unknown_events(self):
        with pytest.raises(ValueError, match="days"):
            matched_lift(1, days=0)
        with pytest.raises(Event.DoesNotExist):
            matched_lift(999_999)


class TestCost:
    @staticmethod
    def queries(event_id: int, **options) -> int:
        with CaptureQueriesContext(connection) as captured:
            matched_lift(event_id, use_cache=False, **options)
        return len(captured)

    @staticmethod
    def chunk_queries(contact_id: int) -> int:
        params = active_parameters()
        with CaptureQueriesContext(connection) as captured:
            compute_scores([contact_id], SUMMIT, params)
        return len(captured)

    def test_the_queries_do_not_grow_with_the_attendees(self):
        history = known_effect()
        few = self.queries(history.event.pk, chunk_size=1000)

        more = [person(f"Extra{index}") for index in range(20)]
        attend(history.event, *more)
        many = self.queries(history.event.pk, chunk_size=1000)

        assert matched_lift(history.event.pk, use_cache=False).attendees == 26
        assert many == few

    def test_a_fixed_number_per_chunk(self):
        history = known_effect()
        per_chunk = self.chunk_queries(history.id("A1"))
        one_chunk_each = self.queries(history.event.pk, chunk_size=1000)
        fixed = one_chunk_each - 2 * per_chunk  # the event, the data version, attendees, candidates, sizes, profile

        # Chunks of 2: the 9 contacts before (attendees and candidates) in 5 chunks, the 7 after
        # (4 matched attendees, 3 distinct controls) in 4.
        assert self.queries(history.event.pk, chunk_size=2) == fixed + 9 * per_chunk
        assert fixed == 6

    def test_a_cached_result_costs_two_queries(self, django_assert_num_queries):
        history = known_effect()
        first = matched_lift(history.event.pk)
        with django_assert_num_queries(2):  # the event, the data version
            cached = matched_lift(history.event.pk)
        assert cached.from_cache
        assert not first.from_cache
        assert cached.effect == first.effect

    def test_a_change_to_the_data_computes_again(self):
        history = known_effect()
        first = matched_lift(history.event.pk)
        Interaction.objects.create(event=history.event, contact=history.people["A1"], kind="meeting",
                                   occurred_at=history.event.ends_at)
        second = matched_lift(history.event.pk)
        assert not second.from_cache
        assert second.effect > first.effect


# The API -----------------------------------------------------------------------------------


def url(event_id: int) -> str:
    return f"/api/v1/events/{event_id}/lift/"


@pytest.fixture
def read_client(db) -> APIClient:
    key = PartnerAPIKey.objects.create_key(name="BI tool", can_read=True, can_write=False)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


class TestAPI:
    def test_the_lift_of_a_completed_event(self, read_client):
        history = known_effect()

        response = read_client.get(url(history.event.pk), {"days": 90})

        assert response.status_code == 200
        data = response.json()
        lift = matched_lift(history.event.pk)
        assert data["effect"] == lift.effect
        assert (data["ci_low"], data["ci_high"]) == (lift.ci_low, lift.ci_high)
        assert (data["attendees"], data["matched"], data["unmatched"], data["distinct_controls"]) == (6, 4, 2, 3)
        assert data["interval_includes_zero"] is False
        assert data["summary"] == lift.summary
        assert [group["group"] for group in data["balance"]["groups"]] == [
            "attendees", "candidates", "matched_attendees", "matched_controls"]
        assert {row["reason"] for row in data["unmatched_attendees"]} == {"no_candidate", "outside_caliper"}
        assert read_client.get(url(history.event.pk)).json()["days"] == 90  # the default
        assert read_client.get(url(history.event.pk), {"days": ""}).json()["from_cache"] is True

    def test_unknown_events_are_404(self, read_client):
        assert read_client.get(url(999_999)).status_code == 404
        assert read_client.get(url(2**63)).status_code == 404

    @pytest.mark.parametrize("days", ["0", "3651", "abc", "-5", "1.5"])
    def test_bad_days_are_400(self, read_client, days):
        event = known_effect().event
        response = read_client.get(url(event.pk), {"days": days})
        assert response.status_code == 400
        assert "days" in response.json()

    def test_an_event_not_completed_is_409(self, read_client):
        event = Event.objects.create(name="Planned", starts_at=SUMMIT, ends_at=SUMMIT + timedelta(hours=9))
        response = read_client.get(url(event.pk))
        assert response.status_code == 409
        assert response.json()["code"] == "event_not_completed"

    def test_a_window_not_passed_yet_is_409(self, read_client):
        now = timezone.now()
        event = completed_event("Last week", now - timedelta(days=7))
        response = read_client.get(url(event.pk), {"days": 30})
        assert response.status_code == 409
        assert response.json()["code"] == "lift_window_open"
        assert "available from" in response.json()["detail"]
        assert read_client.get(url(event.pk), {"days": 1}).status_code == 200

    def test_anonymous_is_401_and_staff_need_view_permission_on_events(self, staff_user, django_user_model):
        event = known_effect().event
        assert APIClient().get(url(event.pk)).status_code == 401
        staff = APIClient()
        staff.force_login(staff_user)
        assert staff.get(url(event.pk)).status_code == 200
        plain = django_user_model.objects.create_user("plain", "plain@agency.example", "pw", is_staff=True)
        client = APIClient()
        client.force_login(plain)
        assert client.get(url(event.pk)).status_code == 403

    def test_the_route_does_not_clash_with_the_events_resource(self):
        assert resolve("/api/v1/events/5/lift/").func.view_class is MatchedLiftView
        assert resolve("/api/v1/events/5/").func.cls.__name__ == "EventViewSet"
        assert resolve("/api/v1/events/5/metrics/").func.cls.__name__ == "EventViewSet"

    def test_the_schema_documents_the_method_with_an_example(self):
        schema = APIClient().get("/api/schema/", {"format": "json"}).json()
        operation = schema["paths"]["/api/v1/events/{id}/lift/"]["get"]
        assert operation["tags"] == ["events"]
        for mentioned in ("nearest score", "difference in differences", "bootstrap", "caliper", "lift_window_open",
                          "event_not_completed", "Example: `GET /api/v1/events/42/lift/?days=90`"):
            assert mentioned in operation["description"], mentioned
        assert {parameter["name"] for parameter in operation["parameters"]} == {"id", "days"}
        examples = operation["responses"]["200"]["content"]["application/json"]["examples"]
        example = next(iter(examples.values()))["value"]
        assert example["interval_includes_zero"] is False
        assert example["effect"] == 6.3
        assert "409" in operation["responses"]
        properties = schema["components"]["schemas"]["MatchedLift"]["properties"]
        assert set(example) == set(properties)
        assert all(field.get("description") for field in properties.values())


# The event page ----------------------------------------------------------------------------


class TestEventPage:
    def test_the_panel_computes_on_request_and_then_shows_the_result(self, client, staff_user):
        history = known_effect()
        client.force_login(staff_user)
        page = reverse("admin:events_event_change", args=[history.event.pk])

        before = client.get(page).content.decode()
        assert "Relationship lift vs. matched non-attendees" in before
        assert "Not computed for the current data yet" in before
        compute = reverse("ror-event-lift", args=[history.event.pk])
        assert compute in before

        response = client.get(compute)
        assert response.status_code == 302
        assert response["Location"] == page + "#ror-event-lift"
        after = client.get(page)
        panel = after.context["matched_lift"]
        effect = matched_lift(history.event.pk).effect
        assert panel["tiles"][0]["value"] == f"+{effect:.1f}"
        assert panel["tiles"][2]["value"] == "4 of 6"
        assert "The interval does not include 0." in after.content.decode()

    def test_the_csv_lists_the_pairs_and_the_unmatched(self, client, staff_user):
        history = known_effect()
        client.force_login(staff_user)
        response = client.get(reverse("ror-event-lift", args=[history.event.pk]), {"format": "csv"})
        assert response.status_code == 200
        lines = response.content.decode().strip().splitlines()
        assert lines[0].startswith("attendee,control,stage,org_size")
        assert len(lines) == 1 + 4 + 2
        assert lines[-1].endswith("no_candidate") or lines[-1].endswith("outside_caliper")

    def test_an_event_not_completed_says_so(self, client, staff_user):
        event = Event.objects.create(name="Planned", starts_at=SUMMIT, ends_at=SUMMIT + timedelta(hours=9))
        client.force_login(staff_user)
        body = client.get(reverse("admin:events_event_change", args=[event.pk])).content.decode()
        assert "The lift is computed for completed events" in body
        assert reverse("ror-event-lift", args=[event.pk]) not in body

    def test_the_panel_never_computes(self, client, staff_user):
        history = known_effect()
        client.force_login(staff_user)
        page = reverse("admin:events_event_change", args=[history.event.pk])
        client.get(page)
        with CaptureQueriesContext(connection) as uncached:
            client.get(page)
        client.get(reverse("ror-event-lift", args=[history.event.pk]))
        with CaptureQueriesContext(connection) as cached:
            client.get(page)
        assert len(cached) == len(uncached)
        assert not any("json_each" in query["sql"] or "ANY(" in query["sql"] for query in uncached.captured_queries)

    def test_unknown_events_and_users_without_permission(self, client, staff_user, django_user_model):
        client.force_login(staff_user)
        assert client.get(reverse("ror-event-lift", args=[999_999])).status_code == 404
        plain = django_user_model.objects.create_user("plain", "plain@agency.example", "pw", is_staff=True)
        client.force_login(plain)
        assert client.get(reverse("ror-event-lift", args=[known_effect().event.pk])).status_code == 403
