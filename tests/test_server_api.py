"""The server's answers: keys, limits, bad bodies, back-pressure, rejections, queries — in process."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from live_server import running_server
from starlette.testclient import TestClient

from yunying.insights import run_query
from yunying.store.connection import connect
from yunying.store.keys import create_project_with_keys
from yunying.web import create_app

TODAY = time.strftime("%Y-%m-%d", time.gmtime())
TRENDS = {"kind": "trends", "series": [{"event": "pay", "math": "total"}],
          "date_from": TODAY, "date_to": TODAY, "interval": "day", "timezone": "UTC"}


def posthog_body(key: str, n: int = 3, **extra) -> dict:
    return {"api_key": key, "batch": [
        {"event": "pay", "distinct_id": f"u{i}", "uuid": str(uuid.uuid4()), "properties": {"i": i}}
        for i in range(n)], **extra}


@pytest.fixture
def app_client(tmp_path):
    store = connect(tmp_path / "s.duckdb")
    _, keys = create_project_with_keys(store, "shop")
    _, other = create_project_with_keys(store, "other")
    with TestClient(create_app(store)) as client:
        yield client, keys, other, store
    store.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_decide_what_a_request_may_do(app_client):
    client, keys, other, _ = app_client
    assert client.post("/batch/", json=posthog_body("nope")).status_code == 401
    missing = client.post("/batch/", json={"batch": []})
    assert missing.status_code == 401 and "api_key" in missing.text
    assert client.post("/batch/", json=posthog_body(keys.ingest_key)).json() == {"status": 1}
    refused = client.post("/api/v1/query", json=TRENDS, headers=bearer(keys.ingest_key))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_key"
    assert "only send events" in refused.json()["error"]["message"]
    assert client.post("/api/v1/query", json=TRENDS).json()["error"]["code"] == "missing_key"
    mine = client.post("/api/v1/query", json=TRENDS, headers=bearer(keys.api_key)).json()
    theirs = client.post("/api/v1/query", json=TRENDS, headers=bearer(other.api_key)).json()
    assert mine["series"][0]["total"] == 3 and theirs["series"][0]["total"] == 0


def test_unreadable_bodies_are_400_with_a_reason(app_client):
    client, keys, _, _ = app_client
    bad_json = client.post("/batch/", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "JSON" in bad_json.text
    bad_gzip = client.post("/batch/", content=b"\x1f\x8bnope", headers={"Content-Encoding": "gzip"})
    assert bad_gzip.status_code == 400 and "gzip" in bad_gzip.text
    bad_b64 = client.post("/track", content=b"data=%%%%", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert bad_b64.status_code == 400 and bad_b64.json()["status"] == 0
    ok = client.post("/batch/", content=gzip.compress(json.dumps(posthog_body(keys.ingest_key)).encode()),
                     headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert ok.status_code == 200


def test_body_over_the_limit_is_413(app_client, monkeypatch):
    client, keys, _, _ = app_client
    monkeypatch.setenv("YUNYING_MAX_BODY_BYTES", "2000")
    response = client.post("/batch/", json=posthog_body(keys.ingest_key, n=40))
    assert response.status_code == 413
    assert client.post("/batch/", json=posthog_body(keys.ingest_key, n=2)).status_code == 200


def test_one_bad_event_is_rejected_alone_and_counted(app_client):
    client, keys, _, store = app_client
    body = {"events": [{"event": "pay", "distinct_id": "a"}, {"event": "pay"},
                       {"event": "pay", "distinct_id": "b", "timestamp": "yesterday"}]}
    answer = client.post("/api/v1/events", json=body, headers=bearer(keys.ingest_key)).json()
    assert answer["stored"] == 1
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(1, "distinct_id"), (2, "timestamp")]
    stats = client.get("/api/v1/ingest/stats", headers=bearer(keys.api_key)).json()
    assert stats["since_start"]["rejected"] == 2 and stats["since_start"]["stored"] == 1
    assert {r["field"] for r in stats["rejected_by_reason"]} == {"distinct_id", "timestamp"}


def test_far_future_events_are_clamped_and_flagged(app_client):
    client, keys, _, store = app_client
    body = {"events": [{"event": "pay", "distinct_id": "a", "timestamp": "2099-01-01T00:00:00Z"}]}
    assert client.post("/api/v1/events", json=body, headers=bearer(keys.ingest_key)).json()["stored"] == 1
    ts, props = store.duckdb.cursor().execute("SELECT timestamp, properties FROM events").fetchone()
    assert abs(ts.timestamp() - time.time()) < 60
    assert json.loads(props)["$clamped_timestamp"].startswith("2099-01-01T00:00:00")


def test_a_writer_that_falls_behind_answers_503_with_retry_after(app_client, monkeypatch):
    client, keys, _, store = app_client
    monkeypatch.setenv("YUNYING_MAX_PENDING_EVENTS", "150")
    client.app.state.yunying.writer.max_pending = 150
    answers: list[int] = []
    with store.write_lock():  # the writer cannot commit while the test holds its lock
        blocked = [threading.Thread(target=lambda: answers.append(
            client.post("/batch/", json=posthog_body(keys.ingest_key, n=100)).status_code)) for _ in range(2)]
        for t in blocked:
            t.start()
            time.sleep(0.3)
        refused = client.post("/batch/", json=posthog_body(keys.ingest_key, n=100))
    for t in blocked:
        t.join()
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert answers == [200, 200]
    assert client.post("/api/v1/query", json=TRENDS, headers=bearer(keys.api_key)).json()[
        "series"][0]["total"] == 200


def test_api_query_equals_the_library_and_names_bad_fields(app_client):
    client, keys, _, store = app_client
    client.post("/batch/", json=posthog_body(keys.ingest_key, n=5))
    via_api = client.post("/api/v1/query", json=TRENDS, headers=bearer(keys.api_key)).json()
    assert via_api == run_query(store, store.project("shop"), TRENDS).to_json()
    bad = client.post("/api/v1/query", json={**TRENDS, "interval": "fortnight"}, headers=bearer(keys.api_key))
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "interval"


def test_openapi_documents_the_events_endpoint(app_client):
    client, *_ = app_client
    schema = client.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/EventsRequest"
    assert "events" in schema["components"]["schemas"]["EventsRequest"]["properties"]


def test_cli_query_points_to_url_while_a_server_holds_the_store(tmp_path):
    db = tmp_path / "held.duckdb"
    yunying = [sys.executable, "-m", "yunying"]
    with running_server(db) as server:
        import httpx
        httpx.post(f"{server.url}/batch/", json=posthog_body(server.ingest_key, n=4))
        held = subprocess.run(
            [*yunying, "query", "--db", str(db), "-p", "shop", "--json", json.dumps(TRENDS)],
            capture_output=True, text=True)
        assert held.returncode == 2 and "--url" in held.stderr and "Traceback" not in held.stderr
        remote = subprocess.run([*yunying, "query", "--url", server.url, "--key", server.api_key,
                                 "--json", json.dumps(TRENDS), "--no-pretty"], capture_output=True, text=True)
        assert remote.returncode == 0, remote.stderr
        assert json.loads(remote.stdout)["series"][0]["total"] == 4


def test_project_create_prints_keys_that_work(tmp_path):
    db = tmp_path / "p.duckdb"
    made = subprocess.run(
        [sys.executable, "-m", "yunying", "project", "create", "app", "--db", str(db), "--json"],
        capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    keys = json.loads(made.stdout)
    assert set(keys) >= {"project", "ingest_key", "api_key"} and keys["project"] == "app"
    listed = subprocess.run([sys.executable, "-m", "yunying", "project", "list", "--db", str(db), "--json"],
                            capture_output=True, text=True)
    assert json.loads(listed.stdout)["ingest_keys"] == [keys["ingest_key"]]
    assert keys["api_key"] not in listed.stdout  # secret keys are shown once
    again = subprocess.run([sys.executable, "-m", "yunying", "project", "create", "app", "--db", str(db)],
                           capture_output=True, text=True)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert Path(db).exists()
