"""Reports: figures, tables and exports of real results carry the results' numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import plotly.graph_objects as go
import pytest

from yunying.insights import run_query
from yunying.insights.base import Result
from yunying.insights.paths import PathLink, PathsResult
from yunying.insights.trends import TrendsResult, TrendsSeriesResult
from yunying.reports import FONT_FAMILY, LABELS, ChartLabels, Table, Tile, dashboard_html, figure, table
from yunying.reports.export import BOM, plotly_js, sheet_names, to_csv, to_xlsx
from yunying.reports.naming import previous_dates

WEEK = {"date_from": "2024-01-01", "date_to": "2024-01-07"}
DOCUMENTS: dict[str, dict[str, Any]] = {
    "trends": {"kind": "trends", "compare": True, **WEEK,
               "series": [{"event": "$pageview", "math": "unique_users"}, {"event": "signup"}]},
    "breakdown": {"kind": "trends", "series": [{"event": "$pageview"}], "breakdown": "$browser",
                  "formula": "A*2", **WEEK},
    "funnel": {"kind": "funnel", **WEEK,
               "steps": [{"event": "$pageview"}, {"event": "signup"}, {"event": "purchase"}]},
    "funnel_breakdown": {"kind": "funnel", "steps": [{"event": "$pageview"}, {"event": "purchase"}],
                         "breakdown": "$browser", **WEEK},
    "retention": {"kind": "retention", "start_event": "$pageview", "periods": 3, **WEEK},
    "stickiness": {"kind": "stickiness", **WEEK},
    "lifecycle": {"kind": "lifecycle", **WEEK},
    "paths": {"kind": "paths", "event": "$pageview", "steps": 3, **WEEK},
}
ZH = LABELS["zh-CN"]


@pytest.fixture(scope="module")
def results(small_log) -> dict[str, Result]:
    return {name: run_query(small_log.store, small_log.project, doc) for name, doc in DOCUMENTS.items()}


def checked(fig: dict[str, Any]) -> dict[str, Any]:
    """``fig`` after checking it is plain JSON and a valid Plotly figure (plotly validates every key)."""
    assert json.loads(json.dumps(fig, allow_nan=False)) == fig
    go.Figure(fig)
    return fig


# ----------------------------------------------------------------------------- charts
def test_every_kind_has_a_valid_figure_with_the_shared_layout(results):
    for result in results.values():
        for labels in (None, ZH):
            layout = checked(figure(result, labels))["layout"]
            assert layout["font"]["family"] == FONT_FAMILY
            assert layout["separators"] == ".,"  # plotly: decimal mark, then thousands mark
            assert layout["paper_bgcolor"] == layout["plot_bgcolor"] == "rgba(0,0,0,0)"
            assert layout["legend"]["orientation"] == "h" and layout["legend"]["y"] < 0


def test_trends_lines_per_series_with_the_previous_period_dashed_on_current_dates(results):
    result = results["trends"]
    fig = figure(result, ZH)
    assert len(fig["data"]) == len(result.series) == 4
    current_dates = result.series[0].dates
    for trace, series in zip(fig["data"], result.series, strict=True):
        assert trace["y"] == series.values and trace["customdata"] == series.dates
        assert trace["line"]["dash"] == ("dash" if series.compare == "previous" else "solid")
        assert trace["x"] == current_dates
    names = [t["name"] for t in fig["data"]]
    assert names[2] == ZH.previous_name.format(name=names[0]) and len(set(names)) == 4
    assert fig["data"][0]["line"]["color"] == fig["data"][2]["line"]["color"]


def test_trends_names_carry_breakdown_values_and_formulas(results):
    names = [t["name"] for t in figure(results["breakdown"])["data"]]
    assert "A · $pageview · Total · Safari" in names and "A*2 · Chrome" in names


def test_previous_period_with_other_buckets_is_shifted():
    def series(dates: list[str], compare: str) -> TrendsSeriesResult:
        return TrendsSeriesResult(label="A", event="e", math="total", compare=compare, dates=dates,
                                  values=[1.0] * len(dates))

    now = series(["2024-01-08", "2024-01-15"], "current")
    before = series(["2023-12-25", "2024-01-01", "2024-01-07"], "previous")
    assert previous_dates(before, now) == ["2024-01-08", "2024-01-15", "2024-01-21"]
    hours_now = series(["2024-01-01 05:00", "2024-01-01 06:00"], "current")
    assert previous_dates(series(["2023-12-31 23:00"], "previous"), hours_now) == ["2024-01-01 05:00"]


def test_funnel_bars_are_the_step_counts_with_conversion_as_text(results):
    result = results["funnel"]
    (trace,) = figure(result)["data"]
    assert trace["type"] == "bar" and trace["y"] == [s.count for s in result.steps] == [3, 3, 2]
    assert [c[0] for c in trace["customdata"]] == [s.conversion_from_first for s in result.steps]
    assert trace["texttemplate"] == "%{customdata[0]:.1%}"
    assert trace["x"] == ["1. $pageview", "2. signup", "3. purchase"]


def test_funnel_breakdown_gives_grouped_bars_per_value(results):
    result = results["funnel_breakdown"]
    fig = figure(result)
    assert fig["layout"]["barmode"] == "group"
    assert [t["name"] for t in fig["data"]] == [b.breakdown_value for b in result.breakdowns]
    for trace, group in zip(fig["data"], result.breakdowns, strict=True):
        assert trace["y"] == [s.count for s in group.steps]


def test_retention_heatmap_is_the_size_normalised_triangle(results):
    result = results["retention"]
    (trace,) = figure(result, ZH)["data"]
    assert trace["type"] == "heatmap" and trace["x"] == ["第 0 天", "第 1 天", "第 2 天", "第 3 天"]
    for row, text, label, cohort in zip(trace["z"], trace["text"], trace["y"], result.cohorts, strict=True):
        assert label == f"{cohort.cohort} ({cohort.size})"
        expected = [v / cohort.size if cohort.size else None for v in cohort.values]
        assert row == expected + [None] * (4 - len(cohort.values))
        assert text == ["" if r is None else f"{r:.1%}" for r in row]
    assert trace["z"][0] == [1.0, 1.0, 0.0, 0.0] and trace["z"][-1] == [None] * 4
    assert trace["customdata"][0] == [2, 2, 0, 0]


def test_stickiness_bars_by_active_buckets(results):
    result = results["stickiness"]
    (trace,) = figure(result)["data"]
    assert trace["x"] == list(range(1, 8)) and trace["y"] == [r.users for r in result.stickiness]
    assert sum(trace["customdata"]) == pytest.approx(1.0)


def test_lifecycle_stacks_dormant_below_zero(results):
    result = results["lifecycle"]
    fig = figure(result, ZH)
    assert fig["layout"]["barmode"] == "relative"
    traces = {t["name"]: t for t in fig["data"]}
    assert list(traces) == [ZH.new, ZH.returning, ZH.resurrecting, ZH.dormant]
    dormant = traces[ZH.dormant]["y"]
    assert all(v <= 0 for v in dormant) and min(dormant) < 0
    assert traces[ZH.new]["y"] == [b.new for b in result.buckets]


def test_paths_sankey_nodes_per_depth_and_link_sums_per_source(results):
    result = results["paths"]
    (trace,) = figure(result)["data"]
    labels, link = trace["node"]["label"], trace["link"]
    assert len(set(labels)) == len(labels) and "0: $pageview" in labels and "2: $pageview" in labels
    out_flow: dict[str, int] = defaultdict(int)
    for source, value in zip(link["source"], link["value"], strict=True):
        out_flow[labels[source]] += value
    expected: dict[str, int] = defaultdict(int)
    for path_link in result.links:
        expected[f"{path_link.depth - 1}: {path_link.source}"] += path_link.users
    assert out_flow == expected
    assert sum(link["value"]) == sum(link.users for link in result.links)


def test_data_text_is_escaped_for_plotly():
    result = PathsResult(timezone="UTC", event="<b>x</b>", direction="after", users=1, dropoff=[],
                         links=[PathLink(depth=1, source="<b>x</b>", target="y", users=1)])
    assert checked(figure(result))["data"][0]["node"]["label"][0] == "0: &lt;b&gt;x&lt;/b&gt;"


def test_unknown_kind_and_label_sets():
    with pytest.raises(ValueError, match="overview"):
        figure(Result(kind="overview", timezone="UTC"))
    with pytest.raises(ValueError, match="overview"):
        table(Result(kind="overview", timezone="UTC"))
    assert ChartLabels.english() is LABELS["en"] and set(LABELS) == {"en", "zh-CN"}
    en, zh = LABELS["en"], LABELS["zh-CN"]
    for name in en.__dataclass_fields__:
        assert getattr(en, name) and getattr(zh, name)
        if name in ("period_n", "active_buckets", "math_names"):
            assert set(getattr(en, name)) == set(getattr(zh, name))
    source = (Path(__file__).parents[1] / "yunying/reports/charts.py").read_text(encoding="utf-8")
    assert not re.search(r"[\u4e00-\u9fff]", source), "charts.py spells no Chinese"


# ----------------------------------------------------------------------------- tables
def test_tables_have_the_results_shape_and_numbers(results):
    trends = table(results["trends"], ZH)
    assert trends.columns[:2] == [ZH.date, ZH.previous_name.format(name=ZH.date)] and len(trends.columns) == 6
    assert len(trends.rows) == 7
    assert trends.rows[0] == [dt.date(2024, 1, 1), dt.date(2023, 12, 25), 2, 1, 0, 0]

    funnel = table(results["funnel"])
    assert funnel.columns[2] == "Users" and funnel.percent_columns == {3, 4}
    assert funnel.rows[-1] == [3, "purchase", 2, pytest.approx(2 / 3), pytest.approx(2 / 3), 236700.0]
    by_value = table(results["funnel_breakdown"])
    assert by_value.columns[0] == "Breakdown" and by_value.percent_columns == {4, 5}
    assert [r[0] for r in by_value.rows[::2]] == ["All users", "Chrome", "Firefox", "Safari"]

    retention = table(results["retention"])
    assert retention.columns[:3] == ["Cohort", "Users in cohort", "Day 0"] and len(retention.columns) == 6
    assert retention.rows[0] == [dt.date(2024, 1, 1), 2, 1.0, 1.0, 0.0, 0.0]
    assert retention.rows[-1] == [dt.date(2024, 1, 7), 0, None, None, None, None]
    assert retention.percent_columns == {2, 3, 4, 5}

    stickiness = table(results["stickiness"])
    assert stickiness.columns == ["Days active", "Users", "Share of users"]
    assert stickiness.rows[1] == [2, 2, pytest.approx(2 / 3)]
    lifecycle = table(results["lifecycle"])
    assert lifecycle.rows[2] == [dt.date(2024, 1, 3), 1, 0, 0, -2]
    paths = table(results["paths"])
    assert paths.columns == ["Depth", "From event", "To event", "Users"]
    assert paths.rows == [[1, "$pageview", "signup", 3], [2, "signup", "purchase", 2],
                          [2, "signup", "$pageview", 1]]


def test_table_rows_must_fit_the_header():
    with pytest.raises(ValueError):
        Table(["a", "b"], [[1]])
    with pytest.raises(ValueError):
        Table(["a"], [[1]], frozenset({1}))


# ----------------------------------------------------------------------------- exports
NASTY = Table(
    ["名称", "value", "rate", "day"],
    [["=SUM(A1:A2)", -5, 0.25, dt.date(2024, 1, 1)], ["+cmd", 1.5, 0.5, dt.datetime(2024, 1, 1, 5)],
     ["-1+1", None, None, None], ["@x", 3, 1.0, None], ["\tsneaky", 0, 0.0, None], ["\r=1", 0, 0.0, None],
     ["-5", 0, 0.0, None], ["+1.5e3", 0, 0.0, None], ['逗号, "引号"\n换行', 0, 0.0, None]],
    frozenset({2}),
)


def test_csv_has_a_bom_rfc4180_quoting_and_no_formulas():
    data = to_csv(NASTY)
    assert data.startswith(BOM.encode("utf-8")) and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["名称", "value", "rate", "day"]
    assert [r[0] for r in rows[1:]] == ["'=SUM(A1:A2)", "'+cmd", "'-1+1", "'@x", "'\tsneaky", "'\r=1",
                                       "-5", "+1.5e3", '逗号, "引号"\n换行']
    assert rows[1][1:] == ["-5", "0.25", "2024-01-01"] and rows[2][1:] == ["1.5", "0.5", "2024-01-01 05:00"]
    assert rows[3][1:] == ["", "", ""]


def test_xlsx_reopens_with_values_formats_and_safe_text():
    names = ["a/b:c*?[x]", "趋势" * 20, "Trends", "trends", "History", "'quoted'"]
    assert sheet_names(names) == ["a_b_c___x_", "趋势" * 15 + "趋", "Trends", "trends (2)", "History (2)",
                                  "quoted"]
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx([(n, NASTY) for n in names])))
    assert book.sheetnames == sheet_names(names)
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert [c.value for c in sheet[1]] == NASTY.columns
    assert sheet["A2"].value == "=SUM(A1:A2)" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -5 and sheet["B3"].value == 1.5 and sheet["B3"].number_format == "#,##0.00"
    assert [sheet.cell(row=r, column=3).value for r in (2, 3, 4)] == [0.25, 0.5, None]
    assert sheet["C2"].number_format == "0.0%" and sheet["B2"].number_format == "#,##0"
    assert sheet["D2"].value == dt.datetime(2024, 1, 1) and sheet["D2"].is_date
    assert sheet["D3"].value == dt.datetime(2024, 1, 1, 5)
    assert sheet["A10"].value == '逗号, "引号"\n换行'
    assert sheet.column_dimensions["A"].width >= 8
    control = openpyxl.load_workbook(io.BytesIO(to_xlsx([("c", Table(["c"], [["a\x01b"]]))])))
    assert control["c"]["A2"].value == "a\ufffdb"


def test_xlsx_of_real_tables_keeps_the_numbers(results):
    tables = {name: table(results[name], ZH) for name in ("funnel", "retention")}
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(list(tables.items()))))
    for name, expected in tables.items():
        sheet = book[name]
        values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        flat = [[dt.datetime.combine(v, dt.time()) if isinstance(v, dt.date) else v for v in row]
                for row in expected.rows]
        assert values == flat
        for column in expected.percent_columns:
            assert sheet.cell(row=2, column=column + 1).number_format == "0.0%"


def test_dashboard_html_is_self_contained_and_escaped(results):
    evil = "<script>alert(1)</script>"
    trend = TrendsResult(timezone="UTC", interval="day", series=[TrendsSeriesResult(
        label="A", event="e", math="total", breakdown_value="</script><b>", dates=["2024-01-01"],
        values=[1.0])])
    tiles = [Tile(evil, figure(trend), table(trend), description="a & b"),
             Tile("漏斗", figure(results["funnel"], ZH), table(results["funnel"], ZH)),
             Tile("paths", figure(results["paths"]), None),
             Tile("only a table", None, table(results["lifecycle"]))]
    page = dashboard_html("周报 <b>", tiles, lang="zh-CN", generated_at="2024-01-08 09:00")
    assert page.startswith("<!doctype html>") and '<html lang="zh-CN">' in page
    assert '<meta charset="utf-8">' in page
    bundle = plotly_js()
    assert bundle in page
    rest = page.replace(bundle, "")
    assert not re.search(r"<script[^>]*\ssrc|<link|<img|@import|url\(", rest, re.IGNORECASE)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", rest, re.IGNORECASE)
    assert "http://" not in rest and "https://" not in rest
    assert evil not in rest and "&lt;script&gt;alert(1)&lt;/script&gt;" in rest
    assert "周报 &lt;b&gt;" in rest and "a &amp; b" in rest and "漏斗" in rest
    block = re.search(r'<script type="application/json" id="yy-figures">(.*?)</script>', rest, re.DOTALL)
    assert block and "<" not in block.group(1)
    figures = json.loads(block.group(1))
    assert figures == [tile.figure for tile in tiles]
    assert rest.count('class="chart"') == 3 and rest.count("<table>") == 3
    assert '<td class="num">66.7%</td>' in rest  # funnel conversion, formatted for zh-CN
