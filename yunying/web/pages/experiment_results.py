"""How an experiment's analysis reads on its page: per metric the arms' levels, each variant's
effect with its interval and verdict sentence, one lift chart, and the breakdown groups.

Pure functions of the analysis result (``ExperimentResult.to_json()``) and the words of the
viewer; the numbers are never recomputed here (the verdict follows the analysis's
``significant`` and ``direction``, so a Holm/BH-corrected p-value decides when asked).
"""

from __future__ import annotations

from typing import Any

from yunying.reports.labels import LABELS
from yunying.reports.lift_chart import lift_figure
from yunying.reports.verdict import experiment_verdict
from yunying.web.pages.comparisons import level_text, lift_row, present


def _pair_users(arms: list[dict[str, Any]], variant: str) -> float:
    users = {a["variant"]: a["users"] for a in arms}
    return (users[variant] + arms[0]["users"]) / 2


def _metric_rows(
    t: Any, result: dict[str, Any], arms: list[dict[str, Any]], metric: dict[str, Any], labels: dict[str, str]
) -> dict[str, Any]:
    relative = result["difference"] == "relative"
    proportion = metric["kind"] == "conversion"
    corrected = result["correction"] != "none"
    rows = []
    for comparison in metric["comparisons"]:
        n_per_arm = _pair_users(arms, comparison["variant"])
        shown_p = (
            comparison["p_value_adjusted"]
            if corrected and comparison["p_value_adjusted"] is not None
            else comparison["p_value"]
        )
        contract = {
            **comparison,
            "arm": labels[comparison["variant"]],
            "baseline": labels[arms[0]["variant"]],
            "p_value": shown_p,
        }
        decided = experiment_verdict(comparison, alpha=result["alpha"], n_per_arm=n_per_arm)
        shown = present(
            t,
            contract,
            metric_name=metric["name"],
            alpha=result["alpha"],
            n_per_arm=n_per_arm,
            relative=relative,
            proportion=proportion,
            inverse=metric["inverse"],
            decided=decided,
        )
        rows.append(
            {
                **comparison,
                **shown,
                "arm": labels[comparison["variant"]],
                "p_value_raw": comparison["p_value"],
            }
        )
    return {
        "key": metric["key"],
        "name": metric["name"],
        "kind": metric["kind"],
        "role": metric["role"],
        "inverse": metric["inverse"],
        "cap": metric["cap"],
        "levels": [
            {
                "arm": labels[a["variant"]],
                "users": a["users"],
                "mean": level_text(t, m, proportion=proportion),
                "value": m,
            }
            for a, m in zip(arms, metric["means"], strict=True)
        ],
        "comparisons": rows,
        "guardrail_failed": any(c["guardrail_failed"] for c in metric["comparisons"]),
    }


def labels_of(arms: list[dict[str, Any]]) -> dict[str, str]:
    """Variant key -> its label (the analysis names every arm: its name, else its key)."""
    return {a["variant"]: a["name"] for a in arms}


def present_result(t: Any, result: dict[str, Any]) -> dict[str, Any]:
    """What the results page shows of ``result`` (the analysis's JSON), in ``t``'s language."""
    arms = result["arms"]
    labels = labels_of(arms)
    metrics = [_metric_rows(t, result, arms, m, labels) for m in result["metrics"]]
    chart_rows = [
        lift_row(f"{c['arm']} · {m['name']}", c, c["verdict"]["code"])
        for m in metrics
        for c in m["comparisons"]
    ]
    relative = result["difference"] == "relative"
    figure = lift_figure(
        chart_rows,
        LABELS[t.locale],
        relative=relative,
        axis_title=t("ab.axis.relative" if relative else "ab.axis.absolute"),
    )
    return {
        "arms": [{**a, "label": labels[a["variant"]]} for a in arms],
        "metrics": metrics,
        "figure": figure,
        "chart_rows": len(chart_rows),
        "guardrails_failed": [m["name"] for m in metrics if m["guardrail_failed"]],
        "groups": [_group(t, result, g) for g in result.get("groups") or []],
    }


def _group(t: Any, result: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
    """A breakdown group: its users per arm and each metric's comparisons (effect, interval, verdict)."""
    labels = labels_of(group["arms"])
    metrics = [_metric_rows(t, result, group["arms"], m, labels) for m in group["metrics"]]
    return {
        "value": group["value"],
        "arms": group["arms"],
        "srm_p_value": group["srm_p_value"],
        "metrics": metrics,
    }
