"""The engine of the read-only SQL console (自定义查询): one analyst SELECT over one project's data.

Contract
--------
``run_sql(con, project_id, sql)`` runs ``sql`` — exactly one SELECT written by a user — and returns
at most ``row_cap`` rows of it (:class:`SqlResult`). The query sees three tables, :data:`TABLES`
(``events``, ``persons``, ``person_profiles``), each holding only the rows of ``project_id`` and
without the ``project_id`` column. It cannot read another project's rows, another table, a file, a
setting or a variable, and it cannot change anything. Anything the user did wrong raises
:class:`SqlConsoleError` whose ``code`` is one of:

=======================  =====================================================================
``empty``                no statement at all
``syntax``               DuckDB's parser refused the text (its message is kept)
``multiple_statements``  more than one statement (``select 1; drop table events``)
``not_select``           a statement other than SELECT (INSERT, CREATE, ATTACH, COPY, PRAGMA, SET,
                         INSTALL, LOAD, EXPORT, CALL, EXPLAIN, PIVOT without an ``IN`` list …)
``table_not_allowed``    a table that is not in :data:`TABLES`, or any schema/catalog qualifier
``function_not_allowed`` a table function outside :data:`ALLOWED_TABLE_FUNCTIONS`, a denied
                         function (:data:`DENIED_FUNCTIONS`), or a qualified function name
``unknown_function``     a function that is not a built-in of this DuckDB
``type_not_allowed``     a type that is not a built-in of this DuckDB (``::inet``) or is qualified
``unsupported``          a construct the console does not run (``SHOW TABLES``, ``?`` parameters,
                         time travel ``AT (...)``, syntax this module does not know)
``timeout``              the query ran longer than ``timeout_ms`` and was interrupted
``cancelled``            the query was interrupted by someone else (``con.interrupt()``)
``sql_error``            DuckDB refused or failed the query while running it (unknown column,
                         wrong types, ``error()`` …); the message is DuckDB's
=======================  =====================================================================

Programming errors (a non-integer ``project_id``, a cursor already inside a transaction) raise
``TypeError``/``ValueError``/``RuntimeError``, never :class:`SqlConsoleError`.

Why the boundary is an AST check on DuckDB's own parser
-------------------------------------------------------
The text that is checked is the text that runs, parsed by the same parser: the statement is
classified with ``con.extract_statements`` and its tree read from ``json_serialize_sql`` — both are
DuckDB's parser — and then the *unchanged* text is executed. A regular expression or another SQL
parser (sqlglot's dialect is not DuckDB's grammar) would disagree with DuckDB on some input —
FROM-first queries, ``FROM 'file.csv'`` string references, replacement scans, ``query()`` and
``read_text()`` table functions, comments and dollar quoting — and every disagreement is a way out.
With DuckDB's own tree there is nothing to disagree about; what remains is to walk *all* of it:

* **tables** — every base-table reference must be an unqualified name that is either a CTE in
  scope at that point or one of :data:`TABLES`. Any schema or catalog (``main.events``,
  ``memory.events``, ``temp.x``, ``information_schema.tables``, ``pg_catalog.pg_tables``) and any
  other name (``duckdb_tables``, ``accounts``, ``'file.csv'``) is refused. CTE scope follows DuckDB:
  a CTE is visible in the body of its WITH and in the CTEs defined *after* it; a recursive CTE also
  sees itself in its recursive term. When in doubt the walk assumes a name is *not* a CTE, so the
  worst a mistake can do is refuse a query or read the user's own CTE — never a catalog table.
  Names are compared case-insensitively on ASCII letters only, as DuckDB does.
* **table functions** — refused unless in :data:`ALLOWED_TABLE_FUNCTIONS` (``range``,
  ``generate_series``, ``unnest``, ``json_each``, ``json_tree``: they only compute from their
  arguments). That shuts ``read_csv``, ``read_parquet``, ``read_text``, ``read_blob``, ``glob``,
  ``query``, ``query_table``, ``sniff_csv``, every ``duckdb_*``/``pragma_*`` listing, ``checkpoint``.
* **scalar, aggregate and window functions** — must be unqualified, must not be in the deny-list
  (:data:`DENIED_FUNCTIONS`, :data:`DENIED_PREFIXES`), and must be a built-in of this DuckDB
  (``system.main`` in ``duckdb_functions()``). Denied: settings and variables (``current_setting``,
  ``getvariable``, ``getenv``); catalog introspection (``current_database``, ``current_catalog``,
  ``current_schema(s)``, ``in_search_path``, ``get_block_size``, ``index_key``, the ``pg_*`` and
  ``has_*_privilege`` compatibility functions); state changes (``nextval``, ``currval``,
  ``setval``, ``setseed``, ``write_log``); ``stats`` (it reports the *base table's* statistics, i.e.
  min/max over every project); ``json_serialize_plan`` (binds SQL given as a string, bypassing this
  check); ``make_type`` (looks a type up by name and installs extensions); sleeps; query and
  connection ids; and, as a net under the table-function rule, file readers. Requiring a built-in
  also means an unknown name can never make DuckDB auto-install an extension from the network.
* **types** in casts must be built-ins too (``'x'::inet`` would auto-install an extension).
* anything the walk does not recognise (a new kind of node, ``SHOW TABLES``) is refused.

Behind the check, the query runs so that even a mistake in it reaches nothing else:

* inside a transaction that is always rolled back (nothing it could write survives);
* with ``events``, ``persons``, ``person_profiles`` as temporary views
  ``SELECT * EXCLUDE (project_id) FROM "<catalog>".main.<table> WHERE project_id = <int>`` — the
  integer comes from the caller, never from the text. Temporary objects are private to the cursor
  and, created inside the transaction, vanish with the rollback;
* with ``search_path`` set to ``temp.main`` for the duration (restored afterwards), so an
  unqualified name can only resolve to those views: the application's own tables (``accounts``,
  ``web_sessions`` …) are not found even if the walk let one through.

DuckDB resolves an unqualified name to a temporary object before the main schema (temp shadows
main), and — found while writing this — a ``main.events`` reference *also* resolves to the temporary
view, because the temp catalog's schema is called ``main`` too; only a catalog-qualified reference
(``memory.main.events``) reaches the table. Qualified names are refused anyway, so the console does
not depend on that.

The checked text is run with ``con.sql`` (a relation: DuckDB's parser again, no text is added to
it). Time limit: a ``threading.Timer`` calls ``con.interrupt()`` after ``timeout_ms``; it covers
binding, running and fetching. Row cap: the relation gets a ``LIMIT row_cap + 1`` plan node, so a
huge result is never produced; the extra row only tells whether there were more (``truncated``).

Values are DuckDB's own Python values (``datetime``, ``date``, ``Decimal``, ``UUID``, ``timedelta``,
lists, dicts …; ``HUGEINT`` sums are ``int``); the caller formats them. ``types`` are DuckDB's type
names (``BIGINT``, ``TIMESTAMP``, ``DECIMAL(18,3)``). One exception: DuckDB needs ``pytz`` to
convert ``TIMESTAMP WITH TIME ZONE``, which yunying does not depend on, so such a column comes back
as aware ``datetime`` values in UTC, and ``TIME WITH TIME ZONE`` (or a list/struct holding a time
zone) as DuckDB's text; ``types`` still names the query's type.

Known limit of the function check: Python UDFs registered with ``create_function`` are listed as
built-ins (``system.main``) by DuckDB, so they would be callable; yunying registers none.

``con`` is a cursor that nobody else uses during the call (one cursor per request); the server's
writer works on its own cursor and is not affected: the views, the transaction and the search path
belong to this cursor alone.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import duckdb

__all__ = [
    "ALLOWED_TABLE_FUNCTIONS",
    "DENIED_FUNCTIONS",
    "DENIED_PREFIXES",
    "TABLES",
    "SqlConsoleError",
    "SqlResult",
    "run_sql",
]

TABLES: dict[str, str] = {
    "events": "One row per event of the project: uuid, event, distinct_id, person_id, timestamp "
              "(UTC), properties (JSON text), the materialised mat_* property columns, inserted_at.",
    "persons": "Which distinct_id belongs to which person: distinct_id, person_id.",
    "person_profiles": "What is known of each person: person_id, is_identified, properties (JSON "
                       "text), updated_at.",
}

# Table functions that only compute from their arguments.
ALLOWED_TABLE_FUNCTIONS: frozenset[str] = frozenset(
    {"range", "generate_series", "unnest", "json_each", "json_tree"}
)

DENIED_FUNCTIONS: frozenset[str] = frozenset({
    # settings, variables, the environment
    "current_setting", "getvariable", "getenv",
    # names and internals of the database, its catalog and the session
    "current_database", "current_catalog", "current_schema", "current_schemas", "in_search_path",
    "get_block_size", "index_key", "current_query", "current_query_id", "current_connection_id",
    "current_transaction_id", "txid_current", "which_secret",
    # statistics of the base tables (min/max over every project's rows)
    "stats",
    # changes to state: sequences, the random seed, the log
    "nextval", "currval", "setval", "setseed", "write_log",
    # SQL given as a string, types given by name (installs extensions)
    "json_serialize_plan", "json_execute_serialized_sql", "query", "query_table", "make_type",
    # files
    "read_text", "read_blob", "read_csv", "read_csv_auto", "read_parquet", "read_json", "glob",
    "sniff_csv", "parquet_scan",
    # waiting
    "sleep_ms", "pg_sleep",
})
DENIED_PREFIXES: tuple[str, ...] = (
    "duckdb_", "pragma_", "pg_", "has_", "read_", "parquet_", "sqlite_", "postgres_", "mysql_",
    "iceberg_", "delta_", "__",
)
# Bare words the binder turns into calls of the function of the same name (``SELECT current_schema``).
_DENIED_KEYWORD_COLUMNS: frozenset[str] = frozenset({"current_catalog", "current_schema"})
# Written like functions, bound by the binder itself (not listed in duckdb_functions()).
_BINDER_FUNCTIONS: frozenset[str] = frozenset({"unnest", "unlist"})

_EXPRESSION_CLASSES = frozenset({
    "FUNCTION", "WINDOW", "COLUMN_REF", "CONSTANT", "CAST", "COMPARISON", "CONJUNCTION", "OPERATOR",
    "CASE", "STAR", "SUBQUERY", "LAMBDA", "LAMBDA_REF", "BETWEEN", "COLLATE", "POSITIONAL_REFERENCE",
    "TYPE", "PARAMETER",
})
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE"})
_PLAIN_TABLE_REFS = frozenset({"SUBQUERY", "JOIN", "EXPRESSION_LIST", "EMPTY", "PIVOT"})
# Every kind of table reference DuckDB has; the ones not handled above are refused.
_TABLE_REFS = _PLAIN_TABLE_REFS | {
    "BASE_TABLE", "TABLE_FUNCTION", "SHOW_REF", "COLUMN_DATA", "DELIM_GET", "BOUND_REF", "CTE", "INVALID",
}
_SHOW_TYPES = frozenset({"DESCRIBE", "SUMMARY"})
# Keys that only appear on nodes the walk handles itself; elsewhere they mean an unknown node.
_NAMING_KEYS = ("table_name", "function_name", "type_name", "schema_name", "catalog_name")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class SqlResult:
    columns: list[str]
    types: list[str]          # DuckDB type names
    rows: list[tuple]         # at most row_cap rows, plain Python values
    truncated: bool           # True when more rows existed than row_cap
    elapsed_ms: float


class SqlConsoleError(ValueError):
    """A query the console will not run or that failed; ``code`` is stable, ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def run_sql(
    con: duckdb.DuckDBPyConnection,
    project_id: int,
    sql: str,
    *,
    row_cap: int = 10_000,
    timeout_ms: int = 10_000,
) -> SqlResult:
    """Run one user SELECT over ``project_id``'s rows of :data:`TABLES` (see the module docstring)."""
    if not isinstance(project_id, int) or isinstance(project_id, bool):
        raise TypeError(f"project_id must be an int, not {type(project_id).__name__}")
    if not isinstance(sql, str):
        raise TypeError(f"sql must be a str, not {type(sql).__name__}")
    if row_cap < 0:
        raise ValueError("row_cap must be >= 0")
    if timeout_ms <= 0:
        raise ValueError("timeout_ms must be > 0")

    _check(con, sql)

    catalog = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    search_path = con.execute("SELECT current_setting('search_path')").fetchone()[0]  # type: ignore[index]
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException as exc:
        raise RuntimeError("run_sql needs a cursor that is not inside a transaction") from exc
    try:
        for table in TABLES:
            con.execute(
                f"CREATE TEMP VIEW {_ident(table)} AS SELECT * EXCLUDE (project_id) "
                f"FROM {_ident(catalog)}.main.{_ident(table)} WHERE project_id = {int(project_id):d}"
            )
        con.execute("SET search_path = 'temp.main'")
        return _execute(con, sql, row_cap, timeout_ms)
    finally:
        try:
            con.execute("ROLLBACK")
        finally:
            if search_path:
                con.execute(f"SET search_path = {_literal(search_path)}")
            else:
                con.execute("RESET search_path")


