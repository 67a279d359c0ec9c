"""The profile fitted to the agency's history (scoring/services/fitting.py) and its admin page.

The main history (tests/scoring/fit_history.py): a yearly forum, six editions, 20 contacts;
before each edition a random half networks and exactly those come, a random quarter speaks at a
dinner (attendance noise). Editions 1–5 are the editions N+1 (20 pairs each, 10 came back):
1–3 train, 4–5 test.
"""

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact
from events.models import Attendance, EventSeries
from scoring.models import COMPONENTS, ScoringProfile
from scoring.services import active_parameters
from scoring.services.fitting import (
    INNER_VALIDATION,
    HalfLifeTrial,
    WeightFit,
    _choose,
    build_profile_fit,
    candidate_half_lives,
    create_fitted_profile,
    fit_profile,
    fit_weights,
    rounded_weights,
    score_auc,
    split_editions,
    weighted_score,
)
from scoring.services.validity import Edition, Observation, completed_editions, recent_populations
from tests.scoring.fit_history import networking_forum
from tests.scoring.validity_history import attend, completed_event, six_contacts

pytestmark = pytest.mark.django_db

URL = "/admin/ror/profiles/fit/"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def forum():
    return networking_forum()


def observation(returned: bool, event_id: int = 1, contact_id: int = 1, **components) -> Observation:
    values = dict.fromkeys(COMPONENTS, 0.0) | components
    return Observation(contact_id=contact_id, event_id=event_id, series_id=1, returned=returned, score=0.0,
                       components=values, days_since_last_attendance=0.0, editions_attended=1)


def edition(event_id: int, day: int) -> Edition:
    return Edition(event_id, f"E{event_id}", 1, "S", datetime(2026, 1, day, 9, 0, tzinfo=UTC))


