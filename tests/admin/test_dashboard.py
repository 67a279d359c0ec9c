"""The RoR dashboard: who sees it, what the KPIs say, and that it stays a fixed number of queries.

Event metrics and contact scores are computed rows; these tests write them directly, so the
figures on the page are known exactly and independent of the scoring engine. The personas
(staff_user: Agency staff, sales_user: Sales) come from tests/admin/conftest.py.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from contacts.models import Contact, Organization
from events.choices import AttendanceStatus, EventStatus
from events.models import Attendance, Event, EventSeries, Feedback
from scoring.dashboard import TOP_ORGANIZATIONS, DashboardFilter, build_dashboard
from scoring.models import ContactScore, EventMetrics
from scoring.views import (
    COST_COLOR,
    WON_COLOR,
    WON_VS_COST_EVENTS,
    _number,
    _signed_number,
    dashboard_charts,
    edition_rows,
    kpi_cards,
)

pytestmark = pytest.mark.django_db

URL = "/admin/ror/dashboard/"
SVG = "{http://www.w3.org/2000/svg}"


def make_user(username: str) -> User:
    return User.objects.create_user(username, f"{username}@agency.example", "pw", is_staff=True)


def local(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def make_event(name: str, day: date, *, series: EventSeries | None = None, **metrics) -> Event:
    event = Event.objects.create(
        name=name, series=series, starts_at=local(day), ends_at=local(day, 18),
        status=EventStatus.COMPLETED, completed_at=local(day, 19), cost=metrics.get("cost"),
    )
    EventMetrics.objects.create(event=event, computed_at=timezone.now(), **metrics)
    return event


def make_contact(email: str, *, organization=None, score=None, stage="growth", churn_risk="low") -> Contact:
    contact = Contact.objects.create(email=email, organization=organization)
    if score is not None:
        ContactScore.objects.create(
            contact=contact, score=score, components={}, stage=stage, churn_risk=churn_risk,
            computed_at=timezone.now(), profile_version=1,
        )
    return contact


@pytest.fixture
def summit() -> EventSeries:
    return EventSeries.objects.create(name="Hamburg Summit")


@pytest.fixture
def agency_data(summit):
    """Two summit editions and a dinner in the last year, one summit edition two years ago."""
    today = timezone.localdate()
    old = make_event("Summit 2023", today - timedelta(days=760), series=summit, attended=99, won_value=Decimal(99999))
    first = make_event(
        "Summit spring", today - timedelta(days=200), series=summit, attended=100, returning_attendees=40,
        returning_share=0.4, series_retention_rate=50.0, followup_coverage=0.5, won_value=Decimal(30000),
        pipeline_value=Decimal(5000), cost=Decimal(20000), relationship_lift=2.0,
    )
    second = make_event(
        "Summit autumn", today - timedelta(days=20), series=summit, attended=300, returning_attendees=180,
        returning_share=0.6, series_retention_rate=70.0, followup_coverage=0.9, won_value=Decimal(50000),
        cost=Decimal(40000), relationship_lift=4.0,
    )
    dinner = make_event(
        "CFO dinner", today - timedelta(days=60), attended=20, returning_attendees=20, returning_share=1.0,
        followup_coverage=1.0, won_value=Decimal(10000),
    )
    # NPS answers of the autumn edition: 2 promoters, 1 passive, 1 detractor → NPS 25.
    acme = Organization.objects.create(name="Acme")
    globex = Organization.objects.create(name="Globex")
    answers = [(10, "growth", acme, 80), (9, "maturity", acme, 60), (7, "growth", globex, 30), (3, "at_risk", None, 10)]
    for index, (nps, stage, organization, score) in enumerate(answers):
        contact = make_contact(f"p{index}@example.com", organization=organization, score=score, stage=stage,
                               churn_risk="high" if stage == "at_risk" else "low")
        Feedback.objects.create(event=second, contact=contact, nps=nps, satisfaction=8)
        Attendance.objects.create(event=second, contact=contact, status=AttendanceStatus.ATTENDED)
    # A contact of the dinner only, with another organization and a high score.
    initech = Organization.objects.create(name="Initech")
    diner = make_contact("diner@example.com", organization=initech, score=95, stage="maturity")
    Attendance.objects.create(event=dinner, contact=diner, status=AttendanceStatus.ATTENDED)
    return {"old": old, "first": first, "second": second, "dinner": dinner}


class TestAccess:
    def test_anonymous_users_are_sent_to_the_admin_login(self, client):
        response = client.get(URL)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    def test_staff_without_the_view_permission_is_refused(self, client):
        client.force_login(make_user("intern"))
        assert client.get(URL).status_code == 403

    @pytest.mark.parametrize("persona", ["staff_user", "sales_user"])
    def test_agency_staff_and_sales_see_it(self, client, request, persona):
        client.force_login(request.getfixturevalue(persona))
        response = client.get(URL)
        assert response.status_code == 200
        assert "RoR dashboard" in response.content.decode()

    def test_the_admin_index_and_the_user_tools_link_to_it(self, client, sales_user):
        client.force_login(sales_user)
        page = client.get(reverse("admin:index")).content.decode()
        assert 'id="ror-index-links"' in page
        assert f'id="ror-dashboard-link" href="{URL}"' in page


class TestFigures:
    def test_the_default_period_is_the_last_12_months(self, agency_data):
        data = build_dashboard(DashboardFilter.default())
        names = [row["name"] for row in data.editions]
        assert names == ["Summit spring", "CFO dinner", "Summit autumn"]  # oldest first, the 2023 edition is out

    def test_kpis_are_aggregated_over_the_events_of_the_period(self, agency_data):
        summary = build_dashboard(DashboardFilter.default()).summary
        assert summary["events"] == 3
        assert summary["attended"] == 420
        assert summary["returning_share"] == pytest.approx(240 / 420)
        assert summary["avg_retention_rate"] == pytest.approx(60.0)  # mean CRR of the two editions with one
        # Coverage weighted by attendees: (0.5×100 + 0.9×300 + 1.0×20) / 420.
        assert summary["followup_coverage"] == pytest.approx(340 / 420)
        assert summary["nps"] == pytest.approx(25.0)
        assert summary["won_value"] == Decimal(90000)
        assert summary["cost"] == Decimal(60000)
        # RoR over the events with a cost: (80,000 − 60,000) / 60,000 × 100.
        assert summary["ror_percent"] == pytest.approx(100 / 3)

    def test_the_series_filter_keeps_its_editions_and_its_attendees(self, agency_data, summit):
        today = timezone.localdate()
        data = build_dashboard(DashboardFilter(date_from=today - timedelta(days=365), date_to=today, series_id=summit.pk))
        assert [row["name"] for row in data.editions] == ["Summit spring", "Summit autumn"]
        assert data.summary["attended"] == 400
        stages = {entry["stage"]: entry["contacts"] for entry in data.stages}
        assert stages == {"initiation": 0, "socialization": 0, "growth": 2, "maturity": 1, "at_risk": 1}
        # The dinner guest (Initech, 95) is no summit attendee, so Initech drops out.
        assert [row["name"] for row in data.top_organizations] == ["Acme", "Globex"]

    def test_organizations_rank_by_the_mean_score_of_their_contacts(self, agency_data):
        rows = build_dashboard(DashboardFilter.default()).top_organizations
        assert [(row["name"], row["avg_score"], row["scored_contacts"]) for row in rows] == [
            ("Initech", 95.0, 1), ("Acme", 70.0, 2), ("Globex", 30.0, 1),
        ]

    def test_erased_contacts_leave_the_score_distribution(self, agency_data):
        Contact.objects.filter(email="p3@example.com").update(email=None, erased_at=timezone.now())
        stages = {entry["stage"]: entry["contacts"] for entry in build_dashboard(DashboardFilter.default()).stages}
        assert stages["at_risk"] == 0


class TestPage:
    def test_the_page_shows_kpis_charts_and_events(self, client, staff_user, agency_data):
        client.force_login(staff_user)
        page = client.get(URL).content.decode()
        assert 'data-kpi="nps"' in page
        assert page.count("<svg") >= 7  # the seven charts, drawn on the server
        assert "cdn" not in page.lower()
        assert "Summit autumn" in page
        assert "Summit 2023" not in page
        assert reverse("admin:events_event_change", args=[agency_data["second"].pk]) in page

    def test_period_and_series_come_from_the_query_string(self, client, staff_user, agency_data, summit):
        client.force_login(staff_user)
        old_day = timezone.localdate(agency_data["old"].starts_at)
        response = client.get(URL, {"date_from": old_day.isoformat(), "date_to": old_day.isoformat(),
                                    "series": summit.pk})
        page = response.content.decode()
        assert response.context["dashboard"].filter == DashboardFilter(old_day, old_day, summit.pk)
        assert "Summit 2023" in page
        assert "Summit autumn" not in page

    def test_a_period_ending_before_it_starts_shows_an_error_and_the_default(self, client, staff_user, agency_data):
        client.force_login(staff_user)
        response = client.get(URL, {"date_from": "2025-05-01", "date_to": "2025-01-01"})
        assert response.status_code == 200
        assert "The end of the period cannot lie before its start." in response.content.decode()
        assert response.context["dashboard"].filter == DashboardFilter.default()

    @pytest.mark.parametrize("query", [
        {"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}, {"date_to": "0001-01-01"},
        {"date_from": "9999-12-31"}, {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    ])
    def test_dates_out_of_range_are_a_form_error_not_a_crash(self, client, staff_user, agency_data, query):
        client.force_login(staff_user)
        response = client.get(URL, query)
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert set(errors) == set(query)
        expected = {"0001-01-01": "Ensure this value is greater than or equal to 1900-01-01.",
                    "9999-12-31": "Ensure this value is less than or equal to 2999-12-31."}
        assert {name: errors[name] for name in query} == {name: [expected[day]] for name, day in query.items()}
        assert response.context["dashboard"].filter == DashboardFilter.default()

    def test_the_widest_period_allowed_opens(self, client, staff_user, agency_data):
        client.force_login(staff_user)
        response = client.get(URL, {"date_from": "1900-01-01", "date_to": "2999-12-31"})
        assert response.status_code == 200
        assert not response.context["form"].errors
        assert response.context["dashboard"].summary["events"] == 4  # all of them, the 2023 edition too

    def test_an_unknown_series_is_a_form_error_not_a_crash(self, client, staff_user):
        client.force_login(staff_user)
        response = client.get(URL, {"series": "999999"})
        assert response.status_code == 200
        assert response.context["form"].errors["series"]

    def test_the_query_count_does_not_grow_with_the_events(self, client, staff_user, summit, django_assert_num_queries):
        client.force_login(staff_user)
        today = timezone.localdate()

        def add_events(count: int) -> None:
            for index in range(count):
                event = make_event(f"Edition {Event.objects.count()}", today - timedelta(days=index + 1), series=summit,
                                   attended=10, nps=20.0, cost=Decimal(100), series_retention_rate=50.0)
                contact = make_contact(f"c{event.pk}@example.com", organization=Organization.objects.create(
                    name=f"Org {event.pk}"), score=50)
                Attendance.objects.create(event=event, contact=contact, status=AttendanceStatus.ATTENDED)
                Feedback.objects.create(event=event, contact=contact, nps=9)

        # session + user + the user's group permissions (2) + series list + 7 dashboard blocks
        expected = 12
        add_events(5)
        with django_assert_num_queries(expected):
            assert client.get(URL).status_code == 200
        add_events(25)
        with django_assert_num_queries(expected):
            response = client.get(URL)
        assert len(response.context["dashboard"].editions) == 30


class TestRounding:
    """Figures are rounded half away from zero to the digits shown, never cut off."""

    @pytest.fixture
    def rounded_data(self, summit):
        # Summary figures are aggregated from these rows; the page formats them.
        today = timezone.localdate()
        for name, days_ago, retention, nps, lift in (("Spring", 60, 28.6, 99.9, 16.5), ("Autumn", 30, 28.7, -0.9, 17.0)):
            make_event(name, today - timedelta(days=days_ago), series=summit, attended=10, series_retention_rate=retention,
                       nps=nps, relationship_lift=lift, won_value=Decimal("17395"), cost=Decimal(5000),
                       ror_percent=247.9)
        return build_dashboard(DashboardFilter.default())

    def test_kpi_cards_round_instead_of_truncating(self, rounded_data):
        # RoR (34,790 − 10,000) / 10,000 × 100 = 247.9 %; mean CRR 28.65; mean lift 16.75.
        assert rounded_data.summary["ror_percent"] == pytest.approx(247.9)
        cards = {card["key"]: card["value"] for card in kpi_cards(rounded_data)}
        assert cards["ror"] == "248 %"
        assert cards["retention"] == "29 %"
        assert cards["lift"] == "+16.8"

    def test_the_events_table_rounds_instead_of_truncating(self, rounded_data):
        rows = {row["name"]: row for row in edition_rows(rounded_data)}
        assert rows["Spring"]["nps"] == "+100"  # 99.9, a net score with its sign as on the event list
        assert rows["Autumn"]["nps"] == "-1"  # −0.9, not "-0"
        assert rows["Spring"]["ror"] == "248 %"  # 247.9
        assert rows["Spring"]["lift"] == "+16.5"

    @pytest.mark.parametrize(("value", "decimals", "expected"), [
        (247.9, 0, "248"), (28.65, 0, "29"), (28.65, 1, "28.7"), (16.75, 1, "16.8"), (99.9, 0, "100"),
        (-0.9, 0, "-1"), (-0.4, 0, "0"), (12.5, 0, "13"), (-12.5, 0, "-13"), (1234.5, 0, "1,235"), (None, 0, "–"),
    ])
    def test_numbers_round_half_away_from_zero(self, value, decimals, expected):
        assert _number(value, decimals) == expected

    def test_the_lift_reads_as_on_the_event_page(self):
        assert [_signed_number(value, 1) for value in (16.75, -0.04, -2.25, None)] == ["+16.8", "+0.0", "-2.3", "–"]


def test_the_site_root_and_view_site_lead_to_the_dashboard(admin_client):
    assert admin_client.get("/")["Location"] == "/admin/ror/dashboard/"
    assert str(admin_client.get("/admin/").context["site_url"]) == "/admin/ror/dashboard/"  # "View site"
    assert admin_client.get("/", follow=True).status_code == 200


def svg_texts(svg: str) -> list[str]:
    """Every text, tooltip and note of a chart, parsed (so the markup must be valid)."""
    root = ElementTree.fromstring(svg)
    return [element.text or "" for element in root.iter() if element.tag in (f"{SVG}text", f"{SVG}title")]


def svg_notes(svg: str) -> str:
    root = ElementTree.fromstring(svg)
    return " ".join(element.text for element in root.iter(f"{SVG}text") if element.get("class") == "ror-chart-note")


class TestCharts:
    """What the dashboard's charts draw and what they say they leave out."""

    def add_editions(self, series: EventSeries, count: int) -> list[Event]:
        today = timezone.localdate()
        return [
            make_event(f"Edition {index + 1}", today - timedelta(days=7 * (count - index)), series=series, attended=10,
                       won_value=Decimal(1000 * (index + 1)), cost=Decimal(500))
            for index in range(count)
        ]

    def test_won_vs_cost_draws_every_event_of_the_period_with_a_legend(self, summit):
        self.add_editions(summit, 18)
        svg = dashboard_charts(build_dashboard(DashboardFilter.default()))["won_vs_cost"]
        root = ElementTree.fromstring(svg)
        groups = root.findall(f".//{SVG}g[@class='ror-bar-group']")
        assert len(groups) == 18  # not the latest 8 only
        assert svg_notes(svg) == ""  # nothing left out, nothing to say
        legend = root.find(f"{SVG}g[@class='ror-legend']")
        assert [element.text for element in legend.iter(f"{SVG}text")] == ["Won value", "Cost"]
        legend_colours = [rect.get("fill") for rect in legend.iter(f"{SVG}rect")]
        bar_colours = [rect.get("fill") for rect in groups[0].iter(f"{SVG}rect") if rect.get("class") == "ror-bar"]
        assert legend_colours == bar_colours == [WON_COLOR, COST_COLOR]

    def test_won_vs_cost_with_more_events_than_fit_says_what_it_leaves_out(self, summit):
        events = self.add_editions(summit, WON_VS_COST_EVENTS + 6)
        svg = dashboard_charts(build_dashboard(DashboardFilter.default()))["won_vs_cost"]
        root = ElementTree.fromstring(svg)
        assert len(root.findall(f".//{SVG}g[@class='ror-bar-group']")) == WON_VS_COST_EVENTS
        total = len(events)
        assert svg_notes(svg) == (f"Showing the {WON_VS_COST_EVENTS} most recent of {total} events; "
                                  "the table below lists them all.")
        texts = svg_texts(svg)
        assert any(text.startswith(f"Edition {total}") for text in texts)  # the newest is in
        assert not any(text.startswith("Edition 1 ") or text == "Edition 1" for text in texts)  # the oldest is out

    def test_won_vs_cost_labels_keep_the_full_name_and_the_date(self, summit):
        name = "RoR Insights Webinar: Consent-first event marketing for agencies and their clients"
        event = make_event(name, timezone.localdate() - timedelta(days=3), series=summit, attended=5,
                           won_value=Decimal(60000), cost=Decimal(20000))
        svg = dashboard_charts(build_dashboard(DashboardFilter.default()))["won_vs_cost"]
        texts = svg_texts(svg)
        day = date_format(timezone.localtime(event.starts_at), "SHORT_DATE_FORMAT")
        assert any(text.endswith("…") and name.startswith(text[:-1]) for text in texts)  # shortened on the chart
        assert name in texts  # whole in its tooltip
        assert day in texts
        assert {"60,000 EUR", "20,000 EUR"} <= set(texts)

    def test_german_charts_write_german_numbers_and_dates(self, agency_data):
        gala = make_event("Gala", timezone.localdate() - timedelta(days=5), attended=1234, won_value=Decimal(60000),
                          cost=Decimal("1234.5"), returning_share=0.42, followup_coverage=0.5)
        with translation.override("de"):
            data = build_dashboard(DashboardFilter.default())
            charts = dashboard_charts(data)
            day = date_format(timezone.localtime(agency_data["second"].starts_at), "SHORT_DATE_FORMAT")
            gala_day = date_format(timezone.localtime(gala.starts_at), "SHORT_DATE_FORMAT")
        assert day.count(".") == 2  # 01.02.2026
        won = svg_texts(charts["won_vs_cost"])
        assert {"60.000 EUR", "1.235 EUR", "50.000 EUR"} <= set(won)
        assert "60,000 EUR" not in won
        returning = svg_texts(charts["returning"])
        assert {"0 %", "50 %", "100 %"} <= set(returning)  # y-axis ticks
        assert f"{day} Summit autumn: 60 %" in returning  # a point's tooltip: date, event, value
        assert gala_day in svg_texts(charts["coverage"])  # the last x-axis label
        assert "70,0 (2 Kontakte)" in svg_texts(charts["organizations"])

    def test_english_charts_write_english_numbers(self, agency_data):
        make_event("Gala", timezone.localdate() - timedelta(days=5), attended=10, won_value=Decimal(60000))
        with translation.override("en"):
            texts = svg_texts(dashboard_charts(build_dashboard(DashboardFilter.default()))["won_vs_cost"])
        assert "60,000 EUR" in texts

    def test_the_retention_chart_says_how_many_events_it_leaves_out(self, agency_data):
        svg = dashboard_charts(build_dashboard(DashboardFilter.default()))["retention"]
        assert svg_notes(svg) == "1 event without a previous edition in its series is not shown."  # the dinner

    def test_line_charts_say_where_they_break(self, agency_data):
        EventMetrics.objects.filter(event=agency_data["first"]).update(nps=20.0)
        svg = dashboard_charts(build_dashboard(DashboardFilter.default()))["nps"]
        assert svg_notes(svg) == "2 events have no value here; the line breaks there."  # only spring has an NPS
        assert svg_notes(dashboard_charts(build_dashboard(DashboardFilter.default()))["coverage"]) == ""

    def test_the_organizations_chart_says_it_shows_the_best_ones_only(self, agency_data):
        for index in range(TOP_ORGANIZATIONS):
            make_contact(f"o{index}@example.com", organization=Organization.objects.create(name=f"Org {index}"),
                         score=50)
        data = build_dashboard(DashboardFilter.default())
        assert len(data.top_organizations) == TOP_ORGANIZATIONS
        svg = dashboard_charts(data)["organizations"]
        assert svg_notes(svg) == f"The {TOP_ORGANIZATIONS} best of {TOP_ORGANIZATIONS + 3} organizations with scored contacts."

    def test_the_organizations_chart_says_nothing_when_it_shows_them_all(self, agency_data):
        assert svg_notes(dashboard_charts(build_dashboard(DashboardFilter.default()))["organizations"]) == ""

    def test_the_events_table_writes_the_chart_dates_and_grouped_numbers(self, client, staff_user, summit):
        event = make_event("Big one", timezone.localdate() - timedelta(days=2), series=summit, attended=1234,
                           won_value=Decimal(60000))
        client.force_login(staff_user)
        page = client.get(URL).content.decode()
        day = date_format(timezone.localtime(event.starts_at), "SHORT_DATE_FORMAT")
        table = page[page.index('id="ror-editions"'):]
        assert f'<td class="ror-date">{day}</td>' in table
        assert '<td class="num">1,234</td>' in table
        charts = page[page.index('class="ror-grid"'):page.index('id="ror-editions"')]
        assert day in charts


