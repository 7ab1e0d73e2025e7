"""Experiments and the A/B calculator in Debian's chromium against a real ``yunying serve`` (make test-ui)."""

from __future__ import annotations

import pytest
from ui_support import shot

pytestmark = pytest.mark.ui


def test_the_demo_experiment_reads_in_both_languages(page_for) -> None:
    page = page_for("vic", "zh-CN")
    page.goto("/p/demo/experiments")
    page.click("tr[data-experiment=checkout_redesign] a")
    page.wait_for_selector("#exp-lift .main-svg")  # the lift chart, drawn by plotly.js offline
    verdicts = page.locator("[data-verdict]")
    assert verdicts.count() >= 4
    assert "置信区间" in verdicts.first.inner_text()
    assert page.locator("[data-edit]").count() == 0  # a viewer reads only
    shot(page, "experiment-zh")
    page.click("button[data-lang=en]")
    page.wait_for_selector("#exp-lift .main-svg")
    assert "CI" in page.locator("[data-verdict]").first.inner_text()
    page.fill("input[name=breakdown]", "channel")
    page.click("#exp-breakdown button[type=submit]")
    page.wait_for_selector("#exp-groups tbody tr")
    shot(page, "experiment-breakdown-en")


def test_an_analyst_creates_starts_and_stops_an_experiment(page_for) -> None:
    page = page_for("ana", "en-US")
    page.goto("/p/demo/experiments")
    page.click("[data-new-experiment]")
    page.fill("input[name=key]", "ui-made")
    page.fill("input[name=name]", "Made in the browser")
    page.fill("input[name=aexp_value]", "checkout_redesign")
    page.fill("input[name=mkey0]", "paid")
    page.fill("input[name=mevent0]", "pay")
    page.select_option("select[name=akind]", "hash")  # the exposure fields hide, the trigger shows
    assert not page.is_visible("input[name=aevent]") and page.is_visible("input[name=atrigger]")
    page.select_option("select[name=akind]", "exposure_event")
    shot(page, "experiment-editor-en")
    page.click("button[data-save]")
    page.wait_for_url("**/experiments/ui-made")
    page.wait_for_selector("[data-status=draft]")
    page.click("button[data-to=running]")
    page.wait_for_selector("[data-status=running]")
    page.select_option("[data-stop] select[name=decision_variant]", "test")
    page.fill("[data-stop] input[name=decision_note]", "clear win")
    page.click("[data-stop] button[data-to=stopped]")
    page.wait_for_selector("[data-decision]")
    assert "clear win" in page.inner_text("[data-decision]")


def test_a_bad_definition_is_shown_at_the_field(page_for) -> None:
    page = page_for("ana", "zh-CN")
    page.goto("/p/demo/experiment-editor")
    page.fill("input[name=key]", "ui-bad")
    page.fill("input[name=name]", "坏的定义")
    page.fill("input[name=mkey0]", "paid")
    page.fill("input[name=mevent0]", "pay")
    page.fill("input[name=mwindow0]", "seven days")
    page.click("button[data-save]")
    alert = page.locator("[role=alert][data-error-for]")
    alert.wait_for()
    assert alert.get_attribute("data-error-for") == "metrics.primary[0].window"
    assert page.input_value("input[name=mwindow0]") == "seven days"
    shot(page, "experiment-editor-error-zh")


def test_the_ab_calculator_draws_its_verdict(page_for) -> None:
    page = page_for("vic", "en-US")
    page.goto("/p/demo/abtest")
    page.fill("input[name=n0]", "10000")
    page.fill("input[name=conv0]", "1000")
    page.fill("input[name=n1]", "10000")
    page.fill("input[name=conv1]", "1120")
    page.click("#ab-form button[type=submit]")
    page.wait_for_selector("#ab-lift .main-svg")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "better"
    shot(page, "abtest-en")
