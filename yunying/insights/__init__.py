"""Insights: declarative query documents, one module per kind, dispatched by ``kind``.

    from yunying.insights import run_query
    result = run_query(store, project, {"kind": "trends", ...})
    result.to_json()   # the public result document
    result.to_frame()  # a pandas DataFrame

Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from yunying.insights import funnel, lifecycle, overview, paths, retention, stickiness, trends
from yunying.insights.base import InsightError, QueryContext, Result
from yunying.store import Project, Store

# kind -> (document model, runner). The one place that knows every kind.
REGISTRY: dict[str, tuple[type[Any], Callable[[Any, QueryContext], Result]]] = {
    "trends": (trends.TrendsQuery, trends.run),
    "funnel": (funnel.FunnelQuery, funnel.run),
    "retention": (retention.RetentionQuery, retention.run),
    "stickiness": (stickiness.StickinessQuery, stickiness.run),
    "lifecycle": (lifecycle.LifecycleQuery, lifecycle.run),
    "paths": (paths.PathsQuery, paths.run),
    "overview": (overview.OverviewQuery, overview.run),
}


def parse_document(document: dict[str, Any] | Any) -> Any:
    """Validate a query document (dict or model). Raises InsightError naming the bad field."""
    if not isinstance(document, dict):
        if any(isinstance(document, model) for model, _ in REGISTRY.values()):
            return document
        raise InsightError("a query document must be a JSON object", field=None)
    kind = document.get("kind")
    if kind not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise InsightError(f"unknown kind {kind!r}; known kinds: {known}", field="kind")
    model = REGISTRY[kind][0]
    try:
        return TypeAdapter(model).validate_python(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")
        raise InsightError(f"{where}: {message}" if where else message, field=where) from None


def run_query(store: Store, project: Project, document: dict[str, Any] | Any) -> Result:
    """Validate ``document`` and run it on ``project``'s events in ``store``."""
    query = parse_document(document)
    _, runner = REGISTRY[query.kind]
    return runner(query, QueryContext(store, project))


__all__ = ["REGISTRY", "InsightError", "QueryContext", "Result", "parse_document", "run_query"]
