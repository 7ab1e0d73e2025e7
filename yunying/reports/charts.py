"""Plotly figures of insight results, as plain JSON-able dicts for plotly.js.

    fig = figure(result, LABELS["zh-CN"])
    # in the browser:
    Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false})

One builder per result kind in :data:`BUILDERS`. Figures hold only dicts, lists, strings,
numbers and None. Text that comes from the data (event names, breakdown values) is
HTML-escaped, because plotly.js reads ``<b>``-style tags in labels and decodes the entities.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from yunying.insights.base import Result
from yunying.insights.funnel import FunnelResult, FunnelStepResult
from yunying.insights.lifecycle import LifecycleResult
from yunying.insights.paths import PathsResult
from yunying.insights.retention import RetentionResult
from yunying.insights.stickiness import StickinessResult
from yunying.insights.trends import TrendsResult
from yunying.reports.labels import ChartLabels
from yunying.reports.naming import previous_dates, series_key, series_names, split_compare

FONT_FAMILY = ("Inter, -apple-system, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', "
               "'Noto Sans CJK SC', 'WenQuanYi Zen Hei', sans-serif")
PALETTE = ("#3b6fd8", "#e8833a", "#2f9e74", "#d64550", "#8b5cc7",
           "#c9a227", "#2aa5c0", "#d1619f", "#6b7a8f", "#7fae3a")
GRID = "rgba(128, 128, 128, 0.2)"
LIFECYCLE_COLOURS = {"new": "#2f9e74", "returning": "#3b6fd8", "resurrecting": "#e8833a",
                     "dormant": "#d64550"}
RETENTION_SCALE = [[0.0, "#eef3fc"], [0.5, "#7ea2e6"], [1.0, "#1f4fb0"]]

Figure = dict[str, Any]
Builder = Callable[[Any, ChartLabels], Figure]


def figure(result: Result, labels: ChartLabels | None = None) -> Figure:
    """The Plotly figure of ``result`` as ``{"data": [...], "layout": {...}}``.

    ``labels`` gives the words (default English) and the number separators. Raises
    ValueError for a kind without a chart (``overview``: chart its ``daily_active``).
    """
    builder = BUILDERS.get(result.kind)
    if builder is None:
        raise ValueError(f"no chart for kind {result.kind!r}; charted kinds: {', '.join(sorted(BUILDERS))}")
    return builder(result, labels or ChartLabels.english())


# ----------------------------------------------------------------------------- shared pieces
def _plain(text: str) -> str:
    """Data text as plotly.js shows it literally (its pseudo-HTML tags and entities escaped)."""
    return html.escape(text, quote=False)


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _hover(*lines: str) -> str:
    """A hovertemplate of ``lines`` with the trace name in the side box."""
    return "<br>".join(lines) + "<extra>%{fullData.name}</extra>"


def _axis(title: str | None = None, **extra: Any) -> dict[str, Any]:
    """An axis; charts with a legend leave the x title out (the legend sits where it would be)."""
    return {"title": {"text": title or ""}, "automargin": True, "gridcolor": GRID,
            "zerolinecolor": GRID, **extra}


def _date_axis(labels: ChartLabels) -> dict[str, Any]:
    """A date axis whose ticks and hover read in the chart's language."""
    return _axis(type="date", tickformat=labels.date_ticks, hoverformat=labels.date_hover)


def layout(labels: ChartLabels, **extra: Any) -> dict[str, Any]:
    """The layout every chart shares (fonts, transparent ground, legend below), plus ``extra``."""
    return {
        "font": {"family": FONT_FAMILY, "size": 13},
        "separators": labels.separators,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 56, "r": 24, "t": 24, "b": 56},
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.15, "yanchor": "top"},
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        "colorway": list(PALETTE),
        "autosize": True,
        **extra,
    }


