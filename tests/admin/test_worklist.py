"""The sales worklist: the right three groups for the logged-in user only, and its two writes.

Personas (sales_user "sven" in the Sales group, staff_user "anna") come from tests/admin/conftest.py.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from contacts.choices import DealStatus, FollowUpOutcome, FollowUpStatus
from contacts.models import Contact, FollowUp
from contacts.services import erase_contact
from contacts.worklist import FOLLOW_UPS, due_soon_until, worklist_for
from events.choices import EventStatus
from events.models import Event
from scoring.models import ContactScore

pytestmark = pytest.mark.django_db

WORKLIST = "/admin/ror/worklist/"
FOLLOW_UPS_PAGE = f"{WORKLIST}?view=follow_ups"
LOG = "/admin/ror/worklist/log/"


def done_url(follow_up: FollowUp) -> str:
    return f"/admin/ror/worklist/{follow_up.pk}/done/"


def make_contact(email: str, owner=None, *, stage: str | None = None, churn_risk: str = "low", score: float = 50,
                 **fields) -> Contact:
    contact = Contact.objects.create(email=email, owner=owner, first_name=email.split("@")[0].title(), **fields)
    if stage is not None:
        ContactScore.objects.create(
            contact=contact, score=score, components={}, stage=stage, churn_risk=churn_risk,
            last_touch_at=timezone.now() - timedelta(days=300), computed_at=timezone.now(), profile_version=1,
        )
    return contact


def plan(contact: Contact, owner, due_at, **fields) -> FollowUp:
    return FollowUp.objects.create(contact=contact, owner=owner, due_at=due_at, status=FollowUpStatus.PLANNED, **fields)


@pytest.fixture
def worklist_data(sales_user, staff_user):
    """Sven's follow-ups and contacts, and some of Anna's that Sven must not see."""
    now = timezone.now()
    soon = now + timedelta(days=6, hours=23)  # within the rolling week, whatever day it is
    carla = make_contact("carla@client.example", sales_user)
    dirk = make_contact("dirk@client.example", sales_user)
    overdue = plan(carla, sales_user, now - timedelta(days=2), next_step="Send the offer")
    due = plan(dirk, sales_user, soon)
    plan(dirk, sales_user, due_soon_until(now) + timedelta(hours=1))  # more than 7 days ahead: not listed
    FollowUp.objects.create(contact=carla, owner=sales_user, status=FollowUpStatus.DONE, completed_at=now,
                            due_at=now - timedelta(days=5))  # done: not listed
    plan(carla, staff_user, now - timedelta(days=1))  # Anna's
    erased = make_contact("gone@client.example", sales_user)
    plan(erased, sales_user, now - timedelta(days=1))
    erase_contact(erased)

    at_risk = make_contact("emil@client.example", sales_user, stage="at_risk", churn_risk="medium", score=12)
    churning = make_contact("fiona@client.example", sales_user, stage="growth", churn_risk="high", score=35)
    make_contact("gustav@client.example", sales_user, stage="growth", churn_risk="low")  # healthy
    planned_already = make_contact("hanna@client.example", sales_user, stage="at_risk", churn_risk="high")
    plan(planned_already, staff_user, now + timedelta(days=20))  # someone already plans to call her
    make_contact("ingo@client.example", sales_user, stage="at_risk", churn_risk="high", do_not_contact=True)
    make_contact("jana@client.example", staff_user, stage="at_risk", churn_risk="high")  # Anna's contact
    return {"overdue": overdue, "due": due, "at_risk": at_risk, "churning": churning, "carla": carla}


class TestGroups:
    def test_each_group_lists_only_what_the_user_must_act_on(self, sales_user, worklist_data):
        worklist = worklist_for(sales_user, view=FOLLOW_UPS)
        assert worklist.overdue == [worklist_data["overdue"]]
        assert worklist.due_soon == [worklist_data["due"]]
        # The highest churn risk first; do-not-contact and already planned contacts are left out.
        assert worklist.at_risk == [worklist_data["churning"], worklist_data["at_risk"]]

    def test_a_follow_up_planned_without_a_due_time_is_listed_last_among_those_due_soon(
        self, sales_user, sales_client, worklist_data
    ):
        undated = FollowUp.objects.create(contact=worklist_data["carla"], owner=sales_user,
                                          status=FollowUpStatus.PLANNED, due_at=None)  # as a partner may send it
        assert worklist_for(sales_user, view=FOLLOW_UPS).due_soon == [worklist_data["due"], undated]
        assert "No due date" in sales_client.get(FOLLOW_UPS_PAGE).content.decode()

    def test_days_overdue_are_calendar_days(self, sales_user):
        """Two follow-ups due on one day are as overdue as each other, whatever their time."""
        now = timezone.make_aware(datetime(2026, 12, 5, 14, 30))
        carla = make_contact("carla@client.example", sales_user)
        morning = plan(carla, sales_user, timezone.make_aware(datetime(2026, 12, 2, 9, 0)))
        afternoon = plan(carla, sales_user, timezone.make_aware(datetime(2026, 12, 2, 15, 45)))
        today = plan(carla, sales_user, timezone.make_aware(datetime(2026, 12, 5, 8, 0)))

        overdue = {row.pk: row.days_overdue for row in worklist_for(sales_user, view=FOLLOW_UPS, now=now).overdue}

        assert overdue == {morning.pk: 3, afternoon.pk: 3, today.pk: 0}  # 0: "overdue", due earlier today

    def test_another_user_sees_their_own_list(self, staff_user, worklist_data):
        worklist = worklist_for(staff_user, view=FOLLOW_UPS)
        assert [follow_up.contact.email for follow_up in worklist.overdue] == ["carla@client.example"]
        assert worklist.due_soon == []
        assert [contact.email for contact in worklist.at_risk] == ["jana@client.example"]

    def test_the_page_shows_the_three_groups(self, sales_client, worklist_data):
        response = sales_client.get(FOLLOW_UPS_PAGE)
        page = response.content.decode()
        assert response.status_code == 200
        for section in ("worklist-overdue", "worklist-due", "worklist-at-risk"):
            assert f'id="{section}"' in page
        assert f'data-follow-up="{worklist_data["overdue"].pk}"' in page
        assert f'data-contact="{worklist_data["at_risk"].pk}"' in page
        assert "Send the offer" in page
        assert "jana@client.example" not in page

    def test_the_page_runs_a_fixed_number_of_queries(self, sales_client, sales_user, worklist_data,
                                                       django_assert_num_queries):
        # session, user, the user's and the group's permissions, then one query per group
        with django_assert_num_queries(7):
            sales_client.get(FOLLOW_UPS_PAGE)
        for index in range(10):
            plan(make_contact(f"more{index}@client.example", sales_user), sales_user, timezone.now() - timedelta(hours=1))
            make_contact(f"risk{index}@client.example", sales_user, stage="at_risk", churn_risk="high")
        with django_assert_num_queries(7):
            response = sales_client.get(FOLLOW_UPS_PAGE)
        assert len(response.context["worklist"].overdue) == 11

    def test_the_user_tools_link_to_it(self, sales_client):
        assert f'id="ror-worklist-link" href="{WORKLIST}"' in sales_client.get(reverse("admin:index")).content.decode()

    def test_anonymous_users_must_log_in(self, client):
        assert client.get(WORKLIST)["Location"].startswith(reverse("admin:login"))


class TestDone:
    def test_done_marks_the_follow_up_done_and_goes_back(self, sales_client, worklist_data):
        follow_up = worklist_data["overdue"]
        response = sales_client.post(done_url(follow_up), {"outcome": FollowUpOutcome.POSITIVE, "next": WORKLIST})
        assert response.status_code == 302
        assert response["Location"] == WORKLIST
        follow_up.refresh_from_db()
        assert follow_up.status == FollowUpStatus.DONE
        assert follow_up.completed_at is not None
        assert follow_up.outcome == FollowUpOutcome.POSITIVE
        [message] = [str(m) for m in get_messages(response.wsgi_request)]
        assert message.startswith(f"Follow-up with {escape(str(follow_up.contact))} marked as done. <form")

    def test_the_message_undoes_the_done(self, sales_client, worklist_data, django_capture_on_commit_callbacks):
        follow_up = worklist_data["overdue"]
        FollowUp.objects.filter(pk=follow_up.pk).update(outcome=FollowUpOutcome.NO_RESPONSE)  # tried before
        page = sales_client.post(done_url(follow_up), {"outcome": FollowUpOutcome.POSITIVE, "next": FOLLOW_UPS_PAGE},
                                 follow=True).content.decode()
        assert f'action="/admin/ror/worklist/{follow_up.pk}/undo-done/"' in page
        assert 'name="outcome" value="no_response"' in page
        assert f'data-follow-up="{follow_up.pk}"' not in page  # done: off the list

        with django_capture_on_commit_callbacks(execute=True):
            response = sales_client.post(f"/admin/ror/worklist/{follow_up.pk}/undo-done/",
                                         {"outcome": "no_response", "next": FOLLOW_UPS_PAGE}, follow=True)
        follow_up.refresh_from_db()
        assert (follow_up.status, follow_up.completed_at, follow_up.outcome) == (
            FollowUpStatus.PLANNED, None, FollowUpOutcome.NO_RESPONSE)
        assert f"Follow-up with {escape(str(follow_up.contact))} is planned again." in response.content.decode()
        assert f'data-follow-up="{follow_up.pk}"' in response.content.decode()  # back on the list

        again = sales_client.post(f"/admin/ror/worklist/{follow_up.pk}/undo-done/", {"next": FOLLOW_UPS_PAGE}, follow=True)
        assert "Nothing to undo: this follow-up is planned." in again.content.decode()

        sales_client.post(done_url(follow_up), {"next": WORKLIST})
        Contact.objects.filter(pk=follow_up.contact_id).update(do_not_contact=True)  # asked meanwhile
        refused = sales_client.post(f"/admin/ror/worklist/{follow_up.pk}/undo-done/", {"next": WORKLIST}, follow=True)
        assert "asked not to be contacted" in refused.content.decode()
        follow_up.refresh_from_db()
        assert follow_up.status == FollowUpStatus.DONE

    def test_undo_is_for_the_owner_only_and_by_post(self, client, sales_client, staff_user, worklist_data):
        follow_up = worklist_data["overdue"]
        FollowUp.objects.filter(pk=follow_up.pk).update(status=FollowUpStatus.DONE, completed_at=timezone.now())
        assert sales_client.get(f"/admin/ror/worklist/{follow_up.pk}/undo-done/").status_code == 405
        client.force_login(staff_user)
        assert client.post(f"/admin/ror/worklist/{follow_up.pk}/undo-done/").status_code == 404
        follow_up.refresh_from_db()
        assert follow_up.status == FollowUpStatus.DONE

    def test_a_follow_up_of_someone_else_is_not_found(self, client, staff_user, worklist_data):
        client.force_login(staff_user)
        assert client.post(done_url(worklist_data["overdue"])).status_code == 404

    def test_done_needs_a_post(self, sales_client, worklist_data):
        assert sales_client.get(done_url(worklist_data["overdue"])).status_code == 405

    def test_done_needs_the_csrf_token(self, sales_user, worklist_data):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(sales_user)
        assert client.post(done_url(worklist_data["overdue"])).status_code == 403

    def test_an_unknown_outcome_is_refused_with_a_message(self, sales_client, worklist_data):
        follow_up = worklist_data["overdue"]
        response = sales_client.post(done_url(follow_up), {"outcome": "ecstatic"}, follow=True)
        assert "Select a valid choice" in response.content.decode()
        follow_up.refresh_from_db()
        assert follow_up.status == FollowUpStatus.PLANNED

    def test_an_unsafe_next_url_is_ignored(self, sales_client, worklist_data):
        response = sales_client.post(done_url(worklist_data["overdue"]), {"next": "https://evil.example/"})
        assert response["Location"] == WORKLIST


class TestLogFollowUp:
    def test_logging_creates_a_done_follow_up_owned_by_the_user(self, sales_client, sales_user, worklist_data):
        contact = worklist_data["at_risk"]
        response = sales_client.post(LOG, {
            "contact": contact.pk, "channel": "phone", "outcome": "positive", "summary": "Talked budgets",
            "next_step": "Send proposal", "deal_value": "12500.50", "deal_status": DealStatus.OPEN,
        })
        assert response.status_code == 302
        follow_up = FollowUp.objects.get(contact=contact)
        assert (follow_up.owner, follow_up.status, follow_up.channel, follow_up.outcome) == (
            sales_user, FollowUpStatus.DONE, "phone", "positive")
        assert follow_up.completed_at is not None
        assert follow_up.deal_value == Decimal("12500.50")
        assert (follow_up.summary, follow_up.next_step) == ("Talked budgets", "Send proposal")

    def test_a_conversation_logged_later_counts_when_it_happened_and_rescores_the_contact(
        self, sales_client, worklist_data, django_capture_on_commit_callbacks
    ):
        contact = worklist_data["at_risk"]
        happened = (timezone.localtime() - timedelta(days=2)).replace(second=0, microsecond=0)
        with django_capture_on_commit_callbacks(execute=True):  # the rescoring runs after commit
            response = sales_client.post(LOG, {"contact": contact.pk, "channel": "phone", "outcome": "positive",
                                               "deal_status": "none", "completed_at": happened.strftime("%Y-%m-%dT%H:%M")})
        assert response.status_code == 302
        assert FollowUp.objects.get(contact=contact).completed_at == happened
        assert ContactScore.objects.get(contact=contact).last_touch_at == happened  # no event: rescored at once

    def test_the_origin_event_is_kept_and_offered_when_it_is_old(self, sales_client, worklist_data):
        now = timezone.now()
        old_event = Event.objects.create(name="Summit 2023", starts_at=now - timedelta(days=800),
                                         ends_at=now - timedelta(days=800), status=EventStatus.COMPLETED,
                                         completed_at=now - timedelta(days=799))
        planned = worklist_data["overdue"]
        planned.event = old_event
        planned.save()
        page = sales_client.get(LOG, {"follow_up": planned.pk}).content.decode()
        assert f'<option value="{old_event.pk}" selected>' in page
        # Scoring hears of the late follow-up of a completed event (eager Celery in tests).
        response = sales_client.post(LOG, {"follow_up": planned.pk, "contact": planned.contact_id, "event": old_event.pk,
                                           "channel": "phone", "outcome": "positive", "deal_status": "none"})
        assert response.status_code == 302
        planned.refresh_from_db()
        assert (planned.status, planned.event) == (FollowUpStatus.DONE, old_event)

    def test_planning_the_next_follow_up_takes_the_contact_off_the_at_risk_list(self, sales_client, sales_user,
                                                                                  worklist_data):
        contact = worklist_data["at_risk"]
        next_day = timezone.localdate() + timedelta(days=3)
        response = sales_client.post(LOG, {"contact": contact.pk, "channel": "email", "outcome": "neutral",
                                           "deal_status": "none", "next_step": "Invite to the summit",
                                           "next_due_on": next_day.isoformat()})
        assert [str(message) for message in get_messages(response.wsgi_request)] == [
            f"Follow-up with {contact} logged; the next one is planned for {next_day.isoformat()}."]
        planned = FollowUp.objects.get(contact=contact, status=FollowUpStatus.PLANNED)
        assert timezone.localtime(planned.due_at).date() == next_day
        assert planned.next_step == "Invite to the summit"  # what to do next, where the worklist shows it
        assert contact not in worklist_for(sales_user, view=FOLLOW_UPS).at_risk

    def test_no_next_follow_up_is_planned_with_a_do_not_contact_contact(self, sales_client, sales_user):
        quiet = make_contact("quiet@client.example", sales_user, do_not_contact=True)
        next_day = timezone.localdate() + timedelta(days=3)
        response = sales_client.post(LOG, {"contact": quiet.pk, "channel": "phone", "outcome": "neutral",
                                           "deal_status": "none", "next_due_on": next_day.isoformat()})
        assert response.status_code == 400
        assert "asked not to be contacted" in str(response.context["form"].errors["next_due_on"])
        assert not FollowUp.objects.filter(contact=quiet).exists()

    def test_logging_from_a_planned_follow_up_completes_it(self, sales_client, worklist_data):
        planned = worklist_data["overdue"]
        page = sales_client.get(LOG, {"follow_up": planned.pk}).content.decode()
        assert "Saving completes the planned follow-up" in page
        sales_client.post(LOG, {"follow_up": planned.pk, "contact": planned.contact_id, "channel": "video",
                                "outcome": "positive", "deal_status": "won", "deal_value": "900"})
        planned.refresh_from_db()
        assert (planned.status, planned.channel, planned.deal_status) == (FollowUpStatus.DONE, "video", "won")
        assert FollowUp.objects.filter(contact=planned.contact, owner=planned.owner).count() == 2  # no new row

    def test_an_overdue_follow_ups_action_logs_onto_that_follow_up(self, sales_client, staff_user, worklist_data):
        carla, planned = worklist_data["carla"], worklist_data["overdue"]
        ContactScore.objects.create(contact=carla, score=60, components={}, stage="growth", churn_risk="low",
                                    computed_at=timezone.now(), profile_version=1, next_action="follow_up",
                                    next_action_figures={"follow_up_due_at": planned.due_at.isoformat()})

        page = sales_client.get(WORKLIST, {"view": "actions"}).content.decode()
        assert f"?follow_up={planned.pk}&amp;next=" in page  # the oldest overdue one, Sven's own

        # A manager on the team's list logs a conversation of their own: Sven's plan stays his.
        manager = Client()
        manager.force_login(staff_user)
        team = manager.get(WORKLIST, {"view": "actions", "owner": "team"}).content.decode()
        assert f"?follow_up={planned.pk}" not in team
        assert f"?contact={carla.pk}&amp;next=" in team

    def test_a_follow_up_done_meanwhile_is_said_and_the_next_save_logs_a_new_one(self, sales_client, worklist_data):
        planned = worklist_data["overdue"]
        payload = {"follow_up": planned.pk, "contact": planned.contact_id, "channel": "phone", "outcome": "positive",
                   "deal_status": "none", "summary": "typed text stays"}
        FollowUp.objects.filter(pk=planned.pk).update(status=FollowUpStatus.DONE, completed_at=timezone.now())  # another tab

        response = sales_client.post(LOG, payload)

        assert response.status_code == 400
        page = response.content.decode()
        assert "no longer yours to complete" in page
        assert "typed text stays" in page
        assert 'name="follow_up" value=""' in page or 'name="follow_up" id="id_follow_up"' in page
        again = sales_client.post(LOG, {**payload, "follow_up": ""})
        assert again.status_code == 302
        assert FollowUp.objects.filter(contact=planned.contact, summary="typed text stays", status="done").exists()

    @pytest.mark.parametrize("change", [{"status": FollowUpStatus.CANCELLED}, {"owner": None}])
    def test_a_link_to_a_follow_up_no_longer_planned_or_handed_over_opens_the_form_with_a_note(
        self, sales_client, worklist_data, change
    ):
        planned = worklist_data["overdue"]
        FollowUp.objects.filter(pk=planned.pk).update(**change)

        response = sales_client.get(LOG, {"follow_up": planned.pk}, follow=True)

        assert response.status_code == 200
        assert "no longer yours to complete" in response.content.decode()
        assert response.context["form"].initial["contact"] == planned.contact
        assert response.context["planned"] is None

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"channel": "phone", "outcome": "positive", "deal_status": "none"}, "contact", "This field is required."),
            ({"deal_value": "-5", "deal_status": "open"}, "deal_value", "greater than or equal to 0"),
            ({"deal_status": "won"}, "deal_value", "Give the value of an open or won deal."),
            ({"deal_value": "1000"}, "deal_status", "A deal value needs the deal's status"),
            ({"channel": "pigeon"}, "channel", "Select a valid choice"),
            ({"next_due_on": "2001-01-01"}, "next_due_on", "cannot be planned in the past"),
            ({"completed_at": "2999-01-01T10:00"}, "completed_at", "it cannot have happened yet"),
            ({"completed_at": "yesterday"}, "completed_at", "Enter a valid date/time."),
        ],
    )
    def test_bad_input_shows_the_form_again_with_errors(self, sales_client, worklist_data, data, field, message):
        payload = {"contact": worklist_data["at_risk"].pk, "channel": "phone", "outcome": "positive",
                   "deal_status": "none", "summary": "typed text stays", **data}
        payload = {key: value for key, value in payload.items() if not (key == "contact" and field == "contact")}
        response = sales_client.post(LOG, payload)
        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors[field])
        assert "typed text stays" in response.content.decode()
        assert not FollowUp.objects.filter(contact=worklist_data["at_risk"]).exists()

    def test_an_erased_contact_cannot_be_chosen(self, sales_client, worklist_data):
        contact = worklist_data["at_risk"]
        erase_contact(contact)
        response = sales_client.post(LOG, {"contact": contact.pk, "channel": "phone", "outcome": "positive",
                                           "deal_status": "none"})
        assert response.status_code == 400
        assert "contact" in response.context["form"].errors

    def test_every_mistake_is_said_at_once_and_only_once(self, sales_client, worklist_data):
        contact = worklist_data["at_risk"]
        tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

        response = sales_client.post(LOG, {"contact": contact.pk, "channel": "phone", "outcome": "positive",
                                           "completed_at": tomorrow, "deal_value": "-5", "deal_status": "open"})

        errors = response.context["form"].errors
        assert set(errors) == {"completed_at", "deal_value"}  # the future date with the rest, not after it
        assert len(errors["deal_value"]) == 1  # the value was given: only why it is refused
        assert not FollowUp.objects.filter(contact=contact).exists()

    def test_the_contact_is_prefilled_from_the_link(self, sales_client, worklist_data):
        contact = worklist_data["at_risk"]
        response = sales_client.get(LOG, {"contact": contact.pk})
        assert response.context["form"].initial["contact"] == contact
        assert f'<option value="{contact.pk}" selected>' in response.content.decode()

    def test_users_without_add_permission_cannot_log(self, client, django_user_model):
        viewer = django_user_model.objects.create_user("viewer", is_staff=True)
        client.force_login(viewer)
        assert client.get(LOG).status_code == 403


def scored_contact(email: str, owner, *, action: str, score: float, overdue_days: float | None = None,
                   **fields) -> Contact:
    contact = Contact.objects.create(email=email, owner=owner, first_name=email.split("@")[0].title(), **fields)
    now = timezone.now()
    ContactScore.objects.create(
        contact=contact, score=score, components={}, stage="growth", churn_risk="low", computed_at=now,
        profile_version=1, cadence_days=60, cadence_source="stage", next_action=action,
        next_touch_due=None if overdue_days is None else now - timedelta(days=overdue_days),
        next_action_figures={"cadence_days": 60, "days_overdue": overdue_days},
    )
    return contact


@pytest.fixture
def action_data(sales_user, staff_user):
    return {
        "invite_low": scored_contact("ida@client.example", sales_user, action="invite", score=30,
                                     overdue_days=-10),
        "call": scored_contact("carl@client.example", sales_user, action="call_now", score=20, overdue_days=-5),
        "invite_high": scored_contact("ines@client.example", sales_user, action="invite", score=70, overdue_days=-3),
        "check_in": scored_contact("chris@client.example", sales_user, action="check_in", score=90, overdue_days=12),
        "waiting": scored_contact("walt@client.example", sales_user, action="wait", score=95, overdue_days=-40),
        "resting": scored_contact("rita@client.example", sales_user, action="rest", score=80, overdue_days=30),
        "blocked": scored_contact("bo@client.example", sales_user, action="do_nothing", score=99, overdue_days=None,
                                  do_not_contact=True),
        "annas": scored_contact("ann@client.example", staff_user, action="call_now", score=99, overdue_days=2),
    }


class TestNextActionsAndLosingTouch:
    def test_next_best_actions_are_the_default_view_in_the_rules_order(self, sales_client, action_data):
        response = sales_client.get(WORKLIST)
        assert response.context["view"] == "actions"
        rows = response.context["worklist"].contacts
        # call now before invite (the rules' order), the higher score first within one action;
        # waiting, resting, do-not-contact and other owners' contacts are not listed.
        assert [contact.email for contact in rows] == [
            "carl@client.example", "ines@client.example", "ida@client.example", "chris@client.example"]
        page = response.content.decode()
        assert 'id="worklist-actions"' in page
        assert "12 days past their keep-in-touch cadence." in page
        for label in ("Next best actions", "My follow-ups", "Losing touch", "Missed deadline"):
            assert f">{label}</a>" in page

    def test_losing_touch_lists_who_is_past_their_cadence_most_valuable_first(self, sales_client, action_data):
        rows = sales_client.get(WORKLIST, {"view": "losing_touch"}).context["worklist"].contacts
        assert [contact.email for contact in rows] == ["chris@client.example", "rita@client.example"]
        assert [contact.days_overdue for contact in rows] == [12, 30]

    def test_the_team_sees_every_owner(self, staff_client, action_data):
        rows = staff_client.get(WORKLIST, {"owner": "team"}).context["worklist"].contacts
        assert rows[0].email == "ann@client.example"

    @pytest.mark.parametrize("view", ["actions", "losing_touch", "missed"])
    def test_each_view_runs_a_fixed_number_of_queries(self, sales_client, sales_user, action_data, view):
        def count() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert sales_client.get(WORKLIST, {"view": view}).status_code == 200
            return len(captured)

        few = count()
        for index in range(10):
            scored_contact(f"more{index}@client.example", sales_user, action="check_in", score=index, overdue_days=index + 1)
        assert count() == few

    def test_a_long_list_is_paged(self, sales_client, sales_user):
        for index in range(55):
            scored_contact(f"page{index:02}@client.example", sales_user, action="check_in", score=index, overdue_days=3)

        first = sales_client.get(WORKLIST, {"view": "losing_touch"})
        second = sales_client.get(WORKLIST, {"view": "losing_touch", "page": "2"})
        beyond = sales_client.get(WORKLIST, {"view": "losing_touch", "page": "9"})

        shown = [contact.email for contact in first.context["worklist"].contacts]
        rest = [contact.email for contact in second.context["worklist"].contacts]
        assert (len(shown), len(rest)) == (50, 5)
        assert sorted(shown + rest) == [f"page{index:02}@client.example" for index in range(55)]
        assert "(1–50 of 55)" in first.content.decode()
        assert 'href="?view=losing_touch&amp;page=2"' in first.content.decode()
        assert "(51–55 of 55)" in second.content.decode()
        assert "Page 2 of 2" in second.content.decode()
        assert 'href="?view=losing_touch&amp;page=1"' in second.content.decode()
        assert (beyond.status_code, beyond["Location"]) == (302, "?view=losing_touch&page=2")  # the last page
        assert sales_client.get(WORKLIST, {"view": "losing_touch", "page": "x"}).context["worklist"].contacts_page.number == 1

    def test_the_missed_view_says_how_far_back_it_looks(self, sales_client, settings):
        settings.MISSED_DEADLINE_WINDOW_DAYS = 45
        page = sales_client.get(WORKLIST, {"view": "missed"}).content.decode()
        assert "for deadlines of the last 45 days" in page

    def test_an_unknown_view_opens_the_default(self, sales_client, action_data):
        assert sales_client.get(WORKLIST, {"view": "nonsense"}).context["view"] == "actions"

    def test_the_rules_page_lists_every_rule_and_the_cadences(self, sales_client):
        page = sales_client.get(reverse("ror-next-action-rules")).content.decode()
        for action in ("do_nothing", "rest", "call_now", "invite", "re_engage", "nurture", "check_in", "wait"):
            assert f'data-action="{action}"' in page
        assert "Keep-in-touch cadences" in page
        assert "Maturity" in page


def test_a_planned_follow_up_has_the_action_in_hand_on_the_contact_page_and_the_worklist(sales_client, sales_user):
    contact = scored_contact("burak@client.example", sales_user, action="check_in", score=40, overdue_days=20)
    page = sales_client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert 'id="ror-next-action"' in page
    assert "ror-action-planned" not in page
    assert contact in worklist_for(sales_user).contacts

    due = timezone.now() + timedelta(days=4)
    plan(contact, sales_user, due)
    page = sales_client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert f"In hand: a follow-up is planned for {timezone.localtime(due).date().isoformat()}." in page
    assert contact not in worklist_for(sales_user).contacts  # off the to-do list until the plan falls due
    assert contact in worklist_for(sales_user, now=due + timedelta(hours=1)).contacts


def test_an_email_in_a_narrow_cell_wraps_at_its_at_sign_and_dots_and_stays_escaped():
    from contacts.templatetags.contact_text import email_breaks

    assert email_breaks("sebastian.lorenz@datenwerk.example") == "sebastian<wbr>.lorenz@<wbr>datenwerk<wbr>.example"
    assert email_breaks('"<b>"@x.de') == "&quot;&lt;b&gt;&quot;@<wbr>x<wbr>.de"
    assert email_breaks(None) == ""
