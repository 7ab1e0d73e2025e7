"""Reading the A/B calculator's JSON document into statistics and options, or saying what is wrong.

Every problem raises ``AbtestError(message, field)`` with the field's path as the document
spells it (``alpha``, ``prior.stddev``, ``arms[1].n``); unknown keys are errors too, so that a
typo (``sum_sqaures``) is never silently ignored. ``docs/statistics.md`` lists the fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from yunying.stats.options import DIFFERENCES, METHODS, Options, Prior
from yunying.stats.summary import Adjusted, Moments, Proportion, Ratio, Statistic

METRICS = ("proportion", "mean", "ratio")
CORRECTIONS = ("none", "holm", "bh")
_TOP = {"metric", "method", "difference", "alpha", "arms", "sequential_tuning", "prior", "inverse",
        "correction"}
_ARM = {"name", "n", "sum", "sum_squares", "weight"}
_RATIO = {"denominator_sum", "denominator_sum_squares", "sum_products"}
_COVARIATE = ("covariate_sum", "covariate_sum_squares", "covariate_sum_products")
_PRIOR = {"mean", "stddev", "proper"}
_TOLERANCE = 1e-9  # relative rounding allowed in sums typed or exported elsewhere


class AbtestError(ValueError):
    """A document the calculator cannot read; ``field`` names the culprit (None: the whole document)."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Document:
    metric: str
    options: Options
    names: list[str]
    statistics: list[Statistic]
    weights: list[float] | None
    correction: str


