"""What if: a profile beside the active one on the whole base, worked out by hand on a small
base (four contacts, one erased beside them), nothing written; its cost per chunk, cancelling,
the command and the admin page."""

import json
import math
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, FollowUp
from events.models import Attendance, Event, Feedback, Interaction
from scoring.models import ContactScore, ScoreSnapshot, ScoringProfile
from scoring.services import active_parameters, compute_scores, recompute_contacts
from scoring.services.profile import ScoringParameters, create_profile, default_profile_values
from scoring.services.validity import build_validity_report
from scoring.services.whatif import (
    WhatIfCancelled,
    cached_whatif,
    claim_run,
    profile_whatif,
    reads_alike,
    run_state,
    run_whatif,
    score_both,
    whatif_cache_key,
)
from tests.scoring.validity_history import AUTUMN, six_contacts

pytestmark = pytest.mark.django_db

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # the moment everything is scored as of
HALF_LIFE_AGO = T - timedelta(days=180)  # decay 0.5


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def sat(x: float, k: float) -> float:
    return 1 - math.exp(-x / k)


def event(name: str, ends_at: datetime) -> Event:
    return Event.objects.create(name=name, starts_at=ends_at - timedelta(hours=8), ends_at=ends_at)


def new_profile(name: str, **changes) -> ScoringProfile:
    """A draft (inactive) profile: the default's parameters with `changes`."""
    values = default_profile_values() | {"name": name, "is_active": False} | changes
    values.pop("version")
    return create_profile(**values)


def weights(**chosen: float) -> dict[str, float]:
    return {name: 0.0 for name in ("attendance", "networking", "dialogue", "care", "advocacy", "recency")} | chosen


@pytest.fixture
def attendance_only():
    return new_profile("Attendance only", weights=weights(attendance=1.0))


@pytest.fixture
def base():
    """As of T, under the default profile (0.3 attendance, 0.2 networking, 0.2 dialogue, 0.1 care,
    0.1 advocacy, 0.1 recency; half-life 180 days):

    - G spoke at three events that ended at T: attendance raw 3 × 1.5 = 4.5, c = sat(4.5, 2) = 0.8946;
      recency 1. Score 100 × (0.3 × 0.8946 + 0.1) = 36.8 → growth (3 events, below 60).
    - V attended three events that ended 180 days before T (raw 3 × 0.5 = 1.5, c = sat(1.5, 2) = 0.5276),
      had six meetings at T of quality 5 and 60 minutes (each 5/3 × 2, raw 20, c = sat(20, 4) = 0.9933),
      four positive follow-ups done at T (raw 6, c = sat(6, 3) = 0.8647) and answered NPS 10 (advocacy 0.5):
      score 100 × (0.3 × 0.5276 + 0.2 × 0.9933 + 0.2 × 0.8647 + 0.1 × 0.5 + 0.1) = 68.0 → maturity.
      A snapshot 100 days before T says 63: no fall of 10 points, churn risk low.
    - N only met people: three meetings at T of quality 3 (raw 3, c = sat(3, 4) = 0.5276):
      score 100 × (0.2 × 0.5276 + 0.1) = 20.6; no event attended → initiation.
    - Q did nothing: 0, initiation.
    - X spoke at an event too, and was erased: left out.

    With all weight on attendance: G 89.5 → maturity, V 52.8 → growth (and 63 − 52.8 ≥ 10: churn
    risk medium), N 0 and Q 0 stay in initiation.
    """
    talks = [event(f"Talk {n}", T) for n in range(3)]
    old = [event(f"Old {n}", HALF_LIFE_AGO) for n in range(3)]
    people = {name: Contact.objects.create(email=f"{name.lower()}@base.example", first_name=name, last_name="Test")
              for name in "GVNQX"}
    g, v, n, _q, x = people.values()
    Attendance.objects.bulk_create(Attendance(event=talk, contact=g, status="attended", role="speaker") for talk in talks)
    Attendance.objects.bulk_create(Attendance(event=past, contact=v, status="attended") for past in old)
    Attendance.objects.create(event=talks[0], contact=x, status="attended", role="speaker")
    Interaction.objects.bulk_create(
        Interaction(event=talks[0], contact=v, kind="meeting", occurred_at=T, quality=5, duration_minutes=60)
        for _ in range(6)
    )
    Interaction.objects.bulk_create(
        Interaction(event=talks[0], contact=n, kind="meeting", occurred_at=T, quality=3) for _ in range(3)
    )
    FollowUp.objects.bulk_create(
        FollowUp(contact=v, channel="phone", status="done", outcome="positive", completed_at=T) for _ in range(4)
    )
    Feedback.objects.create(event=old[0], contact=v, nps=10, submitted_at=T)
    ScoreSnapshot.objects.create(contact=v, score=63, components={}, stage="maturity", computed_at=T - timedelta(days=100),
                                 trigger="manual", profile_version=1)
    Contact.objects.filter(pk=x.pk).update(erased_at=T, email=None, first_name="", last_name="")
    return people


