"""Experiments (A/B 实验): the list, one experiment's results, starting and stopping it.

``/p/<project>/experiments`` lists the project's experiments (by status); an experiment's page
``/p/<project>/experiments/<key>`` runs its analysis (``yunying.experiments.analyze`` on a read
cursor, time-limited) and shows per metric the arms' levels, each variant's lift with its
interval and a verdict sentence, one lift chart, the SRM warning, failed guardrails, and with
``?breakdown=<property>`` the same per group. Its JSON twin carries the analysis result itself
(``analysis``, docs/experiments.md) beside what the page shows.

An analysis is cached by the read pool per (project, definition, breakdown, data end) until
the project's data changes (or, while events keep arriving, for ``result_max_age_seconds``),
as insight results are.
Analysts start, stop (recording the decision), restart and delete; viewers read.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from yunying.experiments import (
    Conflict,
    Experiment,
    NotFound,
    StoredExperiment,
    analyze,
    delete_experiment,
    get_experiment,
    list_experiments,
    set_status,
)
from yunying.experiments.definition import STATUSES
from yunying.experiments.metrics import BREAKDOWN_TYPES, BreakdownType
from yunying.experiments.registry import TRANSITIONS
from yunying.insights.base import QueryContext
from yunying.store import Project
from yunying.web.errors import ApiError
from yunying.web.pages.common import project_data_end
from yunying.web.pages.experiment_results import present_result
from yunying.web.pages.framework import PageContext, Redirect, action, page

BREAKDOWN_MAX = 400
log = logging.getLogger(__name__)


def _can_edit(pc: PageContext) -> bool:
    return pc.project is not None and pc.viewer.can(pc.project, "analyst")


def stored(pc: PageContext, key: str) -> StoredExperiment:
    assert pc.project is not None
    try:
        return get_experiment(pc.state.meta, pc.project.project_id, key)
    except NotFound:
        raise ApiError(404, "not_found", pc.t("exp.error.not_found", key=key)) from None


def experiment_path(key: str) -> str:
    return f"/experiments/{key}"


# ----------------------------------------------------------------------------- the list
def _summary(pc: PageContext, item: StoredExperiment) -> dict[str, Any]:
    e = item.experiment
    primary = e.metrics.primary[0]
    return {
        "key": e.key,
        "name": e.name,
        "status": e.status,
        "url": pc.url(experiment_path(e.key)),
        "start": e.start.isoformat(),
        "end": e.end.isoformat() if e.end else None,
        "variants": [v.label for v in e.variants],
        "primary": primary.label,
        "assignment": e.assignment.kind,
        "method": e.analysis.method,
        "decision": e.decision.model_dump(mode="json") if e.decision else None,
        "updated_at": item.updated_at.isoformat(),
    }


@page("/p/{project}/experiments", "experiments_list.html")
def experiments_list(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    status = pc.params.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, "bad_status", pc.t("exp.error.status", statuses=", ".join(STATUSES)), "status")
    items = [_summary(pc, s) for s in list_experiments(pc.state.meta, pc.project.project_id, status)]  # type: ignore[arg-type]
    return {
        "experiments": items,
        "status": status,
        "statuses": STATUSES,
        "can_edit": _can_edit(pc),
        "new_url": pc.url("/experiment-editor"),
    }


# ----------------------------------------------------------------------------- the analysis
def analysis_of(state: Any, project: Project, experiment: Experiment, breakdown: str | None = None,
                breakdown_type: BreakdownType = "event") -> dict[str, Any]:
    """The analysis result (JSON) of ``experiment`` over the data up to the project's data end,
    cached by the read pool until the project's data changes."""
    end = project_data_end(state, project)
    key = b"experiment:" + orjson.dumps([experiment.to_json(), breakdown, breakdown_type, end.isoformat()],
                                        option=orjson.OPT_SORT_KEYS)

    def work(reader: Any) -> dict[str, Any]:
        return analyze(QueryContext(reader, project), experiment, breakdown=breakdown,
                       breakdown_type=breakdown_type, end=end).to_json()

    return state.reads.cached(project, key, work)


