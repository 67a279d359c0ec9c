"""The dashboard's charts in a real browser: nothing drawn outside its chart, a legend, what a
chart leaves out said on it, numbers as the language writes them, a series over its editions.

Event metrics are written directly (as in tests/admin/test_dashboard.py), so the figures are known.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.choices import EventStatus
from events.models import Event, EventSeries
from scoring.models import EventMetrics
from scoring.views import WON_VS_COST_EVENTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every <text> of every chart, measured by the browser against its <svg>'s own box.
OUTSIDE_TEXTS = """() => {
  const outside = [];
  for (const svg of document.querySelectorAll("svg.ror-chart")) {
    const width = svg.viewBox.baseVal.width, height = svg.viewBox.baseVal.height;
    for (const text of svg.querySelectorAll("text")) {
      const box = text.getBBox();
      const matrix = text.getCTM() && svg.getCTM() ? svg.getCTM().inverse().multiply(text.getCTM()) : null;
      const corners = [[box.x, box.y], [box.x + box.width, box.y + box.height]].map(([x, y]) => {
        const point = new DOMPoint(x, y);
        return matrix ? point.matrixTransform(matrix) : point;
      });
      const [left, right] = [Math.min(corners[0].x, corners[1].x), Math.max(corners[0].x, corners[1].x)];
      if (left < -0.5 || right > width + 0.5) {
        outside.push(`${svg.closest(".module")?.id}: "${text.textContent}" ${left.toFixed(1)}..${right.toFixed(1)} of ${width}`);
      }
    }
  }
  return outside;
}"""


def completed_edition(series: EventSeries, name: str, day, **metrics) -> Event:
    starts_at = timezone.make_aware(datetime.combine(day, time(10)))
    event = Event.objects.create(name=name, series=series, starts_at=starts_at, ends_at=starts_at + timedelta(hours=8),
                                 status=EventStatus.COMPLETED, completed_at=starts_at + timedelta(hours=9),
                                 cost=metrics.get("cost"))
    EventMetrics.objects.create(event=event, computed_at=timezone.now(), **metrics)
    return event


@pytest.fixture
def busy_year():
    """More events in the last 12 months than the won-vs-cost chart draws, with long names,
    and a series whose first editions lie years back."""
    today = timezone.localdate()
    webinars = EventSeries.objects.create(name="RoR Insights Webinar")
    for index in range(WON_VS_COST_EVENTS + 4):
        completed_edition(webinars, f"RoR Insights Webinar: Consent-first event marketing, part {index + 1}",
                          today - timedelta(days=10 * (index + 1)), attended=40, returning_share=0.5,
                          series_retention_rate=30.0 + index, followup_coverage=0.4, nps=20.0,
                          won_value=Decimal(60000), cost=Decimal("1234.5"))
    summit = EventSeries.objects.create(name="Hamburg Marketing Summit")
    for years_back in (3, 2, 1, 0):
        completed_edition(summit, f"Hamburg Marketing Summit {today.year - years_back}",
                          today - timedelta(days=365 * years_back + 5), attended=140,
                          series_retention_rate=None if years_back == 3 else 45.0,
                          won_value=Decimal(250000), cost=Decimal(150000))
    return summit


def test_the_charts_fit_and_say_what_they_leave_out(page, login, staff_user, busy_year):
    login(staff_user)
    page.goto(f"{page.base_url}/admin/ror/dashboard/")
    page.wait_for_selector("#ror-kpis")
    assert page.evaluate(OUTSIDE_TEXTS) == []
    chart = page.locator("#chart-won-vs-cost svg")
    assert chart.locator(".ror-legend text").all_text_contents() == ["Won value", "Cost"]
    assert chart.locator("g.ror-bar-group").count() == WON_VS_COST_EVENTS
    total = WON_VS_COST_EVENTS + 5  # the webinars and this year's summit
    notes = " ".join(chart.locator("text.ror-chart-note").all_text_contents())
    assert notes == f"Showing the {WON_VS_COST_EVENTS} most recent of {total} events; the table below lists them all."
    assert "60,000 EUR" in chart.locator("text").all_text_contents()

    # German, on a laptop screen: numbers and dates as German writes them, nothing outside its
    # chart, and the page (the long German table headers too) no wider than the screen.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.select_option("#ror-language", "de")
    page.click("#ror-language-submit")
    page.wait_for_selector("html[lang=de]")
    page.goto(f"{page.base_url}/admin/ror/dashboard/")
    page.wait_for_selector("#ror-kpis")
    assert page.evaluate(OUTSIDE_TEXTS) == []
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    texts = page.locator("#chart-won-vs-cost svg text").all_text_contents()
    assert "60.000 EUR" in texts
    assert "1.235 EUR" in texts
    retention_ticks = page.locator("#chart-retention svg text").all_text_contents()
    assert "100 %" in retention_ticks


def test_a_series_covers_its_editions(page, login, staff_user, busy_year):
    login(staff_user)
    page.goto(f"{page.base_url}/admin/ror/dashboard/")
    page.wait_for_selector("#ror-kpis")
    page.select_option("#id_series", label="Hamburg Marketing Summit")
    page.click("#ror-dashboard-filter input[type=submit]")
    page.wait_for_selector("#ror-kpis")
    assert page.inner_text("[data-kpi=events] .ror-kpi-value") == "4"  # all four editions, not the last 12 months
    assert page.inner_text("[data-kpi=retention] .ror-kpi-hint") == "mean over 3 editions"
    assert page.locator("#chart-won-vs-cost g.ror-bar-group").count() == 4
    assert page.locator("#chart-won-vs-cost text.ror-chart-note").count() == 0
    assert page.evaluate(OUTSIDE_TEXTS) == []


def test_turned_column_labels_stay_inside_the_chart(page, login, staff_user, busy_year):
    """Twelve webinar editions with a CRR: a column chart whose date labels are turned."""
    webinars = EventSeries.objects.get(name="RoR Insights Webinar")
    today = timezone.localdate()
    login(staff_user)
    page.goto(f"{page.base_url}/admin/ror/dashboard/?series={webinars.pk}"
              f"&date_from={(today - timedelta(days=120)).isoformat()}&date_to={today.isoformat()}")
    page.wait_for_selector("#ror-kpis")
    columns = page.locator("#chart-retention svg g.ror-column")
    assert columns.count() == 12
    assert "rotate(-45" in (columns.first.locator("text").last.get_attribute("transform") or "")
    assert page.evaluate(OUTSIDE_TEXTS) == []
