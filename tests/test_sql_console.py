"""The SQL console engine: one user SELECT over one project's rows, nothing else reachable.

Two projects live side by side in a real in-memory DuckDB with the store's schema; project 2's
values are all marked ``p2`` so a leak is visible in any result. Next to them sit the
workbench's own tables (accounts, sessions …), which no query may reach.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yunying.store.connection import init_schema
from yunying.store.schema import EVENT_COLUMNS
from yunying.store.sql_console import TABLES, SqlConsoleError, SqlResult, run_sql

P1, P2, P3 = 1, 2, 3
T0 = dt.datetime(2024, 3, 1, 12, 0)

# (project, uuid, event, distinct_id, person_id, minutes after T0, properties)
EVENTS = [
    (P1, "u1", "a", "d1", 1, 0, '{"plan": "free"}'),
    (P1, "u2", "a", "d1", 1, 5, '{"plan": "free"}'),
    (P1, "u3", "a", "d2", 2, 10, "{}"),
    (P1, "u4", "b", "d2", 2, 20, '{"plan": "pro"}'),
    (P1, "u5", "b", "d1", 1, 30, "{}"),
    (P2, "p2-u1", "a", "p2-d1", 11, 1, '{"secret": "p2"}'),
    (P2, "p2-u2", "p2-z", "p2-d1", 11, 2, "{}"),
    (P2, "p2-u3", "p2-z", "p2-d2", 12, 3, "{}"),
    (P2, "p2-u4", "p2-z", "p2-d3", 13, 4, "{}"),
]
PERSONS = [(P1, "d1", 1), (P1, "d2", 2), (P2, "p2-d1", 11), (P2, "p2-d2", 12), (P2, "p2-d3", 13)]
PROFILES = [(P1, 1, True, '{"name": "one"}'), (P1, 2, False, "{}"), (P2, 11, True, '{"name": "p2"}')]


def _load(con: duckdb.DuckDBPyConnection, events: Sequence[tuple], persons: Sequence[tuple] = (),
          profiles: Sequence[tuple] = ()) -> None:
    event_rows = [(p, u, e, d, pid, T0 + dt.timedelta(minutes=m), props, T0)
                  for p, u, e, d, pid, m, props in events]
    _insert(con, "events (project_id, uuid, event, distinct_id, person_id, timestamp, properties, "
                 "inserted_at)", event_rows)
    _insert(con, "persons", list(persons))
    _insert(con, "person_profiles", [(*row, T0) for row in profiles])


def _insert(con: duckdb.DuckDBPyConnection, target: str, rows: list[tuple]) -> None:
    """All ``rows`` in one statement (``executemany`` costs a statement per row)."""
    if rows:
        values = ", ".join("(" + ", ".join("?" * len(rows[0])) + ")" for _ in rows)
        con.execute(f"INSERT INTO {target} VALUES {values}", [v for row in rows for v in row])


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    init_schema(con)
    _load(con, EVENTS, PERSONS, PROFILES)
    con.execute("INSERT INTO projects VALUES (1, 'one', 'UTC', ?), (2, 'p2-two', 'UTC', ?)", [T0, T0])
    con.execute("INSERT INTO accounts VALUES (1, 'p2-admin', 'Admin', 'p2-hash', NULL, true, ?, NULL)", [T0])
    con.execute("INSERT INTO web_sessions VALUES ('p2-token', 1, 'p2-csrf', ?, ?)", [T0, T0])
    con.execute("INSERT INTO project_keys VALUES (2, 'secret', 'p2-sha', NULL, ?, NULL)", [T0])


@pytest.fixture(scope="module")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    """One database for the module: no test may change it (most of them assert exactly that)."""
    root = duckdb.connect()
    _fill(root)
    yield root
    root.close()


@pytest.fixture
def fresh_db() -> Iterator[duckdb.DuckDBPyConnection]:
    root = duckdb.connect()
    _fill(root)
    yield root
    root.close()


@pytest.fixture
def con(db: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the database, as the server hands one to each request."""
    cursor = db.cursor()
    yield cursor
    cursor.close()


