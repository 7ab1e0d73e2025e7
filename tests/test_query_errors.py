"""Bad documents are errors that name the field; missing events and properties are not errors.

docs/metrics.md: "`date_from` after `date_to` is an error"; "An event name or property that
does not exist is not an error: it matches nothing (or, for `neq`/`is_not_set`,
everything)"; "naming a property whose values are not numeric gives zeros (not an error)".
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import LoadedLog

from yunying.insights import InsightError, parse_document

RANGE = {"date_from": "2024-01-01", "date_to": "2024-01-07"}
TRENDS = {"kind": "trends", **RANGE, "series": [{"event": "$pageview"}]}
FUNNEL = {"kind": "funnel", **RANGE, "steps": [{"event": "$pageview"}, {"event": "signup"}]}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


BAD_DOCUMENTS: list[tuple[str, dict[str, Any], set[str | None]]] = [
    # (case, document, acceptable values of InsightError.field)
    ("unknown kind", _with(TRENDS, kind="pie_chart"), {"kind"}),
    ("missing kind", {k: v for k, v in TRENDS.items() if k != "kind"}, {"kind"}),
    ("bad window", _with(FUNNEL, window="7x"), {"window"}),
    ("zero window", _with(FUNNEL, window="0d"), {"window"}),
    ("date_from after date_to", _with(TRENDS, date_from="2024-01-08"),
     {"date_from", "date_to"}),
    ("not a date", _with(TRENDS, date_to="2024-02-30"), {"date_to"}),
    ("unknown time zone", _with(TRENDS, timezone="Mars/Olympus_Mons"), {"timezone"}),
    ("math sum without property", _with(TRENDS, series=[{"event": "buy", "math": "sum"}]),
     {"series.0.property", "series.0"}),
    ("unknown math", _with(TRENDS, series=[{"event": "buy", "math": "mode"}]),
     {"series.0.math"}),
    ("bad filter operator",
     _with(TRENDS, filters=[{"property": "plan", "operator": "like", "value": "p%"}]),
     {"filters.0.operator"}),
    ("bad step filter operator",
     _with(FUNNEL, steps=[{"event": "a", "filters": [{"property": "p", "operator": "~"}]}]),
     {"steps.0.filters.0.operator"}),
    ("numeric operator with a text value",
     _with(TRENDS, filters=[{"property": "price", "operator": "gt", "value": "ten"}]),
     {"filters.0.value", "filters.0"}),
    ("extra unknown field", _with(TRENDS, colour="red"), {"colour"}),
    ("extra unknown series field", _with(TRENDS, series=[{"event": "a", "colour": "red"}]),
     {"series.0.colour"}),
    ("no series", _with(TRENDS, series=[]), {"series"}),
    ("bad interval", _with(TRENDS, interval="fortnight"), {"interval"}),
    ("bad breakdown_limit", _with(TRENDS, breakdown_limit=0), {"breakdown_limit"}),
    ("bad retention period",
     {"kind": "retention", **RANGE, "start_event": "a", "period": "hour"}, {"period"}),
    ("bad paths direction",
     {"kind": "paths", **RANGE, "event": "a", "direction": "sideways"}, {"direction"}),
]


@pytest.mark.parametrize(("document", "fields"), [(d, f) for _, d, f in BAD_DOCUMENTS],
                         ids=[case for case, _, _ in BAD_DOCUMENTS])
def test_bad_document_names_the_field(document: dict[str, Any], fields: set[str | None]) -> None:
    with pytest.raises(InsightError) as caught:
        parse_document(document)
    assert caught.value.field in fields, (
        f"field {caught.value.field!r} (message {caught.value})"
    )
    assert str(caught.value), "the error has a message"


def test_bad_formula_names_the_field(small_log: LoadedLog) -> None:
    """A formula naming a series that does not exist fails on ``formula`` (before running)."""
    with pytest.raises(InsightError) as caught:
        small_log.run(_with(TRENDS, formula="A/C"))
    assert caught.value.field == "formula"


def test_not_a_document() -> None:
    with pytest.raises(InsightError):
        parse_document(["kind", "trends"])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- empty, not errors
MISSING: list[tuple[str, dict[str, Any]]] = [
    ("trends: unknown event", _with(TRENDS, series=[{"event": "no_such_event"}])),
    ("trends: sum of unknown property",
     _with(TRENDS, series=[{"event": "$any", "math": "sum", "property": "no_such_prop"}])),
    ("trends: median of a text property",
     _with(TRENDS, series=[{"event": "$pageview", "math": "median", "property": "$browser"}])),
    ("trends: eq on unknown property",
     _with(TRENDS, filters=[{"property": "no_such_prop", "operator": "eq", "value": "x"}])),
    ("trends: gt on unknown property",
     _with(TRENDS, filters=[{"property": "no_such_prop", "operator": "gt", "value": 1}])),
    ("trends: breakdown by unknown event",
     _with(TRENDS, series=[{"event": "no_such_event"}], breakdown="plan")),
    ("funnel: unknown step", _with(FUNNEL, steps=[{"event": "no_such_event"}])),
    ("retention: unknown start event",
     {"kind": "retention", **RANGE, "start_event": "no_such_event"}),
    ("stickiness: unknown event", {"kind": "stickiness", **RANGE, "event": "no_such_event"}),
    ("lifecycle: unknown event", {"kind": "lifecycle", **RANGE, "event": "no_such_event"}),
    ("paths: unknown anchor", {"kind": "paths", **RANGE, "event": "no_such_event"}),
]


def _numbers(value: Any) -> list[float]:
    """Every number in a result, except the shape fields (steps, depths, bucket counts)."""
    if isinstance(value, dict):
        skip = {"step", "window_seconds", "buckets_active", "buckets", "depth"}
        return [n for k, v in value.items() if k not in skip for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value]
    return []


@pytest.mark.parametrize("document", [d for _, d in MISSING], ids=[c for c, _ in MISSING])
def test_missing_event_or_property_gives_zeros(small_log: LoadedLog,
                                               document: dict[str, Any]) -> None:
    result = small_log.run(document)
    assert result["kind"] == document["kind"]
    numbers = _numbers(result)
    if document["kind"] == "funnel":  # conversion_from_previous of step 1 is 1.0 by definition
        numbers = _numbers([{k: v for k, v in s.items() if k != "conversion_from_previous"}
                            for s in result["steps"]])
    assert all(n == 0 for n in numbers), result
    assert result == small_log.oracle(document)


def test_neq_and_is_not_set_on_unknown_property_match_everything(small_log: LoadedLog) -> None:
    """``neq``/``is_not_set`` on a property nobody has keep every event."""
    base = small_log.run(TRENDS)
    for operator, value in (("neq", "x"), ("is_not_set", None)):
        flt = {"property": "no_such_prop", "operator": operator}
        if value is not None:
            flt["value"] = value
        result = small_log.run(_with(TRENDS, filters=[flt]))
        assert result["series"][0]["values"] == base["series"][0]["values"]
        assert sum(base["series"][0]["values"]) > 0, "the small log has page views in range"
