"""The score validity report: its AUCs, baselines and calibration worked out by hand on small
histories (tests/scoring/validity_history.py), its cache, and its cost in queries."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from contacts.services import erase_contact
from events.models import Attendance, Event, Interaction
from scoring.models import ScoringProfile
from scoring.services import active_parameters, compute_scores
from scoring.services.profile import update_profile
from scoring.services.validity import (
    Observation,
    auc,
    build_validity_report,
    calibration,
    completed_editions,
    data_version,
    edition_population,
    score_validity_report,
)
from tests.scoring.validity_history import (
    AUTUMN,
    attend,
    completed_event,
    grown,
    score_loses,
    six_contacts,
    three_editions,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def scores_before(history, edition) -> dict[str, float]:
    """Each person's score as of the moment just before the edition started."""
    as_of = edition.starts_at - timedelta(microseconds=1)
    ids = {person.pk: name for name, person in history.people.items()}
    return {ids[result.contact_id]: result.score for result in compute_scores(sorted(ids), as_of, active_parameters())}


class TestAUC:
    def test_counts_the_pairs_a_positive_wins_and_ties_half(self):
        # positives 3 and 2, negatives 1 and 2: (3>1) 1 + (3>2) 1 + (2>1) 1 + (2=2) ½ = 3.5 of 4
        assert auc([3, 2, 1, 2], [True, True, False, False]) == 3.5 / 4

    def test_a_perfect_ranking_is_1_a_reversed_one_0_and_all_tied_one_half(self):
        assert auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
        assert auc([1, 2, 3, 4], [True, True, False, False]) == 0.0
        assert auc([5, 5, 5], [True, False, False]) == 0.5

    def test_is_null_when_everyone_or_no_one_came_back(self):
        assert auc([1, 2], [True, True]) is None
        assert auc([1, 2], [False, False]) is None
        assert auc([], []) is None


