"""Admin actions, buttons and saves: through the services, errors shown, nothing lost."""

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from contacts.services import erase_contact
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, model_path: str, action: str, pks, **extra):
    url = reverse(f"admin:{model_path}_changelist")
    return client.post(url, {"action": action, "_selected_action": [str(pk) for pk in pks], **extra}, follow=True)


@pytest.fixture
def planned_event(db) -> Event:
    now = timezone.now()
    return Event.objects.create(name="Munich Dinner", starts_at=now - timedelta(hours=5), ends_at=now - timedelta(hours=1))


@pytest.fixture
def upcoming_event(db) -> Event:
    now = timezone.now()
    return Event.objects.create(name="Winter Gala", starts_at=now + timedelta(days=9), ends_at=now + timedelta(days=9, hours=5))


CONFIRMATION_TEMPLATE = "admin/events/event/complete_confirmation.html"


def confirmation_shown(response) -> bool:
    return CONFIRMATION_TEMPLATE in [template.name for template in response.templates]


def carried_fields(response) -> dict[str, list]:
    """What the confirmation page posts back (its hidden fields), with the confirmation."""
    data: dict[str, list] = {"confirm_completion": ["yes"]}
    for name, value in response.context["hidden_fields"]:
        data.setdefault(name, []).append(value)
    return data


class TestCompletingBeforeTheEndAsksFirst:
    """DOMAIN.md: completing says the event happened; before its end the admin asks, like a delete."""

    def test_the_action_lists_the_events_that_have_not_ended_and_completes_the_others(
        self, admin_client, planned_event, upcoming_event
    ):
        response = run_action(admin_client, "events_event", "complete_events", [planned_event.pk, upcoming_event.pk])

        assert confirmation_shown(response)
        assert [event for event, _ends in response.context["events"]] == [upcoming_event]
        assert "Yes, complete it" in response.content.decode()
        assert "Completed 1 event." in " ".join(messages_of(response))  # the one that has ended, directly
        assert Event.objects.get(pk=planned_event.pk).status == EventStatus.COMPLETED
        assert Event.objects.get(pk=upcoming_event.pk).status == EventStatus.PLANNED

        confirmed = admin_client.post(reverse("admin:events_event_changelist"), carried_fields(response), follow=True)

        assert not confirmation_shown(confirmed)
        assert "Completed 1 event." in " ".join(messages_of(confirmed))
        assert Event.objects.get(pk=upcoming_event.pk).status == EventStatus.COMPLETED

    def test_the_button_asks_then_completes(self, admin_client, upcoming_event):
        url = reverse("admin:events_event_complete", args=[upcoming_event.pk])

        response = admin_client.post(url)

        assert response.status_code == 200
        assert confirmation_shown(response)
        assert Event.objects.get(pk=upcoming_event.pk).status == EventStatus.PLANNED

        confirmed = admin_client.post(url, carried_fields(response))

        assert confirmed.status_code == 302
        assert confirmed["Location"] == reverse("admin:events_event_change", args=[upcoming_event.pk])
        assert Event.objects.get(pk=upcoming_event.pk).status == EventStatus.COMPLETED

    def test_choosing_completed_in_the_form_asks_and_saves_nothing_until_confirmed(self, admin_client, upcoming_event):
        url = reverse("admin:events_event_change", args=[upcoming_event.pk])

        response = admin_client.post(url, event_form_data(upcoming_event, status="completed", venue="Halle 3"))

        assert confirmation_shown(response)
        stored = Event.objects.get(pk=upcoming_event.pk)
        assert (stored.status, stored.venue) == (EventStatus.PLANNED, "")

        confirmed = admin_client.post(url, carried_fields(response), follow=True)

        stored = Event.objects.get(pk=upcoming_event.pk)
        assert (stored.status, stored.venue) == (EventStatus.COMPLETED, "Halle 3")
        assert "Scores and event metrics were computed." in messages_of(confirmed)

    def test_adding_an_event_as_completed_before_its_end_asks_too(self, admin_client, upcoming_event):
        url = reverse("admin:events_event_add")
        data = event_form_data(upcoming_event, name="Spring Gala", status="completed")

        response = admin_client.post(url, data)

        assert confirmation_shown(response)
        assert not Event.objects.filter(name="Spring Gala").exists()

        admin_client.post(url, carried_fields(response))

        assert Event.objects.get(name="Spring Gala").status == EventStatus.COMPLETED

    def test_a_completed_event_is_not_moved_back_in_the_form(self, admin_client, planned_event):
        run_action(admin_client, "events_event", "complete_events", [planned_event.pk])
        planned_event.refresh_from_db()
        url = reverse("admin:events_event_change", args=[planned_event.pk])

        response = admin_client.post(url, event_form_data(planned_event, status="planned"))

        assert response.status_code == 200
        form = response.context["adminform"].form
        assert (form.errors["status"], form.non_field_errors()) == (
            ["A completed event stays completed (it cannot become “Planned”); its other fields can still be changed."],
            [])
        assert Event.objects.get(pk=planned_event.pk).status == EventStatus.COMPLETED
        renamed = admin_client.post(url, event_form_data(planned_event, name="Munich Dinner 2026"))
        assert renamed.status_code == 302
        assert Event.objects.get(pk=planned_event.pk).name == "Munich Dinner 2026"