class TestSeriesWindow:
    """With a series, the period covers its editions, not the last 12 months."""

    def test_a_series_without_chosen_dates_covers_all_its_editions(self, client, staff_user, agency_data, summit):
        client.force_login(staff_user)
        response = client.get(URL, {"series": summit.pk})
        flt = response.context["dashboard"].filter
        assert flt.date_from == timezone.localdate(agency_data["old"].starts_at)  # the 2023 edition
        assert flt.date_to == timezone.localdate()
        assert [row["name"] for row in response.context["dashboard"].editions] == [
            "Summit 2023", "Summit spring", "Summit autumn"]

    def test_picking_a_series_on_the_default_page_widens_the_period(self, client, staff_user, agency_data, summit):
        """The page fills in the last 12 months; sent back unchanged with a series, they give way."""
        client.force_login(staff_user)
        shown = client.get(URL).context["form"]
        query = {name: shown[name].value() for name in ("date_from", "date_to", "default_from", "default_to")}
        assert query["date_from"] == query["default_from"] == DashboardFilter.default().date_from
        response = client.get(URL, {**{k: v.isoformat() for k, v in query.items()}, "series": summit.pk})
        data = response.context["dashboard"]
        assert data.filter.date_from == timezone.localdate(agency_data["old"].starts_at)
        assert "Summit 2023" in [row["name"] for row in data.editions]
        # Back to all events with the series' period untouched: the last 12 months again.
        shown = response.context["form"]
        query = {name: shown[name].value().isoformat() for name in ("date_from", "date_to", "default_from", "default_to")}
        assert client.get(URL, {**query, "series": ""}).context["dashboard"].filter == DashboardFilter.default()

    def test_a_chosen_start_is_kept_with_a_series(self, client, staff_user, agency_data, summit):
        client.force_login(staff_user)
        default = DashboardFilter.default()
        chosen = timezone.localdate() - timedelta(days=100)
        response = client.get(URL, {"date_from": chosen.isoformat(), "date_to": default.date_to.isoformat(),
                                    "default_from": default.date_from.isoformat(),
                                    "default_to": default.date_to.isoformat(), "series": summit.pk})
        assert response.context["dashboard"].filter == DashboardFilter(chosen, default.date_to, summit.pk)
        assert response.context["form"]["default_from"].value() is None  # chosen, so it stays on a series change

    def test_a_series_window_holds_at_least_the_last_12_months(self, summit):
        make_event("Recent", timezone.localdate() - timedelta(days=30), series=summit, attended=1)
        assert DashboardFilter.for_series(summit.pk) == DashboardFilter(
            DashboardFilter.default().date_from, timezone.localdate(), summit.pk)

    def test_counts_are_said_in_singular_and_plural(self, agency_data, summit):
        one = build_dashboard(DashboardFilter(timezone.localdate() - timedelta(days=30), timezone.localdate(), summit.pk))
        hints = {card["key"]: card["hint"] for card in kpi_cards(one)}
        assert hints["retention"] == "mean over 1 edition"
        assert hints["events"] == "300 attendees"
        hints = {card["key"]: card["hint"] for card in kpi_cards(build_dashboard(DashboardFilter.default()))}
        assert hints["retention"] == "mean over 2 editions"
        assert hints["nps"] == "4 answers"
