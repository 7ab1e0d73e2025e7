"""Experiments kept in the metadata tables (table ``experiments``), one project at a time.

The definition is stored as its JSON document; the status is also a column so running
experiments are found without parsing every definition. A key is unique within a project and
never changes (it seeds the assignment hash and names the experiment in exposure events).
Every function takes the project id and never reads or writes another project's rows.

Status moves draft → running → stopped (a stopped experiment may run again; its decision is
then cleared); stopping records a :class:`Decision`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from yunying.experiments.definition import (
    Decision,
    Experiment,
    ExperimentError,
    Status,
    parse_experiment,
    parse_model,
)
from yunying.store.meta import Meta, utcnow


class NotFound(LookupError):
    """No experiment with this key in this project."""


class Conflict(ValueError):
    """The key is taken, or the status change is not allowed."""


@dataclass(frozen=True)
class StoredExperiment:
    experiment: Experiment
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


# status -> the statuses it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("running", "stopped"),
    "running": ("stopped",),
    "stopped": ("running",),
}
_COLUMNS = "definition, created_by, created_at, updated_at"


def _stored(row: tuple[Any, ...]) -> StoredExperiment:
    return StoredExperiment(Experiment.model_validate(orjson.loads(row[0])), row[1], row[2], row[3])


def _text(experiment: Experiment) -> str:
    return orjson.dumps(experiment.to_json()).decode()


def get_experiment(meta: Meta, project_id: int, key: str) -> StoredExperiment:
    row = meta.row(f"SELECT {_COLUMNS} FROM experiments WHERE project_id = ? AND key = ?", [project_id, key])
    if row is None:
        raise NotFound(f"no experiment {key!r}")
    return _stored(row)


def list_experiments(meta: Meta, project_id: int, status: Status | None = None) -> list[StoredExperiment]:
    """The project's experiments, most recently changed first (only ``status`` ones if given)."""
    sql = f"SELECT {_COLUMNS} FROM experiments WHERE project_id = ?"
    params: list[Any] = [project_id]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return [_stored(r) for r in meta.rows(sql + " ORDER BY updated_at DESC, key", params)]


def create_experiment(meta: Meta, project_id: int, definition: dict[str, Any] | Experiment,
                      account_id: int | None = None) -> StoredExperiment:
    """Store a new experiment (a draft unless its document says otherwise); Conflict if the key is taken."""
    experiment = parse_experiment(definition)
    now = utcnow()
    with meta.transaction():
        if meta.row("SELECT 1 FROM experiments WHERE project_id = ? AND key = ?",
                    [project_id, experiment.key]):
            raise Conflict(f"an experiment with key {experiment.key!r} already exists")
        meta.rows("INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [project_id, experiment.key, experiment.status, _text(experiment), account_id, now, now])
    return StoredExperiment(experiment, account_id, now, now)


def update_experiment(meta: Meta, project_id: int,
                      definition: dict[str, Any] | Experiment) -> StoredExperiment:
    """Replace the definition of the experiment with the document's key.

    Status and decision stay as stored (they change through :func:`set_status` only).
    """
    experiment = parse_experiment(definition)
    with meta.transaction():
        current = get_experiment(meta, project_id, experiment.key)
        kept = experiment.model_copy(update={"status": current.experiment.status,
                                             "decision": current.experiment.decision})
        return _write(meta, project_id, current, kept)


def set_status(meta: Meta, project_id: int, key: str, status: Status,
               decision: Decision | dict[str, Any] | None = None) -> StoredExperiment:
    """Move the experiment to ``status``; stopping needs a ``decision`` (its ``variant`` may be None)."""
    with meta.transaction():
        current = get_experiment(meta, project_id, key)
        old = current.experiment.status
        if status not in TRANSITIONS.get(old, ()):
            raise Conflict(f"an experiment that is {old} cannot become {status}")
        if status == "stopped":
            if decision is None:
                raise ExperimentError("stopping an experiment records a decision", "decision")
            if isinstance(decision, dict):
                decision = parse_model(Decision, {"decided_at": utcnow(), **decision}, "decision")
        elif decision is not None:
            raise ExperimentError("a decision is recorded only when the experiment stops", "decision")
        document = {**current.experiment.to_json(), "status": status,
                    "decision": None if decision is None else decision.model_dump(mode="json")}
        return _write(meta, project_id, current, parse_experiment(document))


def _write(meta: Meta, project_id: int, current: StoredExperiment,
           experiment: Experiment) -> StoredExperiment:
    now = utcnow()
    meta.rows("UPDATE experiments SET status = ?, definition = ?, updated_at = ? "
              "WHERE project_id = ? AND key = ?",
              [experiment.status, _text(experiment), now, project_id, experiment.key])
    return StoredExperiment(experiment, current.created_by, current.created_at, now)


def delete_experiment(meta: Meta, project_id: int, key: str) -> None:
    with meta.transaction():
        get_experiment(meta, project_id, key)
        meta.rows("DELETE FROM experiments WHERE project_id = ? AND key = ?", [project_id, key])