def stored_state() -> tuple:
    return (
        sorted(ContactScore.objects.values_list("contact_id", "score", "stage", "churn_risk", "computed_at")),
        sorted(ScoreSnapshot.objects.values_list("id", "score", "computed_at")),
    )


class TestKnownTransition:
    def test_the_hand_computed_scores_are_the_premise(self, base):
        results = {r.contact_id: r for r in compute_scores([p.pk for p in base.values()], T, active_parameters())}
        assert results[base["G"].pk].score == round(100 * (0.3 * sat(4.5, 2) + 0.1), 1) == 36.8
        assert results[base["V"].pk].score == 68.0
        assert results[base["N"].pk].score == 20.6

    def test_all_weight_on_attendance_moves_g_up_to_maturity_and_v_down_to_growth(self, base, attendance_only):
        result = profile_whatif(attendance_only.pk, as_of=T)

        assert result.contacts == 4
        assert result.erased_left_out == 1
        assert (result.profile_version, result.active_profile_version) == (attendance_only.version, 1)
        stages = result.stage_transitions
        assert stages["growth"]["maturity"] == 1  # G
        assert stages["maturity"]["growth"] == 1  # V
        assert stages["initiation"]["initiation"] == 2  # N and Q
        assert sum(sum(row.values()) for row in stages.values()) == 4
        assert result.stage_changes == 2
        # V: 63 − 52.8 = 10.2 ≥ 10 points below the snapshot 100 days before → medium
        assert result.churn_transitions["low"]["medium"] == 1
        assert result.churn_transitions["low"]["low"] == 3
        assert result.churn_changes == 1

    def test_the_movers_and_the_distributions(self, base, attendance_only):
        result = profile_whatif(attendance_only.pk, as_of=T)

        assert [(m.name, m.active_score, m.whatif_score, m.change) for m in result.movers_up] == [
            ("G Test", 36.8, 89.5, 52.7)]
        assert [(m.name, m.active_score, m.whatif_score, m.change) for m in result.movers_down] == [
            ("N Test", 20.6, 0.0, -20.6), ("V Test", 68.0, 52.8, -15.2)]  # Q does not move: neither list

        # active: 0 (Q), 20.6 (N), 36.8 (G), 68.0 (V)
        assert result.active.bins == (1, 0, 1, 1, 0, 0, 1, 0, 0, 0)
        assert result.active.mean == pytest.approx(31.35, abs=0.005)
        assert result.active.median == pytest.approx((20.6 + 36.8) / 2)  # 28.7
        assert result.active.lower_quartile == pytest.approx(0.75 * 20.6)  # position 0.75 → 15.45
        assert result.active.upper_quartile == pytest.approx(36.8 + 0.25 * (68.0 - 36.8))  # 44.6
        # what if: 0 (N), 0 (Q), 52.8 (V), 89.5 (G)
        assert result.whatif.bins == (2, 0, 0, 0, 0, 1, 0, 0, 1, 0)
        assert result.whatif.median == pytest.approx(26.4)
        assert result.whatif.lower_quartile == 0.0

    def test_nothing_is_written(self, base, attendance_only):
        recompute_contacts([p.pk for p in base.values()], as_of=T)
        before = stored_state()
        assert before[0]
        assert before[1]

        profile_whatif(attendance_only.pk, as_of=T)

        assert stored_state() == before

    def test_the_active_profile_against_itself_changes_nothing(self, base):
        active = ScoringProfile.objects.get(is_active=True)
        result = profile_whatif(active.pk, as_of=T)
        assert result.same_profile
        assert result.stage_changes == result.churn_changes == 0
        assert result.movers_up == result.movers_down == []
        assert result.active == result.whatif

    def test_an_unknown_profile_is_an_error(self, base):
        with pytest.raises(ScoringProfile.DoesNotExist):
            profile_whatif(999_999, as_of=T)


