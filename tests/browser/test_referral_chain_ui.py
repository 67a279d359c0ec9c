"""The contact page's referral chain in a real browser: whom Anna brought and whom they brought,
with what followed, on a 1,366 px wide screen without scrolling sideways; a click follows the chain."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contacts.models import Contact, FollowUp, Referral
from events.models import Attendance, Event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def two_step_chain() -> tuple[Contact, Contact]:
    """Anna brought Ben (1 Feb 2025), Ben brought Carla (1 Apr); Ben then attended Summer
    (1 Jun) and won 5,000; Carla attended Autumn (1 Sep)."""
    anna = Contact.objects.create(email="anna@client.example", first_name="Anna", last_name="Alt")
    ben = Contact.objects.create(email="ben@client.example", first_name="Ben", last_name="Berg")
    carla = Contact.objects.create(email="carla@client.example", first_name="Carla", last_name="Conrad")
    events = {}
    for name, month in (("Kick-off", 1), ("Summer", 6), ("Autumn", 9)):
        starts_at = datetime(2025, month, 10, 9, tzinfo=UTC)
        events[name] = Event.objects.create(name=name, starts_at=starts_at, ends_at=starts_at + timedelta(hours=8),
                                            status="completed", completed_at=starts_at + timedelta(hours=8))
    Attendance.objects.create(event=events["Summer"], contact=ben, status="attended")
    Attendance.objects.create(event=events["Autumn"], contact=carla, status="attended")
    Referral.objects.create(referrer=anna, referred=ben, event=events["Kick-off"],
                            created_at=datetime(2025, 2, 1, tzinfo=UTC))
    Referral.objects.create(referrer=ben, referred=carla, created_at=datetime(2025, 4, 1, tzinfo=UTC))
    FollowUp.objects.create(contact=ben, status="done", completed_at=datetime(2025, 7, 1, tzinfo=UTC),
                            deal_status="won", deal_value=Decimal("5000"))
    return anna, ben


def test_staff_see_whom_a_contact_brought_and_follow_the_chain(page, login, staff_user):
    anna, ben = two_step_chain()
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)

    page.goto(f"{page.base_url}/admin/contacts/contact/{anna.pk}/change/")
    panel = page.locator("#ror-referral-chain")
    panel.wait_for()
    rows = panel.locator("tbody tr")
    assert rows.count() == 2
    assert "Ben Berg" in rows.nth(0).inner_text()
    assert "Kick-off" in rows.nth(0).inner_text()
    assert "Summer" in rows.nth(0).inner_text()
    assert "5,000" in rows.nth(0).inner_text()
    assert "Carla Conrad" in rows.nth(1).inner_text()
    assert "ror-chain-depth-2" in rows.nth(1).get_attribute("class")
    # Carla's name sits further right than Ben's: one level down
    ben_x = rows.nth(0).locator(".ror-chain-person a").bounding_box()["x"]
    carla_x = rows.nth(1).locator(".ror-chain-person a").bounding_box()["x"]
    assert carla_x > ben_x
    totals = page.inner_text("#ror-referral-chain-totals")
    assert "2 people brought" in totals
    assert "2 came to an event afterwards" in totals
    assert "5,000" in totals
    assert fits_the_width(page)

    rows.nth(0).locator(".ror-chain-person a").click()
    page.wait_for_url(f"**/admin/contacts/contact/{ben.pk}/change/")
    assert page.locator("#ror-referral-chain tbody tr").count() == 1
    assert "Carla Conrad" in page.inner_text("#ror-referral-chain")


def test_a_contact_who_brought_nobody_has_no_panel(page, login, staff_user):
    lone = Contact.objects.create(email="lone@client.example")
    login(staff_user)
    page.goto(f"{page.base_url}/admin/contacts/contact/{lone.pk}/change/")
    page.wait_for_selector("#ror-relationship")
    assert page.locator("#ror-referral-chain").count() == 0
