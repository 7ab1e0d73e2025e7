"""Breakdown of an experiment by a user property (the profile as it is now), against brute force.

Events and profile updates ($set) go in through the ingestion API, as an app sends them; the
expected groups are recomputed here in plain Python from what was sent.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest
from starlette.testclient import TestClient

from yunying.experiments import analyze
from yunying.insights.base import QueryContext
from yunying.store.connection import connect
from yunying.store.keys import create_project_with_keys
from yunying.web import create_app

DAY = dt.date(2026, 3, 10)
PLANS = ["free", "pro", "团队版", None]  # None: the user never had a plan set
EXPERIMENT = {
    "key": "pricing",
    "name": "Pricing page",
    "start": DAY.isoformat(),
    "end": (DAY + dt.timedelta(days=2)).isoformat(),
    "variants": [{"key": "control"}, {"key": "test"}],
    "metrics": {
        "primary": [{"key": "paid", "kind": "conversion", "event": "pay"}],
        "secondary": [{"key": "pays", "kind": "count", "event": "pay"}],
    },
    "analysis": {"cuped": False},
}


def _log(seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Events of 60 users: exposures (some to both variants), pays before and after, plans set
    (some twice: the last one counts) — and the brute-force answer per plan."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    start = dt.datetime(2026, 3, 9, 16, tzinfo=dt.UTC)  # 00:00 of DAY in Asia/Shanghai
    plan_of: dict[str, str | None] = {}
    first: dict[str, tuple[dt.datetime, set[str]]] = {}
    pays: dict[str, list[dt.datetime]] = defaultdict(list)
    for u in range(60):
        user = f"user-{u}"
        plans = [rng.choice(PLANS) for _ in range(rng.randint(1, 2))]
        for i, plan in enumerate(plans):
            if plan is not None:
                events.append(
                    {
                        "event": "$identify" if i == 0 else "profile_update",
                        "distinct_id": user,
                        "timestamp": (start - dt.timedelta(days=1, minutes=i)).isoformat(),
                        "$set": {"plan": plan},
                    }
                )
        plan_of[user] = next((p for p in reversed(plans) if p is not None), None)
        for _ in range(rng.randint(0, 2)):
            when = start + dt.timedelta(minutes=rng.randint(0, 3 * 24 * 60 - 1))
            variant = rng.choice(["control", "test", "test"])
            events.append(
                {
                    "event": "$feature_flag_called",
                    "distinct_id": user,
                    "timestamp": when.isoformat(),
                    "properties": {"$feature_flag": "pricing", "$feature_flag_response": variant},
                }
            )
            seen = first.get(user)
            first[user] = (min(seen[0], when) if seen else when, (seen[1] if seen else set()) | {variant})
        for _ in range(rng.randint(0, 3)):
            when = start + dt.timedelta(minutes=rng.randint(-600, 3 * 24 * 60 - 1))
            events.append({"event": "pay", "distinct_id": user, "timestamp": when.isoformat()})
            if when >= start:
                pays[user].append(when)
    expected: dict[str | None, dict[str, list[int]]] = defaultdict(
        lambda: {"users": [0, 0], "paid": [0, 0], "pays": [0, 0]}
    )
    for user, (exposed, variants) in first.items():
        if len(variants) > 1:
            continue
        arm = ["control", "test"].index(next(iter(variants)))
        cell = expected[plan_of[user]]
        after = [t for t in pays[user] if t >= exposed]
        cell["users"][arm] += 1
        cell["paid"][arm] += int(bool(after))
        cell["pays"][arm] += len(after)
    return events, dict(expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_groups_follow_each_users_profile_as_it_is_now(tmp_path, seed: int) -> None:
    events, expected = _log(seed)
    store = connect(tmp_path / "s.duckdb")
    project, keys = create_project_with_keys(store, "shop", timezone="Asia/Shanghai")
    with TestClient(create_app(store), base_url="http://127.0.0.1:8000") as client:
        for i in range(0, len(events), 50):
            sent = client.post(
                "/api/v1/events",
                json={"events": events[i : i + 50]},
                headers={"Authorization": f"Bearer {keys.ingest_key}"},
            )
            assert sent.status_code == 200 and sent.json()["stored"] == len(events[i : i + 50]), sent.text
        result = analyze(
            QueryContext(store, project), EXPERIMENT, breakdown="plan", breakdown_type="person"
        ).to_json()
    store.close()
    assert result["breakdown"] == "plan" and result["breakdown_type"] == "person"
    found = {}
    for group in result["groups"]:
        by_key = {m["key"]: m["statistics"] for m in group["metrics"]}
        found[group["value"]] = {
            "users": [a["users"] for a in group["arms"]],
            "paid": [s["sum"] for s in by_key["paid"]],
            "pays": [s["sum"] for s in by_key["pays"]],
        }
    assert found == expected
    # the groups add up to the whole experiment
    assert [sum(g["users"][a] for g in found.values()) for a in (0, 1)] == [
        a["users"] for a in result["arms"]
    ]


def test_an_unknown_breakdown_type_is_refused(tmp_path) -> None:
    from yunying.experiments import ExperimentError

    store = connect(tmp_path / "s.duckdb")
    project, _ = create_project_with_keys(store, "shop")
    with pytest.raises(ExperimentError) as refused:
        analyze(QueryContext(store, project), EXPERIMENT, breakdown="plan", breakdown_type="session")
    assert refused.value.field == "breakdown_type"
    store.close()
