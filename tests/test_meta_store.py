"""Accounts, roles, sessions, saved insights and dashboards in the store (yunying/store/)."""

from __future__ import annotations

import pytest

from yunying.store.accounts import (
    AccountError,
    authenticate,
    close_session,
    create_account,
    members,
    open_session,
    role_at_least,
    roles_of,
    session,
    set_password,
    set_role,
)
from yunying.store.connection import connect
from yunying.store.dashboards import (
    NotFound,
    add_tile,
    arrange_tiles,
    create_dashboard,
    dashboard,
    dashboards,
    delete_insight,
    insights,
    project_settings,
    save_insight,
    set_project_settings,
    set_sharing,
    shared_dashboard,
)
from yunying.store.meta import Meta

DOC = {"kind": "trends", "date_from": "2026-10-01", "date_to": "2026-10-07", "series": [{"event": "$any"}]}


@pytest.fixture()
def meta():
    store = connect(":memory:")
    store.create_project("a")
    store.create_project("b")
    yield Meta(store)
    store.close()


def test_password_is_checked_and_never_stored_in_clear(meta: Meta) -> None:
    made = create_account(meta, "li.lei", "correct horse")
    assert authenticate(meta, "li.lei", "correct horse") == made
    assert authenticate(meta, "li.lei", "wrong horse!") is None
    assert authenticate(meta, "nobody", "correct horse") is None
    stored = meta.value("SELECT password_hash FROM accounts WHERE login = 'li.lei'")
    assert "correct horse" not in stored and stored.startswith("$argon2id$")
    set_password(meta, made.account_id, "another secret")
    assert authenticate(meta, "li.lei", "correct horse") is None
    assert authenticate(meta, "li.lei", "another secret") == made


@pytest.mark.parametrize(("login", "password", "says"), [
    ("x", "long enough", "login"), ("has space", "long enough", "login"),
    ("ok.name", "short", "8 characters"),
])
def test_bad_accounts_are_refused_with_a_reason(meta: Meta, login: str, password: str, says: str) -> None:
    with pytest.raises(AccountError, match=says):
        create_account(meta, login, password)


def test_a_login_is_unique(meta: Meta) -> None:
    create_account(meta, "han.mei", "password1")
    with pytest.raises(AccountError, match="already exists"):
        create_account(meta, "han.mei", "password2")


def test_roles_are_per_project_and_replaceable(meta: Meta) -> None:
    one = create_account(meta, "one", "password1")
    boss = create_account(meta, "boss", "password1", superuser=True)
    set_role(meta, 1, one.account_id, "viewer")
    set_role(meta, 1, one.account_id, "analyst")
    assert roles_of(meta, one) == {1: "analyst"}  # project 2 ("b") is invisible to them
    assert roles_of(meta, boss) == {1: "admin", 2: "admin"}
    assert [(a.login, r) for a, r in members(meta, 1)] == [("one", "analyst")]
    assert role_at_least("admin", "analyst") and role_at_least("analyst", "analyst")
    assert not role_at_least("viewer", "analyst") and not role_at_least(None, "viewer")


def test_sessions_open_resolve_and_close(meta: Meta) -> None:
    made = create_account(meta, "sess", "password1")
    token, opened = open_session(meta, made)
    assert session(meta, token) == opened and opened.account == made
    assert session(meta, token + "x") is None and session(meta, None) is None
    assert meta.value("SELECT count(*) FROM web_sessions WHERE token_sha256 = ?", [token]) == 0  # hashed
    close_session(meta, token)
    assert session(meta, token) is None


def test_expired_sessions_do_not_open(meta: Meta) -> None:
    token, _ = open_session(meta, create_account(meta, "expired", "password1"))
    meta.rows("UPDATE web_sessions SET expires_at = created_at - INTERVAL 1 SECOND")
    assert session(meta, token) is None


def test_dashboards_keep_order_width_and_project(meta: Meta) -> None:
    first = save_insight(meta, 1, "DAU", DOC, None)
    second = save_insight(meta, 1, "Events", {**DOC, "interval": "week"}, None)
    other = save_insight(meta, 2, "B's", DOC, None)
    board = create_dashboard(meta, 1, "Daily", None)
    add_tile(meta, 1, board.dashboard_id, first.insight_id)
    add_tile(meta, 1, board.dashboard_id, second.insight_id, width=2)
    assert [(t.insight.name, t.width) for t in dashboard(meta, 1, board.dashboard_id).tiles] == [
        ("DAU", 1), ("Events", 2)]
    arrange_tiles(meta, 1, board.dashboard_id, [(second.insight_id, 1), (first.insight_id, 2)])
    assert [(t.insight.name, t.width) for t in dashboard(meta, 1, board.dashboard_id).tiles] == [
        ("Events", 1), ("DAU", 2)]
    with pytest.raises(NotFound):  # project b's insight can not be put on project a's dashboard
        add_tile(meta, 1, board.dashboard_id, other.insight_id)
    with pytest.raises(NotFound):  # nor can b see a's dashboard
        dashboard(meta, 2, board.dashboard_id)
    assert dashboards(meta, 2) == [] and [i.name for i in insights(meta, 2)] == ["B's"]
    delete_insight(meta, 1, first.insight_id)
    assert [t.insight.name for t in dashboard(meta, 1, board.dashboard_id).tiles] == ["Events"]


def test_share_links_open_one_dashboard_until_turned_off(meta: Meta) -> None:
    board = create_dashboard(meta, 1, "Shared", None)
    token = set_sharing(meta, 1, board.dashboard_id, True)
    assert token and shared_dashboard(meta, token)[1].dashboard_id == board.dashboard_id
    renewed = set_sharing(meta, 1, board.dashboard_id, True)
    assert shared_dashboard(meta, token) is None and shared_dashboard(meta, renewed) is not None
    set_sharing(meta, 1, board.dashboard_id, False)
    assert shared_dashboard(meta, renewed) is None and shared_dashboard(meta, "") is None


def test_project_settings_are_json_per_project(meta: Meta) -> None:
    set_project_settings(meta, 1, {"conversion_steps": ["app_open", "pay"], "currency": "CNY"})
    set_project_settings(meta, 1, {"currency": None})
    assert project_settings(meta, 1) == {"conversion_steps": ["app_open", "pay"]}
    assert project_settings(meta, 2) == {}