class TestEventActions:
    def test_complete_event_completes_and_says_scoring_ran(self, admin_client, planned_event):
        response = run_action(admin_client, "events_event", "complete_events", [planned_event.pk])

        planned_event.refresh_from_db()
        assert planned_event.status == EventStatus.COMPLETED
        assert planned_event.completed_at is not None
        text = " ".join(messages_of(response))
        assert "Completed 1 event." in text
        assert "Scores and event metrics were computed." in text  # tests run without a broker: eager

    def test_completing_an_event_nobody_is_marked_attended_at_warns_what_its_figures_will_say(
            self, admin_client, planned_event):
        for index in range(3):
            Attendance.objects.create(event=planned_event, contact=Contact.objects.create(email=f"p{index}@x.de"))

        response = run_action(admin_client, "events_event", "complete_events", [planned_event.pk])

        assert (f"Nobody is marked attended at {planned_event}: its figures count no attendees. Check in who came (its "
                "attendances, “Check in selected attendances”) and they are computed again.") in messages_of(response)
        Attendance.objects.filter(contact__email="p0@x.de").update(status=AttendanceStatus.ATTENDED)
        Event.objects.filter(pk=planned_event.pk).update(status=EventStatus.PLANNED, completed_at=None)
        again = run_action(admin_client, "events_event", "complete_events", [planned_event.pk])
        assert not any(message.startswith("Nobody") for message in messages_of(again))

    def test_completing_a_cancelled_event_is_an_error_message_not_a_500(self, admin_client, planned_event):
        planned_event.status = EventStatus.CANCELLED
        planned_event.save()

        response = run_action(admin_client, "events_event", "complete_events", [planned_event.pk])

        assert response.status_code == 200
        planned_event.refresh_from_db()
        assert planned_event.status == EventStatus.CANCELLED
        errors = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
        assert errors == [f"{planned_event}: A cancelled event cannot be completed."]

    def test_completing_twice_reports_already_completed(self, admin_client, planned_event):
        run_action(admin_client, "events_event", "complete_events", [planned_event.pk])
        response = run_action(admin_client, "events_event", "complete_events", [planned_event.pk])
        assert "1 event was already completed." in messages_of(response)

    def test_complete_button_on_the_change_page(self, admin_client, planned_event):
        change_url = reverse("admin:events_event_change", args=[planned_event.pk])
        assert reverse("admin:events_event_complete", args=[planned_event.pk]) in admin_client.get(change_url).content.decode()

        opened = admin_client.get(reverse("admin:events_event_complete", args=[planned_event.pk]))
        assert (opened.status_code, opened["Location"]) == (302, change_url)  # a GET changes nothing
        planned_event.refresh_from_db()
        assert planned_event.status == "planned"
        response = admin_client.post(reverse("admin:events_event_complete", args=[planned_event.pk]))

        assert response.status_code == 302
        assert response["Location"] == change_url
        planned_event.refresh_from_db()
        assert planned_event.status == EventStatus.COMPLETED

    def test_recompute_needs_a_completed_event(self, admin_client, planned_event):
        response = run_action(admin_client, "events_event", "recompute_scores", [planned_event.pk])
        assert any("only completed events are scored" in message for message in messages_of(response))

        run_action(admin_client, "events_event", "complete_events", [planned_event.pk])
        response = run_action(admin_client, "events_event", "recompute_scores", [planned_event.pk])
        done = "Recompute requested for 1 event. Scores and event metrics were computed."
        assert any(message.startswith(done) for message in messages_of(response))

    def test_choosing_completed_in_the_form_completes_through_the_service(self, admin_client, planned_event):
        url = reverse("admin:events_event_change", args=[planned_event.pk])
        data = event_form_data(planned_event, status="completed")

        response = admin_client.post(url, data, follow=True)

        assert response.status_code == 200
        planned_event.refresh_from_db()
        assert planned_event.status == EventStatus.COMPLETED
        assert "Scores and event metrics were computed." in messages_of(response)


