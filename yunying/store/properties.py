"""Property lookups as expressions, the same rule on every engine (docs/metrics.md,
'Property values').

The string form of a top-level key comes from the materialised column when the store has one
(``schema.MATERIALIZED_PROPERTIES``), else from the JSON text, via the engine's own JSON
function: DuckDB ``json_extract_string`` with an RFC 6901 pointer (exact for any key), Spark
``from_json`` into a ``map<string,string>`` looked up by the key. The key always travels as a
literal value, never as SQL text.
"""

from __future__ import annotations

import json

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from yunying.store.schema import MATERIALIZED_PROPERTIES


@ibis.udf.scalar.builtin(name="json_extract_string")
def _duckdb_json_string(doc: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's JSON lookup; the body is never called."""


_STRING_MAP = dt.Map(dt.string, dt.string)


@ibis.udf.scalar.builtin(name="from_json")
def _spark_json_map(doc: str, schema: str) -> _STRING_MAP:  # type: ignore[valid-type,empty-body]
    """Spark's JSON parser into a string map; the body is never called."""


def json_pointer(key: str) -> str:
    """RFC 6901 pointer for a top-level key: exact for any key ('/', '~', '.', quotes, 中文)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def property_string(table: ir.Table, key: str, engine: str) -> ir.StringValue:
    """The string form of property ``key`` for every row of ``table`` (null when absent)."""
    column = MATERIALIZED_PROPERTIES.get(key)
    if column is not None:
        return table[column]
    return json_string(table, key, engine)


def json_string(table: ir.Table, key: str, engine: str) -> ir.StringValue:
    """The string form of key ``key`` of the JSON object in ``table.properties`` (any table with
    such a column: events, person profiles), by the same lookup events use."""
    if engine == "spark":
        return _spark_json_map(table.properties, "map<string,string>")[ibis.literal(key)]
    return _duckdb_json_string(table.properties, ibis.literal(json_pointer(key)))


def string_form_of_literal(value: object, engine: str) -> ir.StringValue:
    """The string form the engine gives a JSON scalar ``value`` (e.g. ``2.0`` -> "2.0").

    Filter values that are numbers or booleans are turned into text by the same JSON lookup
    as stored properties, so a filter ``eq 2.0`` matches a stored ``2.0`` exactly.
    """
    if isinstance(value, str):
        return ibis.literal(value, "string")
    doc = ibis.literal(json.dumps({"v": value}), "string")
    if engine == "spark":
        return _spark_json_map(doc, "map<string,string>")[ibis.literal("v")]
    return _duckdb_json_string(doc, ibis.literal("/v"))


# A decimal number as docs/metrics.md defines it: optional blanks, sign, digits with an
# optional point, optional exponent. Engines' own casts disagree on 'nan', 'inf', '1_000'.
DECIMAL_NUMBER = r"^[ \t\n\r\f\v]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r\f\v]*$"


def property_number(table: ir.Table, key: str, engine: str) -> ir.FloatingValue:
    """The numeric value of property ``key``: its string form read as a number, else null."""
    text = property_string(table, key, engine)
    return ibis.ifelse(text.re_search(DECIMAL_NUMBER), text.try_cast("float64"), ibis.null("float64"))