# ----------------------------------------------------------------------------- running
def _execute(con: duckdb.DuckDBPyConnection, sql: str, row_cap: int, timeout_ms: int) -> SqlResult:
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(timeout_ms / 1000, stop)
    timer.daemon = True
    started = time.perf_counter()
    timer.start()
    try:
        relation = con.sql(sql)  # the checked text itself, bound but not run yet
        columns = list(relation.columns)
        types = [str(t) for t in relation.types]
        relation, utc_columns = _without_time_zones(relation, types)
        rows = relation.limit(row_cap + 1).fetchall()  # LIMIT on the plan: never more is produced
    except duckdb.InterruptException as exc:
        if fired.is_set():
            raise SqlConsoleError(
                "timeout",
                f"the query ran longer than {timeout_ms / 1000:g} s and was stopped; filter on "
                "timestamp, aggregate, or add a LIMIT",
            ) from exc
        raise SqlConsoleError("cancelled", "the query was cancelled") from exc
    except duckdb.Error as exc:
        raise SqlConsoleError("sql_error", str(exc)) from exc
    finally:
        timer.cancel()
        timer.join()
    elapsed_ms = (time.perf_counter() - started) * 1000
    if utc_columns:
        rows = [_with_utc(row, utc_columns) for row in rows]
    return SqlResult(columns=columns, types=types, rows=rows[:row_cap], truncated=len(rows) > row_cap,
                     elapsed_ms=elapsed_ms)


