"""The admin speaks the staff's words: people by name, defaults as configured, no setting names."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact
from events.models import Event
from scoring.choices import NextAction
from scoring.models import ContactScore, ScoringProfile

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned_agency(make_agency, django_user_model):
    owner = django_user_model.objects.create_user(
        "s.sales", "sven@agency.example", "pw-sven-123", is_staff=True, first_name="Sven", last_name="Sales")
    return make_agency(3, owner=owner)


def test_lists_name_owners_as_the_worklist_does(admin_client, owned_agency):
    for url in (reverse("admin:contacts_contact_changelist"), reverse("admin:contacts_followup_changelist")):
        page = admin_client.get(url).content.decode()
        assert '<td class="field-owner_name">Sven Sales</td>' in page, url
        assert "s.sales" not in page, url  # neither in the column nor in the owner filter


def test_an_owner_without_a_full_name_is_named_by_user_name(admin_client, make_agency, django_user_model):
    make_agency(2, owner=django_user_model.objects.create_user("jdoe", is_staff=True))
    page = admin_client.get(reverse("admin:contacts_contact_changelist")).content.decode()
    assert '<td class="field-owner_name">jdoe</td>' in page


def test_empty_cells_read_as_a_dash(admin_client, agency):
    Contact.objects.update(owner=None, organization=None)
    page = admin_client.get(reverse("admin:contacts_contact_changelist")).content.decode()
    assert '<td class="field-owner_name">—</td>' in page
    assert '<td class="field-organization nowrap">—</td>' in page  # Django's own empty cells too (its default: "-")


def test_event_form_states_the_configured_default_deadline(admin_client, agency, settings):
    event = Event.objects.order_by("pk").first()
    url = reverse("admin:events_event_change", args=[event.pk])
    page = admin_client.get(url).content.decode()
    assert "Empty: the site's default, 48 hours." in page
    assert "FOLLOW_UP_DEADLINE_MINUTES" not in page
    settings.FOLLOW_UP_DEADLINE_MINUTES = 90
    assert "Empty: the site's default, 90 minutes." in admin_client.get(url).content.decode()


def test_scoring_profile_form_explains_without_formulas_or_file_names(admin_client, agency):
    profile = ScoringProfile.objects.get(is_active=True)
    page = admin_client.get(reverse("admin:scoring_scoringprofile_change", args=[profile.pk])).content.decode()
    assert "about two thirds of its points" in page
    assert "sat(x, k)" not in page
    assert "docs/" not in page


def test_score_page_names_the_contact(admin_client, agency):
    score = ContactScore.objects.select_related("contact").order_by("pk").first()
    page = admin_client.get(reverse("admin:scoring_contactscore_change", args=[score.pk])).content.decode()
    assert f"Score of {score.contact}: {score.score}" in page.replace("&lt;", "<").replace("&gt;", ">")
    assert "Score of contact #" not in page


def test_score_str_names_the_contact_only_when_loaded(agency):
    score = ContactScore.objects.order_by("pk").first()
    with CaptureQueriesContext(connection) as queries:
        assert str(score) == f"Score of contact #{score.contact_id}: {score.score}"
    assert not queries  # deleting many contacts lists their scores: no query each
    score = ContactScore.objects.select_related("contact").get(pk=score.pk)
    assert str(score) == f"Score of {score.contact}: {score.score}"


def test_event_filter_keeps_dates_on_one_line(admin_client, agency):
    page = admin_client.get(reverse("admin:events_attendance_changelist")).content.decode()
    event = Event.objects.order_by("-starts_at").first()
    assert f'{event.name} <span class="ror-nowrap">(' in page


def test_waiting_is_not_confused_with_doing_nothing():
    assert NextAction.WAIT.label == "Not due yet"
    assert NextAction.DO_NOTHING.label == "Do nothing"
