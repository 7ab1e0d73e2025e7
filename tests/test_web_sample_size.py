"""The sample-size page (样本量计算): users per arm, days, the reverse MDE, both formulas, errors."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest
from web_support import Workbench

from yunying.stats.power import minimum_detectable_effect, power, sample_size

EN = {"Accept-Language": "en-US,en"}
LEAKED_KEY = re.compile(r"\b(?:ab|ss|nav)\.[a-z_]+(?:\.[A-Za-z_]+)?\b")
# Evan Miller's calculator's default case, spelled out
MILLER = {"metric": "proportion", "baseline": "20", "effect": "5", "effect_kind": "absolute", "alpha": "5",
          "power": "80", "arms": "2"}


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("sample_size"), users=60, days=7)


def url(params: dict | None = None, api: bool = False) -> str:
    return ("/api/v1" if api else "") + "/p/demo/sample-size" + ("?" + urlencode(params) if params else "")


def main(page: str) -> str:
    return page.split("<main>", 1)[1].split("</main>", 1)[0]


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(.*?)</(?:p|div)>', page, re.S)
    assert found, element_id
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split())


def test_evan_millers_default_case_needs_1031_per_arm_in_both_languages(bench: Workbench) -> None:
    with bench.client("vic") as client:
        zh = client.get(url()).text  # the page opens on the default case
        en = client.get(url(MILLER), headers=EN).text
        data = client.get(url(api=True)).json()
    assert text_of(zh, "ss-per-arm") == text_of(en, "ss-per-arm") == "1,031"
    assert text_of(zh, "ss-total") == "2,062"
    zh_sentence = ("要在 α 5%、统计功效 80% 下检测到从 20.00% 到 25.00% 的变化（+5.00 个百分点，"
                   "相对 +25.0%），每组需要 1,031 位用户，2 组共 2,062 位。")
    en_sentence = ("To detect a change from 20.00% to 25.00% (+5.00 pp, relative +25.0%) at α 5% with "
                   "80% power, each arm needs 1,031 users: 2,062 in total over 2 arms.")
    assert text_of(zh, "ss-sentence") == zh_sentence and text_of(en, "ss-sentence") == en_sentence
    # the formula used is named, and the other one's answer is offered beside it
    assert text_of(zh, "ss-convention") == ("公式：Evan Miller 计算器（默认）；样本量是下限，因此向上取整。 "
                                            "按 Cohen's h / d（statsmodels、G*Power）：每组 1,092 位。")
    assert "With Cohen's h / d (statsmodels, G*Power): 1,092 per arm." in text_of(en, "ss-convention")
    size = data["sample_size"]
    assert (size["per_arm"], size["total"], size["convention"]) == (1031, 2062, "miller")
    assert size["per_arm_exact"] == pytest.approx(1030.22, abs=0.005)
    assert (size["alternative"]["convention"], size["alternative"]["per_arm"]) == ("cohen", 1092)
    assert size["per_arm"] == sample_size(0.2, 0.05).baseline
    for page in (zh, en):
        assert not LEAKED_KEY.search(main(page)), LEAKED_KEY.search(main(page))


def test_cohens_h_gives_1092_and_offers_millers_1031(bench: Workbench) -> None:
    with bench.client("vic") as client:
        data = client.get(url({**MILLER, "convention": "cohen"}, api=True)).json()
        page = client.get(url({**MILLER, "convention": "cohen"})).text
    assert data["sample_size"]["per_arm"] == 1092 and data["sample_size"]["alternative"]["per_arm"] == 1031
    assert text_of(page, "ss-per-arm") == "1,092" and 'value="cohen" selected' in page


def test_a_relative_effect_of_25_percent_is_the_same_plan(bench: Workbench) -> None:
    with bench.client("vic") as client:
        data = client.get(url({**MILLER, "effect": "25", "effect_kind": "relative"}, api=True)).json()
    assert data["sample_size"]["per_arm"] == 1031
    assert data["plan"]["effect_absolute"] == pytest.approx(0.05)
    assert data["plan"]["variant"] == pytest.approx(0.25)


def test_daily_traffic_gives_the_days_and_more_arms_more_users(bench: Workbench) -> None:
    with bench.client("vic") as client:
        two = client.get(url({**MILLER, "daily": "300"}, api=True)).json()["sample_size"]
        three = client.get(url({**MILLER, "daily": "300", "arms": "3"}, api=True)).json()["sample_size"]
        page = client.get(url({**MILLER, "daily": "300", "arms": "3"}), headers=EN).text
    assert (two["total"], two["days"]) == (2062, 7)  # 2,062 / 300 a day = 6.9 days
    assert (three["per_arm"], three["total"], three["days"]) == (1031, 3093, 11)
    assert text_of(page, "ss-days") == "11"
    assert "With 300 users a day entering the test, that takes about 11 days." in text_of(page, "ss-sentence")
    assert "without a correction for several comparisons" in text_of(page, "ss-convention")


def test_the_reverse_users_per_arm_give_the_minimum_detectable_effect(bench: Workbench) -> None:
    with bench.client("vic") as client:
        data = client.get(url({**MILLER, "effect": "", "n": "1031"}, api=True)).json()
        page = client.get(url({**MILLER, "effect": "", "n": "1031"})).text
    mde = data["mde"]
    assert data["sample_size"] is None and mde["detectable"] is True
    assert mde["absolute"] == pytest.approx(minimum_detectable_effect(0.2, 1031), rel=1e-12)
    assert 0.0499 < mde["absolute"] <= 0.05  # 1,031 users per arm are just enough for +5 points
    assert power(0.2, mde["absolute"], 1031) == pytest.approx(0.8, abs=1e-9)
    assert mde["alternative"]["absolute"] > mde["absolute"]  # Cohen's h asks for more
    said = ("每组 1,031 位用户时，能以 80% 的统计功效检测到至少 +5.00 个百分点"
            "（相对 +25.0%）的变化：从 20.00% 到 25.00%。")
    assert text_of(page, "ss-mde").startswith(said)
    assert 'id="ss-per-arm"' not in page and 'data-figure="ss-curve-data"' in page


def test_too_few_users_detect_nothing(bench: Workbench) -> None:
    with bench.client("vic") as client:
        data = client.get(url({"baseline": "50", "effect": "", "n": "3"}, api=True)).json()
        page = client.get(url({"baseline": "50", "effect": "", "n": "3"}), headers=EN).text
    assert data["mde"]["detectable"] is False and data["mde"]["absolute"] is None
    assert text_of(page, "ss-mde") == ("With 3 users per arm no change is detected with 80% power, "
                                       "not even to 100%: more users are needed.")


def test_a_mean_metric_uses_its_standard_deviation(bench: Workbench) -> None:
    params = {"metric": "mean", "baseline": "100", "sd": "40", "effect": "5", "effect_kind": "relative",
              "n": "2000"}
    with bench.client("vic") as client:
        data = client.get(url(params, api=True)).json()
        page = client.get(url(params), headers=EN).text
    expected = sample_size(100, 0.05, stddev=40, relative=True)
    assert data["sample_size"]["per_arm"] == expected.baseline == 1005
    assert data["mde"]["relative"] == pytest.approx(
        minimum_detectable_effect(100, 2000, stddev=40, relative=True), rel=1e-9)
    assert "from 100.00 to 105.00 (+5.00, relative +5.0%)" in text_of(page, "ss-sentence")
    assert len(data["figure"]["data"]) == 2  # one curve (the formulas agree for means) and the plan


def test_the_chart_draws_users_per_arm_against_the_effect_with_the_plan_marked(bench: Workbench) -> None:
    with bench.client("vic") as client:
        data = client.get(url({**MILLER, "n": "800"}, api=True)).json()
        page = client.get(url({**MILLER, "n": "800"})).text
    miller, cohen, plan = data["figure"]["data"]
    assert (miller["line"]["dash"], cohen["line"]["dash"]) == ("solid", "dot")
    assert miller["x"] == sorted(miller["x"]) and miller["y"] == sorted(miller["y"], reverse=True)
    assert all(c >= m for m, c in zip(miller["y"], cohen["y"], strict=True))
    assert max(miller["x"]) < 80  # a 20% rate cannot rise by more than 80 points
    assert plan["x"][0] == pytest.approx(5) and plan["y"][0] == 1031  # +5 points: 1,031 per arm
    assert plan["y"][1] == 800 and plan["x"][1] == pytest.approx(data["mde"]["absolute"] * 100)
    assert data["figure"]["layout"]["yaxis"]["type"] == "log"
    assert 'data-figure="ss-curve-data"' in page and '<script src="/static/plotly.min.js">' in page


@pytest.mark.parametrize(("params", "field", "zh_words"), [
    ({"baseline": "abc"}, "baseline", "「abc」不是数字"),
    ({"baseline": "0"}, "baseline", "必须大于 0 且小于 100"),
    ({"baseline": "99", "effect": "5"}, "effect", "基线加上这个效应是 104%：转化率必须低于 100%"),
    ({"effect": "0"}, "effect", "必须大于 0"),
    ({"alpha": "0"}, "alpha", "必须大于 0 且小于 100"),
    ({"power": "100"}, "power", "必须大于 0 且小于 100"),
    ({"arms": "1"}, "arms", "必须是 2 到 10 之间的整数"),
    ({"daily": "-3"}, "daily", "必须大于 0"),
    ({"n": "many"}, "n", "「many」不是数字"),
    ({"convention": "gpower"}, "convention", "请从 miller / cohen 中选择"),
    ({"metric": "mean", "baseline": "10"}, "sd", "请在这里填写数字"),
    ({"metric": "mean", "baseline": "0", "sd": "3", "effect_kind": "relative"}, "effect_kind",
     "基线为 0 时无法使用相对效应"),
])
def test_bad_input_is_refused_at_its_field(bench: Workbench, params: dict, field: str, zh_words: str) -> None:
    with bench.client("vic") as client:
        twin = client.get(url(params, api=True))
        page = client.get(url(params))
    assert twin.status_code == 400
    assert twin.json()["error"]["field"] == field and zh_words in twin.json()["error"]["message"]
    assert page.status_code == 200 and 'id="ss-result"' not in page.text
    at_field = re.search(rf'<(?:input|select) name="{field}"[^>]*aria-invalid="true"[^>]*>(?:.*?</select>)?'
                         rf'<small class="error" id="error-{field}" data-error-for="{field}">([^<]*)</small>',
                         page.text, re.S)
    assert at_field and zh_words in html.unescape(at_field.group(1))
    for name, value in params.items():  # what was typed stays in the form (a select keeps a valid choice)
        if name not in ("metric", "effect_kind", "convention"):
            assert f'name="{name}" value="{value}"' in page.text, name


def test_errors_read_in_english_too(bench: Workbench) -> None:
    with bench.client("vic") as client:
        page = client.get(url({"baseline": "99", "effect": "5"}), headers=EN).text
    assert ("Check Minimum detectable effect: the baseline plus this effect is 104%: "
            "a conversion rate must stay below 100%.") in html.unescape(page)


def test_the_inputs_are_in_the_query_string_so_a_plan_can_be_bookmarked(bench: Workbench) -> None:
    params = {"metric": "proportion", "baseline": "3.5", "effect": "10", "effect_kind": "relative",
              "alpha": "10", "power": "90", "arms": "4", "daily": "12000", "n": "", "convention": "miller",
              "sd": ""}
    with bench.client("vic") as client:
        page = client.get(url(params)).text
        data = client.get(url(params, api=True)).json()
    assert '<form method="get" action="/p/demo/sample-size"' in page
    for name in ("baseline", "effect", "alpha", "power", "arms", "daily"):
        assert f'name="{name}" value="{params[name]}"' in page
    assert data["inputs"] == params
    expected = sample_size(0.035, 0.1, relative=True, alpha=0.1, power=0.9)
    assert data["sample_size"]["per_arm"] == expected.baseline
    assert data["sample_size"]["days"] == -(-expected.baseline * 4 // 12000)


def test_who_may_plan(bench: Workbench) -> None:
    with bench.client("vic") as viewer:
        assert viewer.get(url()).status_code == 200
        assert 'href="/p/demo/sample-size"' in viewer.get("/p/demo/abtest").text  # the calculator links here
    with bench.client("otto") as stranger:
        assert stranger.get(url()).status_code == 404 and stranger.get(url(api=True)).status_code == 404
    with bench.client() as anonymous:
        assert anonymous.get(url(), follow_redirects=False).status_code == 303
        assert anonymous.get(url(api=True)).status_code == 401
