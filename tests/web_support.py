"""A workbench to test against: a small demo store, accounts of every role, a signed-in client.

    @pytest.fixture(scope="module")
    def bench(tmp_path_factory): return Workbench.build(tmp_path_factory.mktemp("wb"))

Accounts (password ``PASSWORD`` for all): ``demo`` (superuser, admin of demo), ``ana``
(analyst of demo), ``vic`` (viewer of demo), ``otto`` (admin of project ``other`` only).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from yunying.demo import demo_config, generate_demo
from yunying.demo.build import DEMO_PROJECT, build_demo_store
from yunying.demo.workbench import DEMO_PASSWORD, setup_workbench
from yunying.store import Store
from yunying.store.accounts import create_account, set_role
from yunying.store.connection import connect
from yunying.store.keys import create_project_with_keys
from yunying.store.meta import Meta
from yunying.web import create_app

PASSWORD = DEMO_PASSWORD
_CSRF = re.compile(r'name="csrf-token" content="([^"]*)"')


@dataclass
class Workbench:
    path: Path
    truth: dict[str, Any]
    other_keys: Any

    @classmethod
    def build(cls, folder: Path, users: int = 400, days: int = 28) -> Workbench:
        """A demo store of ``users`` users over ``days`` days, with the demo workbench and accounts."""
        path = folder / "workbench.duckdb"
        store = connect(path)
        data = generate_demo(demo_config(users=users, days=days, seed=7))
        build_demo_store(store, data)
        setup_workbench(store, data.truth["date_from"], data.truth["date_to"])
        other, keys = create_project_with_keys(store, "other")
        meta = Meta(store)
        demo = store.project(DEMO_PROJECT)
        roles = (("ana", demo, "analyst"), ("vic", demo, "viewer"), ("otto", other, "admin"))
        for login, project, role in roles:
            made = create_account(meta, login, PASSWORD)
            set_role(meta, project.project_id, made.account_id, role)
        meta.close()
        store.close()
        return cls(path, data.truth, keys)

    @contextmanager
    def client(self, login: str | None = None) -> Iterator[TestClient]:
        """A client of a fresh app over the store, signed in as ``login`` (None: signed out)."""
        store: Store = connect(self.path)
        try:
            with TestClient(create_app(store), base_url="http://127.0.0.1:8000") as client:
                if login:
                    sign_in(client, login)
                yield client
        finally:
            store.close()


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    answer = client.post("/login", data={"login": login, "password": password, "csrf_token": token,
                                         "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def csrf(client: TestClient, path: str = "/") -> str:
    """The CSRF token of the signed-in session (read from a page, as a browser would)."""
    return _CSRF.search(client.get(path).text).group(1)
