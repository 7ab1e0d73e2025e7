"""Opening an import file as a DuckDB row source, one function per format.

A :class:`Source` is a SELECT (with bound parameters) that yields ``_yunying_line`` — where a
person finds the row in the file — and either the file's own columns (*tabular*: Parquet,
CSV) or one column ``_yunying_text`` holding each row as JSON object text (*objects*: JSON
Lines, Excel). Nothing here writes to the store; CSV and JSON Lines are staged into a
temporary table so that they are parsed once and numbered in file order.

A file that cannot be read at all raises :class:`FileImportError`, naming the file and what
is expected.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

REQUIRED_COLUMNS = ("event", "distinct_id", "timestamp")
TEXT_COLUMNS = ("event", "distinct_id", "timestamp", "uuid", "properties")
SUPPORTED = ".parquet, .csv, .jsonl / .ndjson, .xlsx (and .csv.gz, .jsonl.gz, .ndjson.gz)"
LINE = "_yunying_line"
TEXT = "_yunying_text"

Format = Literal["parquet", "csv", "jsonl", "xlsx"]
_SUFFIXES: dict[str, Format] = {
    ".parquet": "parquet", ".pq": "parquet",
    ".csv": "csv", ".csv.gz": "csv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonl.gz": "jsonl", ".ndjson.gz": "jsonl",
    ".xlsx": "xlsx",
}


class FileImportError(Exception):
    """A whole file cannot be imported (unreadable, wrong type, required column missing)."""


@dataclass(frozen=True)
class Source:
    path: Path
    format: Format
    sql: str
    params: dict[str, object]
    columns: dict[str, str] = field(default_factory=dict)  # tabular: name -> DuckDB type
    line_unit: Literal["line", "row"] = "line"

    @property
    def objects(self) -> bool:
        return not self.columns


def quote_ident(name: str) -> str:
    """A DuckDB identifier for any column name: wrapped in double quotes, inner ones doubled."""
    return '"' + name.replace('"', '""') + '"'


def used_params(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The named parameters that ``sql`` refers to (DuckDB rejects unused ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}


def detect_format(path: Path) -> Format:
    return _SUFFIXES[suffix_of(path)]


def suffix_of(path: Path) -> str:
    """The file-type suffix of ``path`` (``.csv.gz`` …); FileImportError for an unsupported type."""
    name = path.name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise FileImportError(f"{path}: unsupported file type; expected {SUPPORTED}")


def open_source(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> Source:
    """The rows of ``path`` as a :class:`Source`; temporary tables are named after ``tag``."""
    if not path.is_file():
        raise FileImportError(f"{path}: no such file")
    fmt = detect_format(path)
    try:
        source = _OPENERS[fmt](con, path, tag)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise FileImportError(f"{path}: cannot be read as {fmt.upper()} ({first})") from exc
    if source.columns:
        missing = [c for c in REQUIRED_COLUMNS if c not in source.columns]
        if missing:
            found = ", ".join(c for c in source.columns if c != LINE) or "none"
            raise FileImportError(
                f"{path}: missing required column {', '.join(repr(m) for m in missing)} "
                f"(found: {found}); every file needs columns event, distinct_id and timestamp"
            )
    return source


def _describe(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]
) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {sql}", params).fetchall()
    return {r[0]: r[1] for r in rows}


def _open_parquet(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> Source:
    params: dict[str, object] = {"path": str(path)}
    plain = _describe(con, "SELECT * FROM read_parquet($path)", params)
    if "file_row_number" in plain:  # the file has its own column of that name
        sql = f"SELECT row_number() OVER () AS {LINE}, * FROM read_parquet($path)"
    else:
        sql = (f"SELECT file_row_number + 1 AS {LINE}, * EXCLUDE (file_row_number)"
               " FROM read_parquet($path, file_row_number = true)")
    return Source(path, "parquet", sql, params, {**plain}, "row")


def _open_csv(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> Source:
    params: dict[str, object] = {"path": str(path)}
    header = _describe(con, "SELECT * FROM read_csv($path, header = true)", params)
    # ids stay text ("007" is not 7); timestamps follow our rules, not the sniffer's
    types = {c: "VARCHAR" for c in TEXT_COLUMNS if c in header}
    table = f"_yunying_src_{tag}"
    # (DuckDB refuses an empty types struct: a file with none of the text columns reads without it,
    # and open_source then names the missing columns)
    typed = ", types = $types" if types else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT row_number() OVER () + 1 AS {LINE}, *
            FROM read_csv($path, header = true{typed})""",
        {**params, "types": types} if types else params,
    )
    columns = {k: v for k, v in _describe(con, f"SELECT * FROM {table}", {}).items() if k != LINE}
    return Source(path, "csv", f"SELECT * FROM {table}", {}, columns, "line")


