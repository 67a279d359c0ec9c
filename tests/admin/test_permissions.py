"""The groups "Agency staff" and "Sales": what each may see and change in the admin."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse

from contacts.roles import AGENCY_STAFF, SALES, sync_role_groups, sync_role_groups_after_migrate
from events.models import Event

pytestmark = pytest.mark.django_db


def permission_names(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


class TestGroups:
    def test_agency_staff_may_do_everything_but_edit_computed_data(self):
        perms = permission_names(AGENCY_STAFF)
        for model in ("contacts.contact", "contacts.followup", "events.event", "events.attendance", "scoring.scoringprofile"):
            app, name = model.split(".")
            assert {f"{app}.{action}_{name}" for action in ("view", "add", "change", "delete")} <= perms
        for computed in ("contactscore", "scoresnapshot", "eventmetrics"):
            assert f"scoring.view_{computed}" in perms
            assert not {f"scoring.{action}_{computed}" for action in ("add", "change", "delete")} & perms
        assert "django_celery_beat.change_periodictask" in perms
        assert "contacts.view_historicalcontact" in perms
        assert "contacts.delete_historicalcontact" not in perms

    def test_sales_edit_contacts_and_follow_ups_and_only_view_the_rest(self):
        perms = permission_names(SALES)
        for name in ("contact", "organization", "followup", "referral"):
            assert {f"contacts.view_{name}", f"contacts.add_{name}", f"contacts.change_{name}"} <= perms
            assert f"contacts.delete_{name}" not in perms
        assert {"events.view_event", "events.view_attendance", "scoring.view_contactscore"} <= perms
        assert not {p for p in perms if p.startswith(("events.", "scoring.")) and not p.split(".")[1].startswith("view_")}
        assert not {p for p in perms if p.startswith(("partners.", "rest_framework_api_key."))}
        assert not {"scoring.view_pendingrecompute", "scoring.view_recomputerequest"} & perms  # machinery

    def test_group_setup_is_idempotent(self):
        before = {name: permission_names(name) for name in (AGENCY_STAFF, SALES)}
        migration = importlib.import_module("contacts.migrations.0003_user_groups")
        migration.create_groups(apps, SimpleNamespace(connection=connection))  # what RunPython passes, minus DDL
        sync_role_groups_after_migrate(sender=apps.get_app_config("contacts"), using="default")
        sync_role_groups(apps, exact=True)
        assert Group.objects.filter(name__in=[AGENCY_STAFF, SALES]).count() == 2
        assert {name: permission_names(name) for name in (AGENCY_STAFF, SALES)} == before

    def test_after_migrate_sync_keeps_what_an_administrator_added(self):
        sales = Group.objects.get(name=SALES)
        sales.permissions.add(*Group.objects.get(name=AGENCY_STAFF).permissions.filter(codename="delete_followup"))
        sync_role_groups_after_migrate(sender=apps.get_app_config("contacts"), using="default")
        assert "contacts.delete_followup" in permission_names(SALES)


class TestSalesInTheAdmin:
    def test_sees_contacts_follow_ups_events_and_scores(self, sales_client, agency):
        for name in ("contacts_contact", "contacts_followup", "events_event", "scoring_contactscore"):
            assert sales_client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
        contact = agency.contacts[0]
        response = sales_client.get(reverse("admin:contacts_contact_change", args=[contact.pk]))
        assert response.status_code == 200
        assert response.context["breakdown"] is not None

    def test_can_log_a_follow_up(self, sales_client, sales_user, agency):
        response = sales_client.get(reverse("admin:contacts_followup_add"))
        assert response.context["adminform"].form.initial["owner"] == sales_user.pk  # theirs by default
        response = sales_client.post(reverse("admin:contacts_followup_add"), {
            "contact": agency.contacts[0].pk, "owner": sales_user.pk, "channel": "phone", "status": "planned",
            "deal_status": "none",
        })
        assert response.status_code == 302
        assert agency.contacts[0].followups.filter(owner=sales_user).exists()

    def test_cannot_change_events(self, sales_client, agency):
        event = agency.next_event
        url = reverse("admin:events_event_change", args=[event.pk])
        assert sales_client.get(url).status_code == 200  # view only
        response = sales_client.post(url, {"name": "Hacked"})
        assert response.status_code == 403
        event.refresh_from_db()
        assert event.name == "Hamburg Summit 2026"
        assert sales_client.get(reverse("admin:events_event_add")).status_code == 403
        assert sales_client.post(reverse("admin:events_event_complete", args=[event.pk])).status_code == 403
        assert Event.objects.get(pk=event.pk).status == "planned"

    def test_cannot_import_attendees_or_erase_contacts(self, sales_client, agency):
        assert sales_client.get(reverse("admin:events_event_import_attendees", args=[agency.next_event.pk])).status_code == 403
        assert sales_client.get(reverse("admin:events_attendance_import")).status_code == 403
        contact = agency.contacts[0]
        assert sales_client.post(reverse("admin:contacts_contact_erase", args=[contact.pk])).status_code == 403
        contact.refresh_from_db()
        assert contact.erased_at is None

    def test_cannot_see_api_keys(self, sales_client):
        index = sales_client.get(reverse("admin:index"))
        app_labels = {app["app_label"] for app in index.context["app_list"]}
        assert "partners" not in app_labels
        assert "rest_framework_api_key" not in app_labels

    def test_computed_scores_are_read_only_even_for_staff(self, staff_client, agency):
        score = agency.contacts[0].score
        url = reverse("admin:scoring_contactscore_change", args=[score.pk])
        assert staff_client.get(url).status_code == 200
        assert staff_client.post(url, {"score": "99"}).status_code == 403
        assert staff_client.get(reverse("admin:scoring_contactscore_add")).status_code == 403

    def test_a_score_page_shows_its_figures_formatted_not_its_raw_inputs(self, staff_client, agency):
        from scoring.models import ContactScore

        score = agency.contacts[0].score
        ContactScore.objects.filter(pk=score.pk).update(show_rate=14 / 15, avg_days_between_attendances=89.7275641)

        page = staff_client.get(reverse("admin:scoring_contactscore_change", args=[score.pk])).content.decode()

        assert "93 %" in page
        assert ">90<" in page.replace(" ", "").replace("\n", "")  # 89.73 days, rounded
        assert "0.9333" not in page
        assert "89.727" not in page
        assert "Care hits" not in page


class TestAgencyStaffInTheAdmin:
    def test_deletes_a_scored_contact_and_a_completed_event_with_their_computed_rows(self, staff_client, agency):
        from scoring.models import ContactScore, EventMetrics

        contact, event = agency.contacts[0], agency.past_event
        assert ContactScore.objects.filter(contact=contact).exists()
        assert EventMetrics.objects.filter(event=event).exists()

        for model_path, obj in (("contacts_contact", contact), ("events_event", event)):
            url = reverse(f"admin:{model_path}_delete", args=[obj.pk])
            assert not staff_client.get(url).context["perms_lacking"]
            assert staff_client.post(url, {"post": "yes"}).status_code == 302

        assert not ContactScore.objects.filter(contact_id=contact.pk).exists()
        assert not EventMetrics.objects.filter(event_id=event.pk).exists()

    def test_opens_every_page_of_their_work(self, staff_client, agency):
        event = agency.past_event
        for url in (
            reverse("admin:events_event_change", args=[event.pk]),
            reverse("admin:events_event_import_attendees", args=[event.pk]),
            reverse("admin:events_attendance_import"),
            reverse("admin:contacts_contact_erase", args=[agency.contacts[0].pk]),
            reverse("admin:django_celery_beat_periodictask_changelist"),
        ):
            assert staff_client.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", ["staff", "sales"])
def test_every_admin_page_a_role_may_see_renders(request, persona, agency):
    """Each list, and the change page of its first row, for a user who may only view some of them
    (a read-only form has no fields to adjust: the scoring profile's page failed for sales)."""
    from django.contrib import admin
    from django.test import RequestFactory

    client, user = request.getfixturevalue(f"{persona}_client"), request.getfixturevalue(f"{persona}_user")
    as_user = RequestFactory().get("/admin/")
    as_user.user = user
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if not model_admin.has_view_or_change_permission(as_user):
            continue
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        first = model._default_manager.order_by("pk").first()
        if first is not None:  # (a page may lead on to where the row is shown: followed)
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert client.get(change, follow=True).status_code == 200, change
