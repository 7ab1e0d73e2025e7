"""The A/B calculator (A/B 测试计算器): numbers from elsewhere in, lift and verdict out.

For results of ad platforms, e-mail tools or offline tests: per arm the units and the
conversions (a rate) or the mean and standard deviation (a mean), optionally the planned
traffic share (for the sample-ratio check). The page builds the public A/B document
(``yunying abtest --json``, docs/statistics.md), shows it with the command line that
repeats it, and runs it with ``yunying.stats.abtest.run_document``; the "document" box
takes any document directly (ratio metrics, CUPED sums, priors …).

The query string holds the inputs, so a result can be bookmarked:
``/p/<project>/abtest?run=1&n0=1000&conv0=120&n1=1000&conv1=150``. The JSON twin
(``/api/v1/p/<project>/abtest?…``) answers with the same numbers, or 400 with the
input's name in ``field`` (``conv1``; for the document box the document's own path,
``arms[1].n``).
"""

from __future__ import annotations

import shlex
from typing import Any

import orjson

from yunying.reports.labels import LABELS
from yunying.reports.lift_chart import lift_figure
from yunying.stats.abtest import AbtestError, run_document
from yunying.stats.options import DIFFERENCES, METHODS
from yunying.web.errors import ApiError
from yunying.web.pages.comparisons import level_text, lift_row, present
from yunying.web.pages.framework import PageContext, page
from yunying.web.pages.inputs import InputError, choice, number

MAX_ARMS = 5
SRM_WARNING_P = 0.001  # below this the traffic split is almost surely not what was intended
# docs/statistics.md "Sequential": a relative lift is not read before each arm has this many
# conversions and as many non-conversions (the delta method is anti-conservative below).
SEQUENTIAL_MIN_COUNT = 50
METRICS = ("proportion", "mean")
COLUMNS = ("name", "n", "conv", "mean", "sd", "weight")
EXAMPLE_ARMS = [{"name": "A", "n": "1000", "conv": "120", "mean": "", "sd": "", "weight": ""},
                {"name": "B", "n": "1000", "conv": "150", "mean": "", "sd": "", "weight": ""}]
# where a field of a form-built document's arm was typed
_ARM_INPUT = {"name": "name", "n": "n", "sum": "conv", "sum_squares": "sd", "weight": "weight"}


def typed_rows(params: Any) -> list[dict[str, str]]:
    """The arms' inputs as typed (``name0``, ``n0``, ``conv0`` …), one dict per row."""
    return [{k: params.get(f"{k}{i}", "").strip() for k in COLUMNS} for i in range(MAX_ARMS)]


