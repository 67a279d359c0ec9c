"""The server-side SVG charts: valid markup, escaped labels, honest scales."""

import re
from datetime import datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from contacts.models import Contact
from events.models import Event, EventSeries
from scoring.charts import (
    BarGroup,
    LegendEntry,
    _text_px,
    bar_chart_svg,
    column_chart_svg,
    grouped_bar_chart_svg,
    line_chart_svg,
)
from scoring.choices import ScoreTrigger
from scoring.formatting import localized
from scoring.models import ScoreSnapshot

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # raises on malformed markup


@pytest.mark.parametrize("chart", [bar_chart_svg, column_chart_svg, line_chart_svg])
def test_labels_and_titles_are_escaped(chart):
    svg = chart([('<script>alert("x")</script>', 3.0), ("A & B", 1.0)], title="Q&A <b>")
    assert "<script>" not in svg
    root = parse(svg)
    assert root.get("aria-label") == "Q&A <b>"
    texts = " ".join(element.text or "" for element in root.iter() if element.tag in (f"{SVG}text", f"{SVG}title"))
    assert "A & B" in texts


@pytest.mark.parametrize("chart", [bar_chart_svg, column_chart_svg, line_chart_svg])
def test_empty_data_says_so(chart):
    root = parse(chart([], empty_message="Nothing yet"))
    assert [element.text for element in root.iter(f"{SVG}text")] == ["Nothing yet"]


def test_bar_lengths_follow_the_fixed_scale_and_show_the_given_text():
    root = parse(bar_chart_svg([("half", 0.5, "15 of 30 pts"), ("none", None), ("over", 2.0)], max_value=1.0,
                               width=400, label_width=100, value_width=100))
    bars = [group.findall(f"{SVG}rect")[1] for group in root.iter(f"{SVG}g")]
    track = 400 - 100 - 100
    assert [float(bar.get("width")) for bar in bars] == [track / 2, 0, track]  # capped at the scale
    assert "15 of 30 pts" in [element.text for element in root.iter(f"{SVG}text")]
    assert "–" in [element.text for element in root.iter(f"{SVG}text")]


def test_line_chart_breaks_at_missing_values_and_keeps_edge_labels():
    points = [(f"2026-{month:02d}", float(month)) for month in range(1, 13)]
    points[5] = ("2026-06", None)
    root = parse(line_chart_svg(points, max_x_labels=4))
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert len(root.findall(f"{SVG}circle")) == 11
    labels = [element.text for element in root.iter(f"{SVG}text") if re.match(r"\d{4}-\d{2}", element.text or "")]
    assert labels[0] == "2026-01"
    assert labels[-1] == "2026-12"
    assert 2 <= len(labels) <= 4


def test_line_chart_x_labels_do_not_overlap():
    points = [(f"2026-{month:02d}-15", 50.0) for month in range(1, 9)]
    root = parse(line_chart_svg(points, width=560))
    width = 62  # ten characters of 11 px text
    spans = []
    for element in root.iter(f"{SVG}text"):
        if re.match(r"\d{4}-", element.text or ""):
            x, anchor = float(element.get("x")), element.get("text-anchor")
            start = {"start": x, "end": x - width}.get(anchor, x - width / 2)
            spans.append((start, start + width))
    assert len(spans) >= 2
    assert all(previous[1] <= following[0] for previous, following in zip(spans, spans[1:], strict=False))


