"""The fitted profile in a real browser: from the profile list to the fit, one click creates the
fitted profile as a new inactive version and opens it; the page fits a 1,366 px wide screen.

The history is tests/scoring/fit_history.py's forum, where networking predicts who comes back.
"""

import pytest

from scoring.models import ScoringProfile
from tests.scoring.fit_history import networking_forum

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_staff_create_the_fitted_profile_and_land_on_it(page, login, staff_user):
    networking_forum()
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)

    page.goto(f"{page.base_url}/admin/scoring/scoringprofile/")
    page.click("#ror-profile-fit-link")
    page.wait_for_selector("#ror-fit-aucs", timeout=60_000)  # the fit scores every pair per half-life
    assert page.inner_text("[data-auc='fitted'] .ror-kpi-value") == "1.000"
    active_auc = float(page.inner_text("[data-auc='active'] .ror-kpi-value"))
    assert active_auc < 1.0
    assert page.locator("#ror-fit-editions tbody tr[data-part='test']").count() == 2
    assert page.locator("#ror-fit-editions tbody tr[data-part='train']").count() == 3
    assert fits_the_width(page)

    page.click("#ror-fit-create input[type=submit]")
    page.wait_for_selector("#scoringprofile_form")
    fitted = ScoringProfile.objects.order_by("-version").first()
    assert fitted.version == 2
    assert not fitted.is_active
    assert page.url.endswith(f"/admin/scoring/scoringprofile/{fitted.pk}/change/")
    assert "was created, inactive" in page.inner_text(".messagelist")
    assert not page.is_checked("#id_is_active")
    assert fits_the_width(page)
