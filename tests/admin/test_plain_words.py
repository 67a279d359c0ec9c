"""The admin speaks the staff's words: people by name, defaults as configured, no setting names."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from contacts.models import Contact, FollowUp
from contacts.roles import AGENCY_STAFF
from events import imports
from events.models import Event
from scoring.choices import NextAction
from scoring.models import ContactScore, EventMetrics, ScoreSnapshot, ScoringProfile

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
    assert f"Score of {score.contact}: {score.score:.1f}" in page.replace("&lt;", "<").replace("&gt;", ">")
    assert "Score of contact #" not in page


def test_snapshot_page_names_the_contact(admin_client, agency):
    snapshot = ScoreSnapshot.objects.select_related("contact").order_by("pk").first()
    page = admin_client.get(reverse("admin:scoring_scoresnapshot_change", args=[snapshot.pk])).content.decode()
    assert f"Score of {snapshot.contact}: " in page.replace("&lt;", "<").replace("&gt;", ">")
    assert "Score of contact #" not in page
    with CaptureQueriesContext(connection) as queries:
        assert str(ScoreSnapshot.objects.get(pk=snapshot.pk)).startswith(f"Score of contact #{snapshot.contact_id}: ")
    assert len(queries) == 1  # the snapshot's own


def test_score_str_names_the_contact_only_when_loaded(agency):
    score = ContactScore.objects.order_by("pk").first()
    with CaptureQueriesContext(connection) as queries:
        assert str(score) == f"Score of contact #{score.contact_id}: {score.score:.1f}"
    assert not queries  # deleting many contacts lists their scores: no query each
    score = ContactScore.objects.select_related("contact").get(pk=score.pk)
    assert str(score) == f"Score of {score.contact}: {score.score:.1f}"
    with translation.override("de"):  # as German writes numbers: 21,7
        assert str(score) == f"Score von {score.contact}: " + f"{score.score:.1f}".replace(".", ",")


def test_event_filter_keeps_dates_on_one_line(admin_client, agency):
    page = admin_client.get(reverse("admin:events_attendance_changelist")).content.decode()
    event = Event.objects.order_by("-starts_at").first()
    assert f'{event.name} <span class="ror-nowrap">(' in page


def test_waiting_is_not_confused_with_doing_nothing():
    assert NextAction.WAIT.label == "Not due yet"
    assert NextAction.DO_NOTHING.label == "Do nothing"


def german(client):
    client.post(reverse("set_language"), {"language": "de", "next": "/admin/"})
    return client


def test_pages_have_the_width_of_the_screen(admin_client, agency):
    # The navigation sidebar took the width of the lists' last columns at 1,366 px.
    for url in (reverse("admin:contacts_contact_changelist"), reverse("ror-worklist"), reverse("admin:index")):
        assert 'id="nav-sidebar"' not in admin_client.get(url).content.decode(), url


def test_german_list_columns_are_short(admin_client, agency):
    page = german(admin_client).get(reverse("admin:contacts_contact_changelist")).content.decode()
    for header in ("Risiko", "Nächste Aktion", "Letzter Kontakt"):
        assert f">{header}</a>" in page, header
    assert "Abwanderungsrisiko</a>" not in page


def test_record_times_and_object_names_are_german(admin_client, owned_agency):
    client = german(admin_client)
    contact = owned_agency.contacts[0]
    page = client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert "Angelegt am" in page
    assert "Created at" not in page
    follow_up = FollowUp.objects.select_related("contact").filter(contact=contact).first()
    with translation.override("de"):
        assert str(follow_up).startswith("Telefon-Follow-up mit ")


def test_people_are_named_by_full_name_on_pages_and_in_the_import_list(admin_client, owned_agency):
    contact = owned_agency.contacts[0]
    page = admin_client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert "Owner: <strong>Sven Sales</strong>" in page
    imports.create_import(owned_agency.next_event, contact.owner, "list.csv", b"email\nnew@list.example\n", send=False)
    page = admin_client.get(reverse("admin:events_attendeeimport_changelist")).content.decode()
    assert '<td class="field-uploaded_by">Sven Sales</td>' in page


def test_event_metrics_are_read_on_their_event_page(admin_client, agency):
    metrics = EventMetrics.objects.get(event=agency.past_event)
    response = admin_client.get(reverse("admin:scoring_eventmetrics_change", args=[metrics.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:events_event_change", args=[agency.past_event.pk]) + "#ror-event-metrics"


def test_staff_who_own_nothing_open_the_team_worklist(staff_client, owned_agency, staff_user):
    page = staff_client.get(reverse("ror-worklist")).content.decode()
    assert '<option value="team" selected>' in page
    mine = staff_client.get(reverse("ror-worklist"), {"owner": staff_user.pk}).content.decode()
    assert f'<option value="{staff_user.pk}" selected>' in mine  # "Only mine" stays a choice


def test_an_owner_opens_their_own_worklist(client, owned_agency):
    owner = Contact.objects.exclude(owner=None).first().owner
    owner.groups.add(Group.objects.get(name=AGENCY_STAFF))
    client.force_login(owner)
    page = client.get(reverse("ror-worklist")).content.decode()
    assert f'<option value="{owner.pk}" selected>' in page


def test_owner_choices_name_people(admin_client, owned_agency):
    contact = owned_agency.contacts[0]
    page = admin_client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert f'<option value="{contact.owner_id}" selected>Sven Sales</option>' in page
    found = admin_client.get(reverse("admin:autocomplete"), {
        "term": "sven", "app_label": "contacts", "model_name": "contact", "field_name": "owner"}).json()
    assert [result["text"] for result in found["results"]] == ["Sven Sales"]


def test_follow_ups_list_the_most_overdue_planned_first(admin_client, agency):
    now = timezone.now()
    contact = agency.contacts[0]
    FollowUp.objects.all().delete()
    rows = {name: FollowUp.objects.create(contact=contact, channel="phone", **fields) for name, fields in {
        "later": {"due_at": now + timedelta(days=30)},
        "overdue": {"due_at": now - timedelta(days=3)},
        "done": {"due_at": now - timedelta(days=1), "status": "done", "completed_at": now},
        "very overdue": {"due_at": now - timedelta(days=20)},
    }.items()}
    page = admin_client.get(reverse("admin:contacts_followup_changelist")).content.decode()
    order = sorted(rows, key=lambda name: page.index(f'/admin/contacts/followup/{rows[name].pk}/change/'))
    assert order == ["very overdue", "overdue", "later", "done"]