def event_form_data(event: Event, **changes) -> dict:
    local_start, local_end = timezone.localtime(event.starts_at), timezone.localtime(event.ends_at)
    data = {
        "name": event.name, "series": event.series_id or "", "kind": event.kind, "format": event.format,
        "venue": event.venue, "city": event.city,
        "starts_at_0": local_start.strftime("%Y-%m-%d"), "starts_at_1": local_start.strftime("%H:%M:%S"),
        "ends_at_0": local_end.strftime("%Y-%m-%d"), "ends_at_1": local_end.strftime("%H:%M:%S"),
        "status": event.status, "capacity": "", "cost": "", "currency": "EUR",
        "attendances-TOTAL_FORMS": "0", "attendances-INITIAL_FORMS": "0",
        "interactions-TOTAL_FORMS": "0", "interactions-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


class TestAdminSavesGoThroughServices:
    def test_bad_dates_are_a_form_error_and_nothing_is_saved(self, admin_client, planned_event):
        url = reverse("admin:events_event_change", args=[planned_event.pk])
        data = event_form_data(planned_event, name="Renamed", ends_at_0="2000-01-01")

        response = admin_client.post(url, data)

        assert response.status_code == 200
        assert "The event cannot end before it starts." in response.content.decode()
        assert response.context["adminform"].form.data["name"] == "Renamed"  # the input is kept
        planned_event.refresh_from_db()
        assert planned_event.name == "Munich Dinner"

    def test_a_service_refusal_is_shown_on_the_form_and_rolls_back(self, admin_client, planned_event):
        contact = Contact.objects.create(email="gone@client.example", first_name="Gone")
        erase_contact(contact)
        url = reverse("admin:events_attendance_add")

        response = admin_client.post(url, {
            "event": planned_event.pk, "contact": contact.pk, "role": "attendee", "status": "registered",
            "source": "desk", "external_id": "",
        })

        assert response.status_code == 200
        assert "This contact was erased and cannot be written to." in response.content.decode()
        assert response.context["adminform"].form.data["source"] == "desk"
        assert not Attendance.objects.exists()

    def test_an_inline_refusal_is_shown_on_its_row(self, admin_client, planned_event):
        erased = Contact.objects.create(email="gone@client.example")
        erase_contact(erased)
        url = reverse("admin:events_event_change", args=[planned_event.pk])
        data = event_form_data(planned_event, name="Renamed too", **{
            "attendances-TOTAL_FORMS": "1", "attendances-0-contact": str(erased.pk), "attendances-0-role": "attendee",
            "attendances-0-status": "registered", "attendances-0-source": "", "attendances-0-external_id": "",
        })

        response = admin_client.post(url, data)

        assert response.status_code == 200
        formset = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is Attendance).formset
        assert formset.forms[0].errors == {"contact": ["This contact was erased and cannot be written to."]}
        planned_event.refresh_from_db()
        assert planned_event.name == "Munich Dinner"  # the event's own change was rolled back too
        assert not Attendance.objects.exists()

    def test_contact_add_and_change_go_through_the_service(self, admin_client):
        response = admin_client.post(reverse("admin:contacts_contact_add"), {
            "email": " Maria@Client.Example ", "first_name": "Maria", "last_name": "Weber", "tags": "vip, berlin, vip",
            "marketing_consent": "on", "marketing_consent_source": "booth",
                    })
        assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
        contact = Contact.objects.get()
        assert contact.email == "maria@client.example"
        assert contact.tags == ["vip", "berlin"]
        assert contact.marketing_consent_at is not None  # set by create_contact's consent rule
        assert contact.history.count() == 1

        response = admin_client.post(reverse("admin:contacts_contact_change", args=[contact.pk]), {
            "email": "maria@client.example", "first_name": "Maria", "last_name": "Weber-Schmidt", "tags": "vip, berlin",
            "marketing_consent_source": "booth",
        })
        assert response.status_code == 302
        contact.refresh_from_db()
        assert contact.last_name == "Weber-Schmidt"
        assert contact.marketing_consent is False
        assert contact.marketing_consent_at is None  # consent withdrawn

    def test_duplicate_email_is_a_form_error(self, admin_client):
        Contact.objects.create(email="taken@client.example")
        response = admin_client.post(reverse("admin:contacts_contact_add"), {
            "email": "TAKEN@client.example", "first_name": "Second",
        })
        assert response.status_code == 200
        assert "A contact with this e-mail already exists" in response.content.decode()
        assert Contact.objects.count() == 1

    @pytest.mark.parametrize(("email", "error"), [
        ("foo@", "Enter a valid email address."), ("", "An e-mail address is required."),
        ("   ", "An e-mail address is required."),
    ])
    def test_a_bad_email_shows_one_error_on_add_and_change(self, admin_client, email, error):
        contact = Contact.objects.create(email="kept@client.example")
        for url in (reverse("admin:contacts_contact_add"), reverse("admin:contacts_contact_change", args=[contact.pk])):
            response = admin_client.post(url, {"email": email, "first_name": "Bad"})
            assert response.status_code == 200
            assert response.context["adminform"].form.errors == {"email": [error]}, url
        contact.refresh_from_db()
        assert contact.email == "kept@client.example"
        assert Contact.objects.count() == 1

    def test_follow_up_marked_done_in_the_form_gets_a_completion_time(self, admin_client, superuser):
        contact = Contact.objects.create(email="lead@client.example")
        response = admin_client.post(reverse("admin:contacts_followup_add"), {
            "contact": contact.pk, "owner": superuser.pk, "channel": "phone", "status": "done", "deal_status": "none",
        })
        assert response.status_code == 302
        follow_up = FollowUp.objects.get()
        assert follow_up.status == FollowUpStatus.DONE
        assert follow_up.completed_at is not None

    def test_the_time_of_a_done_follow_up_cleared_in_the_form_is_refused(self, admin_client, superuser):
        contact = Contact.objects.create(email="lead@client.example")
        done_at = timezone.now().replace(microsecond=0) - timedelta(days=30)
        follow_up = FollowUp.objects.create(contact=contact, owner=superuser, status="done", completed_at=done_at)
        response = admin_client.post(reverse("admin:contacts_followup_change", args=[follow_up.pk]), {
            "contact": contact.pk, "owner": superuser.pk, "channel": "phone", "status": "done", "deal_status": "none",
            "completed_at_0": "", "completed_at_1": "",
        })
        assert response.context["adminform"].form.errors == {"completed_at": [
            "A done follow-up keeps the time it was done: give a time, or make it planned or cancelled."]}
        follow_up.refresh_from_db()
        assert follow_up.completed_at == done_at

    def test_a_follow_up_is_not_planned_on_a_past_day_in_the_form_as_in_the_bulk_action(self, admin_client, superuser):
        contact = Contact.objects.create(email="lead@client.example")
        url = reverse("admin:contacts_followup_add")
        form = {"contact": contact.pk, "owner": superuser.pk, "channel": "phone", "status": "planned",
                "deal_status": "none"}
        yesterday = timezone.localdate() - timedelta(days=1)
        refused = admin_client.post(url, {**form, "due_at_0": yesterday.isoformat(), "due_at_1": "09:00"})
        assert list(refused.context["adminform"].form.errors) == ["due_at"]
        assert admin_client.post(url, {**form, "due_at_0": timezone.localdate().isoformat(),
                                       "due_at_1": "00:05"}).status_code == 302  # earlier today: due now
        # an overdue follow-up stays editable as long as its due time is kept
        planned = FollowUp.objects.get()
        FollowUp.objects.filter(pk=planned.pk).update(due_at=timezone.now() - timedelta(days=3))
        change = reverse("admin:contacts_followup_change", args=[planned.pk])
        due = timezone.localtime(timezone.now() - timedelta(days=3))
        kept = admin_client.post(change, {**form, "due_at_0": due.strftime("%Y-%m-%d"), "due_at_1": due.strftime("%H:%M:%S"),
                                          "summary": "still to call"})
        assert kept.status_code == 302

    def test_a_follow_up_is_planned_from_the_contact_page_in_one_click(self, admin_client, superuser):
        contact = Contact.objects.create(email="lead@client.example", first_name="Lead")
        page = admin_client.get(reverse("admin:contacts_contact_change", args=[contact.pk]))
        add_url = reverse("admin:contacts_followup_add") + f"?contact={contact.pk}"
        assert f'href="{add_url}"' in page.content.decode()
        assert admin_client.get(add_url).context["adminform"].form.initial["contact"] == str(contact.pk)

        response = admin_client.post(add_url, {
            "contact": contact.pk, "owner": superuser.pk, "channel": "meeting", "status": "done",
            "outcome": "positive", "deal_status": "open", "deal_value": "2500",
        })
        assert response.status_code == 302
        follow_up = contact.followups.get()
        assert follow_up.status == FollowUpStatus.DONE
        assert follow_up.completed_at is not None  # done now, by the service's rule
        assert follow_up.history.count() == 1

    def test_no_follow_up_is_planned_with_a_do_not_contact_contact(self, admin_client, superuser):
        contact = Contact.objects.create(email="quiet@client.example", first_name="Quiet", do_not_contact=True)
        page = admin_client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
        assert "ror-add-follow-up" not in page
        add_url = reverse("admin:contacts_followup_add")
        planned = admin_client.post(add_url, {"contact": contact.pk, "owner": superuser.pk, "channel": "phone",
                                              "status": "planned", "deal_status": "none"})
        assert planned.status_code == 200
        assert "asked not to be contacted" in str(planned.context["adminform"].form.errors["contact"])
        logged = admin_client.post(add_url, {"contact": contact.pk, "owner": superuser.pk, "channel": "phone",
                                             "status": "done", "outcome": "neutral", "deal_status": "none"})
        assert logged.status_code == 302  # a conversation that happened is recorded
        assert list(contact.followups.values_list("status", flat=True)) == ["done"]

    def test_history_can_be_read_but_not_reverted(self, admin_client):
        contact = Contact.objects.create(email="old@client.example", marketing_consent=True)
        version = contact.history.get()
        url = reverse("admin:contacts_contact_simple_history", args=[contact.pk, version.history_id])
        assert admin_client.get(url).status_code == 200
        assert admin_client.post(url, {"email": "old@client.example", "marketing_consent": "on"}).status_code == 403

    def test_erased_contact_is_read_only(self, admin_client):
        contact = Contact.objects.create(email="gone@client.example")
        erase_contact(contact)
        response = admin_client.get(reverse("admin:contacts_contact_change", args=[contact.pk]))
        assert response.status_code == 200
        assert "email" not in response.context["adminform"].form.fields
        assert not response.context["can_erase"]