def _arms_from_form(rows: list[dict[str, str]], metric: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The document's arms from the filled rows (a row without users is skipped) and their rows."""
    arms: list[dict[str, Any]] = []
    used: list[int] = []
    for i, row in enumerate(rows):
        if not row["n"]:
            if any(row[k] for k in ("conv", "mean", "sd", "weight")):
                raise InputError("input.missing", f"n{i}")
            continue
        n = int(number(row["n"], f"n{i}", whole=True, positive=True))
        name = row["name"] or "ABCDE"[i]
        if metric == "proportion":
            conv = number(row["conv"], f"conv{i}", whole=True)
            if not 0 <= conv <= n:
                raise InputError("ab.err.conversions", f"conv{i}", n=n)
            arm: dict[str, Any] = {"name": name, "n": n, "sum": int(conv)}
        else:
            mean, sd = number(row["mean"], f"mean{i}"), number(row["sd"], f"sd{i}")
            if sd < 0:
                raise InputError("ab.err.sd", f"sd{i}")
            # Σx from the mean, Σx² from the sample standard deviation (n − 1 in the denominator)
            arm = {"name": name, "n": n, "sum": n * mean, "sum_squares": (n - 1) * sd * sd + n * mean * mean}
        if row["weight"]:
            arm["weight"] = number(row["weight"], f"weight{i}", positive=True)
        if name in [a["name"] for a in arms]:
            raise InputError("ab.err.same_name", f"name{i}", name=name)
        arms.append(arm)
        used.append(i)
    if len(arms) < 2:
        raise InputError("ab.err.two_arms", "n1" if used == [0] else "n0")
    weighted = [("weight" in arm) for arm in arms]
    if any(weighted) and not all(weighted):
        raise InputError("ab.err.weights", f"weight{used[weighted.index(False)]}")
    return arms, used


def _form_document(params: Any, rows: list[dict[str, str]]) -> tuple[dict[str, Any], list[int]]:
    metric = choice(params.get("metric", "proportion"), "metric", METRICS)
    method = choice(params.get("method", "frequentist"), "method", METHODS)
    difference = choice(params.get("difference", "relative"), "difference", DIFFERENCES)
    alpha = number(params.get("alpha", "") or "0.05", "alpha")
    if not 0 < alpha < 1:
        raise InputError("ab.err.alpha", "alpha")
    arms, used = _arms_from_form(rows, metric)
    doc: dict[str, Any] = {"metric": metric, "method": method, "difference": difference, "alpha": alpha,
                           "arms": arms}
    if params.get("inverse"):
        doc["inverse"] = True
    return doc, used


def _input_of(exc: AbtestError, used: list[int], metric: str) -> str:
    """The form's input that a document error of a form-built document points at."""
    path = exc.field or ""
    if path.startswith("arms[") and "]." in path:
        index, key = path[5:].split("].", 1)
        column = "mean" if metric == "mean" and key == "sum" else _ARM_INPUT.get(key, "n")
        return f"{column}{used[int(index)]}"
    return path.split(".")[0] or "n0"


def _document(params: Any, rows: list[dict[str, str]]) -> tuple[dict[str, Any], list[int] | None]:
    """The A/B document of the query string: the ``doc`` box if filled (rows None), else the form's."""
    raw = params.get("doc", "").strip()
    if not raw:
        return _form_document(params, rows)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError("ab.err.doc_json", "doc", detail=str(exc)) from None
    if not isinstance(doc, dict):
        raise InputError("ab.err.doc_object", "doc")
    return doc, None


def _too_early(doc: dict[str, Any], comparison: dict[str, Any]) -> int | None:
    """The fewest conversions or non-conversions of the pair when a sequential relative lift of a
    rate cannot be read yet (fewer than SEQUENTIAL_MIN_COUNT), else None."""
    if (doc.get("method"), doc.get("difference", "relative"), doc.get("metric")) != \
            ("sequential", "relative", "proportion"):
        return None
    arms = {arm["name"]: arm for arm in doc["arms"]}
    fewest = min(min(arms[name]["sum"], arms[name]["n"] - arms[name]["sum"])
                 for name in (comparison["arm"], comparison["baseline"]))
    return int(fewest) if fewest < SEQUENTIAL_MIN_COUNT else None


def analyse(t: Any, doc: dict[str, Any], result: dict[str, Any], *, metric_name: str) -> dict[str, Any]:
    """Rows, verdicts and the lift chart of a calculator result (``doc`` already checked)."""
    relative = doc.get("difference", "relative") == "relative"
    proportion = doc.get("metric") == "proportion"
    alpha = float(doc.get("alpha", 0.05))
    arms = {arm["name"]: arm for arm in doc["arms"]}
    rows, chart_rows = [], []
    for comparison in result["comparisons"]:
        n_per_arm = (arms[comparison["arm"]]["n"] + arms[comparison["baseline"]]["n"]) / 2
        shown = present(t, comparison, metric_name=metric_name, alpha=alpha, n_per_arm=n_per_arm,
                        relative=relative, proportion=proportion, inverse=bool(doc.get("inverse")))
        fewest = _too_early(doc, comparison) if shown["verdict"]["code"] != "error" else None
        if fewest is not None:
            shown["verdict"] = {"code": "inconclusive", "error": None, "more_per_arm": None,
                                "reason": "sequential_too_few"}
            shown["sentence"] = t("ab.verdict.too_early", arm=comparison["arm"],
                                  baseline=comparison["baseline"], fewest=t.number(fewest),
                                  needed=t.number(SEQUENTIAL_MIN_COUNT))
        levels = {"baseline_level": level_text(t, comparison.get("baseline_mean"), proportion=proportion),
                  "variant_level": level_text(t, comparison.get("variant_mean"), proportion=proportion)}
        rows.append({**comparison, **shown, **levels})
        chart_rows.append(lift_row(f"{comparison['arm']} vs {comparison['baseline']}", comparison,
                                   shown["verdict"]["code"]))
    srm = result.get("srm_p_value")
    figure = lift_figure(chart_rows, LABELS[t.locale], relative=relative,
                         axis_title=t("ab.axis.relative" if relative else "ab.axis.absolute"))
    return {"rows": rows, "srm_p_value": srm, "srm_text": t.p_value(srm, relation=True),
            "srm_warning": srm is not None and srm < SRM_WARNING_P, "figure": figure}


_COLUMN_WORDS = {"name": "ab.arm", "n": "ab.users", "conv": "ab.conversions", "mean": "ab.mean",
                 "sd": "ab.sd", "weight": "ab.weight"}
_INPUT_WORDS = {"metric": "ab.metric", "method": "ab.method", "difference": "ab.difference",
                "alpha": "ab.alpha", "inverse": "ab.inverse", "doc": "ab.document"}


def field_label(t: Any, name: str, rows: list[dict[str, str]]) -> str:
    """How an input is called on the page: "B · 转化数" for ``conv1``, "显著性水平 α" for ``alpha``."""
    column, index = name.rstrip("0123456789"), name[len(name.rstrip("0123456789")):]
    if index and column in _COLUMN_WORDS:
        i = int(index)
        arm = rows[i]["name"] if i < len(rows) and rows[i]["name"] else "ABCDE"[i]
        return f"{arm} · {t(_COLUMN_WORDS[column])}"
    return t(_INPUT_WORDS[name]) if name in _INPUT_WORDS else name


def _submitted(params: Any) -> bool:
    return bool(params.get("run") or params.get("doc", "").strip()
                or any(params.get(f"n{i}", "").strip() for i in range(MAX_ARMS)))


@page("/p/{project}/abtest", "abtest.html", need="viewer")
def calculator(pc: PageContext) -> dict[str, Any]:
    params = pc.params
    submitted = _submitted(params)
    rows = typed_rows(params)
    data: dict[str, Any] = {
        "metrics": METRICS, "methods": METHODS, "differences": DIFFERENCES,
        "metric": params.get("metric", "proportion"), "method": params.get("method", "frequentist"),
        "difference": params.get("difference", "relative"), "alpha": params.get("alpha", "0.05"),
        "inverse": bool(params.get("inverse")),
        "arms": rows if submitted else EXAMPLE_ARMS + rows[len(EXAMPLE_ARMS):],
        "doc": params.get("doc", ""), "document": None, "cli": None, "result": None, "error": None,
    }
    if not submitted:
        return data
    used: list[int] | None = None
    try:
        doc, used = _document(params, rows)
        result = run_document(doc)
    except InputError as exc:
        message = pc.t(exc.key, **exc.values)
        data["error"] = {"field": exc.field, "input": exc.field, "message": message}
    except AbtestError as exc:
        if used is None:  # the document box: the document's own path names the field
            message = pc.t("ab.err.doc", field=exc.field or "–", message=exc.message)
            data["error"] = {"field": exc.field, "input": "doc", "message": message}
        else:
            name = _input_of(exc, used, data["metric"])
            data["error"] = {"field": name, "input": name, "message": exc.message}
    if data["error"]:
        data["error"]["label"] = field_label(pc.t, data["error"]["input"], rows)
        if pc.is_api:
            raise ApiError(400, "bad_input", data["error"]["message"], data["error"]["field"])
        return data
    data["document"] = doc
    data["cli"] = "yunying abtest --json " + shlex.quote(orjson.dumps(doc).decode())
    metric_name = pc.t(f"ab.metric_name.{doc.get('metric', 'proportion')}")
    data["result"] = {**result, **analyse(pc.t, doc, result, metric_name=metric_name)}
    return data
