"""The worklist's four tabs, filled by the demo agency, as a sales person sees them at 1,366 px."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from contacts.worklist import ACTIONS, FOLLOW_UPS, LOSING_TOUCH, MISSED, worklist_for
from tests.conftest import PERSONA_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABS = {
    ACTIONS: ("Next best actions", "#worklist-actions tr.ror-contact-row"),
    FOLLOW_UPS: ("My follow-ups", "#worklist-overdue tr.ror-follow-up, #worklist-due tr.ror-follow-up"),
    LOSING_TOUCH: ("Losing touch", "#worklist-losing-touch tr.ror-contact-row"),
    MISSED: ("Missed deadline", "#worklist-missed tr.ror-missed"),
}


def test_the_demo_fills_every_tab_of_a_sales_persons_worklist(page, login, tmp_path):
    call_command("seed_demo", "--contacts", "200", stdout=open(tmp_path / "seed.log", "w"))
    # The demo sales person with the most contacts to look after.
    seller = (get_user_model().objects.filter(groups__name="Sales")
              .annotate(owned=Count("owned_contacts", filter=Q(owned_contacts__do_not_contact=False)))
              .order_by("-owned").first())
    seller.set_password(PERSONA_PASSWORD)
    seller.save()
    expected = {view: worklist_for(seller, now=timezone.now(), view=view) for view in TABS}
    page.set_viewport_size({"width": 1366, "height": 800})
    login(seller)

    page.click("#ror-worklist-link")
    # The worklist opens on the next best actions, each with its reason.
    page.wait_for_selector("#worklist-actions")
    assert page.locator(".ror-tabs a.active").inner_text() == "Next best actions"
    for view, (label, rows) in TABS.items():
        page.click(f".ror-tabs a[data-view={view}]")
        page.wait_for_selector(f".ror-tabs a.active[data-view={view}]")
        assert page.locator(".ror-tabs a.active").inner_text() == label
        shown = page.locator(rows).count()
        assert shown > 0, f"{label}: the demo gives this tab no rows"
        if view in (ACTIONS, LOSING_TOUCH):
            assert shown == len(expected[view].contacts)
            assert page.locator(f"{rows} .ror-badge").count() == shown  # each row names its action
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), label

    # Every action of the first rows links to what to do: the log form for the contact.
    page.click(".ror-tabs a[data-view=actions]")
    page.locator("#worklist-actions tr.ror-contact-row >> text=Log follow-up").first.click()
    page.wait_for_selector("#follow-up-form")
