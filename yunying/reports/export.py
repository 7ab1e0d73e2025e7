"""Exports of report tables and charts: CSV, an Excel workbook, a self-contained HTML dashboard."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import html
import io
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from yunying.reports.charts import FONT_FAMILY
from yunying.reports.labels import LABELS, ChartLabels
from yunying.reports.naming import bucket_label
from yunying.reports.tables import Table

if TYPE_CHECKING:  # openpyxl takes half a second to import: only Excel exports pay for it
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

# ----------------------------------------------------------------------------- CSV
BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def defuse(text: str) -> str:
    """``text`` made inert for spreadsheets (CSV injection, OWASP's advice).

    Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or
    ``@`` as a formula (tab and CR are stripped first, so they can hide one), which lets an
    event name or property value someone sent us call functions in the analyst's sheet.
    Such text gets a leading ``'`` — the spreadsheets' own "this is text" mark. Text that is a
    plain decimal number (``-5``, ``+1.5e3``) is left alone: it cannot be a formula.
    """
    if text.startswith(FORMULA_TRIGGERS) and not _DECIMAL.fullmatch(text):
        return "'" + text
    return text


def csv_cell(value: Any) -> str:
    """One cell as CSV text: numbers as Python writes them, dates ISO, None empty, text defused."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return bucket_label(value)
    if isinstance(value, str):
        return defuse(value)
    return str(value)


def to_csv(table: Table) -> bytes:
    """``table`` as RFC 4180 CSV in UTF-8, header first, CRLF line ends, quoted where needed.

    The bytes start with a UTF-8 byte order mark: without it Excel reads a CSV file in the
    system's legacy code page (GBK on Chinese Windows), garbling every Chinese character;
    with it Excel, Numbers and LibreOffice all read UTF-8, and Python reads it back with
    ``encoding="utf-8-sig"``. Rates are written as fractions (0.25). Text cells that a
    spreadsheet would run as a formula are prefixed with ``'`` (see :func:`defuse`).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([csv_cell(c) for c in table.columns])
    writer.writerows([csv_cell(c) for c in row] for row in table.rows)
    return (BOM + buffer.getvalue()).encode("utf-8")


# ----------------------------------------------------------------------------- Excel
SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 forbids
PERCENT_FORMAT, INT_FORMAT, FLOAT_FORMAT = "0.0%", "#,##0", "#,##0.00"
DATE_FORMAT, DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"
XLSX_TEXT_MAX = 32767


def sheet_names(names: Sequence[str]) -> list[str]:
    """Valid, distinct Excel sheet names for ``names``, in order.

    Excel forbids ``[ ] : * ? / \\``, a leading or trailing ``'``, empty names, the reserved
    name "History" and names over 31 characters, and compares names ignoring case; a clash
    gets a " (2)", " (3)" … suffix (the name shortened to make room).
    """
    used: set[str] = {"history"}
    out = []
    for raw in names:
        base = _XLSX_ILLEGAL.sub("", _SHEET_FORBIDDEN.sub("_", raw)).strip().strip("'").strip()
        base = base or "Sheet"
        name, n = base[:SHEET_NAME_MAX], 1
        while name.casefold() in used:
            n += 1
            suffix = f" ({n})"
            name = base[:SHEET_NAME_MAX - len(suffix)].rstrip() + suffix
        used.add(name.casefold())
        out.append(name)
    return out


def _number_format(value: Any, percent: bool) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if percent:
            return PERCENT_FORMAT
        return INT_FORMAT if float(value).is_integer() else FLOAT_FORMAT
    if isinstance(value, dt.datetime):
        return DATETIME_FORMAT
    if isinstance(value, dt.date):
        return DATE_FORMAT
    return None


def _put(cell: Cell, value: Any, percent: bool = False) -> None:
    """Write ``value`` as its own type; text always as text (never as a formula)."""
    if isinstance(value, str):
        cell.value = _XLSX_ILLEGAL.sub("\ufffd", value)[:XLSX_TEXT_MAX]
        cell.data_type = "s"
        return
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    cell.value = value
    number_format = _number_format(value, percent)
    if number_format:
        cell.number_format = number_format


def _display_width(value: Any, percent: bool) -> int:
    """About how many character cells ``value`` takes shown in Excel (CJK count double)."""
    if value is None:
        return 0
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 7 if percent else len(f"{value:,.2f}")
    text = value if isinstance(value, str) else csv_cell(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _write_sheet(sheet: Worksheet, table: Table) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for c, header in enumerate(table.columns, start=1):
        _put(sheet.cell(row=1, column=c), header)
        sheet.cell(row=1, column=c).font = Font(bold=True)
    for r, row in enumerate(table.rows, start=2):
        for c, value in enumerate(row, start=1):
            _put(sheet.cell(row=r, column=c), value, c - 1 in table.percent_columns)
    sheet.freeze_panes = "A2"
    for c, header in enumerate(table.columns):
        widest = max([_display_width(header, False)]
                     + [_display_width(row[c], c in table.percent_columns) for row in table.rows])
        sheet.column_dimensions[get_column_letter(c + 1)].width = min(max(widest + 2, 8), 60)


def to_xlsx(sheets: list[tuple[str, Table]]) -> bytes:
    """An .xlsx workbook with one sheet per ``(name, table)``, in order.

    Names are made valid and distinct (:func:`sheet_names`). Each sheet has a bold, frozen
    header row and widths fitted to the contents; numbers are numbers (``#,##0`` or
    ``#,##0.00``), rate columns (``table.percent_columns``) are fractions shown ``0.0%``,
    dates are dates. Text is stored as text, so a formula-like string is never run. No
    sheets gives a workbook with one empty sheet (a workbook needs one).
    """
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, (_, sheet_table) in zip(sheet_names([n for n, _ in sheets]), sheets, strict=True):
        _write_sheet(book.create_sheet(name), sheet_table)
    if not sheets:
        book.create_sheet("Sheet")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- HTML
@dataclass(frozen=True)
class Tile:
    """One panel of a dashboard: a title, a figure (``charts.figure``), its table, a note."""

    title: str
    figure: dict[str, Any] | None
    table: Table | None = None
    description: str = ""


@functools.cache
def plotly_js() -> str:
    """The plotly.js bundle shipped inside the installed plotly package (no network)."""
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` left raw,
    so no text (a label ``</script>``) can close the element; ``JSON.parse`` reads it unchanged."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _html_cell(value: Any, percent: bool, labels: ChartLabels) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        shown = labels.percent(value) if percent else labels.number(value)
        return f'<td class="num">{html.escape(shown)}</td>'
    text = "" if value is None else value if isinstance(value, str) else csv_cell(value)
    return f"<td>{html.escape(text)}</td>"


def html_table(table: Table, labels: ChartLabels) -> str:
    """``table`` as an escaped HTML table, numbers in ``labels``' locale."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(_html_cell(v, i in table.percent_columns, labels) for i, v in enumerate(row))
        + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = """
*{box-sizing:border-box}body{margin:0;padding:24px;font-family:$FONT;color:#1f2430;background:#f5f6f8}
header{margin:0 auto 16px;max-width:1280px}h1{font-size:22px;margin:0 0 4px}.meta{color:#6b7280;margin:0}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px;max-width:1280px;margin:auto}
.tile{background:#fff;border:1px solid #e3e6eb;border-radius:8px;padding:16px;min-width:0}
.tile h2{font-size:16px;margin:0 0 4px}.tile p{color:#4b5563;margin:0 0 8px}.chart{height:360px}
.table-wrap{overflow:auto;max-height:320px;margin-top:8px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid #eceef2;text-align:left;white-space:nowrap}
th{position:sticky;top:0;background:#fff}td.num{text-align:right;font-variant-numeric:tabular-nums}
@media print{body{background:#fff;padding:0}.tile{break-inside:avoid}.table-wrap{max-height:none}}
""".replace("$FONT", FONT_FAMILY)

DRAW = """(function () {
  var figures = JSON.parse(document.getElementById("yy-figures").textContent);
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    var fig = figures[Number(el.getAttribute("data-figure"))];
    Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false});
  });
})();"""


def _tile_html(tile: Tile, index: int, labels: ChartLabels) -> str:
    parts = [f"<section class=\"tile\"><h2>{html.escape(tile.title)}</h2>"]
    if tile.description:
        parts.append(f"<p>{html.escape(tile.description)}</p>")
    if tile.figure is not None:
        parts.append(f'<div class="chart" data-figure="{index}"></div>')
    if tile.table is not None:
        parts.append(f'<div class="table-wrap">{html_table(tile.table, labels)}</div>')
    parts.append("</section>")
    return "".join(parts)


def dashboard_html(title: str, tiles: list[Tile], *, lang: str, generated_at: str) -> str:
    """A single HTML file showing ``tiles`` that works offline and from ``file://``.

    plotly.js is inlined from the installed plotly package; the figures travel as JSON in a
    ``<script type="application/json">`` block (see :func:`script_json`) and are drawn by a
    small inline script; tables are HTML tables formatted in ``lang`` (``"en"``,
    ``"zh-CN"``). Every text is escaped. The page references no URL: no ``<script src>``,
    no ``<link href>``, no images or fonts fetched. A figure holding NaN or infinity (not
    JSON) raises ValueError.
    """
    labels = LABELS.get(lang) or ChartLabels.english()
    figures = [tile.figure for tile in tiles]
    bundle = re.sub("</(script)", r"<\\/\1", plotly_js(), flags=re.IGNORECASE)
    return "".join([
        "<!doctype html>\n",
        f'<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        f"<header><h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(labels.generated)}: <time>{html.escape(generated_at)}</time></p>',
        "</header>\n",
        "<main>\n", "\n".join(_tile_html(tile, i, labels) for i, tile in enumerate(tiles)), "\n</main>\n",
        f'<script type="application/json" id="yy-figures">{script_json(figures)}</script>\n',
        f"<script>{bundle}</script>\n<script>{DRAW}</script>\n</body>\n</html>\n",
    ])


__all__ = ["BOM", "Tile", "dashboard_html", "defuse", "sheet_names", "to_csv", "to_xlsx"]
