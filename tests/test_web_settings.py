"""Project settings (设置): key numbers, keys, members, new projects — as an admin would use them."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from web_support import Workbench, csrf, sign_in

from yunying.store.accounts import members

ACTIONS = ("numbers", "keys/ingest", "keys/secret", "keys/revoke", "members/role", "members/remove",
           "members/add", "members/create")
SECTIONS = ("general", "numbers", "keys", "members")
NEW_KEY = re.compile(r'data-new-key="(ingest|secret)">([^<]+)<')


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("settings"), users=200, days=21)


def posthog(key: str, n: int = 2) -> dict:
    return {"api_key": key, "batch": [{"event": "settings_test", "distinct_id": f"s{i}",
                                       "uuid": str(uuid.uuid4()), "properties": {"i": i}} for i in range(n)]}


def revenue(client) -> float | None:
    kpis = client.get("/api/v1/p/demo/?range=last_30d").json()["result"]["kpis"]
    return next(k["value"] for k in kpis if k["key"] == "revenue")


def member_logins(client, project: str) -> dict[str, str]:
    state = client.app.state.yunying
    pid = next(p.project_id for p in state.projects() if p.name == project)
    return {a.login: role for a, role in members(state.meta, pid)}


def test_the_admin_sees_every_section_and_its_json_twin(bench: Workbench) -> None:
    with bench.client("demo") as client:
        page = client.get("/p/demo/settings")
        assert page.status_code == 200
        for section in SECTIONS:
            assert f'data-section="{section}"' in page.text
        assert 'href="/p/demo/settings" class="active"' in page.text  # the nav entry is there and lit
        data = client.get("/api/v1/p/demo/settings").json()
        assert data["general"]["name"] == "demo" and data["general"]["timezone"] == "Asia/Shanghai"
        assert data["numbers"]["revenue_event"] == "pay"
        assert data["numbers"]["conversion_steps"] == ["app_open", "pay"]
        assert "pay" in data["event_names"] and "amount" in data["property_keys"]  # the datalists
        assert {m["login"] for m in data["members"]} == {"demo", "ana", "vic"}
        assert "<datalist" in page.text and 'value="amount"' in page.text
        # removing each member and revoking the demo's ingestion key ask first
        assert page.text.count("data-confirm=") == 3 + len(data["ingest_keys"])
        assert "Asia/Shanghai" in page.text


@pytest.mark.parametrize("login", ["ana", "vic"])
def test_analysts_and_viewers_get_403_on_the_page_and_every_action(bench: Workbench, login: str) -> None:
    with bench.client(login) as client:
        token = csrf(client, "/p/demo/")
        assert client.get("/p/demo/settings").status_code == 403
        assert client.get("/api/v1/p/demo/settings").status_code == 403
        assert 'data-nav="nav.settings"' not in client.get("/p/demo/").text
        form = {"csrf_token": token, "account_id": "1", "role": "viewer", "login": "vic", "kind": "ingest",
                "id": "0" * 64, "password": "long-enough-1", "conversion_window": "1d"}
        for path in ACTIONS:
            answer = client.post(f"/p/demo/settings/{path}", data=form, follow_redirects=False)
            assert answer.status_code == 403, path
        assert client.get("/projects/new").status_code == 403
        assert client.post("/projects/new", data={"csrf_token": token, "name": "x"}).status_code == 403
        assert member_logins(client, "demo")["demo"] == "admin"


def test_a_non_member_gets_404_and_no_superuser_no_new_project(bench: Workbench) -> None:
    with bench.client("otto") as client:
        token = csrf(client, "/p/other/")
        assert client.get("/p/demo/settings").status_code == 404
        for path in ACTIONS:
            assert client.post(f"/p/demo/settings/{path}", data={"csrf_token": token}).status_code == 404
        assert client.get("/p/other/settings").status_code == 200  # admin of their own project
        assert client.get("/projects/new").status_code == 403
        assert client.get("/api/v1/projects/new").status_code == 403


def test_actions_need_the_csrf_token(bench: Workbench) -> None:
    with bench.client("demo") as client:
        refused = client.post("/p/demo/settings/keys/secret", data={}, follow_redirects=False)
        assert refused.status_code == 403
        assert client.get("/api/v1/p/demo/settings").json()["secret_keys"] == []


def test_key_numbers_drive_the_overview(bench: Workbench) -> None:
    with bench.client("demo") as client:
        token = csrf(client, "/p/demo/settings")
        assert revenue(client) is not None
        cleared = client.post("/p/demo/settings/numbers", data={
            "csrf_token": token, "revenue_event": "", "revenue_property": "amount", "currency": "USD",
            "conversion_steps": ["app_open", "pay", ""], "conversion_window": "1d"}, follow_redirects=False)
        assert cleared.status_code == 303 and "notice=numbers_saved" in cleared.headers["location"]
        assert revenue(client) is None
        overview = client.get("/p/demo/").text
        assert 'data-kpi="revenue"' in overview and 'href="/p/demo/settings"' in overview  # "set up" link
        page = client.get(cleared.headers["location"]).text
        assert 'data-notice="numbers_saved"' in page and '<option value="USD" selected>' in page
        saved = client.post("/api/v1/p/demo/settings/numbers", headers={"X-CSRF-Token": token}, json={
            "revenue_event": "pay", "revenue_property": "amount", "currency": "CNY",
            "conversion_steps": ["app_open", "add_to_cart", "pay"], "conversion_window": "2h"})
        assert saved.status_code == 200 and saved.json()["settings"]["conversion_window"] == "2h"
        assert revenue(client) > 0
        kpis = client.get("/api/v1/p/demo/?range=last_30d").json()["result"]["kpis"]
        assert next(k for k in kpis if k["key"] == "conversion")["value"] is not None
        data = client.get("/api/v1/p/demo/settings").json()["numbers"]
        assert data["conversion_steps"] == ["app_open", "add_to_cart", "pay"] and data["currency"] == "CNY"


def test_an_invalid_window_is_refused_with_the_field_named(bench: Workbench) -> None:
    with bench.client("demo") as client:
        token = csrf(client, "/p/demo/settings")
        before = client.get("/api/v1/p/demo/settings").json()["numbers"]
        api = client.post("/api/v1/p/demo/settings/numbers", headers={"X-CSRF-Token": token}, json={
            "revenue_event": "pay", "revenue_property": "amount", "conversion_steps": ["app_open", "pay"],
            "conversion_window": "soon"})
        assert api.status_code == 400 and api.json()["error"]["field"] == "conversion_window"
        form = client.post("/p/demo/settings/numbers", data={
            "csrf_token": token, "revenue_event": "pay", "revenue_property": "amount",
            "conversion_steps": ["app_open", "checkout"], "conversion_window": "soon"},
            headers={"Accept-Language": "en"})
        assert re.search(r'data-error-for="conversion_window">[^<]*soon', form.text)
        assert 'value="checkout"' in form.text and 'value="soon"' in form.text  # what was entered stays
        one_step = client.post("/api/v1/p/demo/settings/numbers", headers={"X-CSRF-Token": token},
                               json={"conversion_steps": ["pay"], "conversion_window": "1d"})
        assert one_step.json()["error"]["field"] == "conversion_steps"
        no_property = client.post("/api/v1/p/demo/settings/numbers", headers={"X-CSRF-Token": token},
                                  json={"revenue_event": "pay", "revenue_property": ""})
        assert no_property.json()["error"]["field"] == "revenue_property"
        assert client.get("/api/v1/p/demo/settings").json()["numbers"] == before
        assert client.get(form.url).text.count("data-error-for") == 0  # the error was shown once


def test_a_new_ingestion_key_captures_at_once_and_a_revoked_one_is_refused(bench: Workbench) -> None:
    with bench.client("demo") as client:
        token = csrf(client, "/p/demo/settings")
        made = client.post("/p/demo/settings/keys/ingest", data={"csrf_token": token}, follow_redirects=False)
        shown = client.get(made.headers["location"]).text
        key = dict(NEW_KEY.findall(shown))["ingest"]
        assert client.post("/batch/", json=posthog(key)).json() == {"status": 1}
        listed = client.get("/api/v1/p/demo/settings").json()["ingest_keys"]
        row = next(k for k in listed if k["key"] == key)
        assert row["revoked_at"] is None
        assert f'Posthog("{key}", host="http://127.0.0.1:8000")' in row["snippets"]["posthog"]
        assert f"/sa?project=demo&amp;token={key}" in client.get("/p/demo/settings").text
        revoked = client.post("/p/demo/settings/keys/revoke", follow_redirects=False,
                              data={"csrf_token": token, "kind": "ingest", "id": row["id"]})
        assert revoked.status_code == 303
        assert client.post("/batch/", json=posthog(key)).status_code == 401
        listed = client.get("/api/v1/p/demo/settings").json()["ingest_keys"]
        assert next(k for k in listed if k["key"] == key)["revoked_at"] is not None
        again = client.post("/api/v1/p/demo/settings/keys/revoke", headers={"X-CSRF-Token": token},
                            json={"kind": "ingest", "id": row["id"]})
        assert again.status_code == 404
    with bench.client() as client:  # a fresh server reads the same keys from the store
        assert client.post("/batch/", json=posthog(key)).status_code == 401


def test_a_secret_key_reads_the_api_and_is_shown_only_once(bench: Workbench) -> None:
    query = {"kind": "trends", "series": [{"event": "pay", "math": "total"}], "date_from": "2026-10-01",
             "date_to": "2026-10-31", "interval": "day"}
    with bench.client("demo") as client:
        token = csrf(client, "/p/demo/settings")
        made = client.post("/p/demo/settings/keys/secret", data={"csrf_token": token}, follow_redirects=False)
        first = client.get(made.headers["location"]).text
        key = dict(NEW_KEY.findall(first))["secret"]
        assert key.startswith("yy_secret_")
        headers = {"Authorization": f"Bearer {key}"}
        assert client.post("/api/v1/query", json=query, headers=headers).status_code == 200
        assert key not in client.get(made.headers["location"]).text  # the same link shows it no more
        assert key not in client.get("/api/v1/p/demo/settings").text
        with bench.client("ana") as other:  # another session cannot take it
            assert key not in other.get(made.headers["location"]).text
        secrets = client.get("/api/v1/p/demo/settings").json()["secret_keys"]
        live = [k for k in secrets if k["revoked_at"] is None]
        assert live and all(k["key"] is None and k["created_at"] for k in secrets)
        for k in live:
            client.post("/p/demo/settings/keys/revoke",
                        data={"csrf_token": token, "kind": "secret", "id": k["id"]})
        assert client.post("/api/v1/query", json=query, headers=headers).status_code == 401
        api = client.post("/api/v1/p/demo/settings/keys/secret", headers={"X-CSRF-Token": token})
        assert api.json()["kind"] == "secret"
        assert client.post("/api/v1/query", json=query,
                           headers={"Authorization": f"Bearer {api.json()['key']}"}).status_code == 200


def test_members_can_be_added_changed_and_removed(bench: Workbench) -> None:
    with bench.client("demo") as admin, bench.client("otto") as otto:
        token = csrf(admin, "/p/demo/settings")
        assert otto.get("/p/demo/").status_code == 404
        missing = admin.post("/p/demo/settings/members/add", data={"csrf_token": token, "login": "nobody",
                                                                   "role": "viewer"})
        assert 'data-error-for="login"' in missing.text and 'value="nobody"' in missing.text
        admin.post("/p/demo/settings/members/add",
                   data={"csrf_token": token, "login": "otto", "role": "viewer"})
        assert member_logins(admin, "demo")["otto"] == "viewer"
        assert otto.get("/p/demo/").status_code == 200 and otto.get("/p/demo/settings").status_code == 403
        otto_id = next(m["account_id"] for m in admin.get("/api/v1/p/demo/settings").json()["members"]
                       if m["login"] == "otto")
        changed = admin.post("/p/demo/settings/members/role", follow_redirects=False,
                             data={"csrf_token": token, "account_id": otto_id, "role": "admin"})
        assert "notice=role_changed" in changed.headers["location"]
        assert member_logins(admin, "demo")["otto"] == "admin"
        assert otto.get("/p/demo/settings").status_code == 200
        stepped_down = otto.post("/p/demo/settings/members/role", follow_redirects=False, data={
            "csrf_token": csrf(otto, "/p/demo/settings"), "account_id": otto_id, "role": "analyst"})
        assert stepped_down.headers["location"] == "/p/demo/"  # no longer allowed on the settings page
        assert otto.get("/p/demo/settings").status_code == 403 and otto.get("/p/demo/").status_code == 200
        admin.post("/p/demo/settings/members/remove", data={"csrf_token": token, "account_id": otto_id})
        assert "otto" not in member_logins(admin, "demo") and otto.get("/p/demo/").status_code == 404
        assert member_logins(admin, "other")["otto"] == "admin"  # other projects untouched


def test_an_admin_creates_an_account_that_can_sign_in(bench: Workbench) -> None:
    with bench.client("demo") as admin:
        token = csrf(admin, "/p/demo/settings")
        short = admin.post("/p/demo/settings/members/create", data={
            "csrf_token": token, "login": "cici", "display_name": "Cici", "password": "pw-7x",
            "role": "analyst"})
        assert 'data-error-for="password"' in short.text and "pw-7x" not in short.text
        assert "cici" not in member_logins(admin, "demo")
        taken = admin.post("/api/v1/p/demo/settings/members/create", headers={"X-CSRF-Token": token},
                           json={"login": "vic", "password": "long-enough-1", "role": "viewer"})
        assert taken.status_code == 400 and taken.json()["error"]["field"] == "login"
        made = admin.post("/p/demo/settings/members/create", data={
            "csrf_token": token, "login": "cici", "display_name": "Cici", "password": "cici-password",
            "role": "analyst"}, follow_redirects=False)
        assert "notice=member_created" in made.headers["location"]
        assert member_logins(admin, "demo")["cici"] == "analyst"
    with bench.client() as client:
        sign_in(client, "cici", "cici-password")
        assert client.get("/p/demo/").status_code == 200
        assert client.get("/p/demo/settings").status_code == 403
        assert client.get("/p/other/").status_code == 404


def test_the_last_admin_cannot_remove_or_demote_themselves(bench: Workbench) -> None:
    with bench.client("otto") as client:
        token = csrf(client, "/p/other/settings")
        me = next(m for m in client.get("/api/v1/p/other/settings").json()["members"] if m["you"])
        refused = client.post("/p/other/settings/members/remove", data={"csrf_token": token,
                                                                        "account_id": me["account_id"]},
                              headers={"Accept-Language": "en"})
        assert re.search(r'data-error-for="account_id">[^<]*last admin', refused.text)
        api = client.post("/api/v1/p/other/settings/members/role", headers={"X-CSRF-Token": token},
                          json={"account_id": me["account_id"], "role": "viewer"})
        assert api.status_code == 409 and api.json()["error"]["code"] == "last_admin"
        assert member_logins(client, "other") == {"otto": "admin"}
        assert client.get("/p/other/settings").status_code == 200


def test_a_second_admin_lets_the_first_one_leave(bench: Workbench) -> None:
    with bench.client("demo") as client:
        token = csrf(client, "/p/demo/settings")
        ana = next(m for m in client.get("/api/v1/p/demo/settings").json()["members"] if m["login"] == "ana")
        me = next(m for m in client.get("/api/v1/p/demo/settings").json()["members"] if m["you"])

        def set_role(account_id: int, role: str) -> None:
            answer = client.post("/p/demo/settings/members/role", follow_redirects=False,
                                 data={"csrf_token": token, "account_id": account_id, "role": role})
            assert answer.status_code == 303

        set_role(ana["account_id"], "admin")
        set_role(me["account_id"], "analyst")
        assert member_logins(client, "demo")["demo"] == "analyst"
        with bench.client("ana") as ana_client:
            last = ana_client.post("/api/v1/p/demo/settings/members/role",
                                   headers={"X-CSRF-Token": csrf(ana_client, "/p/demo/settings")},
                                   json={"account_id": ana["account_id"], "role": "viewer"})
            assert last.status_code == 409
        # put things back as the other tests expect them (demo is a superuser: still admin in fact)
        set_role(me["account_id"], "admin")
        set_role(ana["account_id"], "analyst")
        roles = member_logins(client, "demo")
        assert (roles["demo"], roles["ana"], roles["vic"]) == ("admin", "analyst", "viewer")


def test_a_new_project_appears_in_the_switcher_and_is_isolated(bench: Workbench) -> None:
    with bench.client("demo") as client:
        form = client.get("/projects/new")
        assert form.status_code == 200 and '<option value="Asia/Shanghai" selected>' in form.text
        token = csrf(client, "/projects/new")
        bad_zone = client.post("/api/v1/projects/new", headers={"X-CSRF-Token": token},
                               json={"name": "shop2", "timezone": "Mars/Olympus"})
        assert bad_zone.status_code == 400 and bad_zone.json()["error"]["field"] == "timezone"
        taken = client.post("/projects/new", data={"csrf_token": token, "name": "demo", "timezone": "UTC"})
        assert 'data-error-for="name"' in taken.text
        made = client.post("/projects/new", data={"csrf_token": token, "name": "shop2",
                                                  "timezone": "Europe/Berlin"}, follow_redirects=False)
        assert made.status_code == 303 and made.headers["location"].startswith("/p/shop2/settings?")
        page = client.get(made.headers["location"])
        keys = dict(NEW_KEY.findall(page.text))
        assert set(keys) == {"ingest", "secret"} and "Europe/Berlin" in page.text
        assert not NEW_KEY.findall(client.get(made.headers["location"]).text)  # shown once
        assert '<option value="shop2"' in client.get("/p/demo/").text  # in the switcher at once
        assert member_logins(client, "shop2") == {"demo": "admin"}
        assert client.post("/batch/", json=posthog(keys["ingest"], n=3)).json() == {"status": 1}
        query = {"kind": "trends", "series": [{"event": "settings_test", "math": "total"}],
                 "date_from": str(dt.date.today() - dt.timedelta(days=3)),
                 "date_to": str(dt.date.today() + dt.timedelta(days=3)), "interval": "day"}
        mine = client.post("/api/v1/query", json=query, headers={"Authorization": f"Bearer {keys['secret']}"})
        assert sum(mine.json()["series"][0]["values"]) == 3
    with bench.client() as client:  # the new project's key opens it and nothing else
        secret = {"Authorization": f"Bearer {keys['secret']}"}
        assert client.get("/api/v1/p/shop2/", headers=secret).status_code == 200
        assert client.get("/api/v1/p/demo/", headers=secret).status_code == 404
        assert client.post("/api/v1/query", json=query, headers={
            "Authorization": f"Bearer {bench.other_keys.api_key}"}).json()["series"][0]["values"] == [0] * 7
    with bench.client("ana") as client:
        assert client.get("/p/shop2/").status_code == 404
        assert '<option value="shop2"' not in client.get("/p/demo/").text


@pytest.mark.parametrize("locale, word", [("en", "Key numbers"), ("zh-CN", "核心指标")])
def test_both_languages_render_without_leaking_keys(bench: Workbench, locale: str, word: str) -> None:
    leak = re.compile(r"\bsettings\.[a-z_]+")
    with bench.client("demo") as client:
        client.post("/lang", data={"lang": locale, "next": "/", "csrf_token": csrf(client, "/p/demo/")})
        token = csrf(client, "/p/demo/settings")
        pages = [client.get("/p/demo/settings"), client.get("/projects/new")]
        pages.append(client.post("/p/demo/settings/numbers", data={
            "csrf_token": token, "conversion_window": "x", "conversion_steps": ["a"], "currency": "EUR"}))
        pages.append(client.post("/p/demo/settings/keys/ingest", data={"csrf_token": token}))
        pages.append(client.post("/projects/new",
                                 data={"csrf_token": token, "name": "bad name!", "timezone": "UTC"}))
        for answer in pages:
            assert answer.status_code == 200 and f'<html lang="{locale}">' in answer.text
            assert not leak.findall(answer.text), leak.findall(answer.text)
        assert word in pages[0].text
        assert pages[2].text.count("data-error-for") == 3  # steps, currency, window
        client.post("/lang", data={"lang": "zh-CN", "next": "/", "csrf_token": token})


def test_the_settings_page_is_quick(bench: Workbench) -> None:
    with bench.client("demo") as client:
        client.get("/p/demo/settings")
        timing = client.get("/p/demo/settings").headers["Server-Timing"]
        assert float(timing.split("dur=")[1]) < 300
