"""The sample-size calculator (样本量计算): users per arm before a test, or the effect a test can see.

Inputs (the query string, so a plan can be bookmarked): a conversion rate in percent
(``baseline=20``) or a mean with its per-user standard deviation (``metric=mean&baseline=…&sd=…``),
the minimum detectable effect (``effect=5``, in percentage points or the metric's unit with
``effect_kind=absolute``, in percent of the baseline with ``relative``), α and power in percent
(``alpha=5``, ``power=80``), the number of arms, optionally the users entering the test per day
(``daily``, gives the days needed) and users per arm (``n``, gives the minimum detectable effect:
the reverse question). ``convention`` is ``miller`` (default, Evan Miller's calculator) or
``cohen`` (statsmodels' Cohen's h / d); the other one's answer is shown beside it.

Every number comes from ``yunying.stats.power`` (docs/statistics.md "Power, sample size and
minimum detectable effect"); this module only reads the inputs and lays the answers out.
With no inputs the page shows Evan Miller's default case: 20%, +5 points, α 5%, power 80%.
"""

from __future__ import annotations

import math
from typing import Any

from yunying.reports.charts import _axis, layout
from yunying.reports.labels import LABELS
from yunying.stats.power import CONVENTIONS, minimum_detectable_effect, sample_size
from yunying.web.errors import ApiError
from yunying.web.pages.framework import PageContext, page
from yunying.web.pages.inputs import InputError, choice, number

METRICS = ("proportion", "mean")
EFFECT_KINDS = ("absolute", "relative")
MAX_ARMS = 10
DEFAULTS = {"metric": "proportion", "baseline": "20", "sd": "", "effect": "5", "effect_kind": "absolute",
            "alpha": "5", "power": "80", "arms": "2", "daily": "", "n": "", "convention": "miller"}
CURVE_POINTS = 40
CURVE_COLOURS = {"miller": "#3b6fd8", "cohen": "#e8833a"}
_WORDS = {"baseline": "ss.baseline", "sd": "ss.sd", "effect": "ss.effect", "effect_kind": "ss.effect_kind",
          "alpha": "ss.alpha", "power": "ss.power", "arms": "ss.arms", "daily": "ss.daily", "n": "ss.n",
          "metric": "ss.metric", "convention": "ss.convention"}


def _number(raw: str, name: str, *, positive: bool = False) -> float:
    """A number of the planner (rates and shares may be typed with a %)."""
    return number(raw, name, positive=positive, percent=True)


def _between(raw: str, name: str, low: float, high: float) -> float:
    """A number strictly between ``low`` and ``high``."""
    value = _number(raw, name)
    if not low < value < high:
        raise InputError("ss.err.between", name, low=low, high=high)
    return value