def _bars(name: str, x: Sequence[Any], y: Sequence[Any], fill: str, template: str,
         **extra: Any) -> dict[str, Any]:
    """A bar trace named ``name`` (already plain text) with ``template`` as its hover."""
    return {"type": "bar", "name": name, "x": list(x), "y": list(y), "marker": {"color": fill},
            "hovertemplate": template, **extra}


# ----------------------------------------------------------------------------- builders
def trends_figure(result: TrendsResult, labels: ChartLabels) -> Figure:
    """One line per series; previous-period series dashed, drawn on the current buckets."""
    current, _ = split_compare(result)
    names = series_names(result, labels)
    keys = list(dict.fromkeys(series_key(s) for s in result.series))
    counterpart = {series_key(s): s for s in current}
    traces = []
    for s in result.series:
        previous = s.compare == "previous"
        x = previous_dates(s, counterpart.get(series_key(s))) if previous else s.dates
        traces.append({
            "type": "scatter", "mode": "lines+markers" if len(x) <= 31 else "lines",
            "name": _plain(names[(s.label, s.breakdown_value, s.compare)]),
            "x": x, "y": list(s.values), "customdata": list(s.dates),
            "line": {"color": _colour(keys.index(series_key(s))), "width": 2,
                     "dash": "dash" if previous else "solid"},
            "hovertemplate": _hover("%{customdata}: %{y:,.2~f}"),
        })
    maths = {s.math for s in current}
    y_title = labels.math_name(maths.pop()) if len(maths) == 1 else labels.value
    return {"data": traces, "layout": layout(
        labels, hovermode="x unified", xaxis=_date_axis(labels), yaxis=_axis(y_title, rangemode="tozero"))}


def _funnel_customdata(steps: Sequence[FunnelStepResult]) -> list[list[float]]:
    return [[s.conversion_from_first, s.conversion_from_previous] for s in steps]


def funnel_figure(result: FunnelResult, labels: ChartLabels) -> Figure:
    """Users per step as bars with the conversion from the first step as text; grouped by breakdown."""
    steps = [f"{s.step}. {_plain(labels.event_name(s.event))}" for s in result.steps]
    groups = [(labels.all_users, result.steps)] if not result.breakdowns else [
        (labels.breakdown_name(b.breakdown_value), b.steps) for b in result.breakdowns]
    template = _hover("%{x}", f"{labels.users}: %{{y:,}}",
                     f"{labels.conversion_from_first}: %{{customdata[0]:.1%}}",
                     f"{labels.conversion_from_previous}: %{{customdata[1]:.1%}}")
    traces = [
        _bars(_plain(name), steps, [s.count for s in group], _colour(i), template,
             customdata=_funnel_customdata(group), texttemplate="%{customdata[0]:.1%}",
             textposition="outside", textangle=0, cliponaxis=False)
        for i, (name, group) in enumerate(groups)
    ]
    return {"data": traces, "layout": layout(
        labels, barmode="group", showlegend=bool(result.breakdowns),
        xaxis=_axis(None if result.breakdowns else labels.step, type="category"),
        yaxis=_axis(labels.users, rangemode="tozero"))}


def retention_figure(result: RetentionResult, labels: ChartLabels) -> Figure:
    """The cohort triangle: a row per cohort (with its size), a column per period, % retained."""
    width = max((len(c.values) for c in result.cohorts), default=0)
    periods = [labels.period_label(result.period, i) for i in range(width)]
    rates: list[list[float | None]] = []
    users: list[list[int | None]] = []
    for c in result.cohorts:
        shown = [*c.values, *([None] * (width - len(c.values)))]
        users.append(shown)
        rates.append([v / c.size if c.size and v is not None else None for v in shown])
    text = [["" if r is None else labels.percent(r) for r in row] for row in rates]
    cohorts = [f"{c.cohort} ({labels.number(c.size)})" for c in result.cohorts]
    trace = {
        "type": "heatmap", "x": periods, "y": cohorts, "z": rates, "customdata": users, "text": text,
        "texttemplate": "%{text}", "zmin": 0, "zmax": 1, "colorscale": RETENTION_SCALE, "hoverongaps": False,
        "xgap": 1, "ygap": 1, "colorbar": {"tickformat": ".0%", "thickness": 12, "outlinewidth": 0},
        "hovertemplate": "%{y}<br>%{x}<br>"
                         + f"{labels.retained}: %{{z:.1%}} (%{{customdata:,}})<extra></extra>",
    }
    return {"data": [trace], "layout": layout(
        labels, xaxis=_axis(labels.period, type="category", side="top", showgrid=False),
        yaxis=_axis(labels.cohort, type="category", autorange="reversed", showgrid=False))}


