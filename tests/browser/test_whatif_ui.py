"""The what-if page in a real browser: opened from a scoring profile's change page, it shows the
stage transition matrix and fits a 1,366 px wide screen without scrolling sideways.

Celery is eager here (tests/browser/conftest.py), so the page computes inside the request.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from events.models import Attendance, Event
from scoring.services.profile import create_profile, default_profile_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_staff_compare_a_draft_profile_with_the_active_one(page, login, staff_user):
    # Three events a week ago, G spoke at all three: under the default profile 36.8 points (growth);
    # with all weight on attendance (decayed a little) well above 60: maturity. Q did nothing.
    ended = timezone.now() - timedelta(days=7)
    talks = [Event.objects.create(name=f"Talk {n}", starts_at=ended - timedelta(hours=8), ends_at=ended)
             for n in range(3)]
    grower = Contact.objects.create(email="g@base.example", first_name="Greta", last_name="Grower")
    Contact.objects.create(email="q@base.example", first_name="Quentin", last_name="Quiet")
    Attendance.objects.bulk_create(Attendance(event=talk, contact=grower, status="attended", role="speaker")
                                   for talk in talks)
    values = default_profile_values() | {"name": "Attendance only", "is_active": False}
    values.pop("version")
    values["weights"] = {"attendance": 1.0, "networking": 0.0, "dialogue": 0.0, "care": 0.0, "advocacy": 0.0,
                         "recency": 0.0}
    profile = create_profile(**values)
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)

    page.goto(f"{page.base_url}/admin/scoring/scoringprofile/{profile.pk}/change/")
    page.click("#ror-profile-whatif-link")
    page.wait_for_selector("#ror-whatif-stages")

    matrix = page.locator("#ror-whatif-stages table")
    assert matrix.locator("tr[data-from='growth'] td[data-to='maturity']").inner_text() == "1"
    assert matrix.locator("tr[data-from='initiation'] td[data-to='initiation']").inner_text() == "1"
    assert "1 contact changes stage" in page.inner_text("#ror-whatif-stages h2")
    assert "Greta Grower" in page.inner_text("#ror-whatif-up")
    assert page.locator("#ror-whatif-distribution svg").count() == 2
    assert fits_the_width(page)

    page.click("text=Back to Attendance only")
    page.wait_for_selector("#ror-profile-whatif-link")