def texts_of(root: ElementTree.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_numbers_are_written_as_the_active_language_writes_them():
    with translation.override("de"):
        bars = parse(bar_chart_svg([("Umsatz", 60000.0), ("Quote", 42.0)], value_format=1))
        line = parse(line_chart_svg([("a", 20000.0), ("b", 60000.0)], max_value=60000, value_format=0))
        columns = parse(column_chart_svg([("a", 1234.0)], value_format=lambda value: f"{localized(value, 1)} %"))
    assert {"60.000,0", "42,0"} <= set(texts_of(bars))
    assert {"0", "30.000", "60.000"} <= set(texts_of(line))  # the y-axis ticks
    assert "1.234,0 %" in texts_of(columns)
    with translation.override("en"):
        assert "60,000" in texts_of(parse(bar_chart_svg([("Revenue", 60000.0)], value_format=0)))


def test_a_long_label_is_shortened_to_its_room_and_keeps_its_full_text_as_tooltip():
    name = "RoR Insights Webinar: Consent-first event marketing for agencies"
    root = parse(bar_chart_svg([(name, 3.0), ("Short", 1.0)], label_width=150))
    label = next(element for element in root.iter(f"{SVG}text") if (element.text or "").startswith("RoR"))
    assert label.text.endswith("…")
    assert _text_px(label.text) <= 150 - 6  # right-aligned at label_width − 6: nothing runs off the left edge
    assert label.find(f"{SVG}title").text == name
    short = next(element for element in root.iter(f"{SVG}text") if element.text == "Short")
    assert short.find(f"{SVG}title") is None


def test_the_value_column_widens_to_its_longest_text():
    root = parse(bar_chart_svg([("a", 1.0, "1,234,567.00 EUR of 9,999,999.00 EUR")], width=400, value_width=40))
    value = next(element for element in root.iter(f"{SVG}text") if "EUR" in (element.text or ""))
    assert float(value.get("x")) + _text_px(value.text) <= 400


def test_a_grouped_bar_chart_has_a_legend_in_the_colours_of_its_bars():
    series = [LegendEntry("Won value", "#3a7d44"), LegendEntry("Cost", "#b0b0b0")]
    groups = [BarGroup("Summit", [60000.0, 20000.0], sublabel="01/06/2026"), BarGroup("Dinner", [0.0, None])]
    root = parse(grouped_bar_chart_svg(groups, series, width=500))
    legend = root.find(f"{SVG}g[@class='ror-legend']")
    assert [element.text for element in legend.iter(f"{SVG}text")] == ["Won value", "Cost"]
    assert [rect.get("fill") for rect in legend.iter(f"{SVG}rect")] == ["#3a7d44", "#b0b0b0"]
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "ror-bar"]
    assert [bar.get("fill") for bar in bars] == ["#3a7d44", "#b0b0b0"] * 2
    widths = [float(bar.get("width")) for bar in bars]
    assert widths[0] > widths[1] > 0
    assert widths[2:] == [0, 0]
    assert {"60,000", "20,000", "0", "–", "01/06/2026"} <= set(texts_of(root))


def test_a_note_says_what_the_chart_leaves_out_and_wraps():
    note = "Showing the 24 most recent of 40 events; the table below lists them all. " * 2
    root = parse(bar_chart_svg([("a", 1.0)], width=300, title="Money", note=note))
    lines = [element.text for element in root.iter(f"{SVG}text") if element.get("class") == "ror-chart-note"]
    assert len(lines) >= 2
    assert " ".join(lines) == note.strip()
    assert all(_text_px(line) <= 300 for line in lines)
    assert root.get("aria-label") == f"Money – {note}"  # a screen reader hears it too


def test_column_labels_wider_than_their_column_are_turned_not_cut():
    items = [(f"11/{day:02d}/2026", 10.0) for day in range(1, 13)]
    root = parse(column_chart_svg(items, width=500))
    labels = [element for element in root.iter(f"{SVG}text") if "/" in (element.text or "")]
    assert [element.text for element in labels] == [label for label, _ in items]  # whole dates
    assert all("rotate(-45" in element.get("transform", "") for element in labels)
    narrow = parse(column_chart_svg(items[:3], width=500))
    assert not any(element.get("transform") for element in narrow.iter(f"{SVG}text"))