class TestPieces:
    def test_split_by_time_70_30_never_splitting_an_edition(self):
        editions = [edition(event_id, day) for event_id, day in ((5, 5), (1, 1), (3, 3), (2, 2), (4, 4))]
        train, test = split_editions(editions, 0.3)
        # 5 editions: round(1.5) = 2 test editions, the latest two; sorted by start, not by id.
        assert [e.event_id for e in train] == [1, 2, 3]
        assert [e.event_id for e in test] == [4, 5]
        assert split_editions(editions[:2], 0.3)[1] == [editions[0]]  # two: one each side
        assert split_editions(editions[:1], 0.3) == ([], [])

    def test_editions_starting_together_stay_on_one_side(self):
        editions = [edition(1, 1), edition(2, 2), edition(3, 3), edition(4, 3), edition(5, 4)]
        train, test = split_editions(editions, 0.3)  # the cut (3 | 2) would part 3 and 4: both train
        assert [e.event_id for e in train] == [1, 2, 3, 4]
        assert [e.event_id for e in test] == [5]
        together = [edition(1, 1), edition(2, 1)]
        assert split_editions(together, 0.3) == ([], [])

    def test_rounded_weights_sum_to_exactly_one(self):
        assert rounded_weights({"a": 1.0, "b": 1.0, "c": 1.0}) == {"a": 0.334, "b": 0.333, "c": 0.333}
        assert rounded_weights({"a": 2.0, "b": 0.0}) == {"a": 1.0, "b": 0.0}
        weights = rounded_weights({"a": 0.12345, "b": 0.5, "c": 0.37655, "d": 1e-6})
        assert math.fsum(weights.values()) == 1.0
        assert all(round(value, 3) == value for value in weights.values())

    def test_a_component_against_returning_is_left_out_and_a_constant_one_gets_0(self):
        # networking goes with a return, attendance against it, care never varies.
        observations = [
            observation(returned, contact_id=n, networking=net, attendance=att, care=0.5)
            for n, (returned, net, att) in enumerate([
                (True, 0.9, 0.1), (True, 0.8, 0.2), (True, 0.6, 0.5), (False, 0.2, 0.9), (False, 0.1, 0.8),
                (False, 0.5, 0.6),
            ])
        ]
        fitted = fit_weights(observations)
        assert fitted.left_out == ["attendance"]
        assert set(fitted.constant) == {"dialogue", "care", "advocacy", "recency"}
        assert fitted.weights == {"attendance": 0.0, "networking": 1.0, "dialogue": 0.0, "care": 0.0,
                                  "advocacy": 0.0, "recency": 0.0}

    def test_each_series_has_its_own_base_rate(self):
        # Within each series more networking goes with a return; across them the busy networkers of
        # series 2 return less often (20 % against 80 %). Pooled without a base rate per series,
        # networking would count against a return.
        observations = [
            replace(observation(returned, contact_id=n, networking=value), series_id=series)
            for n, (series, returned, value) in enumerate(
                [(1, True, 0.3 + n / 100) for n in range(8)] + [(1, False, 0.1), (1, False, 0.12)]
                + [(2, True, 0.9), (2, True, 0.92)] + [(2, False, 0.7 + n / 100) for n in range(8)]
            )
        ]
        assert fit_weights(observations).weights["networking"] == 1.0
        assert fit_weights([replace(o, series_id=1) for o in observations]).left_out == ["networking"]

    def test_no_weights_when_every_component_counts_against_a_return(self):
        observations = [observation(returned, contact_id=n, dialogue=value)
                        for n, (returned, value) in enumerate([(True, 0.1), (True, 0.2), (False, 0.8), (False, 0.9)])]
        assert fit_weights(observations) == WeightFit(None, ["dialogue"], [n for n in COMPONENTS if n != "dialogue"])

    def test_weighted_score_is_the_profiles_score(self):
        obs = observation(True, attendance=0.5, networking=0.25)
        assert weighted_score(obs, {**dict.fromkeys(COMPONENTS, 0.0), "attendance": 0.6, "networking": 0.4}) == 40.0
        # ranked by the weighted score: 2 of the pair (positive 40 > negative 10) → 1.0
        other = observation(False, contact_id=2, attendance=0.1, networking=0.1)
        assert score_auc([obs, other], {**dict.fromkeys(COMPONENTS, 0.0), "attendance": 0.5, "networking": 0.5}) == 1.0

    def test_a_half_life_other_than_the_active_one_must_do_strictly_better(self):
        some = WeightFit({"networking": 1.0}, [], [])
        none = WeightFit(None, [], [])
        assert _choose([(180.0, 0.8, some), (90.0, 0.8, some)], 180.0)[0] == 180.0  # a tie keeps the active one
        assert _choose([(180.0, 0.8, some), (90.0, 0.81, some)], 180.0)[0] == 90.0
        assert _choose([(180.0, None, none), (90.0, 0.6, some)], 180.0)[0] == 90.0
        assert _choose([(90.0, 0.7, some), (365.0, 0.75, some)], 180.0)[0] == 365.0  # active not tried

    def test_half_lives_a_profile_may_not_have_are_refused(self):
        assert candidate_half_lives(None, 180.0) == [180.0, 90.0, 365.0]
        assert candidate_half_lives([365, 90, 365], 180.0) == [365.0, 90.0]
        for bad in ([10.0], [5000.0], [math.nan], []):
            with pytest.raises(ValueError, match="half"):
                candidate_half_lives(bad, 180.0)
        for share in (0, 1, -0.2):
            with pytest.raises(ValueError, match="test_share"):
                build_profile_fit(test_share=share)


