"""Small SVG charts drawn on the server, for the editors' dashboard: no JavaScript, no library.

A chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` that screen readers
announce; the page shows the same figures in a table as well. Every text in the chart comes
from the caller (already translated and formatted) and is escaped here. Colours are SVG
presentation attributes, not style attributes, so the site's Content-Security-Policy
(no inline styles) does not strip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36
INK, MUTED, GRID = "#1b1f24", "#4f5863", "#d5dae0"
BAR, LINE = "#0b4f8a", "#b3261e"
MAX_X_LABELS = 7


@dataclass
class Point:
    """One value of a chart: its x-axis label and the value (None where there is no figure)."""

    label: str
    value: float | None
    tooltip: str = ""


def bar_chart(chart_id: str, title: str, description: str, points: list[Point],
              tick: Callable[[float], str] = lambda v: f"{v:g}") -> Markup:
    """Return a bar chart, one bar per point, with a y axis from zero."""
    top = _nice_max(max((p.value or 0) for p in points) if points else 0)
    return _chart(chart_id, title, description, points, top, tick, _bars)


def line_chart(chart_id: str, title: str, description: str, points: list[Point], top: float = 1.0,
               tick: Callable[[float], str] = lambda v: f"{v:g}") -> Markup:
    """Return a line chart from zero to top; points without a value leave a gap."""
    return _chart(chart_id, title, description, points, top, tick, _line)


def _chart(chart_id, title, description, points, top, tick, draw) -> Markup:
    chart_id = escape(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="inherit" font-size="13">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    parts += _axes(points, top or 1, tick)
    if points:
        parts += draw(points, top or 1)
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _x(index: int, count: int) -> float:
    """Return the middle of the index-th of count slots along the x axis."""
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return LEFT + slot * (index + 0.5)


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - min(max(value / top, 0), 1))


def _axes(points: list[Point], top: float, tick) -> list[str]:
    parts = ['<g aria-hidden="true">']
    for step in range(5):  # gridlines at 0, 1/4 ... top
        value = top * step / 4
        y = _y(value, top)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID if step else MUTED}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{escape(tick(value))}</text>')
    count = len(points)
    if count:
        every = max(1, -(-count // MAX_X_LABELS))  # ceiling division: at most MAX_X_LABELS labels
        shown = list(range(0, count, every))
        if count - 1 - shown[-1] >= every / 2:
            shown.append(count - 1)
        elif len(shown) > 1:  # the last day is always labelled; its neighbour makes room
            shown[-1] = count - 1
        for index in shown:
            x = _x(index, count)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" fill="{INK}">'
                         f'{escape(points[index].label)}</text>')
    parts.append("</g>")
    return parts


def _bars(points: list[Point], top: float) -> list[str]:
    slot = (WIDTH - LEFT - RIGHT) / len(points)
    width = max(slot * 0.7, 1)
    parts = ['<g>']
    for index, point in enumerate(points):
        if not point.value:
            continue
        y = _y(point.value, top)
        x = _x(index, len(points)) - width / 2
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{HEIGHT - BOTTOM - y:.1f}" '
                     f'fill="{BAR}"><title>{escape(point.tooltip or point.label)}</title></rect>')
    parts.append("</g>")
    return parts


def _line(points: list[Point], top: float) -> list[str]:
    parts = ['<g>']
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, point in enumerate(points):
        if point.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_x(index, len(points)):.1f},{_y(point.value, top):.1f}")
    if segment:
        segments.append(segment)
    for run in segments:
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE}" stroke-width="2.5" '
                         f'stroke-linejoin="round"/>')
    for index, point in enumerate(points):  # a dot per figure, so a single day still shows
        if point.value is not None:
            parts.append(f'<circle cx="{_x(index, len(points)):.1f}" cy="{_y(point.value, top):.1f}" r="3.5" '
                         f'fill="{LINE}"><title>{escape(point.tooltip or point.label)}</title></circle>')
    parts.append("</g>")
    return parts


def _nice_max(value: float) -> float:
    """Return a round upper bound for an axis (1, 2, 5, 10, 20, ...) at or above value."""
    if value <= 0:
        return 1
    bound = 1
    while True:
        for factor in (1, 2, 5):
            if bound * factor >= value:
                return bound * factor
        bound *= 10
