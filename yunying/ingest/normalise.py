"""Rows of a :class:`~yunying.ingest.sources.Source` -> canonical events + a reason per bad row.

:func:`normalise_sql` builds one SELECT, run inside DuckDB, yielding for every row:
``_line``, ``_field``, ``_reason`` (both NULL for a good row) and the canonical columns
``uuid, event, distinct_id, timestamp, properties``. The rules (see ``docs/import.md``):

* ``event``, ``distinct_id``: any scalar, as text; missing, NULL or blank text → rejected.
* ``timestamp``: :mod:`yunying.ingest.timestamps`.
* ``uuid``: optional text; blank means absent. Absent → a content hash: the MD5 of
  event, distinct_id, timestamp in epoch microseconds and the stored properties text, joined
  by U+001F, in UUID form. So re-importing a file never duplicates its events.
* ``properties``: optional JSON object (text or a struct). Every other column / key is a
  property too, keeping its JSON type; NULL, blank text, NaN and ±Inf cells are left out;
  a column overrides the key of the same name inside ``properties`` (RFC 7396 merge).

Column names and keys reach SQL only as quoted identifiers or bound parameters.
"""

from __future__ import annotations

import json

from yunying.ingest import timestamps
from yunying.ingest.sources import LINE, TEXT, Source, quote_ident

KNOWN = ("event", "distinct_id", "timestamp", "uuid", "properties")
_FIELDS = (
    ("row", "NOT _obj", "not a JSON object"),
    ("event", "event IS NULL", "missing event"),
    ("distinct_id", "distinct_id IS NULL", "missing distinct_id"),
    ("timestamp", "_ts_reason IS NOT NULL", None),
    ("uuid", "_uuid_bad", "uuid must be text"),
    ("properties", "_props_bad", "properties is not a JSON object"),
)


def normalise_sql(source: Source, *, valid: bool = False) -> tuple[str, dict[str, object]]:
    """The SELECT over ``source`` described in the module docstring, and its parameters.

    Needs ``$tz`` and ``$now`` bound by the caller in addition to the returned parameters.
    ``valid=True`` is for a source already known to have no bad row (every ``_reason`` NULL):
    the same canonical values, computed without checks that cannot fail (a ``properties``
    text is then stored as given, not parsed to see whether it is an object).
    """
    inner, params = (_objects(source) if source.objects else _tabular(source, valid))
    field = "CASE " + " ".join(f"WHEN {cond} THEN '{name}'" for name, cond, _ in _FIELDS) + " END"
    reason = "CASE " + " ".join(
        f"WHEN {cond} THEN " + (f"'{text}'" if text else "_ts_reason") for _, cond, text in _FIELDS
    ) + " END"
    content_hash = ("md5(concat_ws(chr(31), event, distinct_id, epoch_us(_ts)::VARCHAR, "
                    "properties))::UUID::VARCHAR")
    sql = f"""
        WITH src AS ({source.sql}),
        n AS ({inner}),
        v AS (SELECT *, {timestamps.reason_expr('_ts_missing', '_ts')} AS _ts_reason FROM n)
        SELECT {LINE} AS _line, {field} AS _field, {reason} AS _reason,
               coalesce(_uuid, {content_hash}) AS uuid, event, distinct_id,
               _ts AS "timestamp", properties
        FROM v"""
    return sql, {**source.params, **params}


def _nonblank(text_sql: str) -> str:
    """``text_sql``, or NULL when it is empty or only spaces/tabs (trim only for those cases)."""
    t = text_sql
    # nested CASE, not AND: DuckDB may reorder the operands of AND and trim every value
    return (f"CASE WHEN {t} = '' THEN NULL WHEN left({t}, 1) IN (' ', chr(9)) THEN "
            f"CASE WHEN trim({t}) = '' THEN NULL ELSE {t} END ELSE {t} END")


