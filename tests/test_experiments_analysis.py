"""analyze(): the engine's comparisons of the computed statistics, corrections, guardrails, JSON.

The statistics themselves are checked against the oracle (test_experiments_oracle.py) and the
comparisons against GrowthBook (the stats tests); here the analysis must wire them together as
docs/experiments.md 'The analysis' says, on a seeded log with a known effect.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from conftest import events_to_arrow

from yunying.experiments import analyze, experiment_data, parse_experiment, result_of
from yunying.experiments.analysis import users_needed
from yunying.ingest.writer import write_events
from yunying.insights.base import QueryContext
from yunying.stats import (
    Options,
    Prior,
    Proportion,
    benjamini_hochberg,
    compare,
    holm,
    sample_size,
    srm_p_value,
)
from yunying.store import connect

START = dt.date(2026, 10, 1)
EXPERIMENT = {
    "key": "green-button", "name": "Green button",
    "variants": [{"key": "control"}, {"key": "green"}],
    "start": START.isoformat(), "end": "2026-10-07",
    "metrics": {
        "primary": [{"key": "paid", "kind": "conversion", "event": "pay", "window": "3d"}],
        "secondary": [{"key": "revenue", "kind": "sum", "event": "pay", "property": "amount",
                       "capping": {"percentile": 0.99}},
                      {"key": "opens", "kind": "count", "event": "open"},
                      {"key": "per_open", "kind": "ratio",
                       "numerator": {"aggregation": "sum", "event": "pay", "property": "amount"},
                       "denominator": {"aggregation": "count", "event": "open"}},
                      {"key": "median_amount", "kind": "quantile", "event": "pay", "property": "amount",
                       "ignore_zeros": True}],
        "guardrail": [{"key": "refunds", "kind": "count", "event": "refund", "inverse": True},
                      {"key": "errors", "kind": "count", "event": "error", "inverse": True}],
    },
}


def _log(seed: int, users: int = 1600) -> list[dict]:
    """Green doubles payments and refunds; opens and errors do not depend on the arm."""
    rng = random.Random(seed)
    events = []
    base = dt.datetime(2026, 9, 30, 16)  # 2026-10-01 00:00 in Asia/Shanghai
    for i in range(users):
        did, green = f"user-{i}", i % 2 == 1
        exposed = base + dt.timedelta(minutes=rng.randint(0, 6 * 24 * 60))
        rows = [("$feature_flag_called", exposed,
                 {"$feature_flag": "green-button", "$feature_flag_response": "green" if green else "control",
                  "$browser": rng.choice(["Chrome", "Safari"])})]
        for _ in range(rng.randint(0, 3)):
            rows.append(("open", exposed + dt.timedelta(hours=rng.randint(-300, 100)), {}))
        if rng.random() < (0.3 if green else 0.15):
            paid = exposed + dt.timedelta(hours=rng.randint(0, 48))
            rows.append(("pay", paid, {"amount": rng.randint(5, 200)}))
        if rng.random() < (0.2 if green else 0.08):
            rows.append(("refund", exposed + dt.timedelta(hours=5), {}))
        if rng.random() < 0.1:
            rows.append(("error", exposed + dt.timedelta(hours=1), {}))
        events += [{"uuid": f"{seed}-{i}-{j}", "event": name, "distinct_id": did, "timestamp": ts,
                    "properties": props} for j, (name, ts, props) in enumerate(rows)]
    return events


@pytest.fixture(scope="module")
def ctx():
    store = connect(":memory:")
    noise = store.create_project("other", "Asia/Shanghai")  # same experiment key, other events
    write_events(store, noise, events_to_arrow(_log(99, 400)))
    project = store.create_project("shop", "Asia/Shanghai")
    write_events(store, project, events_to_arrow(_log(1)))
    yield QueryContext(store, project)
    store.close()


def _metric(result, key):
    return next(m for m in result.metrics if m.key == key)


def test_the_result_is_the_engine_on_the_computed_statistics(ctx):
    experiment = parse_experiment(EXPERIMENT)
    data = experiment_data(ctx, experiment)
    result = result_of(experiment, data)
    assert [a.users for a in result.arms] == [800, 800]  # the other project's users never leak in
    assert result.srm_p_value == srm_p_value([800, 800], [0.5, 0.5]) and not result.srm_warning
    assert result.pre_period == (dt.date(2026, 9, 17), dt.date(2026, 9, 30))
    for role, metric in experiment.metrics.all():
        found = _metric(result, metric.key)
        stats = data.overall.statistics[metric.key]
        options = Options(inverse=metric.inverse)
        expected = compare(stats[0], stats[1], options)
        comparison = found.comparisons[0]
        assert (comparison.estimate, comparison.ci, comparison.p_value, comparison.error) == \
            (expected.estimate, expected.ci, expected.p_value, expected.error)
        assert found.role == role and found.means == [s.mean for s in stats]
        assert found.statistics[0]["type"] == type(stats[0]).__name__
    paid = _metric(result, "paid").comparisons[0]
    assert paid.significant and paid.direction == "better" and paid.users_needed_per_arm is None
    refunds = _metric(result, "refunds").comparisons[0]
    assert refunds.significant and refunds.direction == "worse" and refunds.guardrail_failed
    errors = _metric(result, "errors").comparisons[0]
    assert not errors.guardrail_failed
    assert _metric(result, "revenue").cap is not None
    json.dumps(result.to_json())  # JSON-able as it is


def test_analyze_reads_the_same_data(ctx):
    expected = result_of(parse_experiment(EXPERIMENT), experiment_data(ctx, EXPERIMENT))
    assert analyze(ctx, EXPERIMENT) == expected


@pytest.mark.parametrize("correction", ["holm", "bh"])
def test_corrections_adjust_primary_and_secondary_together(ctx, correction):
    result = analyze(ctx, {**EXPERIMENT, "analysis": {"correction": correction}})
    corrected = [c for m in result.metrics if m.role != "guardrail"
                 for c in m.comparisons if c.p_value is not None]
    adjust = holm if correction == "holm" else benjamini_hochberg
    assert [c.p_value_adjusted for c in corrected] == adjust([c.p_value for c in corrected])
    assert all(c.significant == (c.p_value_adjusted < 0.05) for c in corrected)
    guardrails = [c for m in result.metrics if m.role == "guardrail" for c in m.comparisons]
    assert all(c.p_value_adjusted is None for c in guardrails)


def test_bayesian_uses_chance_to_win(ctx):
    settings = {"method": "bayesian", "prior": {"proper": True, "stddev": 0.5}}
    result = analyze(ctx, {**EXPERIMENT, "analysis": settings})
    paid = _metric(result, "paid").comparisons[0]
    assert paid.p_value is None and paid.chance_to_win > 0.95 and paid.significant
    stats = experiment_data(ctx, EXPERIMENT).overall.statistics["paid"]
    expected = compare(stats[0], stats[1], Options(method="bayesian", prior=Prior(0.0, 0.5, True)))
    assert (paid.chance_to_win, paid.risk) == (expected.chance_to_win, expected.risk)


def test_users_needed_for_an_effect_not_yet_significant():
    needed = users_needed(Proportion(1000, 200), Proportion(1000, 210), 0.05)
    assert needed == sample_size(0.2, 0.01, alpha=0.05, power=0.8).baseline
    assert users_needed(Proportion(1000, 200), Proportion(1000, 200), 0.05) is None  # no difference


def test_breakdown_groups_carry_their_own_comparisons(ctx):
    result = analyze(ctx, EXPERIMENT, breakdown="$browser")
    assert result.breakdown == "$browser"
    assert [g.value for g in result.groups] == ["Chrome", "Safari"] or \
        [g.value for g in result.groups] == ["Safari", "Chrome"]
    assert [sum(g.arms[i].users for g in result.groups) for i in range(2)] == [a.users for a in result.arms]
    assert all(len(g.metrics) == len(result.metrics) for g in result.groups)


def test_an_experiment_without_data_is_a_result_with_error_codes(ctx):
    result = analyze(ctx, {**EXPERIMENT, "key": "never-ran", "end": None}, end=dt.date(2026, 10, 7))
    assert [a.users for a in result.arms] == [0, 0] and result.srm_p_value == 1.0
    assert result.first_exposure is None
    assert {c.error for m in result.metrics for c in m.comparisons} == {"NO_UNITS"}
    assert all(m.means == [None, None] for m in result.metrics)


def test_without_end_the_data_end_is_used(ctx):
    result = analyze(ctx, {**EXPERIMENT, "end": None})
    last = max(e["timestamp"] for e in _log(1)) + dt.timedelta(hours=8)  # Asia/Shanghai, no DST
    assert result.date_to == last.date()  # the project's last local day with events (before today)
    assert result.last_exposure <= dt.datetime(2026, 10, 7, 16)
