"""Importing a file from the browser: progress, report, rejected rows, and the writer staying exact."""

from __future__ import annotations

import csv
import io
import time

import pytest
from web_support import Workbench, csrf

GOOD_UUID = "7c2f8f1e-0000-4000-8000-000000000001"
CSV = (
    "uuid,event,distinct_id,timestamp,plan\n"
    f"{GOOD_UUID},signup,u-1,2026-10-30 10:00:00,pro\n"
    "7c2f8f1e-0000-4000-8000-000000000002,pay,u-1,2026-10-30 10:05:00,pro\n"
    "7c2f8f1e-0000-4000-8000-000000000003,pay,u-2,not a time,free\n"
    "7c2f8f1e-0000-4000-8000-000000000004,,u-3,2026-10-30 11:00:00,free\n"
)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("data"))


def _import(client, project: str, name: str, body: bytes) -> dict:
    answer = client.post(f"/p/{project}/data/import", data={"csrf_token": csrf(client, f"/p/{project}/data")},
                         files={"file": (name, body, "text/csv")}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    status_url = "/api/v1" + answer.headers["location"]
    for _ in range(200):
        job = client.get(status_url).json()["job"]
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def test_an_upload_is_imported_with_its_bad_rows_reported(bench: Workbench) -> None:
    with bench.client("otto") as client:
        before = client.get("/api/v1/p/other/data").json()["totals"]["events"]
        job = _import(client, "other", "活动.csv", CSV.encode())
        assert (job["state"], job["imported"], job["duplicates"], job["rejected"]) == ("done", 2, 0, 2)
        assert client.get("/api/v1/p/other/data").json()["totals"]["events"] == before + 2
        page = client.get(f"/p/other/data/imports/{job['job_id']}")
        assert "活动.csv" in page.text and "not a time" in page.text
        rejects = client.get(f"/p/other/data/imports/{job['job_id']}/rejects.csv")
        assert "attachment" in rejects.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(rejects.content.decode("utf-8-sig"))))
        assert [r[:2] for r in rows[1:]] == [["4", "timestamp"], ["5", "event"]]
        again = _import(client, "other", "again.csv", CSV.encode())
        assert (again["imported"], again["duplicates"]) == (0, 2)  # importing twice adds nothing


def test_capture_after_an_import_still_deduplicates_and_keeps_persons(bench: Workbench) -> None:
    """The import ran on the server's writer: its ids are in the dedup index, its persons known."""
    with bench.client("otto") as client:
        _import(client, "other", "first.csv", CSV.encode())
        body = {"api_key": bench.other_keys.ingest_key, "batch": [
            {"event": "signup", "distinct_id": "u-1", "uuid": GOOD_UUID, "timestamp": "2026-10-30T02:00:00Z"},
            {"event": "pay", "distinct_id": "u-1", "uuid": "7c2f8f1e-0000-4000-8000-0000000000ff",
             "timestamp": "2026-10-30T03:00:00Z"}]}
        assert client.post("/batch/", json=body).status_code == 200
        stats = client.get("/api/v1/ingest/stats",
                           headers={"Authorization": f"Bearer {bench.other_keys.api_key}"}).json()
        assert stats["since_start"]["duplicates"] >= 1
        query = {"kind": "trends", "series": [{"event": "$any", "math": "unique_users"}],
                 "date_from": "2026-10-30", "date_to": "2026-10-30", "timezone": "UTC"}
        result = client.post("/api/v1/query", json=query,
                             headers={"Authorization": f"Bearer {bench.other_keys.api_key}"}).json()
        assert result["series"][0]["values"] == [1]  # u-1 of the file and of the SDK is one person


def test_a_bad_file_is_refused_whole_with_the_reason(bench: Workbench) -> None:
    with bench.client("otto") as client:
        job = _import(client, "other", "broken.csv", b"name,when\nx,y\n")
        assert job["state"] == "failed" and "missing required column" in job["error"]
        assert "broken.csv" in job["error"] and "upload" not in job["error"]
        token = csrf(client, "/p/other/data")
        wrong = client.post("/api/v1/p/other/data/import", files={"file": ("notes.txt", b"hi", "text/plain")},
                            headers={"X-CSRF-Token": token})
        assert wrong.status_code == 400 and "unsupported file type" in wrong.json()["error"]["message"]


def test_viewers_can_not_import_and_strangers_see_nothing(bench: Workbench) -> None:
    with bench.client("vic") as client:
        assert client.get("/p/demo/data").status_code == 403
        answer = client.post("/api/v1/p/demo/data/import",
                             files={"file": ("a.csv", CSV.encode(), "text/csv")},
                             headers={"X-CSRF-Token": csrf(client, "/p/demo/")})
        assert answer.status_code == 403
    with bench.client("otto") as client:
        assert client.get("/p/demo/data").status_code == 404
        assert client.get("/p/demo/data/imports/1").status_code == 404
