"""Small server-side SVG charts for the admin (score breakdown, score history, dashboard).

No JavaScript and no chart library: each helper returns a self-contained, accessible
<svg> element as a SafeString, ready for `{{ chart }}` in a template. Every label and
title is HTML-escaped here, so callers may pass user data (contact, event, series names).

Numbers are written as the active language writes them (scoring.formatting.localized):
a `value_format` is the number of decimals, or a function for anything else (a unit, a
currency). A label too long for its room is shortened with "…" and keeps its full text as
a tooltip. A chart that leaves something out says so in its `note`, printed below it.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from scoring.formatting import localized

DEFAULT_COLOR = "#417690"  # the admin's own blue, so charts sit well in its pages
GRID_COLOR = "#ccc"
TEXT_COLOR = "#333"
QUIET_COLOR = "#777"
FONT_SIZE = 11
FONT = f'font-family="system-ui, -apple-system, sans-serif" font-size="{FONT_SIZE}"'
LINE_HEIGHT = 14
LEGEND_HEIGHT = 22
X_LABEL_PX = 80  # room of an x-axis label: a short date with a four-digit year
COLUMN_LABEL_PX = 90

ValueFormat = int | Callable[[float], str]


def _format_value(value: float | None, value_format: ValueFormat) -> str:
    if value is None:
        return "–"
    if callable(value_format):
        return value_format(value)
    return localized(value, value_format)


def _num(value: float) -> str:
    """Coordinates with at most one decimal, so the markup stays short and stable in tests."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


# Advance widths (in em) of a wide sans-serif (DejaVu Sans, the widest of the usual
# system-ui fonts), so a label measured here fits whatever font the browser picks.
_CHAR_EM = {
    **dict.fromkeys("iljI.,:;!|'` ", 0.32),
    **dict.fromkeys("frt()[]-/·", 0.4),
    "m": 0.98, "w": 0.82, "M": 0.87, "W": 1.0, "…": 1.0, "—": 1.0, "%": 0.95, "@": 1.0,
}


def _char_em(char: str) -> float:
    if char in _CHAR_EM:
        return _CHAR_EM[char]
    if char.isdigit():
        return 0.64
    return 0.74 if char.isupper() else 0.62


def _text_px(text: str) -> float:
    """The width of `text` in the charts' 11 px font, estimated on the wide side."""
    return sum(_char_em(char) for char in text) * FONT_SIZE


def _fit(label: str, max_px: float) -> str:
    """`label`, or its longest start that fits `max_px` with "…" after it."""
    if _text_px(label) <= max_px:
        return label
    room = max_px - _text_px("…")
    cut = 0
    while cut < len(label) and _text_px(label[: cut + 1]) <= room:
        cut += 1
    return label[: max(cut, 1)].rstrip() + "…"


def _label(label: str, max_px: float, attributes: str) -> str:
    """A <text> shortened to `max_px`, with the full label as its tooltip when shortened."""
    short = _fit(label, max_px)
    tooltip = f"<title>{escape(label)}</title>" if short != label else ""
    return f"<text {attributes} {FONT}>{escape(short)}{tooltip}</text>"


@dataclass(frozen=True)
class LegendEntry:
    label: str
    color: str


def _legend(entries: Sequence[LegendEntry], x: float) -> list[str]:
    """Colour swatches with their names in one row at the top of the chart."""
    parts = ['<g class="ror-legend">']
    for entry in entries:
        parts.append(
            f'<rect x="{_num(x)}" y="5" width="10" height="10" fill="{escape(entry.color)}"/>'
            f'<text x="{_num(x + 14)}" y="14" fill="{TEXT_COLOR}" {FONT}>{escape(entry.label)}</text>'
        )
        x += 14 + _text_px(entry.label) + 16
    parts.append("</g>")
    return parts