def _tabular(source: Source, valid: bool = False) -> tuple[str, dict[str, object]]:
    cols = source.columns
    col = {name: f"src.{quote_ident(name)}" for name in cols}
    ts_type = cols["timestamp"]
    uuid_sql, uuid_bad = "NULL::VARCHAR", "false"
    if "uuid" in cols:
        if cols["uuid"] == "UUID":
            uuid_sql = f"{col['uuid']}::VARCHAR"
        elif cols["uuid"] == "VARCHAR":
            uuid_sql = _nonblank(col["uuid"])
        else:
            uuid_bad = f"({col['uuid']} IS NOT NULL)"
    base, props_bad = _tabular_properties(cols.get("properties"), col.get("properties"), valid)
    extras, params = _extras_object({k: v for k, v in cols.items() if k not in KNOWN}, col)
    inner = f"""SELECT {LINE}, true AS _obj,
            {_nonblank(f"{col['event']}::VARCHAR")} AS event,
            {_nonblank(f"{col['distinct_id']}::VARCHAR")} AS distinct_id,
            {timestamps.is_missing_expr(col['timestamp'], ts_type)} AS _ts_missing,
            {timestamps.parse_expr(col['timestamp'], ts_type)} AS _ts,
            {uuid_sql} AS _uuid, {uuid_bad} AS _uuid_bad,
            {_merge(base, extras)} AS properties, {props_bad} AS _props_bad
        FROM src"""
    return inner, params


def _tabular_properties(
    sql_type: str | None, ref: str | None, valid: bool = False
) -> tuple[str | None, str]:
    """(JSON object text or NULL, is-bad) for a ``properties`` column of ``sql_type``.

    ``valid``: every row is known to be good, so a non-blank text is a JSON object.
    """
    if sql_type is None or ref is None:
        return None, "false"
    if sql_type.startswith(("STRUCT", "MAP")):
        return f"to_json({ref})::VARCHAR", "false"
    if sql_type in ("VARCHAR", "JSON"):
        # '' is absent; a long text is not trimmed unless it fails to parse (trim copies it)
        text = f"nullif({ref}::VARCHAR, '')"
        if valid:  # blank (absent) or a JSON object: no parse needed to tell which
            return _nonblank(f"{ref}::VARCHAR"), "false"
        # one parse: try() turns invalid JSON into NULL; valid object text is stored as given
        ok = f"coalesce(try(json_type({text})) = 'OBJECT', false)"
        # CASE keeps the order: the (costly) trim only for texts that are not objects
        bad = f"CASE WHEN {text} IS NULL OR {ok} THEN false ELSE trim({text}) <> '' END"
        return f"CASE WHEN {ok} THEN {text} END", bad
    return None, f"({ref} IS NOT NULL)"


def _extras_object(
    extra: dict[str, str], col: dict[str, str]
) -> tuple[str | None, dict[str, object]]:
    """JSON object text of the extra columns, NULL/blank/non-finite cells left out."""
    if not extra:
        return None, {}
    pieces: list[str] = []
    params: dict[str, object] = {}
    for i, (name, sql_type) in enumerate(extra.items()):
        ref = col[name]
        if sql_type == "VARCHAR":
            value = _nonblank(ref)
        elif sql_type in ("DOUBLE", "FLOAT", "REAL"):
            # finite only; integral values written without ".0", as a CSV or Excel cell shows them
            value = (f"CASE WHEN NOT isfinite({ref}) THEN NULL WHEN {ref} = trunc({ref}) "
                     f"AND abs({ref}) < 9007199254740992 THEN {ref}::BIGINT::VARCHAR "
                     f"ELSE to_json({ref})::VARCHAR END")
            value = f"({value})::JSON"
        else:
            value = ref
        params[f"yy_key_{i}"] = _json_string(name)
        pieces.append(
            f"CASE WHEN ({value}) IS NOT NULL THEN $yy_key_{i} || ':' || to_json({value}) END")
    return "'{' || concat_ws(','," + ", ".join(pieces) + ") || '}'", params


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _merge(base: str | None, extras: str | None) -> str:
    """Properties text from the ``properties`` object and the extra-column object."""
    if base is None and extras is None:
        return "'{}'"
    if base is None:
        return str(extras)
    if extras is None:
        return f"coalesce({base}, '{{}}')"
    return f"json_merge_patch(coalesce({base}, '{{}}'), {extras})::VARCHAR"


