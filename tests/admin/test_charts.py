"""The server-side SVG charts: valid markup, escaped labels, honest scales."""

import re
from xml.etree import ElementTree

import pytest

from scoring.charts import bar_chart_svg, column_chart_svg, line_chart_svg

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
