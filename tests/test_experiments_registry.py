"""Experiment documents: validation naming the field, storage round trips, status, isolation."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from yunying.experiments import (
    Conflict,
    ExperimentError,
    NotFound,
    create_experiment,
    delete_experiment,
    get_experiment,
    list_experiments,
    parse_experiment,
    set_status,
    update_experiment,
)
from yunying.store import schema
from yunying.store.connection import connect
from yunying.store.meta import Meta

DOC = {
    "key": "checkout-button", "name": "Green checkout button", "hypothesis": "green sells",
    "variants": [{"key": "control"}, {"key": "green", "weight": 3}],
    "start": "2026-10-01", "end": "2026-10-28",
    "metrics": {"primary": [{"key": "paid", "kind": "conversion", "event": "pay", "window": "7d"}],
                "secondary": [{"key": "per_session", "kind": "ratio",
                               "numerator": {"aggregation": "sum", "event": "pay", "property": "amount"},
                               "denominator": {"aggregation": "count", "event": "app_open"},
                               "capping": {"percentile": 0.99}}],
                "guardrail": [{"key": "refunds", "kind": "count", "event": "refund", "inverse": True}]},
}


def doc(**changes) -> dict:
    out = copy.deepcopy(DOC)
    out.update(changes)
    return out


@pytest.fixture
def meta():
    store = connect(":memory:")
    m = Meta(store)
    yield m
    m.close()
    store.close()


# ---------------------------------------------------------------- definitions
def test_defaults_are_posthogs_exposure_event_and_normalised_weights():
    experiment = parse_experiment(DOC)
    rule = experiment.assignment
    assert (rule.kind, rule.event, rule.experiment_property, rule.variant_property) == \
        ("exposure_event", "$feature_flag_called", "$feature_flag", "$feature_flag_response")
    assert experiment.weights == [0.25, 0.75]
    assert experiment.experiment_value == "checkout-button"
    settings = experiment.analysis
    assert (experiment.status, settings.pre_period_days, settings.cuped) == ("draft", 14, True)


def test_sensors_abtest_trigger_is_expressible():
    experiment = parse_experiment(doc(
        assignment={"kind": "exposure_event", "event": "$ABTestTrigger",
                    "experiment_property": "$abtest_experiment_id", "experiment_value": "1024",
                    "variant_property": "$abtest_experiment_group_id"},
        variants=[{"key": "control", "value": "0"}, {"key": "new", "value": "1"}]))
    assert experiment.experiment_value == "1024"
    assert [v.exposure_value for v in experiment.variants] == ["0", "1"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"variants": [{"key": "a"}, {"key": "b", "weight": 0}]}, "variants[1].weight", "greater than 0"),
    ({"variants": [{"key": "a"}]}, "variants", "at least 2"),
    ({"variants": [{"key": "a"}, {"key": "a"}]}, "variants", "unique"),
    ({"variants": [{"key": "a", "value": "1"}, {"key": "b", "value": "1"}]}, "variants", "distinct"),
    ({"key": "has space"}, "key", "pattern"),
    ({"end": "2026-09-01"}, "end", "before start"),
    ({"start": "0999-01-01"}, "start", "1900-2999"),
    ({"assignment": {"kind": "hash", "trigger_event": ""}}, "assignment.trigger_event", "at least 1"),
    ({"assignment": {"kind": "lottery"}}, "assignment", "lottery"),
    ({"metrics": {"primary": []}}, "metrics.primary", "at least 1"),
    ({"metrics": {"primary": [{"key": "m", "kind": "conversion", "event": "pay", "window": "7x"}]}},
     "metrics.primary[0].window", "unit"),
    ({"metrics": {"primary": [{"key": "m", "kind": "sum", "event": "pay"}]}}, "metrics.primary[0].property",
     "required"),
    ({"metrics": {"primary": [{"key": "m", "kind": "sum", "event": "pay", "property": "x",
                               "capping": {"percentile": 0.9, "value": 3}}]}},
     "metrics.primary[0].capping", "exactly one"),
    ({"metrics": {"primary": [{"key": "m", "kind": "ratio", "numerator": {"aggregation": "sum", "event": "p"},
                               "denominator": {"aggregation": "count", "event": "q"}}]}},
     "metrics.primary[0].numerator", "needs a property"),
    ({"metrics": {"primary": [{"key": "m", "kind": "count", "event": "a"}],
                  "guardrail": [{"key": "m", "kind": "count", "event": "b"}]}}, "metrics", "twice"),
    ({"metrics": {"primary": [{"key": "m", "kind": "count", "event": "a",
                               "filters": [{"property": "p", "operator": "gt", "value": "x"}]}]}},
     "metrics.primary[0].filters[0]", "number"),
    ({"analysis": {"correction": "bonferroni"}}, "analysis.correction", "holm"),
    ({"analysis": {"alpha": 0.7}}, "analysis.alpha", "less than 0.5"),
    ({"colour": "green"}, "colour", "not permitted"),
])
def test_errors_name_the_field(change, field, words):
    with pytest.raises(ExperimentError) as caught:
        parse_experiment(doc(**change))
    assert caught.value.field == field
    assert words in str(caught.value)


# ---------------------------------------------------------------- storage
def test_round_trip_and_update_keeps_status(meta):
    stored = create_experiment(meta, 1, DOC, account_id=7)
    assert stored.experiment == parse_experiment(DOC) and stored.created_by == 7
    assert get_experiment(meta, 1, "checkout-button").experiment == stored.experiment
    set_status(meta, 1, "checkout-button", "running")
    changed = update_experiment(meta, 1, doc(name="Greener", status="stopped"))
    assert (changed.experiment.name, changed.experiment.status) == ("Greener", "running")
    again = get_experiment(meta, 1, "checkout-button")
    assert again.experiment.name == "Greener" and again.created_at == stored.created_at
    assert again.updated_at >= stored.updated_at
    assert [s.experiment.key for s in list_experiments(meta, 1)] == ["checkout-button"]


def test_status_moves_and_the_decision_is_recorded(meta):
    create_experiment(meta, 1, DOC)
    with pytest.raises(Conflict):
        set_status(meta, 1, "checkout-button", "draft")
    running = set_status(meta, 1, "checkout-button", "running")
    assert running.experiment.status == "running" and running.experiment.decision is None
    with pytest.raises(ExperimentError) as missing:
        set_status(meta, 1, "checkout-button", "stopped")
    assert missing.value.field == "decision"
    with pytest.raises(ExperimentError) as unknown:
        set_status(meta, 1, "checkout-button", "stopped", {"variant": "purple"})
    assert unknown.value.field == "decision"
    stopped = set_status(meta, 1, "checkout-button", "stopped",
                         {"variant": "green", "note": "ship it", "decided_by": "alice"})
    decision = stopped.experiment.decision
    assert (decision.variant, decision.note, decision.decided_by) == ("green", "ship it", "alice")
    assert isinstance(decision.decided_at, dt.datetime)
    assert get_experiment(meta, 1, "checkout-button").experiment.decision == decision
    assert [s.experiment.key for s in list_experiments(meta, 1, status="stopped")] == ["checkout-button"]
    assert list_experiments(meta, 1, status="running") == []
    resumed = set_status(meta, 1, "checkout-button", "running")
    assert resumed.experiment.decision is None


def test_keys_are_unique_per_project_and_projects_never_mix(meta):
    create_experiment(meta, 1, DOC)
    with pytest.raises(Conflict):
        create_experiment(meta, 1, doc(name="again"))
    create_experiment(meta, 2, doc(name="Project two's"))
    create_experiment(meta, 2, doc(key="other"))
    assert [s.experiment.name for s in list_experiments(meta, 1)] == ["Green checkout button"]
    assert {s.experiment.key for s in list_experiments(meta, 2)} == {"checkout-button", "other"}
    with pytest.raises(NotFound):
        get_experiment(meta, 1, "other")
    with pytest.raises(NotFound):
        update_experiment(meta, 1, doc(key="other"))
    with pytest.raises(NotFound):
        set_status(meta, 1, "other", "running")
    with pytest.raises(NotFound):
        delete_experiment(meta, 1, "other")
    set_status(meta, 2, "checkout-button", "running")
    assert get_experiment(meta, 1, "checkout-button").experiment.status == "draft"
    delete_experiment(meta, 1, "checkout-button")
    assert list_experiments(meta, 1) == []
    assert get_experiment(meta, 2, "checkout-button").experiment.name == "Project two's"


def test_a_version_3_store_gains_the_table(tmp_path):
    path = tmp_path / "old.duckdb"
    store = connect(path)
    store.duckdb.execute("DROP TABLE experiments")
    store.duckdb.execute("UPDATE schema_version SET version = 3")
    store.close()
    store = connect(path)
    version = store.duckdb.execute("SELECT max(version) FROM schema_version").fetchall()
    assert version == [(schema.SCHEMA_VERSION,)]
    meta = Meta(store)
    create_experiment(meta, 1, DOC)
    assert len(list_experiments(meta, 1)) == 1
    meta.close()
    store.close()
