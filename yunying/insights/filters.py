"""Property filters and event selectors as expressions (docs/metrics.md, 'Filters')."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from yunying.insights.documents import ANY_EVENT, PropertyFilter
from yunying.store.properties import property_number, property_string, string_form_of_literal


def filter_expr(table: ir.Table, flt: PropertyFilter, engine: str) -> ir.BooleanValue:
    """True for the rows of ``table`` that satisfy ``flt``; never null."""
    value = property_string(table, flt.property, engine)
    op = flt.operator
    if op == "is_set":
        return value.notnull()
    if op == "is_not_set":
        return value.isnull()
    if op in ("gt", "gte", "lt", "lte"):
        number = property_number(table, flt.property, engine)
        bound = ibis.literal(float(flt.value), "float64")  # type: ignore[arg-type]
        compare = {"gt": number > bound, "gte": number >= bound,
                   "lt": number < bound, "lte": number <= bound}[op]
        return compare.fill_null(False)
    values = flt.value if isinstance(flt.value, list) else [flt.value]
    texts = [string_form_of_literal(v, engine) for v in values]
    if op in ("eq", "neq"):
        equal: ir.BooleanValue = ibis.literal(False)
        for text in texts:
            equal = equal | (value == text).fill_null(False)
        return equal if op == "eq" else value.isnull() | ~equal
    needle = texts[0]
    if op == "contains":
        return value.contains(needle).fill_null(False)
    if op == "not_contains":
        return value.isnull() | ~value.contains(needle).fill_null(False)
    if op == "icontains":
        return value.lower().contains(needle.lower()).fill_null(False)
    raise ValueError(f"unknown operator {op!r}")


def all_of(table: ir.Table, filters: Sequence[PropertyFilter], engine: str) -> ir.BooleanValue:
    """Conjunction of ``filters`` (true when there are none)."""
    condition: ir.BooleanValue = ibis.literal(True)
    for flt in filters:
        condition = condition & filter_expr(table, flt, engine)
    return condition


def event_matches(table: ir.Table, event: str, filters: Sequence[PropertyFilter],
                  engine: str) -> ir.BooleanValue:
    """Rows that are ``event`` (any event for ``$any``) and pass ``filters``."""
    condition = all_of(table, filters, engine)
    if event != ANY_EVENT:
        condition = (table.event == ibis.literal(event, "string")) & condition
    return condition