def _note_lines(note: str | None, width: float) -> list[str]:
    if not note:
        return []
    lines: list[str] = []
    for word in note.split():
        if lines and _text_px(f"{lines[-1]} {word}") <= width - 12:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _svg(
    width: float, height: float, title: str | None, body: list[str], *, css_class: str,
    legend: Sequence[LegendEntry] = (), note: str | None = None, legend_x: float = 6,
) -> SafeString:
    """The <svg> around `body` (drawn from y = 0), with the legend above it and the note below.
    The note is part of the accessible name too: a screen reader hears what the chart leaves out."""
    label = escape(title) if title else ""
    accessible = escape(" – ".join(part for part in (title, note) if part))
    top = LEGEND_HEIGHT if legend else 0
    lines = _note_lines(note, width)
    total_height = top + height + (len(lines) * LINE_HEIGHT + 6 if lines else 0)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ror-chart {css_class}" role="img" '
        f'width="{_num(width)}" height="{_num(total_height)}" viewBox="0 0 {_num(width)} {_num(total_height)}"'
        + (f' aria-label="{accessible}"' if accessible else "")
        + ">"
    )
    parts = [head]
    if label:
        parts.append(f"<title>{label}</title>")
    if legend:
        parts.extend(_legend(legend, legend_x))
        parts.append(f'<g transform="translate(0,{top})">')
    parts.extend(body)
    if legend:
        parts.append("</g>")
    for index, line in enumerate(lines):
        parts.append(
            f'<text class="ror-chart-note" x="6" y="{_num(top + height + 4 + (index + 1) * LINE_HEIGHT - 3)}" '
            f'fill="{QUIET_COLOR}" {FONT}>{escape(line)}</text>'
        )
    parts.append("</svg>")
    # Safe: every piece of text in `parts` went through escape().
    return mark_safe("".join(parts))


def _empty(width: float, height: float, title: str | None, message: str, *, css_class: str) -> SafeString:
    body = [
        f'<text x="{_num(width / 2)}" y="{_num(height / 2)}" text-anchor="middle" fill="{QUIET_COLOR}" {FONT}>'
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
    value_format: ValueFormat = 1,
    title: str | None = None,
    empty_message: str = "No data",
    note: str | None = None,
) -> SafeString:
    """Horizontal bars, one per (label, value), label on the left and value on the right.

    An item may carry a third element, the text printed right of its bar instead of the
    formatted value (e.g. "12.3 of 30 pts"). The value column widens to its longest text.

    `max_value` fixes the scale (e.g. 1.0 for components, 100 for scores); by default the
    largest value fills the width. None values draw no bar and print "–". Negative values
    are drawn as empty bars (the value text still shows the sign).
    """
    if not items:
        return _empty(width, bar_height * 2, title, empty_message, css_class="ror-bar-chart")
    values = [item[1] for item in items if item[1] is not None]
    scale_max = max_value if max_value is not None else max([*values, 0])
    texts = [display[0] if display else _format_value(value, value_format) for _, value, *display in items]
    value_width = max(value_width, math.ceil(max(_text_px(text) for text in texts)) + 10)
    track = max(width - label_width - value_width, 10)
    height = len(items) * (bar_height + gap) + gap
    body = []
    for index, ((label, value, *_display), text) in enumerate(zip(items, texts, strict=True)):
        y = gap + index * (bar_height + gap)
        fill = colors[index % len(colors)] if colors else color
        length = 0.0
        if value is not None and scale_max > 0:
            length = max(0.0, min(float(value) / scale_max, 1.0)) * track
        text_y = _num(y + bar_height * 0.72)
        body.append(
            '<g class="ror-bar">'
            + _label(str(label), label_width - 10,
                     f'x="{_num(label_width - 6)}" y="{text_y}" text-anchor="end" fill="{TEXT_COLOR}"')
            + f'<rect x="{label_width}" y="{y}" width="{_num(track)}" height="{bar_height}" fill="#f0f0f0"/>'
            f'<rect x="{label_width}" y="{y}" width="{_num(length)}" height="{bar_height}" fill="{escape(fill)}">'
            f"<title>{escape(str(label))}: {escape(text)}</title></rect>"
            f'<text x="{_num(label_width + track + 6)}" y="{text_y}" fill="{TEXT_COLOR}" {FONT}>'
            f"{escape(text)}</text></g>"
        )
    return _svg(width, height, title, body, css_class="ror-bar-chart", note=note)