def stickiness_figure(result: StickinessResult, labels: ChartLabels) -> Figure:
    """Users by the number of buckets they were active in."""
    total = sum(r.users for r in result.stickiness)
    shares = [r.users / total if total else 0.0 for r in result.stickiness]
    active = labels.active_label(result.interval)
    template = _hover(f"{active}: %{{x}}", f"{labels.users}: %{{y:,}} (%{{customdata:.1%}})")
    trace = _bars(labels.users, [r.buckets_active for r in result.stickiness],
                 [r.users for r in result.stickiness], _colour(0), template, customdata=shares)
    return {"data": [trace], "layout": layout(
        labels, showlegend=False, xaxis=_axis(active, dtick=1),
        yaxis=_axis(labels.users, rangemode="tozero"))}


def lifecycle_figure(result: LifecycleResult, labels: ChartLabels) -> Figure:
    """New, returning and resurrecting users stacked up; dormant (negative) stacked down."""
    dates = [b.date for b in result.buckets]
    traces = [
        _bars(getattr(labels, state), dates, [getattr(b, state) for b in result.buckets],
             LIFECYCLE_COLOURS[state], _hover("%{x}", "%{y:,}"))
        for state in ("new", "returning", "resurrecting", "dormant")
    ]
    return {"data": traces, "layout": layout(
        labels, barmode="relative", hovermode="x unified",
        xaxis=_date_axis(labels), yaxis=_axis(labels.users))}


def paths_figure(result: PathsResult, labels: ChartLabels) -> Figure:
    """A Sankey: a node per (depth, event) named "depth: event", a link per path step."""
    nodes: dict[tuple[int, str], int] = {(0, result.event): 0}

    def node(depth: int, event: str) -> int:
        return nodes.setdefault((depth, event), len(nodes))

    sources = [node(link.depth - 1, link.source) for link in result.links]
    targets = [node(link.depth, link.target) for link in result.links]
    events = list(dict.fromkeys(event for _, event in nodes))
    node_colours = [_colour(events.index(event)) for _, event in nodes]
    users = f"%{{value:,}} {labels.users}"
    trace = {
        "type": "sankey", "arrangement": "snap", "valueformat": ",d",
        "node": {"label": [f"{depth}: {_plain(event)}" for depth, event in nodes], "color": node_colours,
                 "pad": 16, "thickness": 14, "line": {"width": 0},
                 "hovertemplate": f"%{{label}}<br>{users}<extra></extra>"},
        "link": {"source": sources, "target": targets, "value": [link.users for link in result.links],
                 "color": [_rgba(node_colours[s], 0.35) for s in sources],
                 "hovertemplate": f"%{{source.label}} → %{{target.label}}<br>{users}<extra></extra>"},
    }
    return {"data": [trace], "layout": layout(labels, margin={"l": 16, "r": 16, "t": 16, "b": 16})}


BUILDERS: dict[str, Builder] = {
    "trends": trends_figure,
    "funnel": funnel_figure,
    "retention": retention_figure,
    "stickiness": stickiness_figure,
    "lifecycle": lifecycle_figure,
    "paths": paths_figure,
}

__all__ = ["BUILDERS", "FONT_FAMILY", "ChartLabels", "figure", "layout"]
