"""The results table: markdown for files and docs, rich for the terminal, JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
GIB = 1024**3


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def fmt_bytes(value: int | None) -> str:
    if value is None:
        return "—"
    return f"{value / GIB:.2f} GiB" if value >= GIB / 2 else f"{value / 1024**2:.0f} MiB"


def query_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for size in results["sizes"]:
        for name, q in size["queries"].items():
            y, c = q["yunying"], q["clickhouse"]
            rows.append([name, size["label"], fmt_seconds(y["median"]), fmt_seconds(c["median"]),
                         f"{y['median'] / c['median']:.2f}", "yes" if q["agree"] else "**NO**",
                         fmt_bytes(y["peak_rss"]), fmt_bytes(c["peak_rss"])])
    return rows


QUERY_HEADER = ["query", "size", "yunying median", "ClickHouse median", "ratio", "agree",
                "yunying peak RSS", "ClickHouse peak RSS"]
LOAD_HEADER = ["size", "rows", "DuckDB CTAS", "yunying import", "import speed ÷ CTAS",
               "ClickHouse insert", "+ OPTIMIZE FINAL", "yunying import peak RSS"]


def load_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for size in results["sizes"]:
        loads = size["loads"]
        ctas, imp, ch = (loads[k]["median"] for k in ("duckdb_ctas", "yunying_import",
                                                        "clickhouse_insert"))
        rows.append([size["label"], f"{size['dataset']['rows']:,}", fmt_seconds(ctas),
                     fmt_seconds(imp), f"{ctas / imp:.2f}", fmt_seconds(ch),
                     fmt_seconds(loads["clickhouse_insert"]["optimize_median"]),
                     fmt_bytes(loads["yunying_import"]["peak_rss"])])
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    versions = results["versions"]
    head = (f"# Benchmark {results['started']}\n\n"
            f"Machine: {results['machine']}. Versions: yunying side {versions['yunying']}; "
            f"{versions['clickhouse']}. Reps: {results['reps']} (interleaved, medians). "
            "ratio = yunying ÷ ClickHouse (below 1: yunying faster).\n")
    parts = [head, markdown_table(QUERY_HEADER, query_rows(results)), "",
             "Loading the Parquet file (medians; import speed ÷ CTAS = CTAS time ÷ import time, "
             "goal ≥ 0.8):", "", markdown_table(LOAD_HEADER, load_rows(results))]
    mismatches = [f"- {s['label']} {n}: " + "; ".join(q["differences"])
                  for s in results["sizes"] for n, q in s["queries"].items() if not q["agree"]]
    if mismatches:
        parts += ["", "**Mismatches:**", *mismatches]
    if results.get("profile"):
        parts += ["", profile_markdown(results["profile"])]
    return "\n".join(parts) + "\n"


def profile_markdown(profile: dict[str, Any]) -> str:
    label, p = profile["label"], profile["data"]
    f = p["funnel"]
    lines = [f"## yunying profile at {label}", "", "Funnel stages (medians):", ""]
    lines += [f"- {k}: {fmt_seconds(v)}" for k, v in f["stages"].items()]
    lines += ["", f"Glue pieces and the numba pass on {f['rows']['rows']:,} fetched rows, "
              f"{f['rows']['persons']:,} persons:", ""]
    lines += [f"- {k}: {fmt_seconds(v)}" for k, v in f["glue"].items()]
    lines += ["", f"- the same rows as plain SQL (no Ibis, UTC bounds, CASE mask): "
              f"{fmt_seconds(f['plain_sql_fetch']['seconds'])}"]
    for name in ("funnel", "trend", "retention"):
        c = p[name]["calls"] if name == "funnel" else p[name]
        lines += ["", f"{name}: total {fmt_seconds(c['total'])} = DuckDB {fmt_seconds(c['duckdb'])}"
                  f" + Ibis compile {fmt_seconds(c['ibis_compile'])}"
                  f" + Ibis/Arrow conversion {fmt_seconds(c['ibis_other'])}"
                  f" + Python outside queries {fmt_seconds(c['python_outside_calls'])}; "
                  f"{len(c['calls'])} DuckDB queries: "
                  + ", ".join(f"{fmt_seconds(q['duckdb'])} ({q['rows']:,} rows)"
                              for q in c["calls"])]
    return "\n".join(lines)


def print_rich(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 130))
    for title, header, rows in (("queries", QUERY_HEADER, query_rows(results)),
                                ("loading", LOAD_HEADER, load_rows(results))):
        table = Table(title=f"yunying vs ClickHouse — {title}")
        for column in header:
            table.add_column(column, justify="left" if column in ("query", "size") else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)


def write(results: dict[str, Any]) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = results["started"][:10]  # <date>: a later run the same day replaces it
    md, js = RESULTS_DIR / f"{stem}.md", RESULTS_DIR / f"{stem}.json"
    md.write_text(markdown(results), encoding="utf-8")
    js.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return md, js
