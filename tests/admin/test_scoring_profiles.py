"""Scoring profiles in the admin, as Agency staff: a profile that would break scoring is a form
error and nothing is saved; one profile stays active; new parameters are a new version."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone, translation

from contacts.models import Contact
from events.models import Attendance, Event
from scoring.forms import ScoringProfileForm
from scoring.models import ContactScore, ScoringProfile
from scoring.services.profile import PARAMETER_FIELDS, default_profile_values

pytestmark = pytest.mark.django_db


def change_url(profile: ScoringProfile) -> str:
    return reverse("admin:scoring_scoringprofile_change", args=[profile.pk])


def form_data(profile: ScoringProfile | None = None, **changes) -> dict:
    """The change form as the browser posts it: a number input per key of each parameter
    ("weights_0", …; an empty one as ""), a ticked box as "on"."""
    values = {"name": "Default", **default_profile_values()}
    if profile is not None:
        values |= {name: getattr(profile, name) for name in ("name", "is_active", *PARAMETER_FIELDS)}
    values |= changes
    form = ScoringProfileForm()
    data = {
        f"{name}_{index}": str(values[name].get(key, ""))
        for name in PARAMETER_FIELDS if name not in ("half_life_days", "converted_referral_weight")
        for index, key in enumerate(form.fields[name].keys)
    }
    data |= {"name": values["name"], "half_life_days": str(values["half_life_days"]), "_save": "Save",
             "converted_referral_weight": str(values["converted_referral_weight"])}
    if values["is_active"]:
        data["is_active"] = "on"
    return data


def v1() -> ScoringProfile:
    return ScoringProfile.objects.get(version=1)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def recompute(client, event: Event, capture_on_commit) -> None:
    """The event's "Recompute scores" action; the task runs after the commit (eager in tests)."""
    with capture_on_commit(execute=True):
        client.post(reverse("admin:events_event_changelist"),
                    {"action": "recompute_scores", "_selected_action": [event.pk]})


def stored() -> list[tuple]:
    return list(ScoringProfile.objects.order_by("version").values_list("version", "is_active", "stage_thresholds",
                                                                       "half_life_days", "saturation"))


@pytest.fixture
def completed_event(db) -> Event:
    now = timezone.now()
    event = Event.objects.create(name="Summit", starts_at=now - timedelta(days=3, hours=8),
                                 ends_at=now - timedelta(days=3), status="completed", completed_at=now - timedelta(days=2))
    Attendance.objects.create(event=event, contact=Contact.objects.create(email="anna@example.com"), status="attended")
    return event


class TestInvalidParameters:
    @pytest.mark.parametrize(("field", "value", "error"), [
        ("stage_thresholds", {**default_profile_values()["stage_thresholds"], "at_risk_days": 4000},
         "“At risk after (days without a touch)” must be a number from 0 to 3650"),
        ("stage_thresholds", {**default_profile_values()["stage_thresholds"], "at_risk_days": "abc"}, "Enter a number."),
        ("saturation", {"attendance": 2.0, "networking": 0, "dialogue": 3.0, "referrals": 1.0},
         "“Networking” must be a number above 0"),
        ("role_weights", {"attendee": 1.0}, "This field is required."),
        ("outcome_weights", {**default_profile_values()["outcome_weights"], "positive": -1},
         "“Positive” must be a number from 0 to 10"),
        ("half_life_days", 0, "The half-life must be positive."),
        ("half_life_days", "nan", "Enter a number."),
        ("weights", {**default_profile_values()["weights"], "recency": 0.2}, "The weights must sum to 1"),
    ], ids=lambda value: str(value)[:30])
    def test_are_form_errors_and_nothing_is_saved(self, staff_client, field, value, error):
        before = stored()

        response = staff_client.post(change_url(v1()), form_data(v1(), **{field: value}))

        assert response.status_code == 200  # the form again, not a redirect
        errors = response.context["adminform"].form.errors
        assert any(error in message for message in errors.get(field, [])), errors.as_data()
        assert stored() == before

    def test_an_invalid_new_profile_is_not_created(self, staff_client):
        response = staff_client.post(reverse("admin:scoring_scoringprofile_add"),
                                     form_data(name="Broken", is_active=False, saturation={}))

        assert response.status_code == 200
        assert "saturation" in response.context["adminform"].form.errors
        assert ScoringProfile.objects.count() == 1


    def test_a_missing_number_is_said_once_in_words(self, staff_client):
        response = staff_client.post(reverse("admin:scoring_scoringprofile_add"),
                                     form_data(name="Broken", is_active=False, role_weights={"attendee": 1.0}))

        assert response.context["adminform"].form.errors["role_weights"] == ["This field is required."]