def _state(con: duckdb.DuckDBPyConnection) -> tuple:
    """Everything a query could change or leave behind, as seen from ``con``."""
    return (
        con.execute("SELECT count(*) FROM memory.main.events").fetchall(),
        con.execute("SELECT project_id, count(*) FROM events GROUP BY ALL ORDER BY ALL").fetchall(),
        con.execute("SELECT database_name, schema_name, table_name, estimated_size FROM duckdb_tables() "
                    "ORDER BY ALL").fetchall(),
        con.execute("SELECT database_name, view_name FROM duckdb_views() WHERE NOT internal "
                    "ORDER BY ALL").fetchall(),
        con.execute("SELECT database_name FROM duckdb_databases() ORDER BY ALL").fetchall(),
        con.execute("SELECT sequence_name FROM duckdb_sequences()").fetchall(),
        con.execute("SELECT current_setting('search_path'), current_setting('threads'), "
                    "current_setting('TimeZone')").fetchall(),
        con.execute("SELECT * FROM accounts").fetchall(),
    )


def _no_open_transaction(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("BEGIN TRANSACTION")
    con.execute("ROLLBACK")


def _rejected(con: duckdb.DuckDBPyConnection, sql: str, project: int = P1) -> SqlConsoleError:
    with pytest.raises(SqlConsoleError) as info:
        run_sql(con, project, sql)
    return info.value


# ----------------------------------------------------------------------------- isolation
ISOLATION = [
    ("select count(*) from events", [(5,)], [(4,)]),
    ("SELECT COUNT(*) FROM EVENTS", [(5,)], [(4,)]),
    ('select count(*) from "Events"', [(5,)], [(4,)]),
    ("from events select count(*)", [(5,)], [(4,)]),
    ("select count(*) from persons", [(2,)], [(3,)]),
    ("select count(*) from person_profiles", [(2,)], [(1,)]),
    ("select event, count(*) from events group by event order by event",
     [("a", 3), ("b", 2)], [("a", 1), ("p2-z", 3)]),
    ("select count(*) from events e join persons p on e.distinct_id = p.distinct_id", [(5,)], [(4,)]),
    ("select count(*) from events e left join person_profiles pp using (person_id) "
     "where pp.is_identified", [(3,)], [(2,)]),
    ("select count(*) from (select * from events)", [(5,)], [(4,)]),
    ("select count(*) from (select * from (select * from events) x) y", [(5,)], [(4,)]),
    ("select (select count(*) from events) + (select count(*) from persons)", [(7,)], [(7,)]),
    ("with e as (select * from events) select count(*) from e", [(5,)], [(4,)]),
    ("with e as (select * from events), f as (select * from e where event = 'a') select count(*) from f",
     [(3,)], [(1,)]),
    # a CTE named like a table is the user's own; inside its body ``events`` is still the table
    ("with events as (select * from events where event = 'a') select count(*) from events", [(3,)], [(1,)]),
    ("with persons as (select 42 as n) select * from persons", [(42,)], [(42,)]),
    ("select count(*) from (select * from events union all select * from events)", [(10,)], [(8,)]),
    ("select count(*) from (select uuid from events union select distinct_id from persons)", [(7,)], [(7,)]),
    ("select count(*) from events where exists "
     "(select 1 from persons p where p.person_id = events.person_id)", [(5,)], [(4,)]),
    ("select count(*) from events where person_id in (select person_id from person_profiles)",
     [(5,)], [(2,)]),
    ("select count(distinct distinct_id), count(distinct person_id) from events", [(2, 2)], [(3, 3)]),
    ("select max(rn) from (select row_number() over (order by timestamp) rn from events)", [(5,)], [(4,)]),
    ("with recursive t(n) as (select 1 union all select n + 1 from t "
     "where n < (select count(*) from events)) select max(n) from t", [(5,)], [(4,)]),
    ("select count(*) from events e, lateral (select * from persons p where p.person_id = e.person_id)",
     [(5,)], [(4,)]),
    ("select count(*) from events, json_each(events.properties)", [(3,)], [(1,)]),
    ("select list(distinct event order by event) from events", [(["a", "b"],)], [(["a", "p2-z"],)]),
    ("select count from (summarize events) where column_name = 'uuid'", [(5,)], [(4,)]),
    ("select * from (pivot events on event in ('a') using count(*) group by person_id) order by 1",
     [(1, 2), (2, 1)], [(11, 1), (12, 0), (13, 0)]),
    ("select count(*) from events asof join persons p on events.person_id >= p.person_id", [(5,)], [(4,)]),
]


@pytest.mark.parametrize(("sql", "own", "other"), ISOLATION, ids=[s for s, _, _ in ISOLATION])
def test_each_project_sees_only_its_rows(con: duckdb.DuckDBPyConnection, sql: str, own: list,
                                         other: list) -> None:
    assert run_sql(con, P1, sql).rows == own
    assert run_sql(con, P2, sql).rows == other


def test_project_one_never_sees_project_two_values(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        result = run_sql(con, P1, f"select * from {table}")
        assert result.rows
        assert "p2" not in repr(result.rows), table
    assert run_sql(con, 99, "select count(*) from events").rows == [(0,)]


def test_tables_are_exposed_without_project_id(con: duckdb.DuckDBPyConnection) -> None:
    assert set(TABLES) == {"events", "persons", "person_profiles"}
    assert all(TABLES.values())
    columns = [name for name, _ in EVENT_COLUMNS if name != "project_id"]
    assert run_sql(con, P1, "select * from events limit 0").columns == columns
    assert [r[0] for r in run_sql(con, P1, "describe events").rows] == columns
    assert run_sql(con, P1, "select * from persons").columns == ["distinct_id", "person_id"]
    error = _rejected(con, "select project_id from events")
    assert error.code == "sql_error" and "project_id" in error.message


def test_temp_view_shadows_main_table_in_duckdb(con: duckdb.DuckDBPyConnection) -> None:
    """How DuckDB resolves names when a temporary view and a table share one (what the console uses).

    Unqualified names and even ``main.events`` reach the temporary view (the temp catalog's schema
    is called ``main`` as well); only the catalog-qualified name reaches the table. The console
    refuses every qualified name, so it depends on the first fact only.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE TEMP VIEW events AS SELECT * FROM memory.main.events WHERE project_id = 1")
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(5,)]
        assert con.execute("SELECT count(*) FROM main.events").fetchall() == [(5,)]
        assert con.execute("SELECT count(*) FROM temp.main.events").fetchall() == [(5,)]
        assert con.execute("SELECT count(*) FROM memory.main.events").fetchall() == [(9,)]
        con.execute("SET search_path = 'temp.main'")
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM accounts")
    finally:
        con.execute("ROLLBACK")
        con.execute("RESET search_path")
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(9,)]  # gone with the rollback


def test_store_file_whose_catalog_is_named_events(tmp_path: Path) -> None:
    """A store file ``events.duckdb`` is catalog ``events``: the views must still reach the table."""
    root = duckdb.connect(str(tmp_path / "events.duckdb"))
    try:
        _fill(root)
        cursor = root.cursor()
        assert run_sql(cursor, P1, "select count(*) from events").rows == [(5,)]
        assert run_sql(cursor, P2, "select count(*) from events").rows == [(4,)]
        assert _rejected(cursor, "select count(*) from events.main.events").code == "table_not_allowed"
        cursor.close()
    finally:
        root.close()
    read_only = duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True)  # e.g. the CLI
    try:
        assert run_sql(read_only.cursor(), P2, "select count(*) from events").rows == [(4,)]
    finally:
        read_only.close()


# ----------------------------------------------------------------------------- escapes
ESCAPES = {
    "table_not_allowed": [
        "select * from main.events",
        "select * from memory.main.events",
        "select * from memory.events",
        "select * from temp.events",
        "select * from temp.main.events",
        "select * from system.main.events",
        "select * from information_schema.tables",
        "select * from pg_catalog.pg_tables",
        "select * from duckdb_tables",
        "select * from duckdb_settings",
        "select * from sqlite_master",
        "select * from 'data.csv'",
        "select * from '/etc/passwd'",
        'select * from "events.csv"',
        "select * from accounts",
        "select * from projects",
        "select * from project_keys",
        "select * from ingest_rejects",
        "select * from web_sessions",
        "select * from schema_version",
        'select * from "évents"',
        "select count(*) from events union all select count(*) from main.events",
        "select (select count(*) from memory.main.events)",
        "with e as (select * from main.events) select * from e",
        "select * from events where person_id in (select person_id from main.persons)",
        "select * from events e join accounts a on true",
        "select * from events e, lateral (select * from accounts)",
        "select * from range((select count(*) from accounts))",
        "select exists (select * from web_sessions)",
        "describe accounts",
        "summarize projects",
        "pivot accounts on login in ('x') using count(*)",
        # names outside a CTE's scope are tables, not the CTE
        "select * from (with accounts as (select 1) select * from accounts) t, accounts",
        "with a as (select * from b), b as (select 1) select * from a",
        "with recursive t(n) as (select * from t union all select 1) select * from t",
    ],
    "function_not_allowed": [
        "select * from read_csv('/etc/passwd')",
        "select * from read_csv_auto('data.csv')",
        "select * from read_text('/etc/passwd')",
        "select * from read_blob('/etc/passwd')",
        "select * from read_parquet('x.parquet')",
        "select * from read_json('x.json')",
        "select * from glob('*')",
        "select * from query('select * from accounts')",
        "select * from query_table('accounts')",
        "select * from duckdb_settings()",
        "select * from duckdb_tables()",
        "select * from pragma_table_info('accounts')",
        "select * from sniff_csv('x.csv')",
        "select * from checkpoint()",
        "select * from main.range(3)",
        "select * from events, read_text('/etc/passwd')",
        "select current_setting('threads')",
        "select getvariable('x')",
        "select getenv('HOME')",
        "select current_database()",
        "select current_schema",
        "select current_catalog",
        "select stats(event) from events",
        "select nextval('s')",
        "select setseed(0.5)",
        "select write_log('x')",
        "select json_serialize_plan('select * from accounts')",
        "select make_type('inet')",
        "select sleep_ms(10)",
        "select pg_get_viewdef('events')",
        "select has_table_privilege('accounts', 'select')",
        "select main.upper('a')",
        "select system.main.upper('a')",
        "select count(*) from events where event = current_setting('TimeZone')",
        "select list_transform([1], lambda x: current_setting('threads'))",
        "select count(*) over (partition by current_setting('threads')) from events",
        "select * from events order by getvariable('x')",
        "select * from events limit (select current_setting('threads')::int)",
        "with a as (select current_setting('threads')) select * from a",
    ],
    "unknown_function": ["select st_area('x')", "select no_such_function(1)"],
    "type_not_allowed": ["select '1.1.1.1'::inet", "select 1::main.mytype",
                         "select cast(1 as memory.main.t)"],
    "unsupported": ["show tables", "show all tables", "show events", "select ?", "select $1",
                    "select * from events at (version => 1)"],
    "not_select": [
        "insert into events (project_id) values (1)",
        "update events set event = 'x'",
        "delete from events",
        "truncate events",
        "drop table events",
        "alter table events add column x int",
        "create table t as select * from events",
        "create temp view v as select 1",
        "create macro m(x) as x",
        "create sequence s",
        "attach ':memory:' as x",
        "detach memory",
        "use memory",
        "copy events to 'events.csv'",
        "copy (select * from accounts) to 'accounts.csv'",
        "export database 'dump'",
        "pragma version",
        "pragma table_info('accounts')",
        "set threads = 1",
        "reset threads",
        "set variable x = 1",
        "install httpfs",
        "load httpfs",
        "call pragma_version()",
        "checkpoint",
        "vacuum",
        "explain select * from accounts",
        "begin transaction",
        "commit",
        "with a as (select 1) insert into events (project_id) select * from a",
        "pivot events on event using count(*)",  # without IN it would create a type first
    ],
    "multiple_statements": ["select 1; drop table events", "select 1; select 2",
                            "select count(*) from events; select * from accounts"],
    "syntax": ["selec 1", "select from from", "select * from events where", "select 'unterminated"],
    "empty": ["", "   ", "-- just a comment", ";", "/* nothing */"],
}
ESCAPE_CASES = [(code, sql) for code, sqls in ESCAPES.items() for sql in sqls]


@pytest.mark.parametrize(("code", "sql"), ESCAPE_CASES, ids=[f"{c}:{s}" for c, s in ESCAPE_CASES])
def test_escape_attempts_are_refused_before_running(con: duckdb.DuckDBPyConnection, code: str,
                                                    sql: str) -> None:
    before = _state(con)
    error = _rejected(con, sql)
    assert error.code == code, error.message
    assert error.message and str(error) == error.message
    assert _state(con) == before
    _no_open_transaction(con)


def test_refusals_happen_before_anything_runs(con: duckdb.DuckDBPyConnection) -> None:
    """A refused query has no side effect even when its forbidden part comes after a slow one."""
    started = time.perf_counter()
    error = _rejected(con, "select count(*) from range(100000) a, range(100000) b, accounts")
    assert error.code == "table_not_allowed"
    assert time.perf_counter() - started < 1


def test_user_ctes_and_allowed_table_functions(con: duckdb.DuckDBPyConnection) -> None:
    assert run_sql(con, P1, "WITH Events AS (SELECT 1 AS x) SELECT * FROM EVENTS").rows == [(1,)]
    assert run_sql(con, P1, "with accounts as (select 7 as x) select * from accounts").rows == [(7,)]
    assert run_sql(con, P1, "select * from range(3)").rows == [(0,), (1,), (2,)]
    assert run_sql(con, P1, "select * from generate_series(1, 2) a, unnest([5]) b").rows == [(1, 5), (2, 5)]
    assert run_sql(con, P1, "select key from json_tree('{\"k\": 1}') where key = 'k'").rows == [("k",)]
    assert run_sql(con, P1, "values (1, 'x')").rows == [(1, "x")]


# ----------------------------------------------------------------------------- running
def test_columns_types_and_values(con: duckdb.DuckDBPyConnection) -> None:
    result = run_sql(
        con, P1,
        "select event, count(*) as n, max(timestamp) as last_seen, sum(person_id) as s, "
        "avg(person_id) as mean, 1.5::decimal(10, 2) as d, timestamp '2024-01-01 08:00' at time zone "
        "'Asia/Shanghai' as tz, {'k': [1]} as nested, uuid '00000000-0000-0000-0000-000000000001' as id "
        "from events group by event order by event",
    )
    assert isinstance(result, SqlResult)
    assert result.columns == ["event", "n", "last_seen", "s", "mean", "d", "tz", "nested", "id"]
    assert result.types == ["VARCHAR", "BIGINT", "TIMESTAMP", "HUGEINT", "DOUBLE", "DECIMAL(10,2)",
                            "TIMESTAMP WITH TIME ZONE", "STRUCT(k INTEGER[])", "UUID"]
    first = result.rows[0]
    assert first[:4] == ("a", 3, T0 + dt.timedelta(minutes=10), 4)
    assert first[5] == Decimal("1.50")
    assert first[6] == dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai, aware
    assert first[7] == {"k": [1]}
    assert str(first[8]) == "00000000-0000-0000-0000-000000000001"
    assert result.truncated is False
    assert result.elapsed_ms >= 0
    assert run_sql(con, P1, "select 1 as a, 2 as a").columns == ["a", "a"]


def test_row_cap_and_truncated(con: duckdb.DuckDBPyConnection) -> None:
    capped = run_sql(con, P1, "select * from range(100) t(i) order by i desc", row_cap=3)
    assert capped.rows == [(99,), (98,), (97,)] and capped.truncated
    exact = run_sql(con, P1, "select * from range(100)", row_cap=100)
    assert len(exact.rows) == 100 and not exact.truncated
    assert run_sql(con, P1, "select * from events", row_cap=5).truncated is False
    assert run_sql(con, P1, "select * from events", row_cap=4).truncated is True
    none = run_sql(con, P1, "select * from events", row_cap=0)
    assert none.rows == [] and none.truncated
    started = time.perf_counter()  # a huge result is never materialised
    huge = run_sql(con, P1, "select * from range(10000000000) t(i) where i % 7 = 0", row_cap=5)
    assert huge.rows == [(0,), (7,), (14,), (21,), (28,)] and huge.truncated
    assert time.perf_counter() - started < 2


def test_timeout_interrupts_a_slow_query(con: duckdb.DuckDBPyConnection) -> None:
    before = _state(con)
    started = time.perf_counter()
    error = _rejected_with(con, "select count(*) from range(1000000) a, range(1000000) b", timeout_ms=200)
    assert error.code == "timeout"
    assert time.perf_counter() - started < 3
    assert _state(con) == before
    _no_open_transaction(con)
    assert run_sql(con, P1, "select count(*) from events", timeout_ms=200).rows == [(5,)]


def _rejected_with(con: duckdb.DuckDBPyConnection, sql: str, **options: int) -> SqlConsoleError:
    with pytest.raises(SqlConsoleError) as info:
        run_sql(con, P1, sql, **options)
    return info.value


@pytest.mark.parametrize(("sql", "needle"), [
    ("select nope from events", "nope"),
    ("select error('boom')", "boom"),
    ("select * from events where timestamp > 'yesterday-ish'", "yesterday-ish"),
    ("select event from events group by person_id", "event"),
])
def test_duckdb_errors_become_sql_errors(con: duckdb.DuckDBPyConnection, sql: str, needle: str) -> None:
    before = _state(con)
    error = _rejected(con, sql)
    assert error.code == "sql_error"
    assert needle in error.message
    assert _state(con) == before
    _no_open_transaction(con)


def test_nothing_is_left_behind_on_the_cursor(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET search_path = 'memory.main'")  # a caller's own setting is put back as it was
    before = _state(con)
    run_sql(con, P1, "select count(*) from events")
    _rejected(con, "select nope from events")
    _rejected(con, "select * from accounts")
    assert _state(con) == before
    temp_views = "SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal"
    assert con.execute(temp_views).fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(9,)]  # the table, not a view
    assert con.execute("SELECT count(*) FROM duckdb_functions() WHERE database_name <> 'system'"
                       ).fetchall() == [(0,)]
    _no_open_transaction(con)


def test_cursor_inside_a_transaction_is_a_programming_error(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(RuntimeError):
        run_sql(con, P1, "select 1")
    con.execute("ROLLBACK")
    assert con.execute("SELECT current_setting('search_path')").fetchall() == [("",)]


@pytest.mark.parametrize("project", ["1", 1.0, True, None])
def test_project_id_must_be_an_integer(con: duckdb.DuckDBPyConnection, project: object) -> None:
    with pytest.raises(TypeError):
        run_sql(con, project, "select count(*) from events")  # type: ignore[arg-type]


def test_reads_while_a_writer_writes_on_another_cursor(fresh_db: duckdb.DuckDBPyConnection) -> None:
    writer, reader = fresh_db.cursor(), fresh_db.cursor()
    stop = threading.Event()
    written = [0]

    def write() -> None:
        while not stop.is_set():
            n = written[0]
            writer.execute("INSERT INTO events (project_id, uuid, event, distinct_id, person_id, timestamp, "
                           "properties) VALUES (2, ?, 'p2-w', 'p2-w', 99, ?, '{}')", [f"p2-w{n}", T0])
            written[0] += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for _ in range(30):
            assert run_sql(reader, P1, "select count(*), count(*) filter (where event like 'p2%') "
                                       "from events").rows == [(5, 0)]
    finally:
        stop.set()
        thread.join()
    assert written[0] > 0
    assert run_sql(reader, P2, "select count(*) from events").rows == [(4 + written[0],)]
    writer.close()
    reader.close()


# ----------------------------------------------------------------------------- property
EVENT_NAMES = ("view", "click", "pay")
QUERIES = {
    "count": "select count(*) from events",
    "count_where": "select count(*) from events where event = 'click'",
    "by_event": "select event, count(*) from events group by event",
    "distinct_persons": "select count(distinct person_id) from events",
    "distinct_ids_by_event": "select event, count(distinct distinct_id) from events group by all",
    "per_person": "with p as (select person_id, count(*) n from events group by person_id) "
                  "select n, count(*) from p group by n",
    "joined": "select p.person_id, count(*) from events e join persons p on e.distinct_id = p.distinct_id "
              "group by p.person_id",
}


def _expected(name: str, events: list[tuple], persons: list[tuple]) -> Counter:
    if name == "count":
        return Counter([(len(events),)])
    if name == "count_where":
        return Counter([(sum(e[2] == "click" for e in events),)])
    if name == "by_event":
        return Counter(Counter(e[2] for e in events).items())
    if name == "distinct_persons":
        return Counter([(len({e[4] for e in events}),)])
    if name == "distinct_ids_by_event":
        return Counter((ev, len({e[3] for e in events if e[2] == ev})) for ev in {e[2] for e in events})
    if name == "per_person":
        return Counter(Counter(Counter(e[4] for e in events).values()).items())
    owner = {d: pid for _, d, pid in persons}
    return Counter(Counter(owner[e[3]] for e in events if e[3] in owner).items())


event_rows = st.lists(
    st.tuples(st.sampled_from((P1, P2, P3)), st.sampled_from(EVENT_NAMES),
              st.sampled_from(("d1", "d2", "d3", "d4")), st.integers(1, 4)),
    max_size=25,
)


@settings(max_examples=20, deadline=None)
@given(rows=event_rows, query=st.sampled_from(sorted(QUERIES)))
def test_results_equal_a_brute_force_over_the_projects_own_rows(rows: list[tuple], query: str) -> None:
    events = [(p, f"u{i}", ev, d, pid, i, "{}") for i, (p, ev, d, pid) in enumerate(rows)]
    # each project maps a distinct_id to its own person (different per project on purpose)
    persons = [(p, d, 10 * p + k) for p in (P1, P2, P3) for k, d in enumerate(("d1", "d2", "d3"))]
    root = duckdb.connect()
    try:
        init_schema(root)
        _load(root, events, persons)
        cursor = root.cursor()
        for project in (P1, P2, P3):
            own_events = [e for e in events if e[0] == project]
            own_persons = [p for p in persons if p[0] == project]
            result = run_sql(cursor, project, QUERIES[query])
            assert Counter(result.rows) == _expected(query, own_events, own_persons), project
    finally:
        root.close()