class TestHandBuiltHistory:
    def test_six_contacts_two_editions(self):
        history = six_contacts()
        spring, autumn = history.editions

        # The premise: A > B > C > D = E = F as of just before autumn. Autumn's own
        # attendance, no-show and meeting do not count (A has 2 events: spring and the dinner).
        scores = scores_before(history, autumn)
        assert scores["A"] > scores["B"] > scores["C"] > scores["D"] == scores["E"] == scores["F"]

        report = build_validity_report()

        overall = report.overall
        assert (overall.editions, overall.contacts, overall.pairs, overall.returned) == (1, 6, 6, 3)
        assert overall.return_rate == 0.5
        # Came back: A, C, D; did not: B, E, F. 3 × 3 = 9 (came, did not) pairs, counted when
        # the one who came back ranks higher, ties half:
        #   A above B, E, F: 3;  C below B, above E, F: 2;  D below B, tied with E and F: ½ + ½ = 1
        # AUC = 6 / 9. (As ranks: D, E, F share 2, C 4, B 5, A 6; R⁺ = 2 + 4 + 6 = 12,
        # U = 12 − 3·4/2 = 6.)
        assert overall.score_auc == pytest.approx(6 / 9, abs=1e-4)
        # Days since last attendance: A was at the dinner on 1 April (29½ days), everyone else
        # last at spring (110½ days): A above B, E, F: 3; C and D tie with all three: 1.5 each → 6 / 9.
        assert overall.baseline_auc["days_since_last_attendance"] == pytest.approx(6 / 9, abs=1e-4)
        # Editions of the series attended: 1 for everyone, all tied → ½.
        assert overall.baseline_auc["editions_attended"] == 0.5
        assert overall.score_beaten_by == []  # a tie with a baseline is no defeat
        # Components alone. Dialogue: A > B > everyone else at 0: A 3, C and D ½ + ½ each → 5 / 9.
        # Networking: only C met someone at spring: C 3, A and D 1.5 each → 6 / 9.
        assert overall.component_auc["dialogue"] == pytest.approx(5 / 9, abs=1e-4)
        assert overall.component_auc["networking"] == pytest.approx(6 / 9, abs=1e-4)
        assert [group.name for group in report.series] == ["Hamburg Summit"]
        assert report.series[0].score_auc == overall.score_auc

    def test_calibration_of_six_pairs_is_six_groups_of_one_by_score(self):
        six_contacts()

        groups = build_validity_report().overall.calibration

        # D, E, F (14.9, by contact id: D came), C (came), B (did not), A (came)
        assert [group.pairs for group in groups] == [1] * 6
        assert [group.return_rate for group in groups] == [1.0, 0.0, 0.0, 1.0, 0.0, 1.0]
        assert [group.decile for group in groups] == [1, 2, 3, 4, 5, 6]
        assert groups[0].min_score == groups[2].max_score < groups[3].mean_score < groups[5].max_score

    def test_three_editions_pooled_with_both_baselines(self):
        history = three_editions()

        overall = build_validity_report().overall

        # Edition 2: P (came) and Q (did not), both from edition 1.
        # Edition 3: P (from 1 and 2, came), Q (from 1, came), R (from 2, did not).
        assert (overall.editions, overall.contacts, overall.pairs, overall.returned) == (2, 3, 5, 3)
        # Editions attended — came: P₂ 1, P₃ 2, Q₃ 1; did not: Q₂ 1, R₃ 1.
        #   P₂ ties both: 1;  P₃ above both: 2;  Q₃ ties both: 1  → 4 / 6
        assert overall.baseline_auc["editions_attended"] == pytest.approx(4 / 6, abs=1e-4)
        # Days since last attendance — came: P₂ 100, P₃ 100, Q₃ 200⅜; did not: Q₂ 100, R₃ 100.
        #   P₂ ties both: 1;  P₃ ties both: 1;  Q₃ below both: 0  → 2 / 6
        assert overall.baseline_auc["days_since_last_attendance"] == pytest.approx(2 / 6, abs=1e-4)
        # The score, as of each edition: P₂ = Q₂ (same history), P₃ > R₃ > Q₃.
        second, third = history.editions[1:]
        at_second, at_third = scores_before(history, second), scores_before(history, third)
        assert at_second["P"] == at_second["Q"]
        assert at_third["P"] > at_third["R"] > at_third["Q"]
        # Pooled, with the scores as they are: came P₂, P₃, Q₃; did not Q₂, R₃.
        came = [at_second["P"], at_third["P"], at_third["Q"]]
        did_not = [at_second["Q"], at_third["R"]]
        wins = sum(1.0 if c > d else 0.5 if c == d else 0.0 for c in came for d in did_not)
        assert overall.score_auc == pytest.approx(wins / 6, abs=1e-4)

    def test_a_score_that_loses_to_a_baseline_says_so(self):
        score_loses()

        overall = build_validity_report().overall

        # G and H (did not come) outscore I and J (came): every pair lost → 0. The days since
        # the last attendance put I and J (dinner, 29½ days) above G and H (spring, 110½): 1.
        assert overall.score_auc == 0.0
        assert overall.baseline_auc == {"days_since_last_attendance": 1.0, "editions_attended": 0.5}
        assert overall.score_beaten_by == ["days_since_last_attendance", "editions_attended"]

    def test_per_series_and_pooled_overall(self):
        six_contacts()
        three_editions()

        report = build_validity_report()

        assert [(group.name, group.pairs) for group in report.series] == [("CX Roadshow", 5), ("Hamburg Summit", 6)]
        assert (report.overall.editions, report.overall.contacts, report.overall.pairs) == (3, 9, 11)
        only = build_validity_report(series_id=report.series[1].series_id)
        assert only.overall.pairs == 6
        assert [group.name for group in only.series] == ["Hamburg Summit"]
        assert only.overall.score_auc == report.series[1].score_auc


