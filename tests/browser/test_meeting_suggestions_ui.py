"""Agency staff open an event's meeting suggestions from its page on a laptop screen (1,366 px)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp, Organization
from events.choices import AttendanceStatus
from events.models import Attendance, Event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_open_the_suggestions_from_the_event_page(page, login, staff_user):
    now = timezone.now()
    event = Event.objects.create(name="Hamburg Summit 2026", starts_at=now + timedelta(days=20),
                                 ends_at=now + timedelta(days=20, hours=8), city="Hamburg")
    people = []
    for i, (name, industry) in enumerate([("Carla", "Logistics"), ("Dirk", "logistics"), ("Emma", "Finance"),
                                           ("Frank", "Finance"), ("Greta", "Logistics")]):
        people.append(Contact.objects.create(
            email=f"{name.lower()}@client.example", first_name=name, last_name="Mustermann-Schulze",
            tags=["cold chain", "sustainability"][: i % 3], owner=staff_user if i == 0 else None,
            organization=Organization.objects.create(name=f"{name}'s Very Long Organization Name GmbH & Co. KG",
                                                     industry=industry),
        ))
    Attendance.objects.bulk_create(Attendance(event=event, contact=person, status=AttendanceStatus.REGISTERED)
                                   for person in people)
    FollowUp.objects.create(contact=people[2], owner=staff_user, status=FollowUpStatus.PLANNED)
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)

    page.goto(f"{page.base_url}/admin/events/event/{event.pk}/change/")
    page.click("#ror-meeting-suggestions-link")

    table = page.locator("#ror-meeting-suggestions-table")
    table.wait_for()
    assert page.locator("h1").inner_text().startswith("Meeting suggestions: Hamburg Summit 2026")
    rows = table.locator("tbody tr")
    assert rows.count() >= 3
    first = rows.first.inner_text()
    assert "Anna Agency, owner of Carla Mustermann-Schulze, has a follow-up planned with Emma Mustermann-Schulze" in first
    assert "Same industry (Logistics)" in table.inner_text()
    # no sideways scrolling on a laptop screen
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert page.locator("#ror-meeting-suggestions-csv").get_attribute("href").endswith("?per_attendee=5")

    shown = rows.count()
    page.fill("#id_per_attendee", "1")
    with page.expect_navigation():
        page.click("#ror-per-attendee input[type=submit]")
    assert page.url.endswith("?per_attendee=1")
    assert table.locator("tbody tr").count() == 2 < shown  # five people, one suggestion each at most
    assert "2 suggestions, at most 1 per attendee." in page.inner_text("#content-main")
