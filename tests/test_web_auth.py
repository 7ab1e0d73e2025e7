"""Signing in, sessions, CSRF, roles and project isolation of the workbench (in process)."""

from __future__ import annotations

import re

import pytest
from web_support import PASSWORD, Workbench, csrf, sign_in


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("auth"))


def test_pages_need_a_login_and_say_so(bench: Workbench) -> None:
    with bench.client() as client:
        page = client.get("/p/demo/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fp%2Fdemo%2F"
        api = client.get("/api/v1/p/demo/")
        assert api.status_code == 401 and api.json()["error"]["code"] == "login_required"
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(bench: Workbench) -> None:
    with bench.client() as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
        for login in ("demo", "nobody"):
            answer = client.post("/login", data={"login": login, "password": "wrong-password",
                                                 "csrf_token": token, "next": "/"})
            assert answer.status_code == 401 and "wrong-password" not in answer.text
        assert "yy_session" not in client.cookies


def test_login_without_the_form_token_is_refused(bench: Workbench) -> None:
    with bench.client() as client:
        answer = client.post("/login", data={"login": "demo", "password": PASSWORD, "next": "/"},
                             follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        assert "yy_session" not in client.cookies


def test_login_goes_back_where_the_user_was_but_never_off_site(bench: Workbench) -> None:
    with bench.client() as client:
        page = client.get("/login?next=//evil.example/x")
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
        assert 'value="/"' in page.text  # the off-site target was dropped
        answer = client.post("/login", data={"login": "demo", "password": PASSWORD, "csrf_token": token,
                                             "next": "https://evil.example/"}, follow_redirects=False)
        assert answer.headers["location"] == "/"
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_a_member_of_one_project_sees_nothing_of_another(bench: Workbench) -> None:
    with bench.client("otto") as client:
        assert client.get("/p/other/").status_code == 200
        page, missing = client.get("/p/demo/"), client.get("/p/nosuch/")
        # the same answer as for a project that does not exist: names do not leak
        assert page.status_code == missing.status_code == 404
        assert page.text.replace("demo", "X") == missing.text.replace("nosuch", "X")
        assert client.get("/api/v1/p/demo/").json()["error"]["code"] == "not_found"
        assert "demo" not in client.get("/p/other/").text.split("<main>")[0]  # not in the switcher


def test_state_changes_need_the_session_csrf_token(bench: Workbench) -> None:
    with bench.client("demo") as client:
        token = csrf(client, "/p/demo/")
        refused = client.post("/lang", data={"lang": "en", "next": "/p/demo/"}, follow_redirects=False)
        assert refused.status_code == 303 and "yy_lang" not in refused.headers.get("set-cookie", "")
        forged = client.post("/lang", data={"lang": "en", "next": "/p/demo/", "csrf_token": token},
                             headers={"Origin": "https://evil.example"}, follow_redirects=False)
        assert "yy_lang" not in forged.headers.get("set-cookie", "")
        done = client.post("/lang", data={"lang": "en", "next": "/p/demo/", "csrf_token": token},
                           follow_redirects=False)
        assert "yy_lang=en" in done.headers["set-cookie"]


def test_language_follows_the_account_then_the_browser(bench: Workbench) -> None:
    with bench.client() as client:
        assert '<html lang="zh-CN">' in client.get("/login").text
        assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "en-US,en"}).text
        sign_in(client, "ana")
        page = client.get("/p/demo/", headers={"Accept-Language": "en-US"})
        assert "Overview" in page.text
        client.post("/lang", data={"lang": "zh-CN", "next": "/", "csrf_token": csrf(client, "/p/demo/")})
        client.cookies.delete("yy_lang")  # the account keeps the choice even without the cookie
        assert "概览" in client.get("/p/demo/", headers={"Accept-Language": "en-US"}).text


def test_logout_ends_the_session(bench: Workbench) -> None:
    with bench.client("vic") as client:
        token = csrf(client, "/p/demo/")
        client.post("/logout", data={"csrf_token": token})
        assert client.get("/p/demo/", follow_redirects=False).status_code == 303


def test_a_secret_key_reads_the_json_twins_of_its_own_project_only(bench: Workbench) -> None:
    with bench.client() as client:
        headers = {"Authorization": f"Bearer {bench.other_keys.api_key}"}
        assert client.get("/api/v1/p/other/", headers=headers).status_code == 200
        assert client.get("/api/v1/p/demo/", headers=headers).status_code == 404
        ingest = {"Authorization": f"Bearer {bench.other_keys.ingest_key}"}
        assert client.get("/api/v1/p/other/", headers=ingest).status_code == 401
