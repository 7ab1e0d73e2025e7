"""The workbench in Debian's chromium against a real ``yunying serve`` (make test-ui)."""

from __future__ import annotations

import pytest
from ui_support import shot

pytestmark = pytest.mark.ui


def test_login_overview_and_chinese(page_for) -> None:
    page = page_for("demo", "en-US")
    page.wait_for_selector("[data-kpi=dau] .kpi-value")
    assert page.inner_text("h1").startswith("Overview")
    page.wait_for_selector("#dau-chart .main-svg")  # plotly.js (served by yunying, offline) drew it
    assert page.locator("[data-kpi]").count() == 7
    shot(page, "overview-en")
    page.click("button[data-lang=zh-CN]")
    page.wait_for_selector("text=日活 DAU")
    page.wait_for_selector("#dau-chart .main-svg")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    shot(page, "overview-zh")


def test_a_wrong_password_stays_on_the_login_page(page_for) -> None:
    page = page_for(None, "zh-CN")
    page.goto("/login")
    page.fill("input[name=login]", "demo")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "账号或密码不正确。"
    shot(page, "login-failed-zh")
