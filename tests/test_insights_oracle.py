"""Every insight runner against the brute-force oracle (tests/oracle.py) on random logs.

The logs and documents come from tests/strategies.py and aim at the hard cases: ties, local
day/week/month boundaries, DST switch days, unicode and numeric-string properties, missing
properties and events, empty ranges, few users with many events. One test per insight kind,
plus checks of the oracle's own property rules against DuckDB.
"""

from __future__ import annotations

import json

import duckdb
import oracle
import pytest
from conftest import LogLoader
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import Case, cases, examples


def _check(load_log: LogLoader, case: Case) -> None:
    log = load_log(case.scenario.events, case.scenario.timezone)
    oracle.assert_same(log.run(case.document), log.oracle(case.document))


@settings(max_examples=examples(60))
@given(case=cases("trends"))
def test_trends_matches_oracle(load_log: LogLoader, case: Case) -> None:
    _check(load_log, case)


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
