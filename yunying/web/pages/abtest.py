"""The A/B calculator (A/B 测试计算器): numbers from elsewhere in, lift and verdict out.

For results of ad platforms, e-mail tools or offline tests: per arm the units and the
conversions (a rate) or the mean and standard deviation (a mean). The page builds the
public A/B document (``yunying abtest --json``, docs/statistics.md), shows it so it can be
reused, and runs it; the "document" box takes any document directly (ratio metrics, CUPED
sums, priors …). The query string holds the inputs, so a result can be bookmarked.
The JSON twin (``GET /api/v1/p/<project>/abtest?doc=...``) answers with the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from yunying.reports.labels import LABELS
from yunying.reports.lift_chart import lift_figure
from yunying.stats.abtest import AbtestError, run_document
from yunying.web.errors import ApiError
from yunying.web.pages.comparisons import lift_row, present
from yunying.web.pages.framework import PageContext, page

MAX_ARMS = 5
SRM_WARNING_P = 0.001  # below this the traffic split is almost surely not what was intended
METRICS = ("proportion", "mean")
METHODS = ("frequentist", "sequential", "bayesian")
DIFFERENCES = ("relative", "absolute")
EXAMPLE_ARMS = [{"name": "A", "n": "1000", "conv": "120", "mean": "", "sd": ""},
                {"name": "B", "n": "1000", "conv": "150", "mean": "", "sd": ""}]


class FormError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _number(raw: str, field: str, *, whole: bool = False, positive: bool = False) -> float:
    try:
        value = float(raw.replace(",", "").strip())
    except ValueError:
        raise FormError(f"{raw!r} is not a number", field) from None
    if not math.isfinite(value) or (whole and not value.is_integer()) or (positive and value <= 0):
        kind = "a whole number" if whole else "a number"
        raise FormError(f"{raw!r} must be {kind}{' above 0' if positive else ''}", field)
    return value


def _arms_from_form(params: Any, metric: str) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """(the rows as typed, the document's arms); empty rows are skipped."""
    typed, arms = [], []
    for i in range(MAX_ARMS):
        row = {k: params.get(f"{k}{i}", "").strip() for k in ("name", "n", "conv", "mean", "sd")}
        typed.append(row)
        if not row["n"]:
            continue
        n = _number(row["n"], f"n{i}", whole=True, positive=True)
        name = row["name"] or chr(ord("A") + len(arms))
        if metric == "proportion":
            conv = _number(row["conv"], f"conv{i}", whole=True)
            if not 0 <= conv <= n:
                raise FormError("conversions must be between 0 and the number of users", f"conv{i}")
            arms.append({"name": name, "n": int(n), "sum": conv, "sum_squares": conv})
        else:
            mean, sd = _number(row["mean"], f"mean{i}"), _number(row["sd"], f"sd{i}")
            if sd < 0:
                raise FormError("the standard deviation cannot be negative", f"sd{i}")
            arms.append({"name": name, "n": int(n), "sum": n * mean,
                         "sum_squares": (n - 1) * sd * sd + n * mean * mean})
    if len(arms) < 2:
        raise FormError("give at least two arms (the first is the baseline)", "n1")
    return typed, arms


def _document(params: Any) -> tuple[dict[str, Any], list[dict[str, str]], str]:
    """The A/B document from the query string: the raw ``doc`` box, or the form's fields."""
    raw = params.get("doc", "").strip()
    if raw:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise FormError(f"the document is not valid JSON: {exc}", "doc") from None
        if not isinstance(doc, dict):
            raise FormError("the document must be a JSON object", "doc")
        return doc, EXAMPLE_ARMS, "doc"
    metric = params.get("metric", "proportion")
    if metric not in METRICS:
        raise FormError(f"metric must be one of {', '.join(METRICS)}", "metric")
    typed, arms = _arms_from_form(params, metric)
    doc = {"metric": metric, "method": params.get("method", "frequentist"),
           "difference": params.get("difference", "relative"),
           "alpha": _number(params.get("alpha", "0.05"), "alpha"), "arms": arms}
    return doc, typed, "form"


def analyse(t: Any, doc: dict[str, Any], result: dict[str, Any], *, metric_name: str) -> dict[str, Any]:
    """Rows, verdicts and the lift chart of a calculator result."""
    relative = doc.get("difference", "relative") == "relative"
    proportion = doc.get("metric") == "proportion"
    alpha = float(doc.get("alpha", 0.05))
    n_by_arm = {arm["name"]: arm["n"] for arm in doc["arms"]}
    rows, chart_rows = [], []
    for comparison in result["comparisons"]:
        n_per_arm = (n_by_arm[comparison["arm"]] + n_by_arm[comparison["baseline"]]) / 2
        shown = present(t, comparison, metric_name=metric_name, alpha=alpha, n_per_arm=n_per_arm,
                        relative=relative, proportion=proportion, inverse=bool(doc.get("inverse")))
        rows.append({**comparison, **shown})
        chart_rows.append(lift_row(f"{comparison['arm']} vs {comparison['baseline']}", comparison,
                                   shown["verdict"]["code"]))
    srm = result.get("srm_p_value")
    figure = lift_figure(chart_rows, LABELS[t.locale], relative=relative,
                         axis_title=t("ab.axis.relative" if relative else "ab.axis.absolute"))
    return {"rows": rows, "srm_p_value": srm, "srm_warning": srm is not None and srm < SRM_WARNING_P,
            "figure": figure}


@page("/p/{project}/abtest", "abtest.html", need="viewer")
def calculator(pc: PageContext) -> dict[str, Any]:
    params = pc.params
    data: dict[str, Any] = {
        "metrics": METRICS, "methods": METHODS, "differences": DIFFERENCES,
        "metric": params.get("metric", "proportion"), "method": params.get("method", "frequentist"),
        "difference": params.get("difference", "relative"), "alpha": params.get("alpha", "0.05"),
        "arms": EXAMPLE_ARMS + [dict.fromkeys(EXAMPLE_ARMS[0], "") for _ in range(MAX_ARMS - 2)],
        "doc": params.get("doc", ""), "document": None, "result": None, "error": None,
    }
    if not any(params.get(k) for k in ("n0", "doc")):
        return data
    try:
        doc, typed, source = _document(params)
        result = run_document(doc)
    except (FormError, AbtestError) as exc:
        field = getattr(exc, "field", None)
        if pc.is_api:
            raise ApiError(400, "bad_document", str(exc), field) from None
        data["error"] = {"field": field, "message": str(exc)}
        return data
    if source == "form":
        data["arms"] = typed
    data["document"] = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    metric_name = pc.t(f"ab.metric_name.{doc.get('metric', 'proportion')}")
    data["result"] = {**result, **analyse(pc.t, doc, result, metric_name=metric_name)}
    return data