def _whole_if_can(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def read_plan(inputs: dict[str, str]) -> dict[str, Any]:
    """The plan in the units of ``yunying.stats.power`` (rates and shares as fractions)."""
    metric = choice(inputs["metric"], "metric", METRICS)
    kind = choice(inputs["effect_kind"], "effect_kind", EFFECT_KINDS)
    convention = choice(inputs["convention"], "convention", CONVENTIONS)
    proportion = metric == "proportion"
    if proportion:
        baseline, stddev = _between(inputs["baseline"], "baseline", 0, 100) / 100, None
    else:
        baseline = _number(inputs["baseline"], "baseline")
        stddev = _number(inputs["sd"], "sd", positive=True)
    relative = kind == "relative"
    if relative and baseline == 0:
        raise InputError("ss.err.relative_zero", "effect_kind")
    absolute = None  # no effect but users per arm: only the reverse question is asked
    if inputs["effect"] or not inputs["n"]:
        effect = _number(inputs["effect"], "effect", positive=True)
        if relative or proportion:
            effect /= 100  # percent of the baseline, or percentage points of a rate
        absolute = effect * baseline if relative else effect
        if proportion and baseline + absolute >= 1:
            raise InputError("ss.err.variant_rate", "effect", variant=f"{(baseline + absolute) * 100:g}")
    arms = _number(inputs["arms"], "arms")
    if not (arms.is_integer() and 2 <= arms <= MAX_ARMS):
        raise InputError("ss.err.arms", "arms", most=MAX_ARMS)
    return {
        "metric": metric, "baseline": baseline, "stddev": stddev, "effect_kind": kind,
        "effect_absolute": absolute,
        "effect_relative": absolute / baseline if baseline and absolute is not None else None,
        "variant": baseline + absolute if absolute is not None else None,
        "alpha": _between(inputs["alpha"], "alpha", 0, 100) / 100,
        "power": _between(inputs["power"], "power", 0, 100) / 100,
        "arms": int(arms), "convention": convention,
        "daily": _whole_if_can(_number(inputs["daily"], "daily", positive=True)) if inputs["daily"] else None,
        "n": _whole_if_can(_number(inputs["n"], "n", positive=True)) if inputs["n"] else None,
    }


def _size(plan: dict[str, Any], convention: str, effect: float | None = None) -> dict[str, Any]:
    """Users per arm, in total and (with daily traffic) days, for an absolute ``effect``."""
    needed = sample_size(plan["baseline"], plan["effect_absolute"] if effect is None else effect,
                         stddev=plan["stddev"], alpha=plan["alpha"], power=plan["power"],
                         convention=convention)  # type: ignore[arg-type]
    total = needed.baseline * plan["arms"]
    return {"convention": convention, "per_arm": needed.baseline, "per_arm_exact": needed.baseline_exact,
            "total": total, "days": math.ceil(total / plan["daily"]) if plan["daily"] else None}


def _mde(plan: dict[str, Any], convention: str) -> dict[str, Any]:
    """The smallest upward effect ``n`` users per arm detect (``detectable`` False: none can be)."""
    absolute = minimum_detectable_effect(plan["baseline"], plan["n"], stddev=plan["stddev"],
                                         alpha=plan["alpha"], power=plan["power"],
                                         convention=convention)  # type: ignore[arg-type]
    if math.isinf(absolute):
        return {"convention": convention, "n": plan["n"], "detectable": False, "absolute": None,
                "relative": None, "variant": None}
    return {"convention": convention, "n": plan["n"], "detectable": True, "absolute": absolute,
            "relative": absolute / plan["baseline"] if plan["baseline"] else None,
            "variant": plan["baseline"] + absolute}


def _other(convention: str) -> str:
    return next(c for c in CONVENTIONS if c != convention)


def _curve_effects(plan: dict[str, Any], around: float) -> list[float]:
    """Absolute effects from a quarter to three times ``around`` (a rate's variant stays below 100%)."""
    low, high = around / 4, around * 3
    if plan["stddev"] is None:
        high = min(high, (1 - plan["baseline"]) * 0.98)
    if high <= low:
        return [around]
    ratio = (high / low) ** (1 / (CURVE_POINTS - 1))
    return [low * ratio**i for i in range(CURVE_POINTS)]


def _shown(plan: dict[str, Any], effect: float) -> float:
    """An absolute effect in the unit of the chart's x axis (points, the metric's unit or a share)."""
    if plan["effect_kind"] == "relative":
        return effect / plan["baseline"]
    return effect * 100 if plan["stddev"] is None else effect


def figure(t: Any, plan: dict[str, Any], size: dict[str, Any] | None,
           mde: dict[str, Any] | None) -> dict[str, Any] | None:
    """Users per arm against the minimum detectable effect (log scale), the plan marked on it."""
    around = plan["effect_absolute"] if size else (mde["absolute"] if mde and mde["detectable"] else None)
    if around is None:
        return None
    effects = _curve_effects(plan, around)
    conventions = [plan["convention"]] + ([_other(plan["convention"])] if plan["stddev"] is None else [])
    relative = plan["effect_kind"] == "relative"
    x_format = ".1%" if relative else ",.3~g"
    traces: list[dict[str, Any]] = []
    for convention in conventions:
        ys = [_size(plan, convention, e)["per_arm"] for e in effects]
        traces.append({
            "type": "scatter", "mode": "lines", "name": t(f"ss.convention.{convention}"),
            "x": [_shown(plan, e) for e in effects], "y": ys,
            "line": {"color": CURVE_COLOURS[convention],
                     "dash": "solid" if convention == plan["convention"] else "dot"},
            "hovertemplate": f"%{{x:{x_format}}}: %{{y:,}}<extra>%{{fullData.name}}</extra>",
        })
    marks = [(_shown(plan, around), size["per_arm"])] if size else []
    if mde and mde["detectable"]:
        marks.append((_shown(plan, mde["absolute"]), math.ceil(mde["n"])))
    traces.append({"type": "scatter", "mode": "markers", "name": t("ss.chart.plan"),
                   "x": [x for x, _ in marks], "y": [y for _, y in marks],
                   "marker": {"size": 11, "color": "#d64550"},
                   "hovertemplate": f"%{{x:{x_format}}}: %{{y:,}}<extra>%{{fullData.name}}</extra>"})
    unit = "ss.chart.x.relative" if relative else ("ss.chart.x.points" if plan["stddev"] is None
                                                   else "ss.chart.x.units")
    return {"data": traces, "layout": layout(
        LABELS[t.locale], height=320,
        # the legend above the plot: the x axis title sits below it
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        margin={"l": 56, "r": 24, "t": 40, "b": 56},
        xaxis=_axis(t(unit), tickformat=".0%" if relative else ",~g"),
        yaxis=_axis(t("ss.chart.y"), type="log", tickformat=",~d"),
    )}


def _effect_text(t: Any, plan: dict[str, Any], absolute: float | None) -> dict[str, str]:
    """An absolute effect as the page says it: "+5.00 个百分点", "+25.0%", "+0.69"."""
    if absolute is None:
        return {"absolute": "–", "relative": "–", "variant": "–"}
    relative = absolute / plan["baseline"] if plan["baseline"] else None
    if plan["stddev"] is None:
        return {"absolute": t("ss.points", value="+" + t.number(absolute * 100, 2)),
                "relative": t.change(relative), "variant": t.percent(plan["baseline"] + absolute, 2)}
    variant = plan["baseline"] + absolute
    return {"absolute": "+" + t.number(absolute, 4 if abs(absolute) < 1 else 2),
            "relative": t.change(relative) if relative is not None else "–",
            "variant": t.number(variant, 4 if abs(variant) < 1 else 2)}


def _baseline_text(t: Any, plan: dict[str, Any]) -> str:
    value = plan["baseline"]
    if plan["stddev"] is None:
        return t.percent(value, 2)
    return t.number(value, 4 if abs(value) < 1 else 2)


def _share(t: Any, value: float) -> str:
    """5% / 2.5%: as many decimals as the typed percent needs (up to two)."""
    for digits in (0, 1):
        scaled = value * 100 * 10**digits
        if abs(scaled - round(scaled)) < 1e-6:
            return t.percent(value, digits)
    return t.percent(value, 2)


def field_label(t: Any, name: str, metric: str) -> str:
    if name == "baseline" and metric == "mean":
        return t("ss.baseline_mean")
    return t(_WORDS[name]) if name in _WORDS else name


@page("/p/{project}/sample-size", "sample_size.html", need="viewer")
def planner(pc: PageContext) -> dict[str, Any]:
    t = pc.t
    inputs = {key: pc.params.get(key, default).strip() for key, default in DEFAULTS.items()}
    if "metric" in pc.params and pc.params.get("metric") == "mean" and "baseline" not in pc.params:
        inputs["baseline"] = ""  # the rate's default is no mean
    data: dict[str, Any] = {"inputs": inputs, "metrics": METRICS, "effect_kinds": EFFECT_KINDS,
                            "conventions": CONVENTIONS, "max_arms": MAX_ARMS, "error": None,
                            "plan": None, "sample_size": None, "mde": None, "figure": None, "text": None}
    try:
        plan = read_plan(inputs)
        size = None
        if plan["effect_absolute"] is not None:
            size = {**_size(plan, plan["convention"]), "alternative": _size(plan, _other(plan["convention"]))}
        mde = None
        if plan["n"] is not None:
            mde = {**_mde(plan, plan["convention"]), "alternative": _mde(plan, _other(plan["convention"]))}
    except InputError as exc:
        data["error"] = {"field": exc.field, "message": t(exc.key, **exc.values)}
    except ValueError as exc:  # what power.py refuses beyond the checks above
        data["error"] = {"field": "effect", "message": str(exc)}
    if data["error"]:
        data["error"]["label"] = field_label(t, data["error"]["field"], inputs["metric"])
        if pc.is_api:
            raise ApiError(400, "bad_input", data["error"]["message"], data["error"]["field"])
        return data
    data.update(plan=plan, sample_size=size, mde=mde, figure=figure(t, plan, size, mde))
    data["text"] = {
        "baseline": _baseline_text(t, plan), "n": t.number(plan["n"]) if plan["n"] is not None else None,
        "alpha": _share(t, plan["alpha"]), "power": _share(t, plan["power"]),
        "effect": None, "per_arm": None, "total": None, "days": None, "alternative": None,
        "mde": None, "mde_alternative": None,
    }
    if size:
        data["text"].update(
            effect=_effect_text(t, plan, plan["effect_absolute"]),
            per_arm=t.number(size["per_arm"]), total=t.number(size["total"]),
            days=t.number(size["days"]) if size["days"] is not None else None,
            alternative=t.number(size["alternative"]["per_arm"]))
    if mde:
        data["text"].update(mde=_effect_text(t, plan, mde["absolute"]),
                            mde_alternative=_effect_text(t, plan, mde["alternative"]["absolute"]))
    return data