class TestReads:
    def test_profiles_that_differ_in_weights_only_read_alike(self, attendance_only):
        active = active_parameters()
        assert reads_alike(active, ScoringParameters.from_profile(attendance_only))
        slower = new_profile("Slower decay", half_life_days=365)
        assert not reads_alike(active, ScoringParameters.from_profile(slower))

    @pytest.mark.parametrize("changes", [{"weights": weights(attendance=1.0)}, {"half_life_days": 365}])
    def test_scoring_both_equals_compute_scores_for_each(self, base, changes):
        other = ScoringParameters.from_profile(new_profile("Other", **changes))
        active = active_parameters()
        ids = sorted(p.pk for p in base.values())

        both = score_both(ids, T, active, other)

        def summary(result) -> tuple:
            return (result.contact_id, result.score, result.components, result.stage, result.churn_risk)

        assert [summary(a) for a, _w in both] == [summary(result) for result in compute_scores(ids, T, active)]
        assert [summary(w) for _a, w in both] == [summary(result) for result in compute_scores(ids, T, other)]


class TestCost:
    @staticmethod
    def queries(contacts: int, profile: ScoringProfile) -> int:
        talk = Event.objects.filter(name="Cost talk").first() or event("Cost talk", T)
        people = Contact.objects.bulk_create(
            Contact(email=f"c{Contact.objects.count()}-{n}@cost.example") for n in range(contacts))
        Attendance.objects.bulk_create(Attendance(event=talk, contact=person, status="attended") for person in people)
        with CaptureQueriesContext(connection) as captured:
            result = profile_whatif(profile.pk, as_of=T, chunk_size=2)
        assert result.contacts == Contact.objects.count()
        return len(captured)

    @pytest.mark.parametrize("changes", [{"weights": weights(attendance=1.0)}, {"half_life_days": 365}])
    def test_a_fixed_number_of_queries_per_chunk(self, changes):
        profile = new_profile("Other", **changes)
        # chunks of 2 contacts: 2, then 4, then 6 contacts in all
        one, two, three = (self.queries(2, profile) for _ in range(3))
        per_chunk = two - one
        assert per_chunk == three - two  # every chunk costs the same, however many contacts it holds
        # its range of ids, then one aggregation (weights only: read once for both) or two (half-life differs);
        # on PostgreSQL an aggregation is 4: it sets jit off in a transaction of its own (a savepoint in a test)
        aggregations = 1 if "weights" in changes else 2
        assert per_chunk == 1 + aggregations * (4 if connection.vendor == "postgresql" else 1)
        # and the rest does not grow with the contacts
        assert one - per_chunk <= 12


