"""Contact fatigue in the admin: planning a follow-up for a contact the agency reached out to
often enough lately shows a warning with "Plan anyway"; the bulk "Plan a follow-up" leaves such
contacts out unless told otherwise, and says how many."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/contacts/contact/"
LOG = "/admin/ror/worklist/log/"


@pytest.fixture
def tired() -> Contact:
    """Three agency follow-ups this week: the 7-day cap of 3."""
    contact = Contact.objects.create(email="tired@client.example", first_name="Tina")
    FollowUp.objects.bulk_create(
        FollowUp(contact=contact, status=FollowUpStatus.DONE, completed_at=timezone.now() - timedelta(days=days))
        for days in (1, 2, 3)
    )
    return contact


@pytest.fixture
def fresh() -> Contact:
    return Contact.objects.create(email="fresh@client.example", first_name="Fred")


def planned_for(contact: Contact) -> list[FollowUp]:
    return list(FollowUp.objects.filter(contact=contact, status=FollowUpStatus.PLANNED))


def follow_up_form(contact: Contact, user, **extra) -> dict:
    due_on = timezone.localdate() + timedelta(days=2)
    return {"contact": contact.pk, "owner": user.pk, "channel": "phone", "status": "planned",
            "due_at_0": due_on.isoformat(), "due_at_1": "09:00", "deal_status": "none", "summary": "typed text stays",
            **extra}


class TestFollowUpForm:
    def test_planning_warns_and_plan_anyway_saves_it(self, sales_client, sales_user, tired):
        add_url = reverse("admin:contacts_followup_add")
        assert 'name="plan_anyway"' not in sales_client.get(add_url).content.decode()  # no warning, no box

        warned = sales_client.post(add_url, follow_up_form(tired, sales_user))
        assert warned.status_code == 200
        page = warned.content.decode()
        assert "Contact fatigue: 3 agency touches in the last 7 days" in page
        assert 'name="plan_anyway"' in page
        assert "typed text stays" in page
        assert planned_for(tired) == []

        saved = sales_client.post(add_url, follow_up_form(tired, sales_user, plan_anyway="on"))
        assert saved.status_code == 302
        [follow_up] = planned_for(tired)
        assert follow_up.summary == "typed text stays"

    def test_a_done_follow_up_is_saved_without_a_warning(self, sales_client, sales_user, tired):
        response = sales_client.post(reverse("admin:contacts_followup_add"),
                                     follow_up_form(tired, sales_user, status="done"))
        assert response.status_code == 302
        assert FollowUp.objects.filter(contact=tired).count() == 4

    def test_making_one_planned_again_warns_too(self, sales_client, sales_user, tired):
        cancelled = FollowUp.objects.create(contact=tired, owner=sales_user, status=FollowUpStatus.CANCELLED)
        change_url = reverse("admin:contacts_followup_change", args=[cancelled.pk])

        warned = sales_client.post(change_url, follow_up_form(tired, sales_user))
        assert warned.status_code == 200
        assert "Contact fatigue" in warned.content.decode()
        assert FollowUp.objects.get(pk=cancelled.pk).status == FollowUpStatus.CANCELLED

        assert sales_client.post(change_url, follow_up_form(tired, sales_user, plan_anyway="on")).status_code == 302
        assert FollowUp.objects.get(pk=cancelled.pk).status == FollowUpStatus.PLANNED


class TestLogFollowUp:
    def test_the_next_follow_up_warns_and_plan_anyway_saves_both(self, sales_client, tired):
        next_day = timezone.localdate() + timedelta(days=3)
        data = {"contact": tired.pk, "channel": "phone", "outcome": "positive", "deal_status": "none",
                "next_step": "Send the offer", "next_due_on": next_day.isoformat()}

        warned = sales_client.post(LOG, data)
        assert warned.status_code == 400
        page = warned.content.decode()
        assert "Contact fatigue" in page
        assert 'type="checkbox" name="plan_anyway"' in page
        assert FollowUp.objects.filter(contact=tired).count() == 3  # neither the conversation nor the next one

        assert sales_client.post(LOG, {**data, "plan_anyway": "on"}).status_code == 302
        assert FollowUp.objects.filter(contact=tired, status=FollowUpStatus.DONE).count() == 4
        [follow_up] = planned_for(tired)
        assert follow_up.next_step == "Send the offer"

    def test_without_a_next_follow_up_there_is_nothing_to_warn_about(self, sales_client, tired):
        page = sales_client.get(LOG, {"contact": tired.pk}).content.decode()
        assert 'type="checkbox" name="plan_anyway"' not in page
        response = sales_client.post(LOG, {"contact": tired.pk, "channel": "phone", "outcome": "positive",
                                           "deal_status": "none"})
        assert response.status_code == 302


def post_plan_action(client, contacts, **values):
    data = {"action": "plan_follow_ups", "_selected_action": [str(contact.pk) for contact in contacts], "apply": "yes",
            "due_on": (timezone.localdate() + timedelta(days=1)).isoformat(), "channel": "email", **values}
    return client.post(CHANGELIST, data, follow=True)


class TestBulkPlan:
    def test_fatigued_contacts_are_left_out_and_counted(self, staff_client, tired, fresh):
        response = post_plan_action(staff_client, [tired, fresh])

        assert planned_for(tired) == []
        assert len(planned_for(fresh)) == 1
        [message] = [str(message) for message in get_messages(response.wsgi_request)]
        assert "Planned 1 follow-up." in message
        assert "1 contact at the contact-fatigue cap was left out." in message

    def test_the_override_box_plans_for_them_too(self, staff_client, tired, fresh):
        page = staff_client.post(CHANGELIST, {"action": "plan_follow_ups", "_selected_action": [str(tired.pk)]})
        assert 'name="override_fatigue"' in page.content.decode()

        post_plan_action(staff_client, [tired, fresh], override_fatigue="on")

        assert len(planned_for(tired)) == 1
        assert len(planned_for(fresh)) == 1
