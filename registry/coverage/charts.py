"""Horizontal grouped bar charts as plain geometry, drawn as SVG by a template
(``templates/coverage/_bar_chart.html``): no plotting library, no script, no inline style (the
content security policy forbids it) — colours come from CSS classes in ``app.css``, positions
from SVG attributes.

A suppressed value (``None``) is drawn as a dashed outline as long as the largest value it
may hide (``SUPPRESS_BELOW - 1``) and labelled "< 5", so the chart never shows a figure the
table does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from registry.coverage.report import SUPPRESS_BELOW

WIDTH = 760
LABEL_WIDTH = 210
VALUE_ROOM = 44  # right of the longest bar, for its label
BAR_HEIGHT = 14
BAR_GAP = 3
ROW_GAP = 14
TOP = 34  # the legend's first line
LEGEND_LINE = 18
CHAR_WIDTH = 7.4  # of a 13px system font, roughly: for laying out the legend
AXIS_ROOM = 22


@dataclass(frozen=True)
class Series:
    key: str
    name: str
    css: str  # a class of app.css: fill colour and pattern


@dataclass(frozen=True)
class Bar:
    series: Series
    row: str
    value: int | None
    text: str
    x: float
    y: float
    width: float
    height: float
    text_x: float
    text_y: float

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    y: float  # the label's baseline
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class LegendItem:
    series: Series
    x: float
    text_x: float
    y: float  # the key's top; the text's middle is 6 below
    text_y: float


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    width: int
    height: float
    plot_left: float
    plot_top: float
    plot_bottom: float
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]
    legend: tuple[LegendItem, ...]
    unit: float  # px per unit of value

    @property
    def empty(self) -> bool:
        return not self.rows

    @property
    def label_x(self) -> float:
        return self.plot_left - 8

    @property
    def tick_y(self) -> float:
        return self.plot_bottom + 15


def _nice_top(largest: int) -> tuple[int, int]:
    """An axis end at or above ``largest`` and its tick step: 1, 2 or 5 times a power of ten,
    about five ticks."""
    largest = max(largest, SUPPRESS_BELOW)
    raw = largest / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return int(math.ceil(largest / step) * step), int(step)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    series: Sequence[Series],
    rows: Sequence[tuple[str, str, Sequence[int | None]]],
    suppressed_text: str = f"< {SUPPRESS_BELOW}",
    suppressed_extent: int = SUPPRESS_BELOW - 1,
) -> Chart:
    """A chart of ``rows`` (key, label, one value per series; ``None``: suppressed, drawn as
    an outline ``suppressed_extent`` long and labelled ``suppressed_text``)."""
    legend, x, line = [], float(LABEL_WIDTH), 0
    for s in series:
        room = 26 + CHAR_WIDTH * len(s.name)
        if x + room > WIDTH and x > LABEL_WIDTH:
            x, line = float(LABEL_WIDTH), line + 1
        y = 3 + line * LEGEND_LINE
        legend.append(LegendItem(series=s, x=x, text_x=x + 16, y=y, text_y=y + 6))
        x += room
    top_room = TOP + line * LEGEND_LINE
    largest = max((v for _k, _l, values in rows for v in values if v is not None), default=0)
    top, step = _nice_top(largest)
    plot_left = LABEL_WIDTH
    plot_width = WIDTH - LABEL_WIDTH - VALUE_ROOM
    unit = plot_width / top
    group_height = len(series) * BAR_HEIGHT + (len(series) - 1) * BAR_GAP
    laid = []
    y = top_room
    for key, label, values in rows:
        bars = []
        for index, (s, value) in enumerate(zip(series, values, strict=True)):
            bar_y = y + index * (BAR_HEIGHT + BAR_GAP)
            drawn = suppressed_extent if value is None else value
            width = drawn * unit
            bars.append(
                Bar(
                    series=s,
                    row=key,
                    value=value,
                    text=suppressed_text if value is None else str(value),
                    x=plot_left,
                    y=bar_y,
                    width=round(width, 2),
                    height=BAR_HEIGHT,
                    text_x=round(plot_left + width + 4, 2),
                    text_y=bar_y + BAR_HEIGHT - 3,
                )
            )
        laid.append(Row(key=key, label=label, y=y + group_height / 2 + 4, bars=tuple(bars)))
        y += group_height + ROW_GAP
    plot_bottom = y - ROW_GAP + 6
    ticks = tuple(Tick(x=round(plot_left + v * unit, 2), text=str(v)) for v in range(0, top + 1, step))
    return Chart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=plot_bottom + AXIS_ROOM,
        plot_left=plot_left,
        plot_top=top_room - 6,
        plot_bottom=plot_bottom,
        rows=tuple(laid),
        ticks=ticks,
        legend=tuple(legend),
        unit=unit,
    )
