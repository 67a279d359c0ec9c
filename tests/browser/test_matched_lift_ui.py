"""The event page's panel "Relationship lift vs. matched non-attendees" in a real browser: on a
completed event it offers Compute, then shows the lift, its interval and the balance table, and
the panel fits a 1,366 px wide screen.

The history is tests/scoring/lift_history.py's known effect (six attendees, four matched).
"""

import pytest

from tests.scoring.lift_history import known_effect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def panel_fits_the_width(page) -> bool:
    """The panel neither scrolls inside nor reaches past the window's right edge. (The page itself
    may: the event's attendance inline is wider than 1,366 px.)"""
    return page.evaluate("""() => {
        const panel = document.querySelector('#ror-event-lift');
        return panel.scrollWidth <= panel.clientWidth
            && panel.getBoundingClientRect().right <= document.documentElement.clientWidth;
    }""")


def test_staff_compute_and_read_the_lift_on_a_completed_event(page, login, staff_user, settings):
    settings.LIFT_MIN_DISTINCT_CONTROLS = 2  # the hand-built history's four pairs have three controls
    event = known_effect().event
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)

    page.goto(f"{page.base_url}/admin/events/event/{event.pk}/change/")
    panel = page.locator("#ror-event-lift")
    assert "Relationship lift vs. matched non-attendees" in panel.inner_text()
    assert "Not computed for the current data yet" in panel.inner_text()

    page.click("#ror-lift-compute")
    page.wait_for_selector("#ror-event-lift .ror-tiles")
    text = panel.inner_text()
    assert "4 of 6" in text  # attendees matched
    assert "The interval does not include 0." in text
    assert page.locator("#ror-event-lift .ror-lift-balance tbody tr").count() == 12  # 2 + 5 stages + 5 sizes
    assert page.locator("#ror-lift-csv").is_visible()
    assert panel_fits_the_width(page)
