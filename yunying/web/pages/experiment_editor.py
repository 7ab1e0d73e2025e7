"""The experiment editor (新建/编辑实验): a form for the common definition, JSON for the rest.

``/p/<project>/experiment-editor`` (``?key=<key>`` edits a stored one) shows the form: key,
name, hypothesis, dates, variants with weights, how users are assigned (an exposure event the
app sends, or the documented hash), up to ``METRIC_ROWS`` metrics (role, kind, event,
property; a ratio's denominator; window, quantile level, percentile cap, lower-is-better) and
the analysis settings. The form and the definition document (docs/experiments.md) convert
into each other here and nowhere else; the "document" box takes any definition as is (filters,
Sensors' exposure settings, priors …). Saving a definition that does not parse comes back to
the editor with what was typed and the message naming the field; the JSON twin answers 400.
"""

from __future__ import annotations

from typing import Any

import orjson

from yunying.experiments import (
    Conflict,
    ExperimentError,
    create_experiment,
    parse_experiment,
    update_experiment,
)
from yunying.insights import catalog
from yunying.web.errors import ApiError
from yunying.web.pages.common import data_end
from yunying.web.pages.experiments import experiment_path, stored
from yunying.web.pages.framework import PageContext, Redirect, action, page

VARIANT_ROWS = 5
METRIC_ROWS = 6
METRIC_KINDS = ("conversion", "count", "sum", "mean", "ratio", "quantile")
ROLES = ("primary", "secondary", "guardrail")
METHODS = ("frequentist", "sequential", "bayesian")
DIFFERENCES = ("relative", "absolute")
CORRECTIONS = ("none", "holm", "bh")
ASSIGNMENTS = ("exposure_event", "hash")
WITH_PROPERTY = ("sum", "mean", "quantile")
CAPPED = ("count", "sum", "mean", "ratio")


def _text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return (value[-1] if isinstance(value, list) else str(value)).strip()


def _aggregate(event: str, prop: str) -> dict[str, Any]:
    return (
        {"aggregation": "sum", "event": event, "property": prop}
        if prop
        else {"aggregation": "count", "event": event}
    )


def _metric(form: Any, i: int) -> tuple[str, dict[str, Any]] | None:
    """(role, metric document) of form row ``i``; None for an empty row."""
    key, event = _text(form, f"mkey{i}"), _text(form, f"mevent{i}")
    if not key and not event:
        return None
    kind = _text(form, f"mkind{i}") or "conversion"
    metric: dict[str, Any] = {"key": key, "kind": kind}
    if name := _text(form, f"mname{i}"):
        metric["name"] = name
    prop = _text(form, f"mprop{i}")
    if kind == "ratio":
        metric["numerator"] = _aggregate(event, prop)
        metric["denominator"] = _aggregate(_text(form, f"mden_event{i}"), _text(form, f"mden_prop{i}"))
    else:
        metric["event"] = event
        if prop and kind in WITH_PROPERTY:
            metric["property"] = prop
    if window := _text(form, f"mwindow{i}"):
        metric["window"] = window
    if kind == "quantile" and (level := _text(form, f"mlevel{i}")):
        metric["level"] = level
    if kind in CAPPED and (cap := _text(form, f"mcap{i}")):
        metric["capping"] = {"percentile": cap}
    if form.get(f"minverse{i}"):
        metric["inverse"] = True
    return (_text(form, f"mrole{i}") or "primary"), metric