def warm_up_experiments(state: Any) -> None:
    """At server start, in the background: analyse every running experiment once, so its page
    opens from the cache (and the per-user passes are loaded) when the first visitor comes."""
    for project in state.projects():
        for item in list_experiments(state.meta, project.project_id, "running"):
            try:
                analysis_of(state, project, item.experiment)
            except Exception:  # a warm-up that fails costs nothing; the page will say what is wrong
                log.exception("warming up experiment %s of %s failed", item.experiment.key, project.name)


def _breakdown(pc: PageContext) -> tuple[str | None, BreakdownType]:
    """(property, "event" or "person") of ``?breakdown=&breakdown_type=``."""
    value = (pc.params.get("breakdown") or "").strip()
    if len(value) > BREAKDOWN_MAX:
        raise ApiError(400, "bad_breakdown", pc.t("exp.error.breakdown", max=BREAKDOWN_MAX), "breakdown")
    kind = pc.params.get("breakdown_type") or "event"
    if kind not in BREAKDOWN_TYPES:
        raise ApiError(400, "bad_breakdown", pc.t("exp.error.breakdown_type"), "breakdown_type")
    return value or None, kind  # type: ignore[return-value]


@page("/p/{project}/experiments/{key}", "experiment.html")
def experiment_page(pc: PageContext) -> dict[str, Any]:
    item = stored(pc, pc.request.path_params["key"])
    e = item.experiment
    breakdown, breakdown_type = _breakdown(pc)
    assert pc.project is not None
    result = analysis_of(pc.state, pc.project, e, breakdown, breakdown_type)
    shown = present_result(pc.t, result)
    transitions = TRANSITIONS.get(e.status, ()) if _can_edit(pc) else ()
    return {
        "experiment": e.to_json(),
        "summary": _summary(pc, item),
        "analysis": result,
        "shown": shown,
        "breakdown": breakdown,
        "breakdown_type": breakdown_type,
        "breakdown_types": BREAKDOWN_TYPES,
        "can_edit": _can_edit(pc),
        "transitions": list(transitions),
        "status_url": pc.url(experiment_path(e.key) + "/status"),
        "delete_url": pc.url(experiment_path(e.key) + "/delete"),
        "edit_url": pc.url("/experiment-editor", key=e.key),
        "list_url": pc.url("/experiments"),
        "json_url": "/api/v1" + pc.url(experiment_path(e.key), breakdown=breakdown,
                                       breakdown_type=breakdown_type if breakdown else None),
    }


# ----------------------------------------------------------------------------- actions
def _decided_by(pc: PageContext) -> str | None:
    return pc.viewer.session.account.login if pc.viewer.session else None


@action("/p/{project}/experiments/{key}/status")
def change_status(pc: PageContext) -> Redirect:
    """Start (``running``), stop (``stopped`` with ``decision_variant`` — empty: none shipped —
    and ``decision_note``) or restart an experiment."""
    assert pc.project is not None
    item = stored(pc, pc.request.path_params["key"])
    status = str(pc.form.get("status", ""))
    if status not in STATUSES:
        raise ApiError(400, "bad_status", pc.t("exp.error.status", statuses=", ".join(STATUSES)), "status")
    decision = None
    if status == "stopped":
        variant = str(pc.form.get("decision_variant") or "") or None
        decision = {
            "variant": variant,
            "note": str(pc.form.get("decision_note") or ""),
            "decided_by": _decided_by(pc),
        }
    try:
        changed = set_status(pc.state.meta, pc.project.project_id, item.experiment.key, status, decision)  # type: ignore[arg-type]
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc), "status") from None
    url = pc.url(experiment_path(item.experiment.key))
    return Redirect(
        url,
        {
            "ok": True,
            "status": changed.experiment.status,
            "url": url,
            "decision": changed.experiment.to_json()["decision"],
        },
    )


@action("/p/{project}/experiments/{key}/delete")
def delete(pc: PageContext) -> Redirect:
    assert pc.project is not None
    item = stored(pc, pc.request.path_params["key"])
    delete_experiment(pc.state.meta, pc.project.project_id, item.experiment.key)
    return Redirect(pc.url("/experiments"), {"ok": True, "deleted": item.experiment.key})