def _without_time_zones(
    relation: duckdb.DuckDBPyRelation, types: list[str]
) -> tuple[duckdb.DuckDBPyRelation, frozenset[int]]:
    """``relation`` with values DuckDB's Python conversion can make without ``pytz``.

    DuckDB turns ``TIMESTAMP WITH TIME ZONE`` into aware datetimes through ``pytz``, which is not a
    dependency: such a column is read as its UTC wall time (``timezone('UTC', col)``) and made aware
    again in Python (:func:`_with_utc`); other types holding a time zone (``TIMETZ``, lists of
    ``TIMESTAMPTZ`` …) are read as DuckDB's text. ``types`` keeps the type of the query.
    """
    if not any("TIME ZONE" in t for t in types):
        return relation, frozenset()
    expressions, utc = [], set()
    for index, sqltype in enumerate(types):
        if sqltype == "TIMESTAMP WITH TIME ZONE":
            expressions.append(f"timezone('UTC', #{index + 1})")
            utc.add(index)
        elif "TIME ZONE" in sqltype:
            expressions.append(f"CAST(#{index + 1} AS VARCHAR)")
        else:
            expressions.append(f"#{index + 1}")
    return relation.project(", ".join(expressions)), frozenset(utc)


def _with_utc(row: tuple, columns: frozenset[int]) -> tuple:
    return tuple(
        v.replace(tzinfo=dt.UTC) if i in columns and isinstance(v, dt.datetime) else v
        for i, v in enumerate(row)
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fold(name: str) -> str:
    """A name as DuckDB compares it: case-insensitive on ASCII letters only."""
    return name.translate(_ASCII_LOWER)


# ----------------------------------------------------------------------------- checking
def _check(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse ``sql`` unless it is one SELECT that reads only what the console allows."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlConsoleError("syntax", str(exc)) from exc
    if not statements:
        raise SqlConsoleError("empty", "write a SELECT query, e.g. SELECT event, count(*) FROM events "
                                       "GROUP BY event")
    if len(statements) > 1:
        raise SqlConsoleError("multiple_statements",
                              f"write exactly one SELECT query (found {len(statements)} statements)")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        what = "PIVOT without an IN list" if kind == duckdb.StatementType.MULTI else f"{kind.name}"
        raise SqlConsoleError("not_select", f"only SELECT queries can run here ({what} cannot); the "
                                            "console reads data and never changes it")

    raw = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()[0]  # type: ignore[index]
    try:
        tree = json.loads(raw)
    except RecursionError as exc:
        raise SqlConsoleError("unsupported", "the query is nested too deeply") from exc
    if tree.get("error"):
        code = "syntax" if tree.get("error_type") == "parser" else "not_select"
        raise SqlConsoleError(code, str(tree.get("error_message", "the query cannot be read")))
    if len(tree.get("statements", [])) != 1:
        raise SqlConsoleError("multiple_statements", "write exactly one SELECT query")

    walk = _Walk()
    walk.run(tree["statements"][0]["node"])
    functions = walk.functions - _BINDER_FUNCTIONS
    unknown = sorted(functions - _builtins(con, "functions", functions))
    if unknown:
        raise SqlConsoleError("unknown_function", f"no built-in function named {unknown[0]}()")
    unknown = sorted(walk.types - _builtins(con, "types", walk.types))
    if unknown:
        raise SqlConsoleError("type_not_allowed", f"no built-in type named {unknown[0]}")


def _denied(name: str) -> bool:
    return name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)


class _Walk:
    """One pass over the whole tree (iterative: deep queries must not hit Python's recursion limit).

    Collects the function and type names for the built-in check that follows.
    """

    def __init__(self) -> None:
        self.functions: set[str] = set()
        self.types: set[str] = set()
        self._stack: list[tuple[Any, frozenset[str]]] = []

    def run(self, root: Any) -> None:
        self._stack.append((root, frozenset()))
        while self._stack:
            node, scope = self._stack.pop()
            if isinstance(node, list):
                self._stack.extend((item, scope) for item in node)
            elif isinstance(node, dict):
                self._node(node, scope)

    def _push_values(self, node: dict[str, Any], scope: frozenset[str], *skip: str) -> None:
        self._stack.extend((value, scope) for key, value in node.items() if key not in skip)

    def _node(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        kind = node.get("type")
        kind = kind if isinstance(kind, str) else ""  # constants carry {"type": {"id": ...}}
        if "class" in node:
            self._expression(node, scope)
        elif kind in _QUERY_NODES:
            self._query_node(node, scope)
        elif kind in _TABLE_REFS or (kind and "sample" in node and "alias" in node):
            self._table_ref(node, scope)
        elif kind.endswith("_NODE") or any(k in node for k in _NAMING_KEYS):
            raise SqlConsoleError("unsupported", f"the console does not run {node.get('type', 'this')}")
        else:
            self._push_values(node, scope)

    # -- query nodes: CTE scope
    def _query_node(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        visible = set(scope)
        for entry in (node.get("cte_map") or {}).get("map", []):
            self._stack.append((entry["value"], frozenset(visible)))  # sees only earlier CTEs
            visible.add(_fold(entry["key"]))
        inner = frozenset(visible)
        if node["type"] == "RECURSIVE_CTE_NODE":
            self._stack.append((node.get("left"), inner))
            self._push_values(node, inner | {_fold(node["cte_name"])}, "cte_map", "left")
        else:
            self._push_values(node, inner, "cte_map")

    # -- table references
    def _table_ref(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        kind = node["type"]
        if kind == "BASE_TABLE":
            name = node.get("table_name", "")
            path = (node.get("qualified_name") or {}).get("path", [name])
            if node.get("schema_name") or node.get("catalog_name") or len(path) > 1:
                raise SqlConsoleError(
                    "table_not_allowed",
                    f"write the table name alone, without a schema or database ({'.'.join(path)}); "
                    f"tables: {', '.join(TABLES)}",
                )
            if node.get("at_clause"):
                raise SqlConsoleError("unsupported", "time travel (AT ...) is not supported")
            folded = _fold(name)
            if folded not in scope and folded not in TABLES:
                raise SqlConsoleError(
                    "table_not_allowed", f"no table {name!r} here; tables: {', '.join(TABLES)}"
                )
            self._push_values(node, scope, "table_name", "qualified_name")
        elif kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = _fold(str(function.get("function_name", "")))
            qualified = (function.get("qualified_name") or {}).get("path", [name])
            if (function.get("class") != "FUNCTION" or function.get("schema") or function.get("catalog")
                    or len(qualified) > 1 or name not in ALLOWED_TABLE_FUNCTIONS):
                raise SqlConsoleError(
                    "function_not_allowed",
                    f"table function {'.'.join(qualified)}() is not available; allowed in FROM: "
                    f"{', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))}",
                )
            self._push_values(function, scope, "function_name", "qualified_name")
            self._push_values(node, scope, "function")
        elif kind == "SHOW_REF":
            if node.get("show_type") not in _SHOW_TYPES or not node.get("query") or node.get("table_name"):
                raise SqlConsoleError("unsupported", "SHOW is not available; the tables are "
                                                     f"{', '.join(TABLES)} (DESCRIBE events shows columns)")
            self._stack.append((node["query"], scope))
        elif kind in _PLAIN_TABLE_REFS:
            self._push_values(node, scope)
        else:
            raise SqlConsoleError("unsupported", f"the console does not run {kind} in FROM")

    # -- expressions
    def _expression(self, node: dict[str, Any], scope: frozenset[str]) -> None:
        cls = node["class"]
        if cls not in _EXPRESSION_CLASSES:
            raise SqlConsoleError("unsupported", f"the console does not run {cls} expressions")
        if cls in ("FUNCTION", "WINDOW"):
            name = _fold(str(node.get("function_name", "")))
            path = (node.get("qualified_name") or {}).get("path", [name])
            if node.get("schema") or node.get("catalog") or len(path) > 1:
                raise SqlConsoleError("function_not_allowed",
                                      f"write the function name alone, without a schema ({'.'.join(path)})")
            if _denied(name):
                raise SqlConsoleError("function_not_allowed", f"{name}() is not available in the console")
            self.functions.add(name)
            self._push_values(node, scope, "function_name", "qualified_name")
            return
        if cls == "TYPE":
            name = str(node.get("type_name", ""))
            path = (node.get("qualified_name") or {}).get("path", [name])
            if len(path) > 1:
                raise SqlConsoleError("type_not_allowed", f"write the type name alone ({'.'.join(path)})")
            self.types.add(_fold(name))
            self._push_values(node, scope, "type_name", "qualified_name")
            return
        if cls == "PARAMETER":
            raise SqlConsoleError("unsupported", "parameters (?, $1) are not supported; write the values")
        if cls == "COLUMN_REF":
            names = node.get("column_names") or []
            if len(names) == 1 and _fold(str(names[0])) in _DENIED_KEYWORD_COLUMNS:
                raise SqlConsoleError("function_not_allowed", f"{names[0]} is not available in the console")
        self._push_values(node, scope)


# ----------------------------------------------------------------------------- built-ins
_builtin_cache: dict[str, frozenset[str]] = {}
_builtin_lock = threading.Lock()
_BUILTIN_QUERIES = {
    "functions": "SELECT DISTINCT lower(function_name) FROM duckdb_functions() "
                 "WHERE database_name = 'system' AND schema_name = 'main' "
                 "AND function_type IN ('scalar', 'aggregate', 'window', 'macro')",
    "types": "SELECT DISTINCT lower(type_name) FROM duckdb_types() WHERE database_name = 'system'",
}


def _builtins(con: duckdb.DuckDBPyConnection, kind: str, wanted: set[str]) -> frozenset[str]:
    """The built-in names of ``kind``; read again from ``con`` when one of ``wanted`` is missing.

    ``duckdb_functions()`` takes ~20 ms, so the list is cached; a name missing from the cache (an
    extension loaded since) makes one fresh read before the name is refused.
    """
    with _builtin_lock:
        known = _builtin_cache.get(kind)
    if known is not None and wanted <= known:
        return known
    fresh = frozenset(row[0] for row in con.execute(_BUILTIN_QUERIES[kind]).fetchall())
    with _builtin_lock:
        _builtin_cache[kind] = fresh
    return fresh