class TestAttendanceAndFollowUpActions:
    def test_check_in_selected_attendances(self, admin_client, agency):
        attendances = list(Attendance.objects.filter(event=agency.past_event)[:3])
        Attendance.objects.filter(pk__in=[a.pk for a in attendances[:2]]).update(
            status=AttendanceStatus.REGISTERED, checked_in_at=None)

        response = run_action(admin_client, "events_attendance", "check_in_selected", [a.pk for a in attendances])

        assert Attendance.objects.filter(pk__in=[a.pk for a in attendances], status="attended").count() == 3
        assert Attendance.objects.filter(pk__in=[a.pk for a in attendances], checked_in_at__isnull=True).count() == 0
        assert ("Checked in 2 attendances. At an event that has ended, the check-in time is the event's start: a "
                "check-in afterwards says who came, not when.") in messages_of(response)
        assert "1 was already checked in." in messages_of(response)
        assert set(Attendance.objects.filter(pk__in=[a.pk for a in attendances[:2]]).values_list(
            "checked_in_at", flat=True)) == {agency.past_event.starts_at}

    def test_check_in_before_the_event_names_who_was_left_out(self, admin_client, agency):
        soon = Event.objects.create(name="Far Ahead Forum", starts_at=timezone.now() + timedelta(days=30),
                                    ends_at=timezone.now() + timedelta(days=31))
        attendance = Attendance.objects.create(event=soon, contact=agency.contacts[0], status=AttendanceStatus.REGISTERED)

        response = run_action(admin_client, "events_attendance", "check_in_selected", [attendance.pk])

        shown = messages_of(response)
        assert not any(message.startswith("Checked in") for message in shown)
        assert [message for message in shown if message.startswith("Not checked in")] == [
            f"Not checked in (contact erased, or the event has not started yet or was cancelled): "
            f"{agency.contacts[0].full_name} @ {soon}"]
        attendance.refresh_from_db()
        assert attendance.status == AttendanceStatus.REGISTERED

    def test_mark_follow_ups_done(self, admin_client, agency):
        planned = list(FollowUp.objects.filter(status=FollowUpStatus.PLANNED))
        response = run_action(admin_client, "contacts_followup", "mark_done", [f.pk for f in planned])
        assert f"Marked {len(planned)} follow-ups as done." in messages_of(response)
        assert not FollowUp.objects.filter(status=FollowUpStatus.PLANNED).exists()

    def test_recompute_scores_of_selected_contacts(self, admin_client, agency):
        contact = agency.contacts[0]
        response = run_action(admin_client, "contacts_contact", "recompute_scores", [contact.pk])
        assert response.status_code == 200
        assert "Queued the score recompute of 1 contact." in messages_of(response)


