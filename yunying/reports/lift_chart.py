"""The lift chart of an A/B comparison: each variant's estimate with its interval, against 0.

One row per (metric, variant): a dot at the estimate and a bar over the interval, green
when the variant is better, red when worse, grey when the test has not decided (the
verdict's code), and a line at 0 (no difference). Relative lifts are drawn as percentages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yunying.reports.charts import GRID, Figure, _axis, _plain, layout
from yunying.reports.labels import ChartLabels

VERDICT_COLOURS = {"better": "#2f9e74", "worse": "#d64550", "inconclusive": "#6b7a8f", "error": "#b0b7c3"}
ROW_HEIGHT_PX = 44


@dataclass(frozen=True)
class LiftRow:
    label: str  # e.g. "B · 结算转化率"; data text, escaped when drawn
    estimate: float | None
    lower: float | None
    upper: float | None
    verdict: str  # better | worse | inconclusive | error


def lift_figure(rows: Sequence[LiftRow], labels: ChartLabels, *, relative: bool, axis_title: str) -> Figure:
    """Plotly figure (dicts only) of ``rows``, top to bottom in the order given."""
    drawn = [r for r in rows if r.estimate is not None and r.lower is not None and r.upper is not None]
    names = [_plain(r.label) for r in drawn]
    number = ".2%" if relative else ",.4~g"
    trace = {
        "type": "scatter",
        "mode": "markers",
        "name": "",
        "x": [r.estimate for r in drawn],
        "y": names,
        "error_x": {
            "type": "data",
            "symmetric": False,
            "thickness": 6,
            "width": 0,
            "array": [r.upper - r.estimate for r in drawn],
            "arrayminus": [r.estimate - r.lower for r in drawn],
            "color": "rgba(107, 122, 143, 0.35)",
        },
        "marker": {
            "size": 12,
            "color": [VERDICT_COLOURS.get(r.verdict, VERDICT_COLOURS["error"]) for r in drawn],
        },
        "customdata": [[r.lower, r.upper] for r in drawn],
        "hovertemplate": (
            f"%{{x:{number}}} [%{{customdata[0]:{number}}}, %{{customdata[1]:{number}}}]<extra></extra>"
        ),
    }
    height = 90 + ROW_HEIGHT_PX * max(len(drawn), 1)
    return {
        "data": [trace],
        "layout": layout(
            labels,
            height=height,
            showlegend=False,
            margin={"l": 24, "r": 24, "t": 16, "b": 48},
            xaxis=_axis(
                axis_title,
                tickformat=".0%" if relative else ",~g",
                zeroline=True,
                zerolinecolor="#6b7a8f",
                zerolinewidth=2,
            ),
            yaxis={"automargin": True, "autorange": "reversed", "gridcolor": GRID},
        ),
    }