class TestCancel:
    def test_cancel_stops_after_the_first_chunk_and_writes_nothing(self, base, attendance_only):
        recompute_contacts([p.pk for p in base.values()], as_of=T)
        before = stored_state()
        asked, heard = [], []

        def should_stop() -> bool:
            asked.append(True)
            return len(asked) > 1  # before the second chunk

        with pytest.raises(WhatIfCancelled):
            profile_whatif(attendance_only.pk, as_of=T, chunk_size=2, should_stop=should_stop,
                           progress=lambda done, total: heard.append((done, total)))

        assert heard == [(0, 8), (4, 8)]  # 4 contacts (the erased one left out) × 2 profiles; one chunk of 2 scored
        assert stored_state() == before

    def test_a_cancelled_run_caches_nothing_and_leaves_no_state(self, base, attendance_only):
        key = whatif_cache_key(attendance_only)
        run_id = claim_run(key)
        cache.set(f"ror:whatif:cancel:{run_id}", True)

        assert run_whatif(attendance_only.pk, key, run_id, as_of=T) is False
        assert cache.get(key) is None
        assert run_state(key) is None


class TestBackgroundRun:
    def test_a_run_caches_its_result_and_clears_its_state(self, base, attendance_only):
        key = whatif_cache_key(attendance_only)
        run_id = claim_run(key)
        assert claim_run(key) is None  # one run per key at a time

        assert run_whatif(attendance_only.pk, key, run_id, as_of=T) is True

        assert cached_whatif(key).stage_transitions["growth"]["maturity"] == 1
        assert run_state(key) is None

    def test_the_page_says_when_the_queue_cannot_be_reached(self, client, staff_user, attendance_only):
        client.force_login(staff_user)
        with mock.patch("scoring.pages.whatif.queue.publish", return_value=False):
            page = client.get(reverse("ror-profile-whatif", args=[attendance_only.pk])).content.decode()
        assert "The task queue cannot be reached" in page
        assert run_state(whatif_cache_key(attendance_only)) is None  # the next visit tries again


class TestValidity:
    def test_auc_under_both_profiles(self):
        six_contacts()
        networking = new_profile("Networking only", weights=weights(networking=1.0))
        as_of = AUTUMN + timedelta(days=30)

        result = profile_whatif(networking.pk, as_of=as_of)

        # the score validity report's figure under the active profile …
        assert result.validity.active_auc == build_validity_report().overall.score_auc
        assert (result.validity.pairs, result.validity.returned, result.validity.editions) == (6, 3, 1)
        # … and under networking alone: only C met someone (C came back); A, D (came) and B, E, F (did not)
        # tie at 0. C beats 3 non-returners: 3; A and D tie 3 each: 2 × 3 × ½ = 3 → 6 of 9 pairs
        assert result.validity.whatif_auc == round(6 / 9, 4)
        assert [(s.name, s.pairs) for s in result.validity_series] == [("Hamburg Summit", 6)]

    def test_an_edition_completed_after_the_moment_does_not_count(self):
        six_contacts()
        networking = new_profile("Networking only", weights=weights(networking=1.0))
        result = profile_whatif(networking.pk, as_of=AUTUMN)  # autumn starts then; completed later
        assert result.validity.pairs == 0
        assert result.validity.active_auc is None
        assert result.validity_series == []


class TestCommand:
    def test_prints_a_summary(self, base, attendance_only):
        out = StringIO()
        call_command("score_whatif", "--profile", attendance_only.pk, "--as-of", T.isoformat(), stdout=out, stderr=StringIO())
        text = out.getvalue()
        assert "4 contacts scored (1 erased left out); nothing was written." in text
        assert "contacts changing stage: 2." in text
        growth = next(line for line in text.splitlines() if line.strip().startswith("Growth"))
        assert growth.split()[1:] == ["0", "0", "0", "1", "0", "1"]  # growth → maturity: 1; total 1
        for shown in ("G Test", "+52.7", "-20.6"):
            assert shown in text

    def test_prints_json(self, base, attendance_only):
        out = StringIO()
        call_command("score_whatif", "--profile", str(attendance_only.pk), "--as-of", "2026-06-01T14:00+02:00", "--json",
                     stdout=out)
        data = json.loads(out.getvalue())
        assert datetime.fromisoformat(data["as_of"]) == T
        assert data["stage_transitions"]["maturity"]["growth"] == 1
        assert data["movers_up"][0]["change"] == 52.7
        assert data["active"]["bins"] == [1, 0, 1, 1, 0, 0, 1, 0, 0, 0]

    def test_an_unknown_profile_is_an_error(self):
        with pytest.raises(CommandError, match="No scoring profile with id 999999"):
            call_command("score_whatif", "--profile", "999999")

    def test_a_bad_time_is_an_error(self, attendance_only):
        with pytest.raises(CommandError, match="not an ISO 8601 time"):
            call_command("score_whatif", "--profile", attendance_only.pk, "--as-of", "yesterday")

    def test_ctrl_c_stops_with_a_message_and_exit_code_1(self, base, attendance_only):
        with mock.patch("scoring.management.commands.score_whatif.profile_whatif", side_effect=KeyboardInterrupt), \
                pytest.raises(CommandError, match="nothing was written") as stopped:
            call_command("score_whatif", "--profile", attendance_only.pk)
        assert stopped.value.returncode == 1