def test_a_new_profile_starts_from_the_active_ones_parameters(staff_client):
    active = v1()
    ScoringProfile.objects.filter(pk=active.pk).update(half_life_days=240, saturation={**active.saturation, "dialogue": 5})

    form = staff_client.get(reverse("admin:scoring_scoringprofile_add")).context["adminform"].form

    assert (form.initial["half_life_days"], form.initial["saturation"]["dialogue"]) == (240, 5)
    assert all(form.initial[name] == getattr(v1(), name) for name in PARAMETER_FIELDS)
    assert not {"name", "is_active"} & set(form.initial)


class TestOneActiveProfile:
    def test_the_only_active_profile_cannot_be_unticked(self, staff_client, completed_event,
                                                        django_capture_on_commit_callbacks):
        response = staff_client.post(change_url(v1()), form_data(v1(), is_active=False))

        assert response.status_code == 200
        assert "activate another profile instead" in response.context["adminform"].form.errors["is_active"][0]
        assert v1().is_active
        recompute(staff_client, completed_event, django_capture_on_commit_callbacks)
        assert ContactScore.objects.get().profile_version == 1  # scoring still works

    def test_activating_another_profile_deactivates_the_active_one(self, staff_client):
        staff_client.post(reverse("admin:scoring_scoringprofile_add"),
                          form_data(name="Tuned", is_active=False, half_life_days=90))
        tuned = ScoringProfile.objects.get(name="Tuned")
        assert (tuned.version, tuned.is_active, v1().is_active) == (2, False, True)

        response = staff_client.post(change_url(tuned), form_data(tuned, is_active=True))

        assert response.status_code == 302
        assert list(ScoringProfile.objects.filter(is_active=True).values_list("version", flat=True)) == [2]

    def test_the_active_profile_is_not_deleted(self, staff_client):
        url = reverse("admin:scoring_scoringprofile_delete", args=[v1().pk])

        response = staff_client.post(url, {"post": "yes"}, follow=True)

        assert "Default v1 is the active profile: activate another profile before deleting it." in messages_of(response)
        assert v1().is_active

    def test_a_bulk_delete_keeps_the_active_profile(self, staff_client):
        response = staff_client.post(reverse("admin:scoring_scoringprofile_changelist"), {
            "action": "delete_selected", "_selected_action": [v1().pk], "post": "yes"}, follow=True)

        assert any("is the active profile" in message for message in messages_of(response))
        assert v1().is_active


