"""Plotly figures as plain JSON (data and layout), built from the services' answers; console.js
draws them with the plotly.js the console serves. Built by hand rather than with plotly's
Python API: a figure is a few dicts, and its validation would cost more than the page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Figure = dict[str, Any]

#: Colour-blind-safe (Okabe-Ito), dark enough on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
TIER_COLOURS = {
    "bronze": "#8C5A2B",
    "silver": "#7A8691",
    "gold": "#B8860B",
    "platinum": "#3A4A5C",
}


def _layout(y_title: str = "", **more: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 56, "r": 16, "t": 16, "b": 48},
        "height": 300,
        "font": {"size": 12},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": -0.2},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#e3e7eb", "zerolinecolor": "#9aa5b1"},
        "xaxis": {"type": "category"},
        "hovermode": "x unified",
    }
    layout.update(more)
    return layout


def week_label(iso_week: str) -> str:
    """`2026-W48` as the axis shows it (`W48`); the tables under the charts keep the year."""
    return iso_week.rsplit("-", 1)[-1]


def bars(
    x: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | int | None]]],
    *,
    y_title: str = "",
    stacked: bool = False,
    colours: Sequence[str] = PALETTE,
) -> Figure:
    return {
        "data": [
            {
                "type": "bar",
                "name": name,
                "x": list(x),
                "y": list(values),
                "marker": {"color": colours[i % len(colours)]},
            }
            for i, (name, values) in enumerate(series)
        ],
        "layout": _layout(y_title, barmode="stack" if stacked else "group"),
    }


def lines(
    x: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | int | None]]],
    *,
    y_title: str = "",
    y_range: tuple[float, float] | None = None,
) -> Figure:
    layout = _layout(y_title)
    if y_range is not None:
        layout["yaxis"]["range"] = list(y_range)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": list(x),
                "y": list(values),
                "connectgaps": False,
                "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
            }
            for i, (name, values) in enumerate(series)
        ],
        "layout": layout,
    }


def line_over_bars(
    x: Sequence[str],
    line: tuple[str, Sequence[float | None]],
    bar: tuple[str, Sequence[int]],
    *,
    line_title: str,
    bar_title: str,
) -> Figure:
    """A measure (NPS) as a line over the counts behind it (responses) as bars, two axes."""
    layout = _layout(line_title)
    layout["yaxis"]["range"] = [-100, 100]
    layout["yaxis2"] = {
        "title": {"text": bar_title},
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "rangemode": "tozero",
    }
    layout["margin"]["r"] = 56
    return {
        "data": [
            {
                "type": "bar",
                "name": bar[0],
                "x": list(x),
                "y": list(bar[1]),
                "yaxis": "y2",
                "marker": {"color": "#c5d3e0"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": line[0],
                "x": list(x),
                "y": list(line[1]),
                "line": {"color": PALETTE[0], "width": 2},
            },
        ],
        "layout": layout,
    }


def donut(labels: Sequence[str], values: Sequence[int], colours: Sequence[str]) -> Figure:
    layout = _layout()
    layout.pop("xaxis")
    layout.pop("yaxis")
    layout["legend"] = {"orientation": "v"}
    return {
        "data": [
            {
                "type": "pie",
                "hole": 0.55,
                "labels": list(labels),
                "values": list(values),
                "marker": {"colors": list(colours)},
                "sort": False,
                "textinfo": "percent",
            }
        ],
        "layout": layout,
    }


def histogram_bars(
    edges: Sequence[str], counts: Sequence[int], *, y_title: str, x_title: str = ""
) -> Figure:
    figure = bars(edges, [("", counts)], y_title=y_title)
    figure["layout"]["xaxis"]["title"] = {"text": x_title}
    figure["layout"]["showlegend"] = False
    figure["layout"]["bargap"] = 0.05
    return figure


def heatmap(
    *, x: Sequence[str], y: Sequence[str], z: Sequence[Sequence[float | None]], label: str
) -> Figure:
    """A cohort table as colour: rows `y`, columns `x`, each cell's value printed on it."""
    layout = _layout()
    layout["yaxis"] = {"type": "category", "autorange": "reversed"}
    layout["height"] = max(260, 40 + 28 * len(y))
    layout["hovermode"] = "closest"
    return {
        "data": [
            {
                "type": "heatmap",
                "x": list(x),
                "y": list(y),
                "z": [list(row) for row in z],
                "text": [["" if v is None else f"{v:.0f}%" for v in row] for row in z],
                "zmin": 0,
                "zmax": 100,
                "colorscale": [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
                "colorbar": {"title": {"text": label}, "ticksuffix": "%"},
                "texttemplate": "%{text}",
                "hovertemplate": "%{y} · %{x}: %{z:.1f}%<extra></extra>",
                "hoverongaps": False,
            }
        ],
        "layout": layout,
    }


def tier_colours(tiers: Sequence[str]) -> list[str]:
    return [TIER_COLOURS.get(t, PALETTE[i % len(PALETTE)]) for i, t in enumerate(tiers)]
