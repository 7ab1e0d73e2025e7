"""The A/B calculator's contract: document in, result out, bad documents named field by field."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yunying.stats import (
    Adjusted,
    Moments,
    Options,
    Prior,
    Proportion,
    Ratio,
    benjamini_hochberg,
    compare,
    holm,
    srm_p_value,
)
from yunying.stats.abtest import AbtestError, run_document

DOCS = Path(__file__).resolve().parent.parent / "docs" / "statistics.md"
CONTRACT = {"arm", "baseline", "estimate", "ci", "p_value", "chance_to_win", "risk", "error"}

CONVERSIONS = {
    "metric": "proportion",
    "arms": [{"name": "A", "n": 10000, "sum": 1000}, {"name": "B", "n": 10050, "sum": 1105},
             {"name": "C", "n": 9990, "sum": 1020}],
}


def with_changes(doc: dict, **changes) -> dict:
    changed = copy.deepcopy(doc)
    changed.update(changes)
    return changed


def assert_same(row: dict, result) -> None:
    assert row["ci"] == (list(result.ci) if result.ci else None)
    for key in ("estimate", "p_value", "chance_to_win", "risk", "error", "risk_baseline", "stddev",
                "baseline_mean", "variant_mean"):
        assert row[key] == getattr(result, key), key


# ------------------------------------------------------------------------------ the worked example


def worked_example() -> list[dict]:
    section = DOCS.read_text(encoding="utf-8").split("### Worked example", 1)[1].split("\n## ", 1)[0]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.DOTALL)]


def rounded_like_the_docs(value):
    if isinstance(value, float):
        return pytest.approx(float(f"{value:.6g}"), rel=1e-9)
    if isinstance(value, list):
        return [rounded_like_the_docs(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded_like_the_docs(v) for k, v in value.items()}
    return value


def test_the_worked_example_in_the_docs_is_what_the_calculator_prints():
    document, frequentist, bayesian = worked_example()
    assert rounded_like_the_docs(run_document(document)) == frequentist
    assert rounded_like_the_docs(run_document(with_changes(document, method="bayesian"))) == bayesian
    sequential = run_document(with_changes(document, method="sequential"))["comparisons"][0]
    assert [round(x, 4) for x in sequential["ci"]] == [-0.0425, 0.2415]
    assert round(sequential["p_value"], 2) == 0.56


# ---------------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("method", ["frequentist", "sequential", "bayesian"])
@pytest.mark.parametrize("difference", ["relative", "absolute"])
def test_every_later_arm_is_compared_with_the_first(method, difference):
    doc = with_changes(CONVERSIONS, method=method, difference=difference, alpha=0.1,
                       sequential_tuning=20000, prior={"mean": 0.01, "stddev": 0.2, "proper": True},
                       inverse=True)
    result = run_document(doc)
    options = Options(method=method, difference=difference, alpha=0.1, sequential_tuning=20000.0,
                      prior=Prior(0.01, 0.2, True), inverse=True)
    baseline = Proportion(10000, 1000)
    assert [row["arm"] for row in result["comparisons"]] == ["B", "C"]
    for row, (n, total) in zip(result["comparisons"], ((10050, 1105), (9990, 1020)), strict=True):
        assert set(row) >= CONTRACT and row["baseline"] == "A"
        assert_same(row, compare(baseline, Proportion(n, total), options))
        assert (row["p_value"] is None) == (method == "bayesian") == (row["chance_to_win"] is not None)
        assert "p_value_adjusted" not in row
    assert result["srm_p_value"] == srm_p_value([10000, 10050, 9990])
    json.dumps(result, allow_nan=False)


def test_weights_feed_the_srm_check():
    doc = copy.deepcopy(CONVERSIONS)
    for arm, weight in zip(doc["arms"], (2, 1, 1), strict=True):
        arm["weight"] = weight
    assert run_document(doc)["srm_p_value"] == srm_p_value([10000, 10050, 9990], [2, 1, 1]) < 1e-100


@pytest.mark.parametrize(("correction", "adjust"), [("holm", holm), ("bh", benjamini_hochberg)])
def test_correction_adjusts_the_p_values_that_exist(correction, adjust):
    doc = with_changes(CONVERSIONS, correction=correction)
    doc["arms"].append({"name": "D", "n": 0, "sum": 0})
    rows = run_document(doc)["comparisons"]
    raw = [row["p_value"] for row in rows[:2]]
    assert [row["p_value_adjusted"] for row in rows] == [*adjust(raw), None]
    assert rows[2]["error"] == "NO_UNITS"
    bayesian = run_document(with_changes(doc, method="bayesian"))["comparisons"]
    assert [row["p_value_adjusted"] for row in bayesian] == [None, None, None]


def test_means_ratios_and_cuped_documents():
    mean_arms = [
        {"name": "A", "n": 500, "sum": 2600.0, "sum_squares": 18200.0,
         "covariate_sum": 2500.0, "covariate_sum_squares": 16900.0, "covariate_sum_products": 16200.0},
        {"name": "B", "n": 520, "sum": 2850.0, "sum_squares": 20300.0,
         "covariate_sum": 2610.0, "covariate_sum_squares": 17600.0, "covariate_sum_products": 17500.0},
    ]
    row = run_document({"metric": "mean", "arms": mean_arms})["comparisons"][0]
    expected = compare(Adjusted(Moments(500, 2600.0, 18200.0), Moments(500, 2500.0, 16900.0), 16200.0),
                       Adjusted(Moments(520, 2850.0, 20300.0), Moments(520, 2610.0, 17600.0), 17500.0))
    assert_same(row, expected)

    plain = [{k: v for k, v in arm.items() if not k.startswith("covariate")} for arm in mean_arms]
    assert_same(run_document({"metric": "mean", "arms": plain})["comparisons"][0],
                compare(Moments(500, 2600.0, 18200.0), Moments(520, 2850.0, 20300.0)))

    ratio_arms = [
        {"name": "A", "n": 400, "sum": 900.0, "sum_squares": 5000.0,
         "denominator_sum": 1200.0, "denominator_sum_squares": 4300.0, "sum_products": 3400.0},
        {"name": "B", "n": 410, "sum": 1000.0, "sum_squares": 5600.0,
         "denominator_sum": 1210.0, "denominator_sum_squares": 4400.0, "sum_products": 3700.0},
    ]
    assert_same(run_document({"metric": "ratio", "arms": ratio_arms})["comparisons"][0], compare(
        Ratio(Moments(400, 900.0, 5000.0), Moments(400, 1200.0, 4300.0), 3400.0),
        Ratio(Moments(410, 1000.0, 5600.0), Moments(410, 1210.0, 4400.0), 3700.0)))

    proportion_cuped = [
        {"name": "A", "n": 1000, "sum": 120, "covariate_sum": 300, "covariate_sum_products": 80},
        {"name": "B", "n": 1000, "sum": 150, "covariate_sum": 310, "covariate_sum_products": 95},
    ]
    assert_same(run_document({"metric": "proportion", "arms": proportion_cuped})["comparisons"][0], compare(
        Adjusted(Proportion(1000, 120), Proportion(1000, 300), 80),
        Adjusted(Proportion(1000, 150), Proportion(1000, 310), 95)))


def test_a_degenerate_arm_is_a_result_with_nulls():
    doc = {"metric": "proportion", "arms": [
        {"name": "A", "n": 100, "sum": 0}, {"name": "B", "n": 100, "sum": 3}]}
    row = run_document(doc)["comparisons"][0]
    assert row["error"] == "BASELINE_ZERO"
    assert [row[k] for k in ("estimate", "ci", "p_value", "chance_to_win", "risk")] == [None] * 5
    absolute = run_document(with_changes(doc, difference="absolute"))["comparisons"][0]
    assert absolute["error"] == "ZERO_VARIANCE"


# ------------------------------------------------------------------------------ bad documents

A = {"name": "A", "n": 100, "sum": 10}
B = {"name": "B", "n": 100, "sum": 12}
M = {"name": "M", "n": 10, "sum": 10.0, "sum_squares": 20.0}
R = {"name": "R", "n": 10, "sum": 10.0, "sum_squares": 20.0,
     "denominator_sum": 20.0, "denominator_sum_squares": 50.0, "sum_products": 25.0}
BAD = [
    ([], None),
    ({"arms": [A, B]}, "metric"),
    ({"metric": "proportion"}, "arms"),
    ({"metric": "proportion", "arms": [A, B], "aplha": 0.05}, "aplha"),
    ({"metric": "counts", "arms": [A, B]}, "metric"),
    ({"metric": "proportion", "arms": [A, B], "method": "magic"}, "method"),
    ({"metric": "proportion", "arms": [A, B], "difference": "ratio"}, "difference"),
    ({"metric": "proportion", "arms": [A, B], "alpha": 1.0}, "alpha"),
    ({"metric": "proportion", "arms": [A, B], "alpha": "0.05"}, "alpha"),
    ({"metric": "proportion", "arms": [A, B], "alpha": True}, "alpha"),
    ({"metric": "proportion", "arms": [A, B], "alpha": float("nan")}, "alpha"),
    ({"metric": "proportion", "arms": [A, B], "sequential_tuning": 0}, "sequential_tuning"),
    ({"metric": "proportion", "arms": [A, B], "prior": {"stddev": 0}}, "prior.stddev"),
    ({"metric": "proportion", "arms": [A, B], "prior": {"sd": 1}}, "prior.sd"),
    ({"metric": "proportion", "arms": [A, B], "prior": {"proper": "yes"}}, "prior.proper"),
    ({"metric": "proportion", "arms": [A, B], "prior": [0, 1]}, "prior"),
    ({"metric": "proportion", "arms": [A, B], "inverse": 1}, "inverse"),
    ({"metric": "proportion", "arms": [A, B], "correction": "bonferroni"}, "correction"),
    ({"metric": "proportion", "arms": [A]}, "arms"),
    ({"metric": "proportion", "arms": {"A": A, "B": B}}, "arms"),
    ({"metric": "proportion", "arms": [A, "B"]}, "arms[1]"),
    ({"metric": "proportion", "arms": [A, {**B, "name": "A"}]}, "arms[1].name"),
    ({"metric": "proportion", "arms": [A, {**B, "name": " "}]}, "arms[1].name"),
    ({"metric": "proportion", "arms": [A, {"n": 1, "sum": 0}]}, "arms[1].name"),
    ({"metric": "proportion", "arms": [A, {**B, "n": -1}]}, "arms[1].n"),
    ({"metric": "proportion", "arms": [A, {**B, "n": 10.5}]}, "arms[1].n"),
    ({"metric": "proportion", "arms": [A, {**B, "sum": 101}]}, "arms[1].sum"),
    ({"metric": "proportion", "arms": [A, {**B, "sum_squares": 11}]}, "arms[1].sum_squares"),
    ({"metric": "proportion", "arms": [A, {**B, "sum_sqaures": 12}]}, "arms[1].sum_sqaures"),
    ({"metric": "proportion", "arms": [A, {**B, "weight": 1}]}, "arms[0].weight"),
    ({"metric": "proportion", "arms": [{**A, "weight": 1}, {**B, "weight": 0}]}, "arms[1].weight"),
    ({"metric": "proportion", "arms": [A, {**B, "sum_products": 3}]}, "arms[1].sum_products"),
    ({"metric": "proportion", "arms": [{**A, "covariate_sum": 5, "covariate_sum_products": 1}, B]},
     "arms[1].covariate_sum"),
    ({"metric": "proportion", "arms": [{**A, "covariate_sum": 5}, B]}, "arms[0].covariate_sum_products"),
    ({"metric": "mean", "arms": [M, {**M, "name": "N", "sum_squares": 9.0}]}, "arms[1].sum_squares"),
    ({"metric": "mean", "arms": [M, {k: v for k, v in M.items() if k != "sum_squares"} | {"name": "N"}]},
     "arms[1].sum_squares"),
    ({"metric": "mean", "arms": [M, {**M, "name": "N", "n": 0}]}, "arms[1].sum_squares"),
    ({"metric": "mean", "arms": [M, {**M, "name": "N", "covariate_sum": 1.0, "covariate_sum_squares": 1.0,
                                       "covariate_sum_products": 1.0}]}, "arms[0].covariate_sum"),
    ({"metric": "mean", "arms": [{**M, "covariate_sum": 10.0, "covariate_sum_squares": 20.0,
                                  "covariate_sum_products": 40.0}, M]}, "arms[0].covariate_sum_products"),
    ({"metric": "ratio", "arms": [R, {k: v for k, v in R.items() if k != "sum_products"} | {"name": "S"}]},
     "arms[1].sum_products"),
    # |Σmd − Σm Σd / n| may reach √(centred Σm² · centred Σd²) = 10 here, not more: 20 ± 10
    ({"metric": "ratio", "arms": [R, {**R, "name": "S", "sum_products": 30.5}]}, "arms[1].sum_products"),
    ({"metric": "ratio", "arms": [R, {**R, "name": "S", "sum_products": 9.5}]}, "arms[1].sum_products"),
    ({"metric": "ratio", "arms": [R, {**R, "name": "S", "denominator_sum_squares": 1.0}]},
     "arms[1].denominator_sum_squares"),
    ({"metric": "ratio", "arms": [R, {**R, "name": "S", "covariate_sum": 1.0}]}, "arms[1].covariate_sum"),
]


@pytest.mark.parametrize(("doc", "field"), BAD, ids=[str(field) for _, field in BAD])
def test_a_bad_document_names_its_field(doc, field):
    with pytest.raises(AbtestError) as caught:
        run_document(doc)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError) and caught.value.message


def test_perfectly_correlated_parts_are_accepted():
    for products in (30.0, 10.0):  # at the Cauchy–Schwarz bound (see BAD): correlation ±1
        doc = {"metric": "ratio", "arms": [R, {**R, "name": "S", "sum_products": products}]}
        assert run_document(doc)["comparisons"][0]["arm"] == "S"


def test_sums_within_rounding_are_accepted():
    """Σx² a hair below (Σx)²/n (all values equal, rounded elsewhere) is zero variance, not an error."""
    doc = {"metric": "mean", "arms": [{"name": "A", "n": 3, "sum": 0.3, "sum_squares": 0.03 - 1e-18},
                                      {"name": "B", "n": 3, "sum": 0.6, "sum_squares": 0.13}]}
    assert run_document(doc)["comparisons"][0]["error"] == "ZERO_VARIANCE"


# --------------------------------------------------------------------------- random documents


@st.composite
def documents(draw) -> dict:
    arms = []
    for i in range(draw(st.integers(2, 4))):
        n = draw(st.integers(0, 10**6))
        arms.append({"name": f"arm {i}", "n": n, "sum": draw(st.integers(0, n)),
                     "weight": draw(st.floats(0.1, 10))})
    return {"metric": "proportion", "arms": arms,
            "method": draw(st.sampled_from(["frequentist", "sequential", "bayesian"])),
            "difference": draw(st.sampled_from(["relative", "absolute"])),
            "correction": draw(st.sampled_from(["none", "holm", "bh"]))}


@given(doc=documents())
def test_any_valid_document_gives_strict_json(doc):
    result = run_document(doc)
    text = json.dumps(result, allow_nan=False)
    assert len(json.loads(text)["comparisons"]) == len(doc["arms"]) - 1