class TestGdpr:
    def test_export_is_a_json_download(self, admin_client, agency):
        contact = agency.contacts[0]
        response = admin_client.get(reverse("admin:contacts_contact_gdpr_export", args=[contact.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["Content-Disposition"].startswith(f'attachment; filename="contact-{contact.pk}-')
        data = response.json()
        assert data["contact"]["email"] == contact.email
        assert len(data["attendances"]) == 1
        assert len(data["follow_ups"]) == 1

    def test_erase_asks_first_then_erases(self, admin_client, agency):
        contact = agency.contacts[0]
        url = reverse("admin:contacts_contact_erase", args=[contact.pk])

        response = admin_client.get(url)
        assert response.status_code == 200
        assert "This cannot be undone" in response.content.decode()
        attendances = contact.attendances.count()
        assert response.context["related_rows"][0] == (
            f"{attendances} event attendance" + ("s" if attendances != 1 else ""))
        contact.refresh_from_db()
        assert contact.erased_at is None

        response = admin_client.post(url)
        assert response.status_code == 302
        contact.refresh_from_db()
        assert contact.erased_at is not None
        assert contact.email is None
        assert contact.do_not_contact
        assert contact.attendances.count() == 1  # the anonymous history stays

    def test_erasure_removes_the_contact_from_the_admin_log(self, admin_client, agency):
        contact = Contact.objects.create(email="nina@client.example", first_name="Nina", last_name="Schröder")
        follow_up = FollowUp.objects.create(contact=contact, channel="email")
        admin_client.post(reverse("admin:contacts_followup_change", args=[follow_up.pk]), {
            "contact": contact.pk, "channel": "phone", "status": "planned", "deal_status": "none", "outcome": "",
            "summary": "", "next_step": "",
        })
        # As Django logs an inline row added on the contact's page: JSON, non-ASCII escaped.
        LogEntry.objects.create(
            user=User.objects.get(is_superuser=True), content_type=ContentType.objects.get_for_model(Contact),
            object_id=str(contact.pk), object_repr=str(contact), action_flag=CHANGE,
            change_message=json.dumps([{"added": {"name": "follow-up", "object": str(follow_up)}}]),
        )
        logged = " ".join(f"{entry.object_repr} {entry.change_message}" for entry in LogEntry.objects.all())
        assert "Nina Schr\\u00f6der <nina@client.example>" in logged
        assert "Phone follow-up with Nina Schröder <nina@client.example>" in logged

        erase_contact(contact)

        logged = " ".join(f"{entry.object_repr} {entry.change_message}" for entry in LogEntry.objects.all())
        assert "nina@client.example" not in logged
        assert "Schr" not in logged
        assert f"Erased contact #{contact.pk}" in logged

    def test_an_erased_contact_and_its_rows_are_not_deleted(self, admin_client, agency):
        contact = agency.contacts[0]
        erase_contact(contact)
        [attendance] = contact.attendances.all()

        assert admin_client.get(reverse("admin:contacts_contact_delete", args=[contact.pk])).status_code == 403
        confirmation = run_action(admin_client, "events_attendance", "delete_selected", [attendance.pk])
        assert confirmation.context["title"] == "Cannot delete attendance"
        assert "(a row of an erased contact)" in confirmation.content.decode()
        run_action(admin_client, "events_attendance", "delete_selected", [attendance.pk], post="yes")
        single = admin_client.post(reverse("admin:events_attendance_delete", args=[attendance.pk]), {"post": "yes"})

        assert "(a row of an erased contact)" in single.content.decode()
        assert Contact.objects.filter(pk=contact.pk).exists()
        assert Attendance.objects.filter(pk=attendance.pk).exists()

    def test_a_bulk_delete_the_service_refuses_is_reported_and_keeps_the_row(self, admin_client, agency, monkeypatch):
        from ror_crm.exceptions import DomainError

        def refuse(attendance):
            raise DomainError("Not this one.")

        monkeypatch.setattr("events.admin.AttendanceAdmin.delete_service", staticmethod(refuse))
        attendance = Attendance.objects.filter(event=agency.past_event).first()

        response = run_action(admin_client, "events_attendance", "delete_selected", [attendance.pk], post="yes")

        assert any(message.endswith("Not this one.") for message in messages_of(response))
        assert Attendance.objects.filter(pk=attendance.pk).exists()
