"""Small server-side SVG charts for the admin (score breakdown, score history, dashboard).

No JavaScript and no chart library: each helper returns a self-contained, accessible
<svg> element as a SafeString, ready for `{{ chart }}` in a template. Every label and
title is HTML-escaped here, so callers may pass user data (contact, event, series names).
"""

import math
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

DEFAULT_COLOR = "#417690"  # the admin's own blue, so charts sit well in its pages
GRID_COLOR = "#ccc"
TEXT_COLOR = "#333"
FONT = 'font-family="system-ui, -apple-system, sans-serif" font-size="11"'


def _format_value(value: float | None, value_format: str | Callable[[float], str]) -> str:
    if value is None:
        return "–"
    if callable(value_format):
        return value_format(value)
    return value_format.format(value)


def _num(value: float) -> str:
    """Coordinates with at most one decimal, so the markup stays short and stable in tests."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _shorten(label: str, max_chars: int) -> str:
    return label if len(label) <= max_chars else label[: max_chars - 1] + "…"


def _svg(width: float, height: float, title: str | None, body: list[str], *, css_class: str) -> SafeString:
    label = escape(title) if title else ""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ror-chart {css_class}" role="img" '
        f'width="{_num(width)}" height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}"'
        + (f' aria-label="{label}"' if label else "")
        + ">"
    )
    parts = [head]
    if label:
        parts.append(f"<title>{label}</title>")
    parts.extend(body)
    parts.append("</svg>")
    # Safe: every piece of text in `parts` went through escape().
    return mark_safe("".join(parts))


def _empty(width: float, height: float, title: str | None, message: str, *, css_class: str) -> SafeString:
    body = [
        f'<text x="{_num(width / 2)}" y="{_num(height / 2)}" text-anchor="middle" fill="#777" {FONT}>'
        f"{escape(message)}</text>"
    ]
    return _svg(width, height, title, body, css_class=css_class)


def bar_chart_svg(
    items: Sequence[tuple[str, float | None] | tuple[str, float | None, str]],
    *,
    max_value: float | None = None,
    width: int = 480,
    bar_height: int = 18,
    gap: int = 6,
    label_width: int = 150,
    value_width: int = 56,
    color: str = DEFAULT_COLOR,
    colors: Sequence[str] | None = None,
    value_format: str | Callable[[float], str] = "{:.1f}",
    title: str | None = None,
    empty_message: str = "No data",
) -> SafeString:
    """Horizontal bars, one per (label, value), label on the left and value on the right.

    An item may carry a third element, the text printed right of its bar instead of the
    formatted value (e.g. "12.3 of 30 pts").

    `max_value` fixes the scale (e.g. 1.0 for components, 100 for scores); by default the
    largest value fills the width. None values draw no bar and print "–". Negative values
    are drawn as empty bars (the value text still shows the sign).
    """
    if not items:
        return _empty(width, bar_height * 2, title, empty_message, css_class="ror-bar-chart")
    values = [item[1] for item in items if item[1] is not None]
    scale_max = max_value if max_value is not None else max([*values, 0])
    track = max(width - label_width - value_width, 10)
    height = len(items) * (bar_height + gap) + gap
    body = []
    for index, (label, value, *display) in enumerate(items):
        text = display[0] if display else _format_value(value, value_format)
        y = gap + index * (bar_height + gap)
        fill = colors[index % len(colors)] if colors else color
        length = 0.0
        if value is not None and scale_max > 0:
            length = max(0.0, min(float(value) / scale_max, 1.0)) * track
        text_y = _num(y + bar_height * 0.72)
        body.append(
            f'<g class="ror-bar"><text x="{_num(label_width - 6)}" y="{text_y}" text-anchor="end" fill="{TEXT_COLOR}" {FONT}>'
            f"{escape(_shorten(str(label), 28))}</text>"
            f'<rect x="{label_width}" y="{y}" width="{_num(track)}" height="{bar_height}" fill="#f0f0f0"/>'
            f'<rect x="{label_width}" y="{y}" width="{_num(length)}" height="{bar_height}" fill="{escape(fill)}">'
            f"<title>{escape(str(label))}: {escape(text)}</title></rect>"
            f'<text x="{_num(label_width + track + 6)}" y="{text_y}" fill="{TEXT_COLOR}" {FONT}>'
            f"{escape(text)}</text></g>"
        )
    return _svg(width, height, title, body, css_class="ror-bar-chart")


def column_chart_svg(
    items: Sequence[tuple[str, float | None]],
    *,
    max_value: float | None = None,
    width: int = 480,
    height: int = 180,
    color: str = DEFAULT_COLOR,
    value_format: str | Callable[[float], str] = "{:.0f}",
    title: str | None = None,
    empty_message: str = "No data",
) -> SafeString:
    """Vertical bars (e.g. attendance per edition of a series), labels below, values on top."""
    if not items:
        return _empty(width, height, title, empty_message, css_class="ror-column-chart")
    values = [float(value) for _, value in items if value is not None]
    scale_max = max_value if max_value is not None else max([*values, 0])
    top, bottom, left, right = 16, 34, 8, 8
    plot_height = height - top - bottom
    slot = (width - left - right) / len(items)
    bar_width = max(slot * 0.7, 2)
    max_chars = max(int(slot / 6), 3)
    body = [f'<line x1="{left}" y1="{top + plot_height}" x2="{width - right}" y2="{top + plot_height}" stroke="{GRID_COLOR}"/>']
    for index, (label, value) in enumerate(items):
        x = left + index * slot + (slot - bar_width) / 2
        bar = 0.0
        if value is not None and scale_max > 0:
            bar = max(0.0, min(float(value) / scale_max, 1.0)) * plot_height
        y = top + plot_height - bar
        center = _num(x + bar_width / 2)
        text = escape(_format_value(value, value_format))
        body.append(
            f'<g class="ror-column"><rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_width)}" height="{_num(bar)}" '
            f'fill="{escape(color)}"><title>{escape(str(label))}: {text}</title></rect>'
            f'<text x="{center}" y="{_num(y - 3)}" text-anchor="middle" fill="{TEXT_COLOR}" {FONT}>{text}</text>'
            f'<text x="{center}" y="{_num(height - bottom + 14)}" text-anchor="middle" fill="{TEXT_COLOR}" {FONT}>'
            f"{escape(_shorten(str(label), max_chars))}</text></g>"
        )
    return _svg(width, height, title, body, css_class="ror-column-chart")


def line_chart_svg(
    points: Sequence[tuple[str, float | None]],
    *,
    min_value: float | None = 0,
    max_value: float | None = None,
    width: int = 480,
    height: int = 160,
    color: str = DEFAULT_COLOR,
    value_format: str | Callable[[float], str] = "{:.1f}",
    tick_format: str | Callable[[float], str] | None = None,
    title: str | None = None,
    empty_message: str = "No data",
    max_x_labels: int = 6,
) -> SafeString:
    """A line through (label, value) points in the given order (oldest first), with dots.

    The y scale runs from `min_value` (0 by default; None = the smallest value) to
    `max_value` (None = the largest value). None values break the line. Only up to
    `max_x_labels` x labels are printed, evenly spread, so long histories stay readable;
    every point carries its label and value as a tooltip. `tick_format` formats the three
    y-axis values (default: `value_format`).
    """
    if not points:
        return _empty(width, height, title, empty_message, css_class="ror-line-chart")
    values = [float(value) for _, value in points if value is not None]
    if not values:
        return _empty(width, height, title, empty_message, css_class="ror-line-chart")
    low = min(values) if min_value is None else float(min_value)
    high = max(values) if max_value is None else float(max_value)
    if high <= low:
        high = low + 1
    top, bottom, left, right = 12, 26, 36, 12
    plot_width, plot_height = width - left - right, height - top - bottom
    step = plot_width / (len(points) - 1) if len(points) > 1 else 0

    def x_at(index: int) -> float:
        return left + (index * step if len(points) > 1 else plot_width / 2)

    def y_at(value: float) -> float:
        return top + plot_height - (min(max(value, low), high) - low) / (high - low) * plot_height

    body = []
    for tick in (low, (low + high) / 2, high):  # three horizontal grid lines with their values
        y = _num(y_at(tick))
        body.append(
            f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="{GRID_COLOR}" stroke-dasharray="2,3"/>'
            f'<text x="{left - 4}" y="{y}" dy="4" text-anchor="end" fill="#777" {FONT}>'
            f"{escape(_format_value(tick, tick_format or value_format))}</text>"
        )
    segments: list[list[str]] = [[]]
    for index, (_, value) in enumerate(points):
        if value is None:
            segments.append([])
            continue
        segments[-1].append(f"{_num(x_at(index))},{_num(y_at(float(value)))}")
    for segment in segments:
        if len(segment) > 1:
            body.append(f'<polyline fill="none" stroke="{escape(color)}" stroke-width="2" points="{" ".join(segment)}"/>')
    labelled = _spread_labels([str(label) for label, _ in points], plot_width, max_x_labels)
    for index, (label, value) in enumerate(points):
        if value is not None:
            body.append(
                f'<circle class="ror-point" cx="{_num(x_at(index))}" cy="{_num(y_at(float(value)))}" r="3" '
                f'fill="{escape(color)}"><title>{escape(str(label))}: {escape(_format_value(value, value_format))}'
                "</title></circle>"
            )
        if index in labelled:
            anchor = "middle"
            if len(points) > 1 and index in (0, len(points) - 1):  # keep edge labels inside the box
                anchor = "start" if index == 0 else "end"
            body.append(
                f'<text x="{_num(x_at(index))}" y="{height - 8}" text-anchor="{anchor}" fill="#777" {FONT}>'
                f"{escape(_shorten(str(label), X_LABEL_CHARS))}</text>"
            )
    return _svg(width, height, title, body, css_class="ror-line-chart")


X_LABEL_CHARS = 12
CHAR_WIDTH = 6.2  # px of an 11 px sans-serif character, near enough to keep labels apart


def _spread_labels(labels: list[str], plot_width: float, max_labels: int) -> set[int]:
    """Indices of the x labels to print: the first, the last, and evenly spaced ones that fit."""
    count = len(labels)
    if count <= 1:
        return {0}
    label_px = CHAR_WIDTH * max(len(_shorten(label, X_LABEL_CHARS)) for label in labels) + 8
    step_px = plot_width / (count - 1)
    # 1.5 label widths apart: an edge label is anchored at its end, its neighbour at its middle.
    every = max(1, math.ceil(1.5 * label_px / step_px), math.ceil((count - 1) / max(max_labels - 1, 1)))
    labelled = set(range(0, count, every))
    last = count - 1
    if last not in labelled:
        labelled = {index for index in labelled if last - index >= every or index == 0}
        labelled.add(last)
    return labelled
