"""The cohort retention page in a real browser: reached from the dashboard, the heat map's cells
and the CRR line, the CSV download, and a series of many editions on a 1,366 px screen.

The series is tests/scoring/cohort_history.py's, whose figures are worked out there by hand.
"""

import csv
from datetime import timedelta

import pytest

from contacts.models import Contact
from events.models import EventSeries
from tests.scoring.cohort_history import roadshow
from tests.scoring.validity_history import attend, completed_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_staff_read_the_heat_map_and_download_it(page, login, staff_user, tmp_path):
    roadshow("Alpha tour")  # first by name: the page opens on it
    history = roadshow()
    first, second, third = history.editions
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)

    page.goto(f"{page.base_url}/admin/ror/dashboard/")
    page.click("#ror-cohorts-link")
    page.wait_for_selector("#ror-cohorts-matrix")
    assert "Alpha tour" in page.inner_text("#ror-cohorts-matrix h2")
    page.select_option("#id_series", label="CX Roadshow")
    with page.expect_navigation():
        page.click("#ror-cohorts-filter input[type=submit]")

    assert "CX Roadshow: 8 contacts in the cohorts" in page.inner_text("#ror-cohorts-matrix h2")
    assert page.locator("#ror-cohorts-matrix tbody tr").count() == 3
    cells = page.locator("#ror-cohorts-matrix td.ror-cell")
    assert [cells.nth(i).inner_text() for i in range(cells.count())] == ["50 %", "75 %", "33 %"]
    assert [cells.nth(i).get_attribute("class") for i in range(cells.count())] == [
        "ror-cell ror-heat-5", "ror-cell ror-heat-8", "ror-cell ror-heat-4",
    ]
    assert cells.nth(1).get_attribute("title") == "3 of 4 contacts came to CX Roadshow 3"
    # The shades really differ on screen: the fuller the cell, the darker.
    colours = [cells.nth(i).evaluate("cell => getComputedStyle(cell).backgroundColor") for i in range(3)]
    assert len(set(colours)) == 3
    crr = page.locator("#ror-cohorts-crr td[title]")
    assert [crr.nth(i).inner_text() for i in range(crr.count())] == ["50.0 %", "60.0 %"]
    assert fits_the_width(page)

    with page.expect_download() as download_info:
        page.click("#ror-cohorts-csv")
    target = tmp_path / "cohorts.csv"
    download_info.value.save_as(target)
    with target.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(int(row["cohort_event_id"]), int(row["event_id"]), row["count"], row["share"]) for row in rows] == [
        (first.pk, first.pk, "4", "1.0000"), (first.pk, second.pk, "2", "0.5000"), (first.pk, third.pk, "3", "0.7500"),
        (second.pk, second.pk, "3", "1.0000"), (second.pk, third.pk, "1", "0.3333"),
        (third.pk, third.pk, "1", "1.0000"),
    ]


def test_many_editions_scroll_inside_the_box_not_the_page(page, login, staff_user):
    series = EventSeries.objects.create(name="Monthly founders' breakfast with a rather long series name")
    people = Contact.objects.bulk_create(Contact(email=f"f{n}@breakfast.example") for n in range(30))
    first = completed_event("Breakfast 1", roadshow().editions[0].starts_at, series=series)
    attend(first, *people[:10])
    for number in range(2, 20):  # the last one in mid-2026: all have ended
        starts_at = first.starts_at + timedelta(days=30 * number)
        edition = completed_event(f"Founders' breakfast number {number} at the harbour", starts_at, series=series)
        attend(edition, *people[number % 5:number % 5 + 20])
    page.set_viewport_size({"width": 1366, "height": 800})
    login(staff_user)

    page.goto(f"{page.base_url}/admin/ror/cohorts/?series={series.pk}")
    page.wait_for_selector("#ror-cohorts-matrix")

    assert page.locator("#ror-cohorts-matrix thead th.ror-edition").count() == 18
    assert fits_the_width(page)