class TestDefinitions:
    def test_the_editions_own_attendance_does_not_leak_into_the_score(self):
        """Two contacts with the same history up to autumn: one came and met people there.
        As of just before autumn they are the same, so the score cannot tell them apart."""
        history = six_contacts()
        spring, autumn = history.editions
        d, e = history.people["D"], history.people["E"]
        Interaction.objects.create(event=autumn, contact=d, counterpart=e, kind="meeting",
                                   occurred_at=autumn.starts_at + timedelta(minutes=30))

        observations = {row.contact_id: row for row in edition_population(completed_editions()[0])}
        assert (observations[d.pk].returned, observations[e.pk].returned) == (True, False)
        assert scores_before(history, autumn)["D"] == scores_before(history, autumn)["E"]

    def test_who_is_in_the_population(self):
        history = six_contacts()
        spring, autumn = history.editions
        erased = history.people["F"]
        erase_contact(erased)
        # Registered but did not come to spring: not in the population.
        attend(spring, registered := Contact.objects.create(email="reg@client.example"), status="registered")
        # At an earlier summit edition still running at autumn's start: not known yet, not counted.
        overlapping = completed_event("Summit side event", AUTUMN - timedelta(hours=2), series=history.series, hours=6)
        attend(overlapping, late := Contact.objects.create(email="late@client.example"))

        population = {row.contact_id for row in edition_population(
            next(edition for edition in completed_editions() if edition.event_id == autumn.pk)
        )}

        assert erased.pk in population  # erased contacts keep their rows and count, anonymously
        assert registered.pk not in population
        assert late.pk not in population
        assert population == {person.pk for person in history.people.values()}

    def test_only_completed_editions_with_an_earlier_edition_are_editions_n_plus_1(self):
        history = six_contacts()
        spring, autumn = history.editions
        Event.objects.create(name="Summit winter", series=history.series, starts_at=AUTUMN + timedelta(days=90),
                             ends_at=AUTUMN + timedelta(days=90, hours=8))  # planned

        assert [edition.event_id for edition in completed_editions()] == [autumn.pk]
        Event.objects.filter(pk=autumn.pk).update(status="cancelled", completed_at=None)
        assert completed_editions() == []
        assert not build_validity_report().has_data

    def test_baselines_are_as_of_t(self):
        history = six_contacts()
        spring, autumn = history.editions
        rows = {row.contact_id: row for row in edition_population(completed_editions()[0])}
        a, b = rows[history.people["A"].pk], rows[history.people["B"].pk]
        as_of = autumn.starts_at - timedelta(microseconds=1)
        assert a.last_attended_ends_at == datetime(2026, 4, 1, 22, 0, tzinfo=UTC)  # the dinner, not autumn
        assert b.last_attended_ends_at == spring.ends_at
        assert (as_of - b.last_attended_ends_at) > timedelta(days=110)
        assert (a.editions_attended, b.editions_attended) == (1, 1)


class TestCalibration:
    def test_ten_groups_as_equal_as_possible_by_rank(self):
        observations = [
            Observation(contact_id=n, event_id=1, series_id=1, returned=n % 3 == 0, score=float(n), components={},
                        days_since_last_attendance=1.0, editions_attended=1)
            for n in range(25)
        ]

        groups = calibration(reversed(observations))

        assert [group.pairs for group in groups] == [2, 3, 2, 3, 2, 3, 2, 3, 2, 3]
        assert (groups[0].min_score, groups[0].max_score, groups[-1].min_score, groups[-1].max_score) == (0, 1, 22, 24)
        assert groups[1].mean_score == 3.0  # scores 2, 3, 4
        assert groups[1].return_rate == pytest.approx(1 / 3, abs=1e-4)  # 3 of 2, 3, 4

    def test_no_pairs_no_groups(self):
        assert calibration([]) == []


