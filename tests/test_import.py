"""``yunying import``: what a user sees — rows in the store, the summary, rejects, exit codes."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from yunying.cli import app
from yunying.store import connect

runner = CliRunner()
UTC = dt.UTC


# ----------------------------------------------------------------------------- helpers
def run_import(tmp_path: Path, *files: Path | str, args: tuple[str, ...] = ()):
    db = tmp_path / "store.duckdb"
    return runner.invoke(app, ["import", *map(str, files), "--db", str(db), "-p", "shop", *args])


def stored(tmp_path: Path) -> list[dict]:
    """The stored events, oldest first, properties parsed."""
    store = connect(tmp_path / "store.duckdb")
    try:
        rows = store.duckdb.execute(
            "SELECT uuid, event, distinct_id, timestamp, properties FROM events "
            "ORDER BY timestamp, event, distinct_id"
        ).fetchall()
    finally:
        store.close()
    return [
        {"uuid": u, "event": e, "distinct_id": d, "timestamp": t, "properties": json.loads(p)}
        for u, e, d, t, p in rows
    ]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[object]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        for row in rows:
            out.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def at(*args: int) -> dt.datetime:
    """A naive UTC datetime, as the store holds it."""
    return dt.datetime(*args)


ROW = {"event": "pay", "distinct_id": "u1", "timestamp": "2024-05-01T10:00:00+08:00"}


# ----------------------------------------------------------------------------- formats
@pytest.mark.parametrize("name", ["e.csv", "e.csv.gz", "e.jsonl", "e.ndjson.gz", "e.xlsx",
                                  "e.parquet"])
def test_every_format_imports_the_same_event(tmp_path, name):
    path = tmp_path / name
    header = ["event", "distinct_id", "timestamp", "price", "商品名称"]
    values = ["pay", "u1", "2024-05-01T10:00:00+08:00", 12.5, "苹果"]
    if ".csv" in name:
        write_csv(path, header, [values])
    elif "json" in name:
        write_jsonl(path, [dict(zip(header, values, strict=True))])
    elif name.endswith(".xlsx"):
        write_xlsx(path, header, [values])
    else:
        pq.write_table(pa.Table.from_pylist([dict(zip(header, values, strict=True))]), path)
    result = run_import(tmp_path, path)
    assert result.exit_code == 0, result.output
    assert "1 imported, 0 duplicates, 0 rejected" in result.output
    [event] = stored(tmp_path)
    assert event["event"] == "pay" and event["distinct_id"] == "u1"
    assert event["timestamp"] == at(2024, 5, 1, 2)
    assert event["properties"] == {"price": 12.5, "商品名称": "苹果"}


# ----------------------------------------------------------------------------- timestamps
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00+08:00", at(2024, 5, 1, 2)),
        ("2024-05-01T10:00:00+0530", at(2024, 5, 1, 4, 30)),
        ("2024-05-01T02:00:00Z", at(2024, 5, 1, 2)),
        ("2024-05-01 10:00:00", at(2024, 5, 1, 2)),  # naive: the project's Asia/Shanghai
        ("2024-05-01", at(2024, 4, 30, 16)),  # a date: local midnight
        ("1714528800", at(2024, 5, 1, 2)),  # epoch seconds
        ("1714528800123", at(2024, 5, 1, 2, 0, 0, 123000)),  # epoch milliseconds
        ("1714528800123456", at(2024, 5, 1, 2, 0, 0, 123456)),  # epoch microseconds
        ("1714528800.5", at(2024, 5, 1, 2, 0, 0, 500000)),  # fractional seconds
        ("2024-05-01T10:00:00.123456+08:00", at(2024, 5, 1, 2, 0, 0, 123456)),
    ],
)
def test_timestamp_forms(tmp_path, text, expected):
    path = write_csv(tmp_path / "e.csv", ["event", "distinct_id", "timestamp"],
                     [["pay", "u1", text]])
    assert run_import(tmp_path, path).exit_code == 0
    assert stored(tmp_path)[0]["timestamp"] == expected


def test_numeric_epochs_in_jsonl_and_parquet(tmp_path):
    jsonl = write_jsonl(tmp_path / "e.jsonl", [{**ROW, "timestamp": 1714528800},
                                               {**ROW, "timestamp": 1714528800250}])
    table = pa.table({"event": ["a"], "distinct_id": ["u"], "timestamp": [1714528800.75]})
    pq.write_table(table, tmp_path / "e.parquet")
    assert run_import(tmp_path, jsonl, tmp_path / "e.parquet").exit_code == 0
    assert [e["timestamp"] for e in stored(tmp_path)] == [
        at(2024, 5, 1, 2), at(2024, 5, 1, 2, 0, 0, 250000), at(2024, 5, 1, 2, 0, 0, 750000)]


def test_timezone_option_reads_naive_timestamps_there(tmp_path):
    path = write_csv(tmp_path / "e.csv", ["event", "distinct_id", "timestamp"],
                     [["pay", "u1", "2024-05-01 10:00:00"]])
    assert run_import(tmp_path, path, args=("--timezone", "UTC")).exit_code == 0
    assert stored(tmp_path)[0]["timestamp"] == at(2024, 5, 1, 10)


def test_typed_naive_parquet_timestamps_are_local_and_aware_ones_exact(tmp_path):
    naive = pa.array([dt.datetime(2024, 5, 1, 10)], pa.timestamp("us"))
    aware = pa.array([dt.datetime(2024, 5, 1, 10, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"event": ["a"], "distinct_id": ["u"], "timestamp": naive}),
                   tmp_path / "a.parquet")
    pq.write_table(pa.table({"event": ["b"], "distinct_id": ["u"], "timestamp": aware}),
                   tmp_path / "b.parquet")
    assert run_import(tmp_path, tmp_path / "a.parquet", tmp_path / "b.parquet").exit_code == 0
    assert [e["timestamp"] for e in stored(tmp_path)] == [at(2024, 5, 1, 2), at(2024, 5, 1, 10)]


# ----------------------------------------------------------------------------- properties
def test_extra_columns_become_properties_with_their_types(tmp_path):
    path = write_csv(
        tmp_path / "e.csv",
        ["event", "distinct_id", "timestamp", "price", "qty", "vip", "城市", "note", "properties"],
        [["pay", "007", "1714528800", "12.5", "3", "true", "上海", "", '{"a": {"b": 1}}']],
    )
    assert run_import(tmp_path, path).exit_code == 0
    [event] = stored(tmp_path)
    assert event["distinct_id"] == "007"  # ids stay text
    assert event["properties"] == {"a": {"b": 1}, "price": 12.5, "qty": 3, "vip": True,
                                   "城市": "上海"}  # the empty cell is left out


def test_jsonl_keys_and_properties_merge_and_columns_win(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [
        {**ROW, "properties": {"plan": "free", "n": 1}, "plan": "pro", "tags": ["x"], "gone": None},
        {**ROW, "distinct_id": "u2", "properties": json.dumps({"k": "文本"})},
    ])
    assert run_import(tmp_path, path).exit_code == 0
    props = {e["distinct_id"]: e["properties"] for e in stored(tmp_path)}
    assert props == {"u1": {"plan": "pro", "n": 1, "tags": ["x"]}, "u2": {"k": "文本"}}


def test_materialised_columns_agree_with_properties(tmp_path):
    path = write_csv(tmp_path / "e.csv", ["event", "distinct_id", "timestamp", "$browser"],
                     [["pay", "u1", "1714528800", "Chrome"]])
    assert run_import(tmp_path, path).exit_code == 0
    store = connect(tmp_path / "store.duckdb")
    assert store.duckdb.execute("SELECT mat_browser FROM events").fetchall() == [("Chrome",)]
    store.close()


# ----------------------------------------------------------------------------- bad rows
def test_bad_rows_are_reported_written_to_rejects_and_exit_1(tmp_path):
    path = write_csv(
        tmp_path / "e.csv",
        ["event", "distinct_id", "timestamp", "properties"],
        [
            ["pay", "u1", "1714528800", ""],
            ["", "u2", "1714528800", ""],
            ["pay", "", "1714528800", ""],
            ["pay", "u3", "", ""],
            ["pay", "u4", "yesterday", ""],
            ["pay", "u5", "1714528800", "[1, 2]"],
            ["pay", "u6", "1990-01-01T00:00:00Z", ""],
            ["pay", "u7", "2999-01-01T00:00:00Z", ""],
        ],
    )
    result = run_import(tmp_path, path)
    assert result.exit_code == 1
    assert "1 imported, 0 duplicates, 7 rejected" in result.output
    assert "e.csv line 3: event: missing event" in result.output
    rejects = [json.loads(line) for line in
               (tmp_path / "e.csv.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["field"]) for r in rejects] == [
        (3, "event"), (4, "distinct_id"), (5, "timestamp"), (6, "timestamp"), (7, "properties"),
        (8, "timestamp"), (9, "timestamp")]
    assert rejects[3]["values"]["timestamp"] == "yesterday"
    assert "unparseable" in rejects[3]["reason"] and "2000" in rejects[5]["reason"]
    assert "future" in rejects[6]["reason"]
    assert [e["distinct_id"] for e in stored(tmp_path)] == ["u1"]


def test_line_numbers_count_physical_lines(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text('event,distinct_id,timestamp,note\npay,u1,1714528800,"two\nlines"\n\n'
                    "pay,u2,bad,x\n", encoding="utf-8")
    result = run_import(tmp_path, path)
    assert result.exit_code == 1 and "e.csv line 5: timestamp" in result.output


def test_jsonl_bad_lines_and_uuid_type(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [ROW, "{not json", "", {**ROW, "uuid": 5}])
    result = run_import(tmp_path, path, args=("--rejects", str(tmp_path / "bad.jsonl")))
    assert result.exit_code == 1
    rejects = [json.loads(x) for x in (tmp_path / "bad.jsonl").read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rejects] == [(2, "row"), (4, "uuid")]
    assert rejects[0]["values"] == "{not json"


def test_excel_rows_are_numbered_like_the_sheet(tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", ["event", "distinct_id", "timestamp"],
                      [["pay", "u1", dt.datetime(2024, 5, 1, 10)], ["pay", None, "x"]])
    result = run_import(tmp_path, path)
    assert result.exit_code == 1 and "e.xlsx row 3: distinct_id" in result.output
    assert stored(tmp_path)[0]["timestamp"] == at(2024, 5, 1, 2)


# ----------------------------------------------------------------------------- whole files
@pytest.mark.parametrize(("header", "missing"), [
    (["event", "user", "timestamp"], "'distinct_id'"),
    (["name", "when"], "'event', 'distinct_id', 'timestamp'"),  # none of the known columns at all
])
def test_missing_required_column_names_it_and_writes_nothing(tmp_path, header, missing):
    path = write_csv(tmp_path / "e.csv", header, [["pay", "u1", "1"][:len(header)]])
    result = run_import(tmp_path, path)
    assert result.exit_code == 2
    assert "e.csv" in result.output and missing in result.output
    assert stored(tmp_path) == []


@pytest.mark.parametrize("name", ["e.txt", "missing.csv"])
def test_unsupported_or_missing_file_is_a_clear_error(tmp_path, name):
    if name == "e.txt":
        (tmp_path / name).write_text("hello")
    result = run_import(tmp_path, tmp_path / name)
    assert result.exit_code == 2 and name in result.output


def test_a_file_that_is_not_parquet(tmp_path):
    (tmp_path / "e.parquet").write_text("event,distinct_id,timestamp\n")
    result = run_import(tmp_path, tmp_path / "e.parquet")
    assert result.exit_code == 2 and "cannot be read as PARQUET" in result.output


# ----------------------------------------------------------------------------- idempotence
def test_reimport_adds_nothing(tmp_path):
    path = write_csv(tmp_path / "e.csv", ["event", "distinct_id", "timestamp", "p"],
                     [["pay", "u1", "1714528800", "1"], ["view", "u1", "1714528801", "2"]])
    assert run_import(tmp_path, path).exit_code == 0
    again = run_import(tmp_path, path)
    assert again.exit_code == 0 and "0 imported, 2 duplicates, 0 rejected" in again.output
    assert len(stored(tmp_path)) == 2


def test_uuid_column_is_the_identity(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [{**ROW, "uuid": "a"}, {**ROW, "uuid": "a"},
                                              {**ROW, "uuid": "b"}])
    result = run_import(tmp_path, path)
    assert "2 imported, 1 duplicates" in result.output
    assert sorted(e["uuid"] for e in stored(tmp_path)) == ["a", "b"]


def test_dry_run_writes_nothing(tmp_path):
    path = write_csv(tmp_path / "e.csv", ["event", "distinct_id", "timestamp"],
                     [["pay", "u1", "1714528800"], ["pay", "u1", "bad"]])
    result = run_import(tmp_path, path, args=("--dry-run",))
    assert result.exit_code == 1 and "dry run" in result.output
    assert "1 imported, 0 duplicates, 1 rejected" in result.output
    assert not (tmp_path / "store.duckdb").exists()
    assert not (tmp_path / "e.csv.rejects.jsonl").exists()


def test_overlapping_file_imports_only_the_new_events(tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", [{**ROW, "uuid": "a"}, {**ROW, "uuid": "b"}])
    second = write_jsonl(tmp_path / "b.jsonl", [{**ROW, "uuid": "b"}, {**ROW, "uuid": "c"},
                                                {**ROW, "uuid": "d", "timestamp": "x"}])
    assert run_import(tmp_path, first).exit_code == 0
    result = run_import(tmp_path, second)
    assert result.exit_code == 1 and "1 imported, 1 duplicates, 1 rejected" in result.output
    assert sorted(e["uuid"] for e in stored(tmp_path)) == ["a", "b", "c"]


def test_repeated_uuid_in_parquet_keeps_the_first_row_and_rejects_bad_ones(tmp_path):
    table = pa.table({"uuid": ["a", "a", "b", "c"], "event": ["first", "second", "x", ""],
                      "distinct_id": ["u1", "u2", "u3", "u4"],
                      "timestamp": [1714528800, 1714528801, 1714528802, 1714528803]})
    pq.write_table(table, tmp_path / "e.parquet")
    result = run_import(tmp_path, tmp_path / "e.parquet")
    assert result.exit_code == 1 and "2 imported, 1 duplicates, 1 rejected" in result.output
    assert "e.parquet row 4: event: missing event" in result.output
    assert [(e["uuid"], e["event"]) for e in stored(tmp_path)] == [("a", "first"), ("b", "x")]
    store = connect(tmp_path / "store.duckdb")
    persons = store.duckdb.execute("SELECT distinct_id FROM persons ORDER BY 1").fetchall()
    store.close()
    assert persons == [("u1",), ("u3",)]  # no person for a row that was not imported


@pytest.mark.parametrize(("zone", "text", "expected"), [
    ("Europe/Berlin", "2024-07-01 10:00:00", at(2024, 7, 1, 8)),  # summer time
    ("Europe/Berlin", "2024-01-01 10:00:00", at(2024, 1, 1, 9)),
    ("Asia/Shanghai", "2000-01-01 10:00:00", at(2000, 1, 1, 2)),
    ("Asia/Shanghai", "1999-12-31 12:00:00", None),  # before 2000-01-01 UTC: rejected
])
def test_naive_times_in_zones_with_and_without_daylight_saving(tmp_path, zone, text, expected):
    table = pa.table({"event": ["a"], "distinct_id": ["u"], "timestamp": [text]})
    pq.write_table(table, tmp_path / "e.parquet")
    result = run_import(tmp_path, tmp_path / "e.parquet", args=("--timezone", zone))
    assert result.exit_code == (0 if expected else 1)
    assert [e["timestamp"] for e in stored(tmp_path)] == ([expected] if expected else [])


def test_clean_parquet_properties_kept_as_given_blank_is_empty(tmp_path):
    table = pa.table({"event": ["a", "b"], "distinct_id": ["u", "u"],
                      "timestamp": [1714528800, 1714528801],
                      "properties": ['{"$browser": "Chrome", "n": 1}', "  "]})
    pq.write_table(table, tmp_path / "e.parquet")
    assert run_import(tmp_path, tmp_path / "e.parquet").exit_code == 0
    assert [e["properties"] for e in stored(tmp_path)] == [{"$browser": "Chrome", "n": 1}, {}]
    store = connect(tmp_path / "store.duckdb")
    mat = store.duckdb.execute("SELECT mat_browser FROM events ORDER BY timestamp").fetchall()
    store.close()
    assert mat == [("Chrome",), (None,)]


# ----------------------------------------------------------------------------- property test
GOOD = st.fixed_dictionaries({
    "event": st.sampled_from(["pay", "view", "注册"]),
    "distinct_id": st.text("abc用户", min_size=1, max_size=4),
    "timestamp": st.integers(1_600_000_000, 1_700_000_000),
    "n": st.one_of(st.none(), st.integers(-5, 5), st.floats(-9, 9).map(lambda x: round(x, 2))),
})
BAD = st.one_of(
    GOOD.map(lambda r: {**r, "event": ""}),
    GOOD.map(lambda r: {**r, "timestamp": "soon"}),
    GOOD.map(lambda r: {**r, "timestamp": 12}),
    GOOD.map(lambda r: {k: v for k, v in r.items() if k != "distinct_id"}),
    GOOD.map(lambda r: {**r, "properties": "[1]"}),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.booleans(), GOOD, BAD), max_size=12))
def test_exactly_the_good_rows_are_imported(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("prop")
    lines = [good if ok else bad for ok, good, bad in rows]
    path = write_jsonl(tmp / "e.jsonl", lines)
    result = run_import(tmp, path)
    expected_good = [r for ok, r, _ in rows if ok]
    unique = {json.dumps(r, sort_keys=True) for r in expected_good}
    if lines and any(all(k not in r for r in lines) for k in ("event", "distinct_id")):
        # a key absent from every line is a missing column: the whole file is refused
        assert result.exit_code == 2 and stored(tmp) == []
        return
    assert result.exit_code == (1 if len(expected_good) < len(rows) else 0)
    got = stored(tmp)
    assert len(got) == len(unique)
    want = sorted(
        (r["event"], r["distinct_id"],
         dt.datetime.fromtimestamp(r["timestamp"], UTC).replace(tzinfo=None),
         json.dumps({"n": r["n"]} if r["n"] is not None else {}, sort_keys=True))
        for r in (json.loads(u) for u in unique))
    have = sorted((e["event"], e["distinct_id"], e["timestamp"],
                   json.dumps(e["properties"], sort_keys=True)) for e in got)
    assert have == want
