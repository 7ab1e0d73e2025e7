"""Experiments (A/B测试): definitions, assignment, per-arm statistics from the events, analysis.

Definitions of every number: docs/experiments.md. The statistics themselves are
``yunying.stats``'s; this package turns events into its sufficient statistics.
"""

from yunying.experiments.analysis import ExperimentResult, analyze, result_of
from yunying.experiments.assignment import assign, bucket, hash_value, variant_index, variants_for
from yunying.experiments.definition import Decision, Experiment, ExperimentError, parse_experiment
from yunying.experiments.metrics import ExperimentData, experiment_data
from yunying.experiments.registry import (
    Conflict,
    NotFound,
    StoredExperiment,
    create_experiment,
    delete_experiment,
    get_experiment,
    list_experiments,
    set_status,
    update_experiment,
)

__all__ = [
    "Conflict", "Decision", "Experiment", "ExperimentData", "ExperimentError", "ExperimentResult",
    "NotFound", "StoredExperiment", "analyze", "assign", "bucket", "create_experiment",
    "delete_experiment", "experiment_data", "get_experiment", "hash_value", "list_experiments",
    "parse_experiment", "result_of", "set_status", "update_experiment", "variant_index", "variants_for",
]
