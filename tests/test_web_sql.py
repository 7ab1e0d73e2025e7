"""The SQL console page: analysts only, this project's rows only, errors shown, CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from web_support import Workbench


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("sql"))


COUNT = "SELECT count(*) AS n, count(DISTINCT person_id) AS users FROM events"


def test_an_analyst_counts_the_project_events(bench: Workbench) -> None:
    with bench.client("ana") as client:
        data = client.get("/api/v1/p/demo/sql", params={"q": COUNT}).json()["result"]
        assert data["columns"] == ["n", "users"] and data["rows"][0][0] == bench.truth["events"]
        page = client.get("/p/demo/sql", params={"q": COUNT})
        assert page.status_code == 200 and f"{bench.truth['events']:,}" in page.text


def test_other_projects_and_writes_stay_out_of_reach(bench: Workbench) -> None:
    with bench.client("otto") as client:  # admin of "other": sees only its rows, none of demo's
        assert client.get("/api/v1/p/other/sql", params={"q": COUNT}).json()["result"]["rows"] == [[0, 0]]
        assert client.get("/p/demo/sql", params={"q": COUNT}).status_code == 404
        for sql, code in (("DELETE FROM events", "sql_not_select"),
                          ("SELECT * FROM memory.main.events", "sql_table_not_allowed"),
                          ("SELECT * FROM read_csv('/etc/passwd')", "sql_function_not_allowed"),
                          ("SELECT * FROM accounts", "sql_table_not_allowed")):
            answer = client.get("/api/v1/p/other/sql", params={"q": sql})
            assert answer.status_code == 400 and answer.json()["error"]["code"] == code, sql
        page = client.get("/p/other/sql", params={"q": "DELETE FROM events"})
        assert page.status_code == 200 and 'data-error="not_select"' in page.text


def test_viewers_have_no_console(bench: Workbench) -> None:
    with bench.client("vic") as client:
        assert client.get("/p/demo/sql").status_code == 403
        assert "/p/demo/sql" not in client.get("/p/demo/").text  # not in their menu either


def test_the_row_cap_and_the_csv_export(bench: Workbench, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNYING_SQL_CONSOLE_ROW_CAP", "5")
    with bench.client("ana") as client:
        sql = "SELECT event, uuid FROM events ORDER BY timestamp, uuid"
        data = client.get("/api/v1/p/demo/sql", params={"q": sql}).json()["result"]
        assert len(data["rows"]) == 5 and data["truncated"] is True
        exported = client.get("/p/demo/sql.csv", params={"q": sql})
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert rows[0] == ["event", "uuid"] and [r[1] for r in rows[1:]] == [r[1] for r in data["rows"]]
