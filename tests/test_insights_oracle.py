"""Every insight runner against the brute-force oracle (tests/oracle.py) on random logs.

The logs and documents come from tests/strategies.py and aim at the hard cases: ties, local
day/week/month boundaries, DST switch days, unicode and numeric-string properties, missing
properties and events, empty ranges, few users with many events. One test per insight kind,
plus checks of the oracle's own property rules against DuckDB.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import oracle
import pytest
from conftest import LogLoader
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from strategies import Case, cases, examples


def _check(load_log: LogLoader, case: Case) -> None:
    log = load_log(case.scenario.events, case.scenario.timezone)
    expected = log.oracle(case.document)
    oracle.assert_same(log.run(case.document), expected)
    # Coverage, shown by --hypothesis-show-statistics: how often the answer is not all zeros.
    interval = case.document.get("interval", case.document.get("period", "-"))
    event(f"{interval}: {'data' if _has_data(expected) else 'all zeros'}")


def _has_data(result: dict[str, Any]) -> bool:
    """Whether a result holds any non-zero count or value (shape fields aside)."""
    shape = {"step", "window_seconds", "buckets_active", "depth"}
    if isinstance(result, dict):
        return any(_has_data(v) for k, v in result.items()
                   if k not in shape and not (k == "buckets" and isinstance(v, int)))
    if isinstance(result, list):
        return any(_has_data(v) for v in result)
    return isinstance(result, int | float) and not isinstance(result, bool) and result != 0


@settings(max_examples=examples(60))
@given(case=cases("trends"))
def test_trends_matches_oracle(load_log: LogLoader, case: Case) -> None:
    _check(load_log, case)


def test_formula_over_empty_breakdown_is_not_an_error(load_log: LogLoader) -> None:
    """docs 'Formula': a breakdown value missing from one series counts as 0 there; an event
    that does not exist is not an error. No events at all: no breakdown values, no error."""
    log = load_log([], "Asia/Shanghai")
    document = {"kind": "trends", "date_from": "2024-01-01", "date_to": "2024-01-01",
                "series": [{"event": "view"}], "breakdown": "plan", "formula": "A*2"}
    oracle.assert_same(log.run(document), log.oracle(document))


@settings(max_examples=examples(60))
@given(case=cases("funnel"))
def test_funnel_matches_oracle(load_log: LogLoader, case: Case) -> None:
    _check(load_log, case)


@settings(max_examples=examples(50))
@given(case=cases("retention"))
def test_retention_matches_oracle(load_log: LogLoader, case: Case) -> None:
    _check(load_log, case)


@settings(max_examples=examples(40))
@given(case=cases("stickiness"))
def test_stickiness_matches_oracle(load_log: LogLoader, case: Case) -> None:
    _check(load_log, case)


@settings(max_examples=examples(50))
@given(case=cases("lifecycle"))
def test_lifecycle_matches_oracle(load_log: LogLoader, case: Case) -> None:
    _check(load_log, case)


@settings(max_examples=examples(50))
@given(case=cases("paths"))
def test_paths_matches_oracle(load_log: LogLoader, case: Case) -> None:
    _check(load_log, case)


# ------------------------------------------------------------------ the oracle's own rules
_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: (st.lists(inner, max_size=3)
                   | st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=6,
)


@settings(max_examples=examples(200))
@given(value=_JSON_VALUES)
@example(value=1.5)
@example(value=2.0)
@example(value=1e-7)
@example(value=1e21)
@example(value=-0.0)
@example(value={"名": "值", "q": "\"\\\n\x01"})
def test_string_form_is_duckdbs_json_extract_string(value: object) -> None:
    """The oracle's string form is exactly what DuckDB's JSON lookup returns."""
    document = json.dumps({"k": value}, ensure_ascii=False)
    with duckdb.connect() as con:
        row = con.execute("SELECT json_extract_string(?, '/k')", [document]).fetchone()
    assert row is not None
    assert oracle.string_form(value) == row[0]


@pytest.mark.parametrize(("text", "number"), [
    ("12", 12.0), (" 7", 7.0), ("-2", -2.0), ("1e3", 1000.0), ("0.10", 0.1), ("+.5", 0.5),
    ("5.", 5.0), ("12.0", 12.0), ("abc", None), ("true", None), ("", None), ("1,000", None),
    ("１２", None), (None, None),
])
def test_numeric_value(text: str | None, number: float | None) -> None:
    assert oracle.numeric_value(text) == number


def test_quantile_is_numpys_linear() -> None:
    numpy = pytest.importorskip("numpy")
    for values in ([1.0], [3.0, 1.0], [1.0, 2.0, 4.0, 8.0, 100.0], [5.0, 5.0, -1.0]):
        for q in (0.5, 0.9):
            assert oracle.quantile(values, q) == pytest.approx(float(numpy.quantile(values, q)))


def test_numeric_value_is_a_decimal_number(load_log: LogLoader) -> None:
    """docs 'Property values': the numeric value is the string form *read as a decimal
    number*. ``"nan"``, ``"inf"``, ``"Infinity"`` and ``"1_000"`` are not decimal numbers, so
    they are skipped by the value maths and fail ``gt``; one such string must not turn a sum
    into NaN."""
    texts = ["nan", "inf", "Infinity", "1_000", "-inf", 5]
    log = load_log([
        {"uuid": f"n{i}", "event": "e", "distinct_id": "a",
         "timestamp": dt.datetime(2024, 1, 1, 4), "properties": {"p": text}}
        for i, text in enumerate(texts)
    ], "Asia/Shanghai")
    base = {"kind": "trends", "date_from": "2024-01-01", "date_to": "2024-01-01"}
    for series in ({"event": "e", "math": "sum", "property": "p"},
                   {"event": "e", "math": "max", "property": "p"},
                   {"event": "e", "filters": [{"property": "p", "operator": "gt", "value": 1}]}):
        document = {**base, "series": [series]}
        oracle.assert_same(log.run(document), log.oracle(document))