def document_from_form(form: Any) -> dict[str, Any]:
    """The definition document of the editor's fields (the ``doc`` box, when filled, instead)."""
    raw = _text(form, "doc")
    if raw:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ExperimentError(f"the document is not valid JSON: {exc}", "doc") from None
        if not isinstance(doc, dict):
            raise ExperimentError("the document must be a JSON object", "doc")
        return doc
    variants = []
    for i in range(VARIANT_ROWS):
        vkey = _text(form, f"vkey{i}")
        if not vkey:
            continue
        variant: dict[str, Any] = {"key": vkey, "weight": _text(form, f"vweight{i}") or 1}
        for field, name in (("name", f"vname{i}"), ("value", f"vvalue{i}")):
            if value := _text(form, name):
                variant[field] = value
        variants.append(variant)
    if _text(form, "akind") == "hash":
        assignment: dict[str, Any] = {"kind": "hash", "trigger_event": _text(form, "atrigger") or "$any"}
    else:
        assignment = {
            "kind": "exposure_event",
            "event": _text(form, "aevent") or "$feature_flag_called",
            "experiment_property": _text(form, "aexp_prop") or None,
            "variant_property": _text(form, "avar_prop") or "$feature_flag_response",
        }
        if value := _text(form, "aexp_value"):
            assignment["experiment_value"] = value
    metrics: dict[str, list[dict[str, Any]]] = {role: [] for role in ROLES}
    for i in range(METRIC_ROWS):
        row = _metric(form, i)
        if row is not None:
            metrics.setdefault(row[0], []).append(row[1])
    doc: dict[str, Any] = {
        "key": _text(form, "key"),
        "name": _text(form, "name"),
        "hypothesis": _text(form, "hypothesis"),
        "variants": variants,
        "assignment": assignment,
        "start": _text(form, "start") or None,
        "metrics": metrics,
        "analysis": {
            "method": _text(form, "method") or "frequentist",
            "difference": _text(form, "difference") or "relative",
            "alpha": _text(form, "alpha") or 0.05,
            "cuped": bool(form.get("cuped")),
            "pre_period_days": _text(form, "pre_period_days") or 14,
            "correction": _text(form, "correction") or "none",
        },
    }
    if end := _text(form, "end"):
        doc["end"] = end
    return doc