def _objects(source: Source) -> tuple[str, dict[str, object]]:
    """Rows given as JSON object text (JSON Lines, Excel): keys keep their JSON types."""

    def typ(key: str) -> str:
        return f"json_type(_j, '/{key}')"

    def text(key: str) -> str:
        return f"json_extract_string(_j, '/{key}')"

    def scalar_text(key: str) -> str:
        kinds = "('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN')"
        return f"CASE WHEN {typ(key)} IN {kinds} THEN {_nonblank(text(key))} END"

    def absent(key: str) -> str:
        return f"({typ(key)} IS NULL OR {typ(key)} = 'NULL')"

    ts_type, ts_text = typ("timestamp"), text("timestamp")
    ts_missing = f"({absent('timestamp')} OR trim({ts_text}) = '')"
    ts = (f"CASE WHEN {ts_type} IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
          f"THEN {timestamps.parse_expr(ts_text, 'DOUBLE')} "
          f"WHEN {ts_type} = 'VARCHAR' THEN {timestamps.parse_expr(ts_text, 'VARCHAR')} END")
    # the properties value: an object, or text holding one
    p_text = _nonblank(text("properties"))
    p_is_obj = f"{typ('properties')} = 'OBJECT'"
    p_text_ok = (f"({typ('properties')} = 'VARCHAR' "
                 f"AND coalesce(try(json_type({p_text})) = 'OBJECT', false))")
    base = (f"CASE WHEN {p_is_obj} THEN json_extract(_j, '/properties')::VARCHAR "
            f"WHEN {p_text_ok} THEN json({p_text})::VARCHAR END")
    p_absent = f"({absent('properties')} OR {p_text} IS NULL)"
    props_bad = f"NOT ({p_absent} OR {p_is_obj} OR {p_text_ok})"
    # the other keys: drop the known ones, then those whose value is null or blank text
    known_null = "{" + ",".join(f'"{k}":null' for k in KNOWN) + "}"
    pointer = "'/' || replace(replace(k, '~', '~0'), '/', '~1')"
    empty_keys = (f"list_filter(json_keys(_rest), lambda k: json_type(_rest, {pointer}) = 'NULL' "
                  f"OR trim(json_extract_string(_rest, {pointer})) = '')")
    drop_patch = (f"'{{' || array_to_string(list_transform({empty_keys}, "
                  "lambda k: to_json(k)::VARCHAR || ':null'), ',') || '}'")
    inner = f"""SELECT {LINE}, _obj, event, distinct_id, _ts_missing, _ts, _uuid, _uuid_bad,
                CASE WHEN _base IS NULL THEN _extras
                     ELSE json_merge_patch(_base, _extras)::VARCHAR END AS properties,
                _props_bad
        FROM (SELECT *, json_merge_patch(_rest, {drop_patch})::VARCHAR AS _extras FROM (
          SELECT {LINE}, _j, _j IS NOT NULL AS _obj,
            {scalar_text('event')} AS event, {scalar_text('distinct_id')} AS distinct_id,
            {ts_missing} AS _ts_missing, {ts} AS _ts,
            CASE WHEN {typ('uuid')} = 'VARCHAR' THEN {_nonblank(text('uuid'))} END AS _uuid,
            coalesce({typ('uuid')} NOT IN ('VARCHAR', 'NULL'), false) AS _uuid_bad,
            {base} AS _base, coalesce({props_bad}, false) AS _props_bad,
            json_merge_patch(_j, '{known_null}') AS _rest
          FROM (SELECT {LINE}, CASE WHEN json_valid({TEXT}) AND json_type({TEXT}) = 'OBJECT'
                                    THEN {TEXT}::JSON END AS _j FROM src)))"""
    return inner, {}
