"""The A/B calculator for numbers from elsewhere: a JSON document in, a JSON-ready dict out.

``yunying abtest --json`` and the calculator page both call ``run_document``. The document and
the result are a public contract, defined in ``docs/statistics.md`` ("A/B calculator"): the
first arm is the baseline, every later arm is compared with it; the result's field names never
change (fields may be added).
"""

from __future__ import annotations

from typing import Any

from yunying.stats.compare import Comparison, compare
from yunying.stats.document import AbtestError, read_document
from yunying.stats.multiple import benjamini_hochberg, holm
from yunying.stats.srm import srm_p_value

__all__ = ["AbtestError", "run_document"]

_ADJUST = {"holm": holm, "bh": benjamini_hochberg}


def _row(arm: str, baseline: str, result: Comparison) -> dict[str, Any]:
    return {
        "arm": arm,
        "baseline": baseline,
        "estimate": result.estimate,
        "ci": list(result.ci) if result.ci else None,
        "p_value": result.p_value,
        "chance_to_win": result.chance_to_win,
        "risk": result.risk,
        "error": result.error,
        "risk_baseline": result.risk_baseline,
        "stddev": result.stddev,
        "baseline_mean": result.baseline_mean,
        "variant_mean": result.variant_mean,
    }


def run_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Compare every later arm of ``doc`` with its first; raises ``AbtestError`` for a bad document.

    Returns ``{"comparisons": [...], "srm_p_value": float}``; numbers that do not apply to the
    method, or that a degenerate arm makes undefined (then ``error`` holds a code), are None.
    With ``"correction": "holm"`` or ``"bh"`` each comparison also gets ``p_value_adjusted``,
    adjusted over the comparisons that have a p-value.
    """
    document = read_document(doc)
    base_name, base = document.names[0], document.statistics[0]
    rows = [_row(name, base_name, compare(base, statistic, document.options))
            for name, statistic in zip(document.names[1:], document.statistics[1:], strict=True)]
    if document.correction in _ADJUST:
        tested = [i for i, row in enumerate(rows) if row["p_value"] is not None]
        adjusted = _ADJUST[document.correction]([rows[i]["p_value"] for i in tested]) if tested else []
        for row in rows:
            row["p_value_adjusted"] = None
        for i, value in zip(tested, adjusted, strict=True):
            rows[i]["p_value_adjusted"] = value
    counts = [statistic.n for statistic in document.statistics]
    return {"comparisons": rows, "srm_p_value": srm_p_value(counts, document.weights)}