class TestVersions:
    def test_the_version_is_not_typed_in(self, staff_client):
        form = staff_client.get(change_url(v1())).context["adminform"].form

        assert "version" not in form.fields

    def test_new_parameters_are_a_new_version_and_the_scores_carry_it(self, staff_client, completed_event,
                                                                       django_capture_on_commit_callbacks):
        recompute(staff_client, completed_event, django_capture_on_commit_callbacks)
        assert ContactScore.objects.get().profile_version == 1

        new_thresholds = {**default_profile_values()["stage_thresholds"], "at_risk_days": 200}
        response = staff_client.post(change_url(v1()), {**form_data(v1(), stage_thresholds=new_thresholds),
                                                        "_continue": "Save and continue"}, follow=True)

        v2 = ScoringProfile.objects.get(version=2)
        assert (v2.is_active, v2.stage_thresholds["at_risk_days"]) == (True, 200)
        assert (v1().is_active, v1().stage_thresholds["at_risk_days"]) == (False, 270)  # v1's record, as it was
        assert response.redirect_chain[-1][0] == change_url(v2)
        assert any("saved as version 2" in message for message in messages_of(response))

        recompute(staff_client, completed_event, django_capture_on_commit_callbacks)
        assert ContactScore.objects.get().profile_version == 2

    def test_new_active_parameters_rescore_every_contact(self, staff_client, completed_event,
                                                        django_capture_on_commit_callbacks):
        recompute(staff_client, completed_event, django_capture_on_commit_callbacks)
        weights = {**default_profile_values()["weights"]}
        weights["attendance"], weights["networking"] = weights["attendance"] + 0.1, weights["networking"] - 0.1

        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(change_url(v1()), form_data(v1(), weights=weights), follow=True)

        assert ContactScore.objects.get().profile_version == 2  # no recompute by hand
        assert any("every contact is being re-scored" in message for message in messages_of(response))

    def test_a_draft_rescores_nobody(self, staff_client, completed_event, django_capture_on_commit_callbacks):
        recompute(staff_client, completed_event, django_capture_on_commit_callbacks)
        data = {**form_data(name="Draft"), "_save": "Save"}
        data.pop("is_active", None)

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            staff_client.post(reverse("admin:scoring_scoringprofile_add"), data)

        assert ScoringProfile.objects.get(name="Draft").is_active is False
        assert callbacks == []
        assert ContactScore.objects.get().profile_version == 1

    def test_a_new_name_keeps_the_version(self, staff_client):
        response = staff_client.post(change_url(v1()), form_data(v1(), name="Agency default"))

        assert response.status_code == 302
        assert list(ScoringProfile.objects.values_list("version", "name")) == [(1, "Agency default")]

    def test_a_new_profile_is_numbered_after_the_highest_version(self, staff_client):
        response = staff_client.post(reverse("admin:scoring_scoringprofile_add"),
                                     form_data(name="Tuned", is_active=True, half_life_days=90))

        assert response.status_code == 302
        assert list(ScoringProfile.objects.values_list("version", "is_active")) == [(2, True), (1, False)]


def test_each_parameter_is_a_labelled_number_per_key_and_saved_as_typed(staff_client):
    page = staff_client.get(change_url(v1())).content.decode()
    assert '<label for="id_stage_thresholds_0">At risk after (days without a touch)</label>' in page
    assert page.count('inputmode="decimal"') >= 6 + 4 + 5 + 5 + 10  # weights, saturation, roles, outcomes, thresholds
    assert "{&quot;" not in page  # no JSON to type

    thresholds = {**v1().stage_thresholds, "at_risk_days": 300}
    response = staff_client.post(change_url(v1()), {**form_data(v1(), stage_thresholds=thresholds), "_continue": "1"})

    assert response.status_code == 302
    saved = ScoringProfile.objects.order_by("-version").first().stage_thresholds
    assert saved["at_risk_days"] == 300
    assert isinstance(saved["at_risk_days"], int)  # 300, not 300.0
    assert saved == thresholds


def test_who_may_only_look_reads_each_parameter_beside_its_label(sales_client):
    """Sales may view profiles, not change them: the stored numbers are shown with their labels,
    not as the JSON they are stored in."""
    page = sales_client.get(change_url(v1())).content.decode()
    thresholds = v1().stage_thresholds
    assert f"At risk after (days without a touch): {thresholds['at_risk_days']}" in page
    assert "Attendance: " in page
    assert "Speaker: " in page
    assert "{&quot;" not in page
    assert 'type="number"' not in page


def test_the_keyed_numbers_are_typed_as_the_admins_language_writes_them(staff_client):
    """Text inputs, as the admin's other decimals: a browser's number input follows the browser's
    locale, and a German page's 0,35 became 035."""
    profile = v1()
    with translation.override("de"):
        page = staff_client.get(change_url(profile), HTTP_ACCEPT_LANGUAGE="de").content.decode()
        data = form_data(profile)
        data |= {"weights_0": "0,25", "weights_1": "0,25"}  # attendance 0.3 → 0.25, networking 0.2 → 0.25
        response = staff_client.post(change_url(profile), data, HTTP_ACCEPT_LANGUAGE="de")

    assert '<input type="text" name="weights_0" value="0,3" inputmode="decimal"' in page
    assert response.status_code == 302, response.context["adminform"].form.errors
    active = ScoringProfile.objects.get(is_active=True).weights
    assert (active["attendance"], active["networking"]) == (0.25, 0.25)