class TestFit:
    def test_networking_predicts_returning_and_the_fit_finds_it(self, forum):
        fit = build_profile_fit(half_lives=[180])
        assert fit.available
        assert fit.reason == ""
        assert max(fit.fitted_weights, key=fit.fitted_weights.get) == "networking"
        assert fit.fitted_weights["networking"] > 0.8
        assert math.fsum(fit.fitted_weights.values()) == 1.0
        # Constant as of every T (the same follow-up for all; no feedback, no referral, no care).
        assert set(fit.constant) == {"care", "advocacy", "recency"}
        # The active profile's 0.3 on attendance lets a dinner speaker who stays away outrank one who comes.
        assert fit.active_test_auc < 1.0
        assert fit.fitted_test_auc >= fit.active_test_auc
        assert fit.fitted_test_auc == 1.0
        assert fit.fitted_half_life_days == 180.0
        assert fit.active_version == 1
        assert fit.active_weights == active_parameters().weights

    def test_the_split_never_puts_a_test_edition_in_training(self, forum):
        fit = build_profile_fit(half_lives=[180])
        first, second, third, fourth, fifth = (event.pk for event in forum.editions[1:])
        assert [e.event_id for e in fit.train_editions] == [first, second, third]
        assert [e.event_id for e in fit.test_editions] == [fourth, fifth]
        assert max(e.starts_at for e in fit.train_editions) < min(e.starts_at for e in fit.test_editions)
        assert (fit.train_pairs, fit.train_returned, fit.test_pairs, fit.test_returned) == (60, 30, 40, 20)
        # Half-lives are chosen on the training editions: the first two fit, the third validates.
        assert fit.selection == INNER_VALIDATION

    def test_the_test_editions_neither_fit_nor_choose(self, forum):
        fit = build_profile_fit()
        # Turn the last edition's outcome around: those who networked stay away, the others come.
        last = forum.editions[-1]
        came = set(Attendance.objects.filter(event=last).values_list("contact_id", flat=True))
        Attendance.objects.filter(event=last).delete()
        attend(last, *[person for person in forum.people.values() if person.pk not in came])
        turned = build_profile_fit()
        assert turned.fitted_weights == fit.fitted_weights
        assert turned.fitted_half_life_days == fit.fitted_half_life_days
        assert turned.trials == fit.trials
        assert turned.fitted_test_auc < fit.fitted_test_auc  # only the test figures move

    def test_every_half_life_is_tried_and_reported(self, forum):
        fit = build_profile_fit(half_lives=[180, 90, 365])
        assert [trial.half_life_days for trial in fit.trials] == [180.0, 90.0, 365.0]
        assert all(isinstance(trial, HalfLifeTrial) and trial.selection_auc is not None for trial in fit.trials)
        best = max(trial.selection_auc for trial in fit.trials)
        chosen = next(trial for trial in fit.trials if trial.half_life_days == fit.fitted_half_life_days)
        assert chosen.selection_auc == best

    def test_the_active_half_life_is_scored_for_the_active_auc_even_when_not_tried(self, forum):
        fit = build_profile_fit(half_lives=[365])
        assert fit.active_test_auc == build_profile_fit(half_lives=[180]).active_test_auc
        assert fit.fitted_half_life_days == 365.0

    def test_queries_do_not_grow_with_the_contacts(self):
        networking_forum(contacts=8)
        with CaptureQueriesContext(connection) as small:
            build_profile_fit(half_lives=[180], chunk_size=1000)
        for model in (EventSeries, Contact):
            model.objects.all().delete()
        networking_forum(contacts=24)
        with CaptureQueriesContext(connection) as large:
            build_profile_fit(half_lives=[180], chunk_size=1000)
        # Editions (1), a population per edition (5), then compute_scores() per edition and chunk.
        assert len(large.captured_queries) == len(small.captured_queries)