def _object(value: Any, path: str | None, allowed: set[str],
            required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AbtestError("must be an object", path)
    for key in value:
        if key not in allowed:
            raise AbtestError("unknown key", f"{path}.{key}" if path else str(key))
    for key in required:
        if key not in value:
            raise AbtestError("is required", f"{path}.{key}" if path else key)
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AbtestError("must be a number", path)
    if not math.isfinite(value):
        raise AbtestError("must be a finite number", path)
    return float(value)


def _count(value: Any, path: str) -> int:
    number = _number(value, path)
    if number < 0 or number != int(number):
        raise AbtestError("must be a whole number ≥ 0", path)
    return int(number)


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise AbtestError(f"must be one of {', '.join(choices)}", path)
    return str(value)


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise AbtestError("must be true or false", path)
    return value


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _TOLERANCE * max(1.0, abs(a), abs(b))


def _moments(n: int, total: float, sum_squares: float, path: str, squares_key: str) -> Moments:
    """Per-unit values; their sums must admit a variance ≥ 0 (up to rounding)."""
    if sum_squares < 0 or (n == 0 and (total != 0 or sum_squares != 0)):
        raise AbtestError("inconsistent with n and the sum", f"{path}.{squares_key}")
    if n > 0 and sum_squares - total * total / n < -_TOLERANCE * max(1.0, sum_squares):
        raise AbtestError("is below sum²/n: the values' variance would be negative", f"{path}.{squares_key}")
    return Moments(n, total, sum_squares)


def _proportion(arm: dict[str, Any], n: int, prefix: str, path: str) -> Proportion:
    """0/1 values: 0 ≤ sum ≤ n, and a sum of squares (optional) equal to the sum."""
    total = _number(arm[f"{prefix}sum"], f"{path}.{prefix}sum")
    if not 0 <= total <= n:
        raise AbtestError("must be between 0 and n for a proportion", f"{path}.{prefix}sum")
    squares = f"{prefix}sum_squares"
    if squares in arm and not _close(_number(arm[squares], f"{path}.{squares}"), total):
        raise AbtestError("must equal the sum for a proportion (0/1 values)", f"{path}.{squares}")
    return Proportion(n, total)


def _values(arm: dict[str, Any], metric: str, n: int, prefix: str, path: str) -> Moments | Proportion:
    if metric == "proportion":
        return _proportion(arm, n, prefix, path)
    for key in (f"{prefix}sum", f"{prefix}sum_squares"):
        if key not in arm:
            raise AbtestError("is required", f"{path}.{key}")
    total = _number(arm[f"{prefix}sum"], f"{path}.{prefix}sum")
    return _moments(n, total, _number(arm[f"{prefix}sum_squares"], f"{path}.{prefix}sum_squares"), path,
                    f"{prefix}sum_squares")


def _cross(x: Moments | Proportion, y: Moments | Proportion, value: Any, path: str) -> float:
    """A cross sum Σxy must satisfy Cauchy–Schwarz with the two sums of squares (up to rounding)."""
    sum_products = _number(value, path)
    if x.n == 0:
        if sum_products != 0:
            raise AbtestError("must be 0 without units", path)
        return sum_products
    centred = sum_products - x.sum * y.sum / x.n
    bound = math.sqrt(max(x.sum_squares - x.sum**2 / x.n, 0.0) * max(y.sum_squares - y.sum**2 / y.n, 0.0))
    if abs(centred) > bound + _TOLERANCE * max(1.0, abs(sum_products), bound):
        raise AbtestError("is inconsistent with the sums of squares (|covariance| above the product of "
                          "the standard deviations)", path)
    return sum_products


def _arm(arm: Any, metric: str, path: str) -> tuple[str, Statistic, float | None, bool]:
    """One arm: (name, statistic, weight or None, whether it carries CUPED covariate sums)."""
    if isinstance(arm, dict) and metric != "ratio" and _RATIO & set(arm):
        raise AbtestError("only for metric ratio", f"{path}.{sorted(_RATIO & set(arm))[0]}")
    arm = _object(arm, path, _ARM | set(_COVARIATE) | _RATIO, ("name", "n", "sum"))
    name = arm["name"]
    if not isinstance(name, str) or not name.strip():
        raise AbtestError("must be a non-empty string", f"{path}.name")
    n = _count(arm["n"], f"{path}.n")
    weight = None
    if "weight" in arm:
        weight = _number(arm["weight"], f"{path}.weight")
        if weight <= 0:
            raise AbtestError("must be positive", f"{path}.weight")
    values = _values(arm, metric, n, "", path)
    statistic: Statistic = values
    if metric == "ratio":
        missing = sorted(_RATIO - set(arm))
        if missing:
            raise AbtestError("is required for metric ratio", f"{path}.{missing[0]}")
        denominator = _values(arm, "mean", n, "denominator_", path)
        products = _cross(values, denominator, arm["sum_products"], f"{path}.sum_products")
        statistic = Ratio(values, denominator, products)
    present = [key for key in _COVARIATE if key in arm]
    if not present:
        return name, statistic, weight, False
    if metric == "ratio":
        raise AbtestError("CUPED covariates are not supported for ratio metrics", f"{path}.{present[0]}")
    needed = [key for key in _COVARIATE if not (metric == "proportion" and key == "covariate_sum_squares")]
    missing = [key for key in needed if key not in arm]
    if missing:
        raise AbtestError("is required with the other covariate sums", f"{path}.{missing[0]}")
    pre = _values(arm, metric, n, "covariate_", path)
    products = _cross(values, pre, arm["covariate_sum_products"], f"{path}.covariate_sum_products")
    return name, Adjusted(values, pre, products), weight, True


def _options(doc: dict[str, Any]) -> Options:
    prior = Prior()
    if "prior" in doc:
        raw = _object(doc["prior"], "prior", _PRIOR)
        stddev = _number(raw.get("stddev", prior.stddev), "prior.stddev")
        if stddev <= 0:
            raise AbtestError("must be positive", "prior.stddev")
        prior = Prior(_number(raw.get("mean", prior.mean), "prior.mean"), stddev,
                      _flag(raw.get("proper", prior.proper), "prior.proper"))
    alpha = _number(doc.get("alpha", 0.05), "alpha")
    if not 0 < alpha < 1:
        raise AbtestError("must be between 0 and 1 (exclusive)", "alpha")
    tuning = _number(doc.get("sequential_tuning", 5000.0), "sequential_tuning")
    if tuning <= 0:
        raise AbtestError("must be positive", "sequential_tuning")
    return Options(
        method=_choice(doc.get("method", "frequentist"), "method", METHODS),  # type: ignore[arg-type]
        difference=_choice(doc.get("difference", "relative"), "difference", DIFFERENCES),  # type: ignore[arg-type]
        alpha=alpha, sequential_tuning=tuning, prior=prior,
        inverse=_flag(doc.get("inverse", False), "inverse"),
    )


def read_document(doc: Any) -> Document:
    """The checked document; raises ``AbtestError`` naming the first bad field."""
    doc = _object(doc, None, _TOP, ("metric", "arms"))
    metric = _choice(doc["metric"], "metric", METRICS)
    options = _options(doc)
    correction = _choice(doc.get("correction", "none"), "correction", CORRECTIONS)
    arms = doc["arms"]
    if not isinstance(arms, list) or len(arms) < 2:
        raise AbtestError("must be a list of at least two arms (the first is the baseline)", "arms")
    parsed = [_arm(arm, metric, f"arms[{i}]") for i, arm in enumerate(arms)]
    names = [name for name, _, _, _ in parsed]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise AbtestError("repeats another arm's name", f"arms[{i}].name")
    for key, flags in (("weight", [w is not None for _, _, w, _ in parsed]),
                       ("covariate_sum", [c for _, _, _, c in parsed])):
        if any(flags) and not all(flags):
            raise AbtestError("must be given for all arms or none", f"arms[{flags.index(False)}].{key}")
    weights = [w for _, _, w, _ in parsed] if parsed[0][2] is not None else None
    return Document(metric, options, names, [s for _, s, _, _ in parsed], weights, correction)  # type: ignore[arg-type]