def _open_jsonl(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> Source:
    table = f"_yunying_src_{tag}"
    # One VARCHAR per physical line (blank lines kept as NULL), so numbering is exact.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT {LINE}, {TEXT} FROM (
              SELECT row_number() OVER () AS {LINE}, line AS {TEXT}
              FROM read_csv($path, columns = {{'line': 'VARCHAR'}}, header = false,
                            delim = chr(30), quote = '', escape = '', auto_detect = false,
                            max_line_size = 67108864))
            WHERE trim({TEXT}) <> ''""",
        {"path": str(path)},
    )
    _require_keys(con, path, table)
    return Source(path, "jsonl", f"SELECT * FROM {table}", {}, {}, "line")


def _require_keys(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    checks = ", ".join(
        f"bool_or(json_exists({TEXT}, '/{k}'))" for k in REQUIRED_COLUMNS
    )
    row = con.execute(
        f"""SELECT count(*), {checks}, (SELECT count(*) FROM {table}) FROM {table}
            WHERE json_valid({TEXT}) AND json_type({TEXT}) = 'OBJECT'"""
    ).fetchone()
    assert row is not None
    if row[-1] == 0:  # an empty file imports nothing, successfully
        return
    if row[0] == 0:
        raise FileImportError(
            f"{path}: no line is a JSON object; expected JSON Lines, one object per line "
            'such as {"event": "pay", "distinct_id": "u1", "timestamp": 1714528800}'
        )
    missing = [k for k, seen in zip(REQUIRED_COLUMNS, row[1:-1], strict=True) if not seen]
    if missing:
        raise FileImportError(
            f"{path}: missing required key {', '.join(repr(m) for m in missing)} in every line; "
            "every event needs event, distinct_id and timestamp"
        )


def _open_xlsx(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> Source:
    """The first sheet; row 1 is the header; rows become JSON objects (cell types kept)."""
    import openpyxl  # imported here: only Excel imports pay for it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a non-xlsx file
        raise FileImportError(f"{path}: cannot be read as XLSX ({exc})") from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [None if h is None else str(h).strip() for h in next(rows, ())]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            found = ", ".join(h for h in header if h) or "none"
            raise FileImportError(
                f"{path}: missing required column {', '.join(repr(m) for m in missing)} in row 1 "
                f"of the first sheet (found: {found}); every file needs columns event, "
                "distinct_id and timestamp"
            )
        lines: list[int] = []
        texts: list[str] = []
        for number, values in enumerate(rows, start=2):
            obj = {h: _cell(v) for h, v in zip(header, values, strict=False) if h}
            if any(v is not None and v != "" for v in obj.values()):
                lines.append(number)
                texts.append(json.dumps(obj, ensure_ascii=False))
    finally:
        book.close()
    table = f"_yunying_src_{tag}"
    arrow = pa.table({LINE: pa.array(lines, pa.int64()), TEXT: pa.array(texts, pa.string())})
    con.register(f"{table}_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_arrow")
    con.unregister(f"{table}_arrow")
    return Source(path, "xlsx", f"SELECT * FROM {table}", {}, {}, "row")


def _cell(value: object) -> object:
    """An Excel cell as a JSON value: dates as naive ISO text (read in the import time zone)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def drop_staging(con: duckdb.DuckDBPyConnection, tag: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS _yunying_src_{tag}")


_OPENERS = {"parquet": _open_parquet, "csv": _open_csv, "jsonl": _open_jsonl, "xlsx": _open_xlsx}