class TestTooFewData:
    def test_no_edition_at_all(self):
        fit = build_profile_fit()
        assert not fit.available
        assert fit.reason_code == "too_few_editions"
        assert fit.editions == []
        assert "at least two completed editions" in fit.reason

    def test_one_edition_n_plus_1_is_listed_on_no_side(self):
        six_contacts()
        fit = build_profile_fit()
        assert fit.reason_code == "too_few_editions"
        assert [(e.name, e.part, e.pairs) for e in fit.editions] == [("Summit autumn", "", 6)]
        assert "there are 1" in fit.reason

    def _three_editions(self, second_all: bool, third_all: bool):
        series = EventSeries.objects.create(name="Roadshow")
        start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
        first, second, third = (completed_event(f"R{n}", start + timedelta(days=100 * n), series=series) for n in range(3))
        people = Contact.objects.bulk_create(Contact(email=f"r{n}@roadshow.example") for n in range(4))
        attend(first, *people)
        attend(second, *(people if second_all else people[:2]))
        attend(third, *(people if third_all else people[:1]))

    def test_everyone_came_back_in_training(self):
        self._three_editions(second_all=True, third_all=False)
        fit = build_profile_fit()
        assert fit.reason_code == "train_one_class"
        assert "nothing to learn from" in fit.reason
        assert (fit.train_pairs, fit.test_pairs) == (4, 4)

    def test_everyone_came_back_in_the_test(self):
        self._three_editions(second_all=False, third_all=True)
        fit = build_profile_fit()
        assert fit.reason_code == "test_one_class"
        assert fit.fitted_weights is None
        assert fit.fitted_test_auc is None
        with pytest.raises(ValueError, match="no profile"):
            create_fitted_profile(fit)


class TestCache:
    def test_cached_under_the_data_version(self, forum):
        first = fit_profile(half_lives=[180])
        assert not first.from_cache
        assert first.data_version
        again = fit_profile(half_lives=[180])
        assert again.from_cache
        assert again.fitted_weights == first.fitted_weights
        assert not fit_profile(half_lives=[90]).from_cache  # other candidates, another entry
        attend(forum.editions[-1], Contact.objects.create(email="late@forum.example"))
        fresh = fit_profile(half_lives=[180])
        assert not fresh.from_cache
        assert fresh.data_version != first.data_version


class TestCreateFittedProfile:
    def test_a_new_inactive_version_with_the_fitted_weights(self, forum):
        active = ScoringProfile.objects.get(is_active=True)
        fit = build_profile_fit(half_lives=[365])
        profile = create_fitted_profile(fit)
        profile.refresh_from_db()
        assert not profile.is_active
        assert profile.version == active.version + 1
        assert ScoringProfile.objects.get(is_active=True) == active
        assert profile.weights == fit.fitted_weights
        assert math.fsum(profile.weights.values()) == 1.0
        assert profile.half_life_days == 365.0
        for name in ("saturation", "role_weights", "outcome_weights", "stage_thresholds"):
            assert getattr(profile, name) == getattr(active, name)
        assert profile.name.startswith("Fitted ")
        profile.full_clean()


def fit_page(client):
    response = client.get(URL)
    assert response.status_code == 200
    return response


