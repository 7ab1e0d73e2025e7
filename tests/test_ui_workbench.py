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
    # the refused login answers 401, which chromium logs; that one is expected
    page_for.problems[:] = [p for p in page_for.problems if "401" not in p]


def test_build_a_funnel_save_it_to_a_dashboard_and_export_it(page_for, tmp_path) -> None:
    import openpyxl

    page = page_for("ana", "en-US")
    page.goto("/p/demo/insights/new?kind=funnel")
    steps = page.locator("input[name=step_event]")
    while steps.count() < 3:
        page.click("button[name=add][value=steps]")
        steps = page.locator("input[name=step_event]")
    for i, event in enumerate(("app_open", "add_to_cart", "pay")):
        steps.nth(i).fill(event)
    page.fill("input[name=breakdown]", "channel")
    page.click("button.run")
    page.wait_for_selector("#insight-chart .main-svg")
    assert page.locator("table.data tbody tr").count() >= 3
    shot(page, "funnel-builder-en")

    with page.expect_download() as download:
        page.click("a[data-export=xlsx]")
    path = tmp_path / "funnel.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert any("app_open" in (str(v) for v in row) for row in values)

    page.fill(".builder-save input[name=name]", "UI funnel by channel")
    page.select_option(".builder-save select[name=dashboard_id]", index=1)
    page.click(".builder-save button.primary")
    page.wait_for_url("**/insights/*?done=saved")
    page.goto("/p/demo/dashboards")
    page.click("table a[href*='/dashboards/'] >> nth=0")
    tile = page.locator("[data-tile]", has_text="UI funnel by channel")
    tile.locator(".main-svg").first.wait_for()
    page.wait_for_function("document.querySelectorAll('[data-tile] .main-svg').length >= "
                           "document.querySelectorAll('[data-tile]').length")
    shot(page, "dashboard-en")
    page.click("button[data-lang=zh-CN]")
    page.wait_for_function("document.querySelectorAll('[data-tile] .main-svg').length >= "
                           "document.querySelectorAll('[data-tile]').length")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    shot(page, "dashboard-zh")


def test_a_viewer_sees_no_edit_controls_and_is_refused(page_for) -> None:
    page = page_for("vic", "zh-CN")
    page.goto("/p/demo/dashboards")
    page.click("table a[href*='/dashboards/'] >> nth=0")
    page.wait_for_selector("[data-tile]")
    assert page.locator("[data-edit]").count() == 0
    page.goto("/p/demo/insights/new?kind=trends")
    page.wait_for_selector("#insight-chart .main-svg")
    assert page.locator(".builder-save").count() == 0
    status = page.evaluate("""async () => {
        const body = new FormData();
        body.append('name', 'sneaky'); body.append('document', '{}');
        body.append('csrf_token', window.yunying.csrf());
        const answer = await fetch(location.pathname.replace(/insights.*/, 'insights/save'),
                                   {method: 'POST', body});
        return answer.status;
    }""")
    assert status == 403
    page_for.problems[:] = [p for p in page_for.problems if "403" not in p]  # the refusal we asked for
    shot(page, "viewer-builder-zh")


@pytest.mark.parametrize("path", ["/p/demo/insights", "/p/demo/events", "/p/demo/users", "/p/demo/data",
                                  "/p/demo/sql?q=SELECT%20event%2C%20count(*)%20AS%20n%20FROM%20events"
                                  "%20GROUP%20BY%20event%20ORDER%20BY%20n%20DESC",
                                  "/p/demo/settings", "/p/demo/insights/new?kind=retention",
                                  "/p/demo/insights/new?kind=paths"])
def test_main_pages_render_quietly(page_for, path: str) -> None:
    page = page_for("demo", "zh-CN")
    page.goto(path)
    page.wait_for_load_state("networkidle")
    if page.locator("[data-figure]").count():
        page.wait_for_selector("[data-figure] .main-svg")
    assert page.locator("main").inner_text().strip()
    name = path.split("?")[0].strip("/").replace("/", "-") + ("-" + path.split("kind=")[1]
                                                              if "kind=" in path else "")
    shot(page, name)


def test_one_event_and_one_user(page_for) -> None:
    page = page_for("demo", "en-US")
    page.goto("/p/demo/events")
    page.click("main a[href*='/events/'] >> nth=0")
    page.wait_for_url("**/events/*")
    shot(page, "event-en")
    page.goto("/p/demo/users")
    page.click("main a[href*='/users/'] >> nth=0")
    page.wait_for_url("**/users/*")
    page.wait_for_load_state("networkidle")
    shot(page, "user-en")
