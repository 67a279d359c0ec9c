"""The score validity page in a real browser: reached from the admin index, and it fits a
1,366 px wide screen without scrolling sideways, in English and in German.

Personas come from tests/conftest.py, the histories from tests/scoring/validity_history.py.
"""

import pytest

from tests.scoring.validity_history import score_loses, six_contacts, three_editions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_staff_read_the_report_on_a_laptop_screen(page, login, staff_user):
    six_contacts()
    three_editions()
    score_loses()
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)

    page.click("#ror-index-links >> text=Score validity")
    page.wait_for_selector("#ror-validity-auc")
    assert page.locator("#ror-validity-auc tbody tr").count() == 4  # all series, then three series
    assert "Partner Dinner: the score predicts a return less well" in page.inner_text("#ror-validity-honesty")
    assert page.locator("#ror-validity-calibration tbody tr").count() == 10
    assert fits_the_width(page)

    page.select_option("#ror-language", "de")
    page.click("#ror-language-submit")
    page.wait_for_selector("#ror-validity-auc")
    assert "Aussagekraft des Scores" in page.inner_text("#content")
    assert fits_the_width(page)
