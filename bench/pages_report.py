"""Tables of ``python -m bench.pages``: markdown for files and docs, rich for the terminal, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import RESULTS_DIR, fmt_bytes, markdown_table

PAGE_HEADER = ["page", "after start", "cold median (min)", "warm median (min)", "warm wall",
               "JSON twin warm", "goal < 300 ms"]
PARTS_HEADER = ["page", "insight", "catalog", "other reads", "meta", "chart+table", "render", "json",
                "rest"]
INSIGHT_HEADER = ["insight", "range", "first run", "warm median (min)", "open store", "peak RSS",
                  "goal < 1 s"]


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _med_min(stats: dict[str, float] | None) -> str:
    return "—" if not stats else f"{stats['median']:,.0f} ({stats['min']:,.0f})"


def _verdict(page: dict[str, Any]) -> str:
    bad = [s for s in page["statuses"] if s != 200]
    if bad:
        return "**HTTP " + ", ".join(map(str, bad)) + "**"
    over = page["over_goal"]
    if not over:
        return "ok"
    if over == ["after start"]:
        return "ok (over after start)"
    return "**over: " + ", ".join(over) + "**"


def page_rows(bench: dict[str, Any]) -> list[list[str]]:
    rows = []
    for p in bench["pages"]:
        start = p["after_start"]["server_ms"] if p["after_start"] else None
        rows.append([p["name"], _ms(start), _med_min(p["cold"]), _med_min(p["warm"]),
                     _ms(p["warm_wall"]["median"] if p["warm_wall"] else None),
                     _med_min(p["twin_warm"]), _verdict(p)])
    return rows


def _split(parts: dict[str, float], server: float | None) -> list[float]:
    insight = parts.get("insight", 0.0)
    catalog = parts.get("catalog", 0.0)
    other = sum(v for k, v in parts.items() if k.startswith("read:") or k == "sql")
    meta, chart = parts.get("meta", 0.0), parts.get("chart+table", 0.0)
    render, js = parts.get("render", 0.0), parts.get("json", 0.0)
    rest = (server or 0.0) - (insight + catalog + other + meta + chart + render + js)
    return [insight, catalog, other, meta, chart, render, js, rest]


def parts_rows(bench: dict[str, Any]) -> list[list[str]]:
    """Per page: cold / warm milliseconds of each part (the request with the median server time)."""
    rows = []
    for p in bench["pages"]:
        cold_server = _typical_server(p["samples"]["cold"])
        warm_server = _typical_server(p["samples"]["warm"])
        cold = _split(p["cold_parts"], cold_server)
        warm = _split(p["warm_parts"], warm_server)
        rows.append([p["name"], *(f"{c:,.0f} / {w:,.0f}" for c, w in zip(cold, warm, strict=True))])
    return rows


def _typical_server(samples: list[dict[str, Any]]) -> float | None:
    timed = sorted(s["server_ms"] for s in samples if s["server_ms"] is not None)
    return timed[(len(timed) - 1) // 2] if timed else None


def other_reads(bench: dict[str, Any]) -> list[str]:
    """Which functions the 'other reads' are (cold, median request), page by page."""
    lines = []
    for p in bench["pages"]:
        named = {k: v for k, v in p["cold_parts"].items() if k.startswith("read:") or k == "sql"}
        if named:
            ordered = sorted(named.items(), key=lambda x: -x[1])
            lines.append(f"- {p['name']}: " + ", ".join(f"{k.removeprefix('read:')} {v:,.0f} ms"
                                                       for k, v in ordered))
    return lines


def insight_rows(insights: dict[str, Any]) -> list[list[str]]:
    rows = []
    for kind, q in insights["kinds"].items():
        doc = q["document"]
        over = q["over_goal"]
        rows.append([kind, f"{doc['date_from']} .. {doc['date_to']}", _ms(q["first"] * 1000),
                     f"{q['median'] * 1000:,.0f} ({q['min'] * 1000:,.0f})", _ms(q["open_seconds"] * 1000),
                     fmt_bytes(q["peak_rss"]), "ok" if not over else "**over: " + ", ".join(over) + "**"])
    return rows


def _head(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    versions = ", ".join(f"{k} {x}" for k, x in v.items())
    moments = (("load_before", "before"), ("load_after_pages", "after the pages"),
               ("load_after", "at the end"))
    loads = [f"{label} {' / '.join(map(str, results[key]))}" for key, label in moments if results.get(key)]
    return (f"# Workbench pages {results['started']}\n\n"
            f"Machine: {m['cores']} cores, {m['ram_gib']} GiB RAM; load average (1/5/15 min) "
            + "; ".join(loads) + f". Versions: {versions}.\n")


def markdown(results: dict[str, Any]) -> str:
    parts = [_head(results)]
    bench = results.get("page_bench")
    if bench:
        s, o = bench["store"], results["options"]
        parts += [
            f"## Pages at {s['rows']:,} demo events ({s['date_from']} .. {s['date_to']})\n",
            "Server time (`Server-Timing: app`) in ms. *after start*: first request of each page in a fresh "
            f"process (store opened in {bench['open_seconds_after_start'] * 1000:,.0f} ms); *cold*: a fresh "
            f"app per request, caches empty ({o['cold_reps']} runs); *warm*: {o['reps']} runs on one app; "
            "*warm wall*: the client's time; *JSON twin*: the same view without the template (for a tile: "
            "its HTML page).\n",
            markdown_table(PAGE_HEADER, page_rows(bench)), "",
            "Where the server time goes, ms, cold / warm (the request with the median time): insight "
            "queries, catalog lookups, other DuckDB reads, meta tables (session, settings, dashboards), "
            "charts and tables built from results, the template, JSON encoding, the rest (Python of the "
            "view, routing, sign-in check).\n",
            markdown_table(PARTS_HEADER, parts_rows(bench)),
        ]
        reads = other_reads(bench)
        if reads:
            parts += ["", "Other reads (cold):", "", *reads]
    insights = results.get("insights")
    if insights:
        s = insights["store"]
        parts += ["", f"## Insights at {s['rows']:,} events (`run_query`, a fresh process per kind)\n",
                  markdown_table(INSIGHT_HEADER, insight_rows(insights))]
    return "\n".join(parts) + "\n"


def print_tables(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 150))
    tables = []
    if results.get("page_bench"):
        tables += [("pages (server ms)", PAGE_HEADER, page_rows(results["page_bench"])),
                   ("where the time goes (ms, cold / warm)", PARTS_HEADER, parts_rows(results["page_bench"]))]
    if results.get("insights"):
        tables.append(("insights", INSIGHT_HEADER, insight_rows(results["insights"])))
    for title, header, rows in tables:
        table = Table(title=title)
        for i, column in enumerate(header):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*(cell.replace("**", "") for cell in row))
        console.print(table)


def write(results: dict[str, Any]) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = "pages-" + results["started"][:10]  # a later run the same day replaces it
    md, js = RESULTS_DIR / f"{stem}.md", RESULTS_DIR / f"{stem}.json"
    md.write_text(markdown(results), encoding="utf-8")
    js.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return md, js
