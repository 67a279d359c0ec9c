"""What agency staff and sales teams do in the admin, clicked through in a real browser.

Run: `pytest -m browser` (needs `chromium` on PATH; see conftest.py for how Celery runs here).
Personas: staff_user (Agency staff) and sales_user (Sales) from tests/conftest.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, EventSeries, Feedback, Interaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def summit_to_complete():
    """A past summit edition, attended by three contacts who talked and gave feedback."""
    now = timezone.now()
    series = EventSeries.objects.create(name="Hamburg Summit")
    event = Event.objects.create(name="Hamburg Summit 2026", series=series, starts_at=now - timedelta(days=2, hours=8),
                                 ends_at=now - timedelta(days=2), status=EventStatus.LIVE, city="Hamburg", cost=1000)
    contacts = [
        Contact.objects.create(email=f"{name.lower()}@client.example", first_name=name, last_name="Muster")
        for name in ("Carla", "Dirk", "Emma")
    ]
    for contact in contacts:
        Attendance.objects.create(event=event, contact=contact, status=AttendanceStatus.ATTENDED,
                                  checked_in_at=event.starts_at)
    Interaction.objects.create(event=event, contact=contacts[0], counterpart=contacts[1], kind="meeting",
                               occurred_at=event.starts_at + timedelta(hours=1), duration_minutes=30, quality=5)
    Feedback.objects.create(event=event, contact=contacts[0], nps=10, satisfaction=9, submitted_at=event.ends_at)
    return event, contacts


def test_staff_completes_an_event_and_sees_metrics_and_scores(page, login, staff_user, summit_to_complete):
    event, contacts = summit_to_complete
    login(staff_user)

    # The changelist action "complete", as staff do it after the event.
    page.goto(f"{page.base_url}/admin/events/event/")
    page.check(f"input[name=_selected_action][value='{event.pk}']")
    page.select_option("select[name=action]", "complete_events")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    assert "Completed 1 event" in page.inner_text(".messagelist")

    # The event page shows the RoR figures computed by scoring.
    page.goto(f"{page.base_url}/admin/events/event/{event.pk}/change/")
    panel = page.locator("#ror-event-metrics")
    panel.wait_for()
    assert page.locator("#ror-event-metrics .ror-not-computed").count() == 0
    assert page.locator("#ror-event-metrics .ror-tile").count() > 0

    # A contact page explains the new score: breakdown table and a server-drawn chart.
    page.goto(f"{page.base_url}/admin/contacts/contact/{contacts[0].pk}/change/")
    page.locator("#ror-relationship .ror-breakdown").wait_for()
    assert page.locator("#ror-relationship svg.ror-chart").count() >= 1
    score_text = page.inner_text("#ror-relationship .ror-score-value")
    assert float(score_text) > 0


def test_sales_logs_a_follow_up_from_the_worklist(page, login, sales_user):
    sven = sales_user
    carla = Contact.objects.create(email="carla@client.example", first_name="Carla", last_name="Klein", owner=sven)
    dirk = Contact.objects.create(email="dirk@client.example", first_name="Dirk", last_name="Dorn", owner=sven)
    overdue = FollowUp.objects.create(contact=carla, owner=sven, status=FollowUpStatus.PLANNED,
                                      due_at=timezone.now() - timedelta(days=2), next_step="Send the offer")
    other = FollowUp.objects.create(contact=dirk, owner=sven, status=FollowUpStatus.PLANNED,
                                    due_at=timezone.now() - timedelta(days=1))
    login(sven)

    page.click("#ror-worklist-link")
    page.click(".ror-tabs a[data-view=follow_ups]")  # the worklist opens on the next best actions
    page.wait_for_selector("#worklist-overdue")
    assert page.locator("#worklist-overdue tr.ror-follow-up").count() == 2

    # "Log result" on Carla's row: the form knows the contact; the summary is required by nobody.
    page.click(f"tr[data-follow-up='{overdue.pk}'] >> text=Log result")
    page.wait_for_selector("#follow-up-form")
    page.select_option("#id_channel", "phone")
    page.select_option("#id_outcome", "positive")
    page.fill("#id_summary", "Agreed on a workshop in May")
    page.select_option("#id_deal_status", "won")
    page.click("input[name=_save]")
    # A won deal needs its value: the form comes back with the error and the typed text.
    page.wait_for_selector(".errorlist")
    assert "Give the value of an open or won deal." in page.inner_text("#follow-up-form")
    assert page.input_value("#id_summary") == "Agreed on a workshop in May"
    page.fill("#id_deal_value", "4800")
    page.click("input[name=_save]")

    page.wait_for_selector(".messagelist .success")
    assert "logged" in page.inner_text(".messagelist")
    assert page.locator("#worklist-overdue tr.ror-follow-up").count() == 1
    overdue.refresh_from_db()
    assert overdue.status == FollowUpStatus.DONE
    assert overdue.summary == "Agreed on a workshop in May"

    # One click "Done" on the other row.
    page.click(f"tr[data-follow-up='{other.pk}'] button[name=done]")
    page.wait_for_selector(".messagelist .success")
    assert "Nothing overdue" in page.inner_text("#worklist-overdue")
    other.refresh_from_db()
    assert other.status == FollowUpStatus.DONE


def test_switching_to_german_translates_the_admin(page, login, staff_user):
    login(staff_user)
    # text_content(), not inner_text(): the admin's CSS upper-cases the user tools.
    assert "My worklist" in page.text_content("#user-tools")

    page.select_option("#ror-language", "de")
    page.click("#ror-language-submit")
    page.wait_for_selector("html[lang=de]")

    assert "Meine Arbeitsliste" in page.text_content("#user-tools")
    assert "RoR-Dashboard" in page.text_content("#user-tools")
    content = page.inner_text("#content-main")
    assert "Kontakte" in content  # a model's verbose name
    assert "Veranstaltungen" in content
    page.click("#ror-dashboard-link")
    page.wait_for_selector("#ror-kpis")
    assert "Wiederkehrende" in page.inner_text("#content")


def test_the_dashboard_draws_its_charts(page, login, staff_user, summit_to_complete):
    from events.services import complete_event

    event, _contacts = summit_to_complete
    complete_event(event)  # eager scoring: metrics and scores exist right after
    login(staff_user)

    page.click("#ror-dashboard-link")
    page.wait_for_selector("#ror-kpis")
    assert page.locator("#ror-kpis .ror-kpi").count() == 10
    assert page.inner_text("[data-kpi=events] .ror-kpi-value") == "1"
    assert page.locator(".ror-grid svg.ror-chart").count() == 7
    assert page.locator("#ror-editions >> text=Hamburg Summit 2026").count() == 1