@pytest.mark.django_db
class TestAdminPageCharts:
    """The charts of the event and contact pages: short dates of the language, and what they leave out."""

    def test_the_series_chart_of_an_event_says_how_many_editions_it_leaves_out(self):
        from events.admin_panels import SERIES_CHART_EDITIONS, series_chart

        series = EventSeries.objects.create(name="Summit")
        start = timezone.make_aware(datetime(2024, 1, 10, 10))
        editions = [
            Event.objects.create(name=f"Summit {index}", series=series, starts_at=start + timedelta(days=30 * index),
                                 ends_at=start + timedelta(days=30 * index, hours=8))
            for index in range(SERIES_CHART_EDITIONS + 2)
        ]
        latest = editions[-1]
        with translation.override("de"):
            svg = str(series_chart(latest))
            first_shown = date_format(timezone.localtime(editions[2].starts_at), "SHORT_DATE_FORMAT")
        root = parse(svg)
        notes = [element.text for element in root.iter(f"{SVG}text") if element.get("class") == "ror-chart-note"]
        assert notes == [f"Die {SERIES_CHART_EDITIONS} neuesten von {SERIES_CHART_EDITIONS + 2} Ausgaben."]
        assert first_shown in texts_of(root)  # 10.03.2024: German short dates, not 2024-03
        assert len(root.findall(f"{SVG}g[@class='ror-column']")) == SERIES_CHART_EDITIONS

    def test_the_score_history_says_how_many_scores_it_leaves_out(self):
        from contacts.admin_panels import HISTORY_POINTS, score_history_chart

        contact = Contact.objects.create(email="history@example.com")
        start = timezone.make_aware(datetime(2024, 1, 10, 10))
        ScoreSnapshot.objects.bulk_create([
            ScoreSnapshot(contact=contact, score=40.0 + index % 20, components={}, stage="growth", profile_version=1,
                          computed_at=start + timedelta(days=index), trigger=ScoreTrigger.NIGHTLY)
            for index in range(HISTORY_POINTS + 5)
        ])
        root = parse(str(score_history_chart(contact)))
        notes = [element.text for element in root.iter(f"{SVG}text") if element.get("class") == "ror-chart-note"]
        assert notes == [f"Showing the {HISTORY_POINTS} most recent of {HISTORY_POINTS + 5} scores."]
        assert len(root.findall(f"{SVG}circle")) == HISTORY_POINTS
        last = date_format(timezone.localtime(start + timedelta(days=HISTORY_POINTS + 4)), "SHORT_DATE_FORMAT")
        assert last in texts_of(root)

    def test_the_score_history_is_placed_by_date_and_decays_to_today(self):
        """Snapshots are kept for changes, not for decay: the line goes on from the stored score to
        today's, decayed from the stored sums; a month between two scores is wider than a day."""
        from contacts.admin_panels import DECAY_POINTS, score_history_chart
        from scoring.services import active_parameters, recompute_contacts
        from scoring.services.contact_scores import decayed_score

        now = timezone.now()
        contact = Contact.objects.create(email="history@example.com")
        event = Event.objects.create(name="Summit", starts_at=now - timedelta(days=92), ends_at=now - timedelta(days=91),
                                     status="completed", completed_at=now - timedelta(days=91))
        contact.attendances.create(event=event, status="attended")
        recompute_contacts([contact.pk], as_of=now - timedelta(days=90), trigger=ScoreTrigger.EVENT)
        ScoreSnapshot.objects.create(contact=contact, score=10.0, components={}, stage="growth", profile_version=1,
                                     computed_at=now - timedelta(days=89), trigger=ScoreTrigger.MANUAL)
        ScoreSnapshot.objects.create(contact=contact, score=12.0, components={}, stage="growth", profile_version=1,
                                     computed_at=now - timedelta(days=59), trigger=ScoreTrigger.MANUAL)

        root = parse(str(score_history_chart(contact)))

        xs = [float(circle.get("cx")) for circle in root.iter(f"{SVG}circle")]
        assert len(xs) == 3 + DECAY_POINTS  # three snapshots (the first computation's too), the decay to today
        assert xs == sorted(xs)
        day, month = xs[1] - xs[0], xs[2] - xs[1]
        assert month == pytest.approx(30 * day, rel=0.01)
        today = decayed_score(contact.score, now, active_parameters()).score
        last_tooltip = list(root.iter(f"{SVG}circle"))[-1].find(f"{SVG}title").text
        assert last_tooltip.endswith(f"(decay since the last computation): {localized(today, 1)}")
        assert today < contact.score.score