class TestPage:
    def test_staff_see_both_aucs_the_weights_and_the_split(self, client, staff_user, forum):
        client.force_login(staff_user)
        fit = fit_profile()
        html = fit_page(client).content.decode()
        assert '<h1>A profile fitted to your history</h1>' in html
        assert f'{fit.active_test_auc:.3f}' in html
        assert "1.000" in html
        assert html.count('data-part="test"') == 3  # two editions and the summary row
        assert 'data-component="networking"' in html
        assert 'id="ror-fit-create"' in html
        assert "Weight 0 for Care, Advocacy, Recency" in html

    def test_the_profile_list_and_the_validity_page_link_to_it(self, client, staff_user):
        client.force_login(staff_user)
        assert URL in client.get(reverse("admin:scoring_scoringprofile_changelist")).content.decode()
        networking_forum()
        assert URL in client.get("/admin/ror/score-validity/").content.decode()

    def test_without_data_it_says_why(self, client, staff_user):
        client.force_login(staff_user)
        html = fit_page(client).content.decode()
        assert 'id="ror-fit-unavailable"' in html
        assert 'id="ror-fit-create"' not in html

    def test_the_button_creates_an_inactive_version_and_opens_it(self, client, staff_user, forum):
        client.force_login(staff_user)
        fit = fit_profile()
        response = client.post(URL, {"data_version": fit.data_version})
        profile = ScoringProfile.objects.order_by("-version").first()
        assert response.status_code == 302
        assert response.url == reverse("admin:scoring_scoringprofile_change", args=[profile.pk])
        assert not profile.is_active
        assert profile.weights == fit.fitted_weights
        assert LogEntry.objects.filter(object_id=str(profile.pk), action_flag=ADDITION, user=staff_user).exists()
        page = client.get(response.url).content.decode()
        assert "was created, inactive" in page

    def test_a_fit_that_changed_since_the_page_was_shown_is_not_created(self, client, staff_user, forum):
        client.force_login(staff_user)
        response = client.post(URL, {"data_version": "0123456789abcdef"}, follow=True)
        assert ScoringProfile.objects.count() == 1
        assert "changed since the page was shown" in response.content.decode()

    def test_no_profile_without_a_fit(self, client, staff_user):
        client.force_login(staff_user)
        fit = fit_profile()
        response = client.post(URL, {"data_version": fit.data_version}, follow=True)
        assert ScoringProfile.objects.count() == 1
        assert "Too few data" in response.content.decode()

    def test_sales_read_the_fit_but_may_not_create(self, client, sales_user, forum):
        client.force_login(sales_user)
        assert 'id="ror-fit-create"' not in fit_page(client).content.decode()
        response = client.post(URL, {"data_version": fit_profile().data_version})
        assert response.status_code == 403
        assert ScoringProfile.objects.count() == 1

    def test_staff_without_the_change_permission_are_refused(self, client, staff_user, forum):
        staff_user.groups.clear()
        staff_user.user_permissions.add(Permission.objects.get(codename="view_scoringprofile"))
        client.force_login(staff_user)
        assert client.post(URL, {"data_version": fit_profile().data_version}).status_code == 403
        staff_user.user_permissions.clear()
        client.force_login(staff_user)  # a fresh session: the permission cache starts empty
        assert client.get(URL).status_code == 403
        assert ScoringProfile.objects.count() == 1

    def test_non_staff_are_sent_to_the_login(self, client, django_user_model, forum):
        user = django_user_model.objects.create_user("visitor", "v@example.com", "pw-visitor-123")
        user.user_permissions.add(*Permission.objects.filter(codename__endswith="_scoringprofile"))
        client.force_login(user)
        response = client.post(URL, {"data_version": "x"})
        assert response.status_code == 302
        assert "/admin/login/" in response.url
        assert ScoringProfile.objects.count() == 1

    def test_only_get_and_post(self, client, staff_user):
        client.force_login(staff_user)
        assert client.put(URL).status_code == 405


def test_completed_editions_are_the_validity_reports(forum):
    """The fit reads the validity report's editions N+1: the forum's five later editions."""
    assert [e.event_id for e in completed_editions()] == [event.pk for event in forum.editions[1:]]


def test_the_newest_editions_up_to_the_pair_cap_are_read(forum, django_assert_num_queries):
    """Over the cap, whole editions from the newest back: the forum's editions hold 20 pairs each,
    so a cap of 30 reads the newest two (the second reaches it) and leaves the older three unread."""
    editions = completed_editions()
    per_edition = 1 if connection.vendor == "sqlite" else 4  # PostgreSQL: savepoint, SET LOCAL jit, query, release
    with django_assert_num_queries(2 * per_edition):
        chosen = recent_populations(editions, 30)
    assert [e.event_id for e, _population in chosen] == [event.pk for event in forum.editions[-2:]]
    assert [len(population) for _edition, population in chosen] == [20, 20]
    assert [e.event_id for e, _population in recent_populations(editions, None)] == [e.event_id for e in editions]
    fit = build_profile_fit(max_pairs=30)
    assert {row.event_id for row in fit.editions} == {event.pk for event in forum.editions[-2:]}
