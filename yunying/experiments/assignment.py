"""Deterministic assignment of a user to a variant: any app can compute it in a few lines.

    h      = first 8 bytes of SHA-256(UTF-8 "<experiment key>:<user id>"), big-endian unsigned
    bucket = h / 2^64                                   (in [0, 1))
    c_i    = (w_1 + … + w_i) / (w_1 + … + w_n)          (summed left to right, in double precision)
    variant = the first i with bucket < c_i             (the last one if none: rounding only)

The comparison is exact here (``h < c_i · 2^64``, both sides exact); an app that divides in
double precision differs only for ids within 2^-52 of a boundary. Test vectors:
docs/experiments.md, 'Assignment'.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from fractions import Fraction

import ibis
import ibis.expr.types as ir

from yunying.experiments.definition import Experiment, HashAssignment
from yunying.experiments.registry import list_experiments
from yunying.store.meta import Meta

_TWO_64 = 2**64


def hash_value(experiment_key: str, user_id: str) -> int:
    """The first 8 bytes of SHA-256 of ``"<experiment key>:<user id>"`` as an unsigned integer."""
    digest = hashlib.sha256(f"{experiment_key}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def bucket(experiment_key: str, user_id: str) -> float:
    """The user's place in [0, 1) for this experiment: ``hash_value / 2^64`` (correctly rounded)."""
    return hash_value(experiment_key, user_id) / _TWO_64


def cumulative_weights(weights: Sequence[float]) -> list[float]:
    """``c_i = (w_1 + … + w_i) / W``, each sum taken left to right in double precision."""
    if len(weights) < 1 or any(not (math.isfinite(w) and w > 0) for w in weights):
        raise ValueError("weights must be positive finite numbers")
    running, sums = 0.0, []
    for weight in weights:  # a plain loop: Python 3.12's sum() compensates, other languages do not
        running += float(weight)
        sums.append(running)
    return [s / running for s in sums]


def variant_index(experiment_key: str, user_id: str, weights: Sequence[float]) -> int:
    """Index of the variant the user gets (see the module docstring)."""
    h = hash_value(experiment_key, user_id)
    for i, boundary in enumerate(cumulative_weights(weights)):
        if h < boundary * _TWO_64:  # exact: int against float, and boundary · 2^64 is exact
            return i
    return len(weights) - 1


def assign(experiment: Experiment, user_id: str) -> str:
    """The key of the variant ``user_id`` (a distinct_id) gets in ``experiment``."""
    weights = [v.weight for v in experiment.variants]
    return experiment.variants[variant_index(experiment.key, user_id, weights)].key


def assign_many(experiment_key: str, user_ids: Sequence[str],
                variants: Sequence[tuple[str, float]]) -> list[str]:
    """The variant key of each user id, for variants given as (key, weight) pairs."""
    limits = thresholds([w for _, w in variants])
    keys = [k for k, _ in variants]
    prefix = f"{experiment_key}:"
    out = []
    for user_id in user_ids:
        h = int.from_bytes(hashlib.sha256((prefix + user_id).encode()).digest()[:8], "big")
        out.append(keys[next((i for i, limit in enumerate(limits) if h < limit), len(keys) - 1)])
    return out


def thresholds(weights: Sequence[float]) -> list[int]:
    """``ceil(c_i · 2^64)``: ``h < c_i · 2^64`` exactly when ``h < threshold_i`` (h an integer)."""
    return [math.ceil(Fraction(c) * _TWO_64) for c in cumulative_weights(weights)]


def variant_code_expr(experiment_key: str, user_id: ir.StringValue,
                      weights: Sequence[float]) -> ir.IntegerValue:
    """The variant index as an expression (DuckDB and Spark): the first 16 hex digits of the
    engine's SHA-256 compared as text with each threshold's 16 hex digits — fixed-width
    lower-case hex orders like the numbers it spells."""
    digest = (ibis.literal(f"{experiment_key}:", "string") + user_id).hexdigest("sha256").substr(0, 16)
    cases = []
    for i, threshold in enumerate(thresholds(weights)[:-1]):
        if threshold >= _TWO_64:
            break
        cases.append((digest < ibis.literal(f"{threshold:016x}", "string"), ibis.literal(i, "int64")))
    last = ibis.literal(len(weights) - 1, "int64")
    return ibis.cases(*cases, else_=last) if cases else last


def variants_for(meta: Meta, project_id: int, distinct_id: str) -> dict[str, str]:
    """``{experiment key: variant key}`` for every running hash-assigned experiment of the project."""
    return {
        stored.experiment.key: assign(stored.experiment, distinct_id)
        for stored in list_experiments(meta, project_id, status="running")
        if isinstance(stored.experiment.assignment, HashAssignment)
    }