@dataclass(frozen=True)
class BarGroup:
    """One row of a grouped bar chart: a label, one value per series, and optionally the text
    printed right of each bar (instead of the formatted value) and a quieter second line."""

    label: str
    values: Sequence[float | None]
    texts: Sequence[str] | None = None
    sublabel: str = ""


def grouped_bar_chart_svg(
    groups: Sequence[BarGroup],
    series: Sequence[LegendEntry],
    *,
    max_value: float | None = None,
    width: int = 480,
    bar_height: int = 10,
    bar_gap: int = 2,
    group_gap: int = 9,
    label_width: int = 190,
    value_width: int = 60,
    value_format: ValueFormat = 0,
    title: str | None = None,
    empty_message: str = "No data",
    note: str | None = None,
) -> SafeString:
    """Horizontal bars in groups (e.g. won value and cost of each event), one bar per series,
    with a legend naming the series by colour. The group's label sits left of its bars: the
    first line shortened to fit (full text as tooltip), the sublabel (e.g. a date) below it."""
    if not groups:
        return _empty(width, 40, title, empty_message, css_class="ror-grouped-bar-chart")
    count = len(series)
    texts = [
        list(group.texts) if group.texts is not None else [_format_value(value, value_format) for value in group.values]
        for group in groups
    ]
    values = [float(value) for group in groups for value in group.values if value is not None]
    scale_max = max_value if max_value is not None else max([*values, 0])
    value_width = max(value_width, math.ceil(max(_text_px(text) for row in texts for text in row)) + 10)
    track = max(width - label_width - value_width, 10)
    group_height = max(count * bar_height + (count - 1) * bar_gap, 2 * 12 if any(g.sublabel for g in groups) else 12)
    height = len(groups) * (group_height + group_gap) + group_gap
    body = []
    for index, (group, group_texts) in enumerate(zip(groups, texts, strict=True)):
        y = group_gap + index * (group_height + group_gap)
        summary = ", ".join(f"{entry.label} {text}" for entry, text in zip(series, group_texts, strict=False))
        tooltip = " · ".join(part for part in (group.label, group.sublabel) if part)
        parts = [
            f'<g class="ror-bar-group"><title>{escape(tooltip)}: {escape(summary)}</title>',
            _label(group.label, label_width - 12,
                   f'x="{_num(label_width - 8)}" y="{_num(y + 9)}" text-anchor="end" fill="{TEXT_COLOR}"'),
        ]
        if group.sublabel:
            parts.append(
                f'<text x="{_num(label_width - 8)}" y="{_num(y + 21)}" text-anchor="end" fill="{QUIET_COLOR}" {FONT}>'
                f"{escape(_fit(group.sublabel, label_width - 12))}</text>"
            )
        for position, (entry, value, text) in enumerate(zip(series, group.values, group_texts, strict=False)):
            bar_y = y + position * (bar_height + bar_gap)
            length = 0.0
            if value is not None and scale_max > 0:
                length = max(0.0, min(float(value) / scale_max, 1.0)) * track
            parts.append(
                f'<rect x="{label_width}" y="{bar_y}" width="{_num(track)}" height="{bar_height}" fill="#f0f0f0"/>'
                f'<rect class="ror-bar" x="{label_width}" y="{bar_y}" width="{_num(length)}" height="{bar_height}" '
                f'fill="{escape(entry.color)}">'
                f"<title>{escape(tooltip)} · {escape(entry.label)}: {escape(text)}</title></rect>"
                f'<text x="{_num(label_width + track + 6)}" y="{_num(bar_y + bar_height - 1)}" fill="{TEXT_COLOR}" {FONT}>'
                f"{escape(text)}</text>"
            )
        parts.append("</g>")
        body.append("".join(parts))
    return _svg(width, height, title, body, css_class="ror-grouped-bar-chart", legend=series, note=note,
                legend_x=label_width)


