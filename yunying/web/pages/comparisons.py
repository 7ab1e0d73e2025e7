"""How a comparison (B vs A) reads on a page: formatted effect, interval, verdict sentence, chart row.

Shared by the A/B calculator and the experiment results: both hand over dicts with the A/B
contract's fields (``estimate``, ``ci``, ``p_value``, ``chance_to_win``, ``risk``, ``error``,
plus ``stddev``) and get back what the templates and the JSON twins show.
"""

from __future__ import annotations

import math
from typing import Any

from yunying.reports.lift_chart import LiftRow
from yunying.reports.verdict import Verdict, verdict


def effect_text(t: Any, value: float | None, *, relative: bool, proportion: bool) -> str:
    """A signed effect: +5.2% (relative), +1.2 pp (a rate's absolute change), +3.41 (a mean's)."""
    if value is None or not math.isfinite(value):
        return "–"
    if relative:
        return t.change(value)
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    if proportion:
        return t("ab.points", value=sign + t.number(abs(value) * 100, 2))
    return sign + t.number(abs(value), _digits(value))


def level_text(t: Any, value: float | None, *, proportion: bool) -> str:
    """An arm's level: a rate as a percentage, a mean as a number."""
    if value is None or not math.isfinite(value):
        return "–"
    return t.percent(value, 2) if proportion else t.number(value, _digits(value))


def risk_text(t: Any, value: float | None, *, relative: bool, proportion: bool) -> str:
    """The expected loss of shipping (never negative, so unsigned): a share of the baseline for
    a relative difference, points for a rate's absolute one, else a number."""
    if value is None or not math.isfinite(value):
        return "–"
    if relative:
        return t.percent(value, 2)
    if proportion:
        return t("ab.points", value=t.number(value * 100, 2))
    return t.number(value, _digits(value))


def _digits(value: float) -> int:
    magnitude = abs(value)
    return 0 if magnitude >= 1000 else 2 if magnitude >= 1 else 4


def present(t: Any, comparison: dict[str, Any], *, metric_name: str, alpha: float, n_per_arm: float,
            relative: bool, proportion: bool, inverse: bool = False,
            decided: Verdict | None = None) -> dict[str, Any]:
    """Display strings and the verdict of one comparison (``comparison`` is left unchanged);
    ``decided``: a verdict reached elsewhere (an experiment's analysis), else it is computed."""
    if decided is None:
        decided = verdict(comparison, alpha=alpha, n_per_arm=n_per_arm, inverse=inverse)
    ci = comparison.get("ci") or [None, None]

    def eff(v: float | None) -> str:
        return effect_text(t, v, relative=relative, proportion=proportion)

    values = {
        "arm": comparison["arm"], "baseline": comparison["baseline"], "metric": metric_name,
        "effect": eff(comparison.get("estimate")),
        "effect_abs": "–" if comparison.get("estimate") is None
        else eff(abs(comparison["estimate"])).lstrip("+±"),
        "direction": t("ab.lower") if (comparison.get("estimate") or 0) < 0 else t("ab.higher"),
        "lo": eff(ci[0]), "hi": eff(ci[1]), "level": t.percent(1 - alpha, 0),
        "ctw": t.percent(comparison.get("chance_to_win"), 1),
        "more": t.number(decided.more_per_arm) if decided.more_per_arm is not None else "",
        "error": t("ab.error." + decided.error) if decided.error else "",
    }
    bayesian = comparison.get("chance_to_win") is not None
    key = f"ab.verdict.{decided.code}" + ("_bayes" if bayesian and decided.code != "error" else "")
    if decided.code == "inconclusive" and decided.more_per_arm is None:
        key += "_flat"
    return {
        "verdict": decided.to_json(),
        "sentence": t(key, **values),
        "effect": values["effect"], "lo": values["lo"], "hi": values["hi"],
        "p_value": comparison.get("p_value"), "chance_to_win": comparison.get("chance_to_win"),
        "risk": risk_text(t, comparison.get("risk"), relative=relative, proportion=proportion),
    }


def lift_row(label: str, comparison: dict[str, Any], code: str) -> LiftRow:
    ci = comparison.get("ci") or [None, None]
    return LiftRow(label, comparison.get("estimate"), ci[0], ci[1], code)
