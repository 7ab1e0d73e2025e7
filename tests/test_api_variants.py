"""GET/POST /api/v1/experiments/variants: a user's variants, by the project's public ingestion key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from yunying.experiments import assign, create_experiment, get_experiment, set_status
from yunying.store.connection import connect
from yunying.store.keys import create_project_with_keys
from yunying.store.meta import Meta
from yunying.web import create_app

DOCS = Path(__file__).resolve().parents[1] / "docs"
PATH = "/api/v1/experiments/variants"


def experiment(key: str, variants: list[str], weights: list[float], kind: str = "hash") -> dict:
    return {"key": key, "name": key, "start": "2026-10-01", "assignment": {"kind": kind},
            "variants": [{"key": v, "weight": w} for v, w in zip(variants, weights, strict=True)],
            "metrics": {"primary": [{"key": "paid", "kind": "conversion", "event": "pay"}]}}


# The experiments of docs/experiments.md's test vectors, and some that must not be served.
SHOP = [
    ("checkout-button", ["control", "green"], [1, 1], "hash", "running"),
    ("new-pricing", ["A", "B", "C"], [1, 1, 2], "hash", "running"),
    ("exp.2026_q4", ["control", "green"], [1, 1], "hash", "running"),
    ("draft-hash", ["a", "b"], [1, 1], "hash", "draft"),
    ("stopped-hash", ["a", "b"], [1, 1], "hash", "stopped"),
    ("app-decides", ["a", "b"], [1, 1], "exposure_event", "running"),  # the app reports exposures
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = connect(tmp_path_factory.mktemp("variants") / "s.duckdb")
    shop, shop_keys = create_project_with_keys(store, "shop")
    other, other_keys = create_project_with_keys(store, "other")
    meta = Meta(store)
    for key, variants, weights, kind, status in SHOP:
        create_experiment(meta, shop.project_id, experiment(key, variants, weights, kind))
        if status != "draft":
            set_status(meta, shop.project_id, key, "running")
        if status == "stopped":
            set_status(meta, shop.project_id, key, "stopped", {"variant": None})
    create_experiment(meta, other.project_id, experiment("their-test", ["x", "y"], [1, 1]))
    set_status(meta, other.project_id, "their-test", "running")
    with TestClient(create_app(store)) as client:
        yield client, shop_keys, other_keys, meta, shop.project_id
    meta.close()
    store.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def documented_vectors() -> dict[tuple[str, str], tuple[str, str]]:
    """(experiment key, user id) -> (variant of control/green 1:1, of A/B/C 1:1:2), from the docs."""
    section = (DOCS / "experiments.md").read_text(encoding="utf-8").split("## Assignment by hashing")[1]
    rows = [line for line in section.split("\n## ")[0].splitlines() if line.startswith("| `")]
    cells = [[c.strip().strip("`") for c in row.strip("|").split("|")] for row in rows]
    return {(key, user): (two, three) for key, user, _, _, two, three in cells}


def documented_snippet():
    """The ``variant(key, user_id, weights)`` function docs/experiments.md gives apps to copy."""
    section = (DOCS / "experiments.md").read_text(encoding="utf-8").split("## Assignment by hashing")[1]
    namespace: dict = {}
    exec(re.search(r"```python\n(.*?)```", section, re.S).group(1), namespace)
    return namespace["variant"]


def test_the_answer_is_the_documented_hash_for_every_running_hash_experiment(server):
    client, keys, _, meta, project_id = server
    vectors = documented_vectors()
    snippet = documented_snippet()
    for user in ("user-1", "user-3", "用户3", "anon-8f3a", "42"):
        answer = client.get(PATH, params={"distinct_id": user}, headers=bearer(keys.ingest_key))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["distinct_id"] == user
        assert set(body["variants"]) == {"checkout-button", "new-pricing", "exp.2026_q4"}
        for key, variants, weights, *_ in SHOP[:3]:
            got = body["variants"][key]
            assert got == assign(get_experiment(meta, project_id, key).experiment, user)
            assert got == variants[snippet(key, user, weights)]
            if (key, user) in vectors:
                assert got == vectors[key, user][0 if len(variants) == 2 else 1]
    # the table's rows for user-1, spelled out: what an app computing the hash itself gets
    one = client.get(PATH, params={"distinct_id": "user-1"}, headers=bearer(keys.ingest_key)).json()
    assert (one["variants"]["checkout-button"], one["variants"]["new-pricing"]) == ("green", "C")


def test_post_takes_the_id_as_json_and_the_key_in_the_header_or_the_body(server):
    client, keys, *_ = server
    by_get = client.get(PATH, params={"distinct_id": "用户3"}, headers=bearer(keys.ingest_key)).json()
    by_post = client.post(PATH, json={"distinct_id": "用户3"}, headers=bearer(keys.ingest_key))
    assert by_post.status_code == 200 and by_post.json() == by_get
    assert by_get["variants"]["checkout-button"] == "green" and by_get["variants"]["new-pricing"] == "C"
    in_body = client.post(PATH, json={"distinct_id": "用户3", "api_key": keys.ingest_key})
    assert in_body.json() == by_get
    # as ingestion stores ids: an integer is its decimal text, surrounding blanks are dropped
    number = client.post(PATH, json={"distinct_id": 42}, headers=bearer(keys.ingest_key)).json()
    assert number["distinct_id"] == "42" and number["variants"]["exp.2026_q4"] == "green"
    padded = client.get(PATH, params={"distinct_id": "  user-1 "}, headers=bearer(keys.ingest_key)).json()
    assert padded["distinct_id"] == "user-1" and padded["variants"]["checkout-button"] == "green"


def test_an_experiment_is_served_from_the_moment_it_runs(server):
    client, keys, _, meta, project_id = server
    create_experiment(meta, project_id, experiment("starts-now", ["off", "on"], [1, 3]))
    asked = {"distinct_id": "user-1"}
    before = client.get(PATH, params=asked, headers=bearer(keys.ingest_key)).json()["variants"]
    set_status(meta, project_id, "starts-now", "running")
    after = client.get(PATH, params=asked, headers=bearer(keys.ingest_key)).json()["variants"]
    assert "starts-now" not in before
    expected = ["off", "on"][documented_snippet()("starts-now", "user-1", [1, 3])]
    assert after == {**before, "starts-now": expected}
    set_status(meta, project_id, "starts-now", "stopped", {"variant": "on"})
    assert client.get(PATH, params=asked, headers=bearer(keys.ingest_key)).json()["variants"] == before


def test_another_projects_key_sees_only_its_own_experiments(server):
    client, _, other_keys, *_ = server
    theirs = client.get(PATH, params={"distinct_id": "user-1"}, headers=bearer(other_keys.ingest_key))
    assert theirs.status_code == 200
    expected = ["x", "y"][documented_snippet()("their-test", "user-1", [1, 1])]
    assert theirs.json()["variants"] == {"their-test": expected}


@pytest.mark.parametrize(("request_kwargs", "status", "code"), [
    ({}, 401, "missing_key"),
    ({"headers": {"Authorization": "Bearer yy_ingest_not-a-key"}}, 401, "invalid_key"),
    ({"headers": {"Authorization": "Basic dXNlcjpwYXNz"}}, 401, "missing_key"),
])
def test_a_missing_or_wrong_key_is_401(server, request_kwargs, status, code):
    client, *_ = server
    answer = client.get(PATH, params={"distinct_id": "user-1"}, **request_kwargs)
    assert answer.status_code == status and answer.json()["error"]["code"] == code
    assert "ingestion key" in answer.json()["error"]["message"]
    posted = client.post(PATH, json={"distinct_id": "user-1", "api_key": "yy_ingest_not-a-key"})
    assert posted.status_code == 401 and posted.json()["error"]["code"] == "invalid_key"


@pytest.mark.parametrize(("how", "payload", "reason"), [
    ("get", None, "distinct_id is missing"),
    ("get", "", "distinct_id is empty"),
    ("get", "   ", "distinct_id is empty"),
    ("get", "u" * 201, "longer than 200 characters"),
    ("post", {}, "distinct_id is missing"),
    ("post", {"distinct_id": ""}, "distinct_id is empty"),
    ("post", {"distinct_id": ["user-1"]}, "distinct_id must be a string"),
    ("post", {"distinct_id": "用" * 201}, "longer than 200 characters"),
])
def test_a_missing_empty_or_too_long_id_is_400_with_the_reason(server, how, payload, reason):
    client, keys, *_ = server
    if how == "get":
        params = {} if payload is None else {"distinct_id": payload}
        answer = client.get(PATH, params=params, headers=bearer(keys.ingest_key))
    else:
        answer = client.post(PATH, json=payload, headers=bearer(keys.ingest_key))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "bad_request" and error["field"] == "distinct_id"
    assert reason in error["message"]
    longest = client.get(PATH, params={"distinct_id": "u" * 200}, headers=bearer(keys.ingest_key))
    assert longest.status_code == 200


def test_a_body_that_is_not_a_json_object_is_400(server):
    client, keys, *_ = server
    broken = client.post(PATH, content=b"{distinct_id", headers=bearer(keys.ingest_key))
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "bad_json"
    listed = client.post(PATH, json=["user-1"], headers=bearer(keys.ingest_key))
    assert listed.status_code == 400 and "JSON object" in listed.json()["error"]["message"]
    huge = client.post(PATH, content=b" " * 70_000 + b'{"distinct_id": "u"}', headers=bearer(keys.ingest_key))
    assert huge.status_code == 413


def test_the_documented_example_is_what_the_server_answers(server):
    client, keys, *_ = server
    section = (DOCS / "api.md").read_text(encoding="utf-8").split("## Experiment variants", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "`GET /api/v1/experiments/variants?distinct_id=" in section
    example = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    answer = client.get(PATH, params={"distinct_id": example["distinct_id"]},
                        headers=bearer(keys.ingest_key)).json()
    assert answer["distinct_id"] == example["distinct_id"]
    assert {key: answer["variants"][key] for key in example["variants"]} == example["variants"]
    for code in ("bad_request", "bad_json", "missing_key", "invalid_key", "body_too_large"):
        assert f"`{code}`" in section
