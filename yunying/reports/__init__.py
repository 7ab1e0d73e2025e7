"""Reports: charts, tables and exports of insight results.

    from yunying.reports import LABELS, figure, table, to_csv, to_xlsx, dashboard_html, Tile
    labels = LABELS["zh-CN"]
    fig = figure(result, labels)        # Plotly figure dict for plotly.js
    tbl = table(result, labels)         # Table(columns, rows, percent_columns)
    to_csv(tbl); to_xlsx([("趋势", tbl)])
    dashboard_html("周报", [Tile("趋势", fig, tbl)], lang="zh-CN", generated_at="2024-01-08 09:00")
"""

from __future__ import annotations

from yunying.reports.charts import FONT_FAMILY, figure
from yunying.reports.export import Tile, dashboard_html, to_csv, to_xlsx
from yunying.reports.labels import LABELS, ChartLabels
from yunying.reports.tables import Table, table

__all__ = ["FONT_FAMILY", "LABELS", "ChartLabels", "Table", "Tile", "dashboard_html", "figure", "table",
           "to_csv", "to_xlsx"]