class TestPage:
    def url(self, profile: ScoringProfile) -> str:
        return reverse("ror-profile-whatif", args=[profile.pk])

    def test_the_profile_page_links_to_it(self, client, staff_user, attendance_only):
        client.force_login(staff_user)
        response = client.get(reverse("admin:scoring_scoringprofile_change", args=[attendance_only.pk]))
        assert self.url(attendance_only) in response.content.decode()

    def test_eager_celery_computes_in_the_request(self, client, staff_user, base, attendance_only):
        client.force_login(staff_user)
        response = client.get(self.url(attendance_only))
        assert response.status_code == 200
        result = response.context["result"]
        assert result is not None
        assert result.contacts == 4
        assert not result.from_cache
        page = response.content.decode()
        assert 'id="ror-whatif-stages"' in page
        assert 'id="ror-whatif-progress"' not in page
        # as of now, months after T: the page shows what the service computes as of that moment
        assert result.stage_transitions == profile_whatif(attendance_only.pk, as_of=result.as_of).stage_transitions
        shown = {row["key"]: [cell["count"] for cell in row["cells"]] for row in response.context["stages"]["rows"]}
        assert shown == {row: list(counts.values()) for row, counts in result.stage_transitions.items()}

        again = client.get(self.url(attendance_only))
        assert again.context["result"].from_cache

    def test_a_run_under_way_shows_its_progress_and_can_be_cancelled(self, client, staff_user, attendance_only):
        key = whatif_cache_key(attendance_only)
        run_id = claim_run(key)
        cache.set(f"{key}:run", {"run_id": run_id, "status": "running", "done": 4, "total": 10})
        client.force_login(staff_user)

        page = client.get(self.url(attendance_only)).content.decode()
        assert "Computing… (4 of 10 scores)" in page
        assert "admin-ror/reload-while-running.js" in page
        assert 'id="ror-whatif-cancel"' in page

        response = client.post(self.url(attendance_only), {"cancel": "Cancel"})
        assert response.status_code == 302
        assert response.url == reverse("admin:scoring_scoringprofile_change", args=[attendance_only.pk])
        assert cache.get(f"ror:whatif:cancel:{run_id}") is True
        assert run_state(key) is None

    def test_a_failed_run_says_so_once(self, client, staff_user, attendance_only):
        key = whatif_cache_key(attendance_only)
        cache.set(f"{key}:run", {"run_id": "x", "status": "failed", "done": 0, "total": 0})
        client.force_login(staff_user)
        assert "computation failed" in client.get(self.url(attendance_only)).content.decode()
        assert run_state(key) is None

    def test_needs_permission_and_a_profile(self, client, django_user_model, staff_user, attendance_only):
        outsider = django_user_model.objects.create_user("olga", "olga@agency.example", "pw-123456", is_staff=True)
        client.force_login(outsider)
        assert client.get(self.url(attendance_only)).status_code == 403
        client.force_login(staff_user)
        assert client.get(reverse("ror-profile-whatif", args=[999_999])).status_code == 404