def column_chart_svg(
    items: Sequence[tuple[str, float | None]],
    *,
    max_value: float | None = None,
    width: int = 480,
    height: int = 180,
    color: str = DEFAULT_COLOR,
    value_format: ValueFormat = 0,
    title: str | None = None,
    empty_message: str = "No data",
    note: str | None = None,
    tooltips: Sequence[str] | None = None,
) -> SafeString:
    """Vertical bars (e.g. attendance per edition of a series), labels below, values on top.

    `tooltips` names each bar in its tooltip (default: its label), e.g. a date and a name.
    Labels wider than their column are turned at 45° (the chart grows downwards for them)
    rather than cut; a label longer than COLUMN_LABEL_PX keeps its full text as tooltip.
    """
    if not items:
        return _empty(width, height, title, empty_message, css_class="ror-column-chart")
    values = [float(value) for _, value in items if value is not None]
    scale_max = max_value if max_value is not None else max([*values, 0])
    top, bottom, left, right = 16, 34, 8, 8
    plot_height = height - top - bottom
    slot = (width - left - right) / len(items)
    label_px = max(_text_px(_fit(str(label), COLUMN_LABEL_PX)) for label, _ in items)
    turned = label_px > slot - 4
    if turned:  # the first label runs down to the left of its column: leave it room
        reach = label_px * math.sqrt(0.5) + 8
        left = max(left, math.ceil(reach - slot / 2))
        slot = (width - left - right) / len(items)
    bar_width = max(slot * 0.7, 2)
    total_height = height + (math.ceil(label_px * math.sqrt(0.5)) + 22 - bottom if turned else 0)
    baseline = top + plot_height
    body = [f'<line x1="{left}" y1="{baseline}" x2="{width - right}" y2="{baseline}" stroke="{GRID_COLOR}"/>']
    for index, (label, value) in enumerate(items):
        x = left + index * slot + (slot - bar_width) / 2
        bar = 0.0
        if value is not None and scale_max > 0:
            bar = max(0.0, min(float(value) / scale_max, 1.0)) * plot_height
        y = baseline - bar
        center = _num(x + bar_width / 2)
        text = escape(_format_value(value, value_format))
        if turned:
            label_y = _num(baseline + 12)
            where = f'x="{center}" y="{label_y}" text-anchor="end" transform="rotate(-45 {center} {label_y})"'
        else:
            where = f'x="{center}" y="{_num(baseline + 14)}" text-anchor="middle"'
        body.append(
            f'<g class="ror-column"><rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_width)}" height="{_num(bar)}" '
            f'fill="{escape(color)}"><title>{escape(tooltips[index] if tooltips else str(label))}: {text}</title></rect>'
            f'<text x="{center}" y="{_num(y - 3)}" text-anchor="middle" fill="{TEXT_COLOR}" {FONT}>{text}</text>'
            + _label(str(label), COLUMN_LABEL_PX, f'{where} fill="{TEXT_COLOR}"')
            + "</g>"
        )
    return _svg(width, total_height, title, body, css_class="ror-column-chart", note=note)


