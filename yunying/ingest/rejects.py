"""Rejected rows: where they are in the file, why, and the rejects file (JSON Lines).

Each rejects-file line is one object::

    {"file": "events.csv", "line": 17, "field": "timestamp",
     "reason": "unparseable timestamp (...)", "values": {"event": "pay", ...}}

``line`` counts as a person does: physical lines of CSV (the header is line 1) and JSON Lines
files, row numbers for Parquet (first data row is 1) and Excel (the sheet's row number, the
header is row 1). ``values`` are the row's original values (for JSON Lines and Excel, the
row's object, or its raw text when it is not valid JSON).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from yunying.ingest.sources import LINE, TEXT, Source


@dataclass(frozen=True)
class Reject:
    file: str
    line: int
    field: str
    reason: str
    values: object

    def describe(self, unit: str) -> str:
        """One report line, e.g. ``events.csv line 17: timestamp: unparseable timestamp …``."""
        where = f"{self.file} {unit} {self.line}"
        if self.field == "row":  # the whole row is unreadable
            return f"{where}: {self.reason}"
        return f"{where}: {self.field}: {self.reason}"


def collect(
    con: duckdb.DuckDBPyConnection, source: Source, rows_sql: str, params: dict[str, object]
) -> list[Reject]:
    """Every rejected row of ``source`` in file order, with its original values.

    ``rows_sql`` (with ``params``) yields the normalised rows (``_line``, ``_field``,
    ``_reason`` …), as made by :func:`yunying.ingest.normalise.normalise_sql`.
    """
    bad = con.execute(
        f"SELECT _line, _field, _reason FROM ({rows_sql}) WHERE _reason IS NOT NULL "
        "ORDER BY _line", params
    ).fetchall()
    if not bad:
        return []
    lines = [int(r[0]) for r in bad]
    original = "src." + TEXT if source.objects else "to_json(src)::VARCHAR"
    rows = con.execute(
        f"SELECT {LINE}, {original} FROM ({source.sql}) AS src "
        f"WHERE {LINE} IN (SELECT unnest($lines))",
        {**source.params, "lines": lines},
    ).fetchall()
    values = {int(line): _values(text, source.objects) for line, text in rows}
    shown = _physical_csv_lines(source.path, lines) if source.format == "csv" else {}
    return [
        Reject(source.path.name, shown.get(line, line), field, reason, values.get(line))
        for line, field, reason in ((int(r[0]), r[1], r[2]) for r in bad)
    ]


def _values(text: str | None, objects: bool) -> object:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict) and not objects:
        value.pop(LINE, None)
    return value


def _physical_csv_lines(path: Path, numbered: list[int]) -> dict[int, int]:
    """Map ``_line`` (data row + 1, as staged) to the physical line where that row starts.

    They differ only when a quoted value spans lines or blank lines are skipped; the file is
    re-read (in Python, only when there are rejects) up to the last rejected row.
    """
    wanted = set(numbered)
    last = max(wanted)
    found: dict[int, int] = {}
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(_strip_bom(handle))
        row_number = 0  # header is row 1, as in the staged numbering
        previous_end = 0
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not record:
                continue  # DuckDB skips blank lines
            row_number += 1
            if row_number in wanted:
                found[row_number] = start
            if row_number >= last:
                break
    return found


def _strip_bom(handle: io.TextIOBase) -> Iterable[str]:
    first = True
    for line in handle:
        yield line.lstrip("\ufeff") if first else line
        first = False


def write(path: Path, rejects: list[Reject]) -> None:
    """Write ``rejects`` as JSON Lines to ``path`` (replacing it)."""
    with path.open("w", encoding="utf-8") as out:
        for r in rejects:
            record = {"file": r.file, "line": r.line, "field": r.field, "reason": r.reason,
                      "values": r.values}
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