def form_from_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields showing ``doc`` (what the form cannot show stays in the document box)."""
    form: dict[str, Any] = {k: doc.get(k) or "" for k in ("key", "name", "hypothesis", "start", "end")}
    for i, v in enumerate((doc.get("variants") or [])[:VARIANT_ROWS]):
        form |= {
            f"vkey{i}": v.get("key", ""),
            f"vname{i}": v.get("name", ""),
            f"vweight{i}": v.get("weight", 1),
            f"vvalue{i}": v.get("value") or "",
        }
    a = doc.get("assignment") or {}
    form |= {
        "akind": a.get("kind", "exposure_event"),
        "aevent": a.get("event", "$feature_flag_called"),
        "aexp_prop": a.get("experiment_property", "$feature_flag") or "",
        "aexp_value": a.get("experiment_value") or "",
        "avar_prop": a.get("variant_property", "$feature_flag_response"),
        "atrigger": a.get("trigger_event", "$any"),
    }
    rows = [(role, m) for role in ROLES for m in (doc.get("metrics") or {}).get(role, [])]
    for i, (role, m) in enumerate(rows[:METRIC_ROWS]):
        num = m.get("numerator") or {}
        den = m.get("denominator") or {}
        form |= {
            f"mrole{i}": role,
            f"mkey{i}": m.get("key", ""),
            f"mname{i}": m.get("name", ""),
            f"mkind{i}": m.get("kind", "conversion"),
            f"mevent{i}": m.get("event") or num.get("event", ""),
            f"mprop{i}": m.get("property") or num.get("property") or "",
            f"mden_event{i}": den.get("event", ""),
            f"mden_prop{i}": den.get("property") or "",
            f"mwindow{i}": m.get("window") or "",
            f"mlevel{i}": m.get("level", ""),
            f"mcap{i}": (m.get("capping") or {}).get("percentile", ""),
            f"minverse{i}": m.get("inverse", False),
        }
    s = doc.get("analysis") or {}
    form |= {
        "method": s.get("method", "frequentist"),
        "difference": s.get("difference", "relative"),
        "alpha": s.get("alpha", 0.05),
        "cuped": s.get("cuped", True),
        "pre_period_days": s.get("pre_period_days", 14),
        "correction": s.get("correction", "none"),
    }
    return form


def _template(pc: PageContext) -> dict[str, Any]:
    """A new experiment's starting point: two arms 50:50 from the project's last day, PostHog's
    feature-flag exposure event."""
    return {
        "key": "",
        "name": "",
        "variants": [{"key": "control", "weight": 1}, {"key": "test", "weight": 1}],
        "assignment": {"kind": "exposure_event"},
        "start": data_end(pc).isoformat(),
        "metrics": {"primary": [{"key": "", "kind": "conversion", "event": "", "window": "7d"}]},
    }


@page("/p/{project}/experiment-editor", "experiment_editor.html", need="analyst")
def editor(pc: PageContext) -> dict[str, Any]:
    key = pc.params.get("key") or None
    draft = pc.params.get("draft")
    if draft:
        try:
            doc = orjson.loads(draft)
        except orjson.JSONDecodeError:
            doc = {}
        raw = pc.params.get("raw", "")
    else:
        doc = stored(pc, key).experiment.to_json() if key else _template(pc)
        raw = ""
    project = pc.project
    assert project is not None
    events = pc.state.reads.call(lambda store: catalog.event_names(store, project))
    properties = pc.state.reads.call(lambda store: catalog.property_keys(store, project))
    error = (
        {"message": pc.params["error"], "field": pc.params.get("field") or None}
        if pc.params.get("error")
        else None
    )
    return {
        "key": key,
        "form": form_from_document(doc if isinstance(doc, dict) else {}),
        "raw": raw,
        "document": orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode(),
        "error": error,
        "save_url": pc.url("/experiment-editor/save"),
        "cancel_url": pc.url(experiment_path(key) if key else "/experiments"),
        "events": [name for name, _ in events],
        "properties": properties,
        "variant_rows": VARIANT_ROWS,
        "metric_rows": METRIC_ROWS,
        "kinds": METRIC_KINDS,
        "roles": ROLES,
        "methods": METHODS,
        "differences": DIFFERENCES,
        "corrections": CORRECTIONS,
        "assignments": ASSIGNMENTS,
    }


@action("/p/{project}/experiment-editor/save")
def save(pc: PageContext) -> Redirect:
    """Create (no ``editing`` field) or update (``editing`` = the stored key) an experiment."""
    assert pc.project is not None
    editing = _text(pc.form, "editing") or None
    doc: dict[str, Any] = {}
    try:
        doc = document_from_form(pc.form)
        if editing is not None:
            if doc.get("key") != editing:
                raise ExperimentError(pc.t("exp.error.key_fixed", key=editing), "key")
            stored(pc, editing)
            saved = update_experiment(pc.state.meta, pc.project.project_id, parse_experiment(doc))
        else:
            account = pc.viewer.session.account.account_id if pc.viewer.session else None
            saved = create_experiment(pc.state.meta, pc.project.project_id, parse_experiment(doc), account)
    except (ExperimentError, Conflict) as exc:
        field = getattr(exc, "field", None) or ("key" if isinstance(exc, Conflict) else None)
        if pc.is_api:
            raise ApiError(
                409 if isinstance(exc, Conflict) else 400,
                "conflict" if isinstance(exc, Conflict) else "bad_experiment",
                str(exc),
                field,
            ) from None
        back = pc.url(
            "/experiment-editor",
            key=editing,
            draft=orjson.dumps(doc).decode(),
            raw=_text(pc.form, "doc"),
            error=str(exc),
            field=field,
        )
        return Redirect(back)
    url = pc.url(experiment_path(saved.experiment.key))
    return Redirect(
        url, {"ok": True, "key": saved.experiment.key, "url": url, "experiment": saved.experiment.to_json()}
    )