def line_chart_svg(
    points: Sequence[tuple[str, float | None]],
    *,
    min_value: float | None = 0,
    max_value: float | None = None,
    width: int = 480,
    height: int = 160,
    color: str = DEFAULT_COLOR,
    value_format: ValueFormat = 1,
    tick_format: ValueFormat | None = None,
    title: str | None = None,
    empty_message: str = "No data",
    max_x_labels: int = 6,
    note: str | None = None,
    tooltips: Sequence[str] | None = None,
    positions: Sequence[float] | None = None,
) -> SafeString:
    """A line through (label, value) points in the given order (oldest first), with dots.

    `positions` (ascending numbers, e.g. timestamps) place the points along the x axis in
    proportion (a month between two scores is wider than a day); without them the points are
    evenly spaced. Labels are then printed where they do not crowd the one before.

    The y scale runs from `min_value` (0 by default; None = the smallest value) to
    `max_value` (None = the largest value). None values break the line. Only up to
    `max_x_labels` x labels are printed, evenly spread, so long histories stay readable;
    every point carries its label and value as a tooltip. `tick_format` formats the three
    y-axis values (default: `value_format`); the axis widens to its longest tick.
    `tooltips` names each point in its tooltip (default: its label).
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
    ticks = [(tick, _format_value(tick, value_format if tick_format is None else tick_format))
             for tick in (low, (low + high) / 2, high)]
    top, bottom, right = 12, 26, 12
    left = max(36, math.ceil(max(_text_px(text) for _, text in ticks)) + 8)
    plot_width, plot_height = width - left - right, height - top - bottom
    step = plot_width / (len(points) - 1) if len(points) > 1 else 0
    span = (positions[-1] - positions[0]) if positions is not None and len(points) > 1 else 0

    def x_at(index: int) -> float:
        if len(points) == 1:
            return left + plot_width / 2
        if span > 0:
            return left + (positions[index] - positions[0]) / span * plot_width
        return left + index * step

    def y_at(value: float) -> float:
        return top + plot_height - (min(max(value, low), high) - low) / (high - low) * plot_height

    body = []
    for tick, text in ticks:  # three horizontal grid lines with their values
        y = _num(y_at(tick))
        body.append(
            f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="{GRID_COLOR}" stroke-dasharray="2,3"/>'
            f'<text x="{left - 4}" y="{y}" dy="4" text-anchor="end" fill="{QUIET_COLOR}" {FONT}>{escape(text)}</text>'
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
    if span > 0:
        labelled = _labels_that_fit([str(label) for label, _ in points], [x_at(i) for i in range(len(points))])
    else:
        labelled = _spread_labels([str(label) for label, _ in points], plot_width, max_x_labels)
    for index, (label, value) in enumerate(points):
        if value is not None:
            body.append(
                f'<circle class="ror-point" cx="{_num(x_at(index))}" cy="{_num(y_at(float(value)))}" r="3" '
                f'fill="{escape(color)}"><title>{escape(tooltips[index] if tooltips else str(label))}: '
                f"{escape(_format_value(value, value_format))}</title></circle>"
            )
        if index in labelled:
            anchor = "middle"
            if len(points) > 1 and index in (0, len(points) - 1):  # keep edge labels inside the box
                anchor = "start" if index == 0 else "end"
            body.append(_label(str(label), X_LABEL_PX,
                               f'x="{_num(x_at(index))}" y="{height - 8}" text-anchor="{anchor}" fill="{QUIET_COLOR}"'))
    return _svg(width, height, title, body, css_class="ror-line-chart", note=note)


def _labels_that_fit(labels: list[str], xs: list[float]) -> set[int]:
    """Indices of the x labels to print for points placed by position: the last, and from the
    first on each one far enough from the one printed before it (and from the last) not to touch,
    and not repeating the label before it (several points on one day)."""
    label_px = max(_text_px(_fit(label, X_LABEL_PX)) for label in labels) + 8
    last = len(labels) - 1
    labelled = {last}
    previous_x, previous_label = None, None
    for index in range(last):
        far_from_previous = previous_x is None or xs[index] - previous_x >= 1.5 * label_px
        if far_from_previous and xs[last] - xs[index] >= 1.5 * label_px and labels[index] != previous_label \
                and labels[index] != labels[last]:
            labelled.add(index)
            previous_x, previous_label = xs[index], labels[index]
    return labelled


def _spread_labels(labels: list[str], plot_width: float, max_labels: int) -> set[int]:
    """Indices of the x labels to print: the first, the last, and evenly spaced ones that fit."""
    count = len(labels)
    if count <= 1:
        return {0}
    label_px = max(_text_px(_fit(label, X_LABEL_PX)) for label in labels) + 8
    step_px = plot_width / (count - 1)
    # 1.5 label widths apart: an edge label is anchored at its end, its neighbour at its middle.
    every = max(1, math.ceil(1.5 * label_px / step_px), math.ceil((count - 1) / max(max_labels - 1, 1)))
    labelled = set(range(0, count, every))
    last = count - 1
    if last not in labelled:
        labelled = {index for index in labelled if last - index >= every or index == 0}
        labelled.add(last)
    return labelled