class TestCost:
    def queries(self, contacts: int, **options) -> int:
        grown(contacts)
        params = active_parameters()
        with CaptureQueriesContext(connection) as captured:
            report = build_validity_report(params=params, **options)
        assert report.overall.pairs == contacts
        return len(captured)

    def test_the_query_count_does_not_grow_with_the_contacts(self):
        few = self.queries(6)
        Event.objects.all().delete()  # the next history alone
        many = self.queries(60)
        # One query lists the editions, one reads the autumn's population, one scores its chunk.
        assert few == many
        if connection.vendor == "sqlite":
            assert few == 3

    def test_chunks_give_the_same_report_with_one_query_more_each(self):
        history = grown(10)
        whole = build_validity_report()
        with CaptureQueriesContext(connection) as one_chunk:
            build_validity_report(chunk_size=100)
        with CaptureQueriesContext(connection) as four_chunks:
            chunked = build_validity_report(chunk_size=3)
        assert chunked.overall == whole.overall
        per_chunk = 1 if connection.vendor == "sqlite" else 4  # PostgreSQL: savepoint, SET LOCAL, query, release
        assert len(four_chunks) - len(one_chunk) == 3 * per_chunk
        assert history.series.name == whole.series[0].name

    def test_progress_counts_the_pairs(self):
        grown(10)
        heard = []
        build_validity_report(chunk_size=4, progress=lambda done, total: heard.append((done, total)))
        assert heard == [(0, 10), (4, 10), (8, 10), (10, 10)]


class TestCache:
    def test_a_second_call_reads_the_cache(self):
        six_contacts()
        first = score_validity_report()

        with CaptureQueriesContext(connection) as captured:
            second = score_validity_report()

        assert len(captured) == 1  # the data version; nothing is computed again
        assert (first.from_cache, second.from_cache) == (False, True)
        assert (second.overall, second.computed_at) == (first.overall, first.computed_at)

    @pytest.mark.parametrize("change", ["new attendance", "deleted interaction", "changed event", "new profile version"])
    def test_a_change_to_the_data_computes_it_again(self, change):
        history = six_contacts()
        spring, autumn = history.editions
        first = score_validity_report()

        if change == "new attendance":
            no_show = Attendance.objects.get(event=autumn, contact=history.people["B"])
            no_show.status = "attended"
            no_show.save()
        elif change == "deleted interaction":
            Interaction.objects.filter(event=spring).delete()
        elif change == "changed event":
            spring.name = "Summit spring (renamed)"
            spring.save()
        else:
            profile = ScoringProfile.objects.get(is_active=True)
            update_profile(profile, half_life_days=90)
        again = score_validity_report()

        assert again.data_version != first.data_version
        assert not again.from_cache
        if change == "new attendance":
            assert again.overall.returned == first.overall.returned + 1
        if change == "new profile version":
            assert again.profile_version == first.profile_version + 1

    def test_no_cache_computes_again_and_the_series_filter_has_its_own_entry(self):
        history = six_contacts()
        score_validity_report()
        assert not score_validity_report(use_cache=False).from_cache
        assert not score_validity_report(series_id=history.series.pk).from_cache
        assert score_validity_report(series_id=history.series.pk).from_cache

    def test_the_data_version_is_one_query(self):
        six_contacts()
        with CaptureQueriesContext(connection) as captured:
            version = data_version()
        assert (len(captured), len(version)) == (1, 16)
        assert data_version() == version


class TestCommand:
    def test_prints_the_table_and_the_honest_note(self):
        score_loses()
        out = StringIO()

        call_command("score_validity", stdout=out, stderr=StringIO())

        text = out.getvalue()
        assert "Partner Dinner" in text
        assert "1 editions, 4 contacts, 4 (contact, edition) pairs, 2 returned (50.0 %)" in text
        assert "less well than the baseline “Days since last” (AUC 0.000 against 1.000)" in text

    def test_json_is_the_apis_shape(self):
        import json

        six_contacts()
        out = StringIO()

        call_command("score_validity", "--json", "--no-cache", stdout=out)

        data = json.loads(out.getvalue())
        assert data["overall"]["score_auc"] == pytest.approx(6 / 9, abs=1e-4)
        assert data["series"][0]["name"] == "Hamburg Summit"
        assert set(data["overall"]["baseline_auc"]) == {"days_since_last_attendance", "editions_attended"}

    def test_without_data_it_says_so(self):
        out = StringIO()
        call_command("score_validity", stdout=out, stderr=StringIO())
        assert "Not enough data" in out.getvalue()

    def test_an_unknown_series_is_an_error(self):
        with pytest.raises(CommandError, match="No series with id 999"):
            call_command("score_validity", "--series", "999", stdout=StringIO())

