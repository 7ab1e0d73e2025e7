"""The A/B calculator page (A/B 计算器): verdicts in both languages, its JSON twin, errors at the field."""

from __future__ import annotations

import html
import json
import math
import re
import shlex
from urllib.parse import urlencode

import pytest
from scipy import stats
from typer.testing import CliRunner
from web_support import Workbench

from yunying.cli import app
from yunying.reports.verdict import verdict
from yunying.stats.abtest import run_document

EN = {"Accept-Language": "en-US,en"}
LEAKED_KEY = re.compile(r"\b(?:ab|ss|nav)\.[a-z_]+(?:\.[A-Za-z_]+)?\b")  # a key shown instead of its words


def main(page: str) -> str:
    """What the page shows in its main part (the sidebar's data-nav attributes hold keys on purpose)."""
    return page.split("<main>", 1)[1].split("</main>", 1)[0]
# the worked example of docs/statistics.md: 10,000 users with 1,000 buyers against 10,050 with 1,105
CHECKOUT = {"n0": 10000, "conv0": 1000, "n1": 10050, "conv1": 1105}
CHECKOUT_DOC = {"metric": "proportion", "method": "frequentist", "difference": "relative", "alpha": 0.05,
                "arms": [{"name": "A", "n": 10000, "sum": 1000}, {"name": "B", "n": 10050, "sum": 1105}]}


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("abtest"), users=60, days=7)


def url(params: dict, api: bool = False) -> str:
    return ("/api/v1" if api else "") + "/p/demo/abtest?" + urlencode({"run": 1, **params})


def verdicts(page: str) -> list[str]:
    found = re.findall(r'<p class="verdict [a-z]+" data-verdict="[a-z]+">(.*?)</p>', page)
    return [html.unescape(s) for s in found]


def client_json(bench: Workbench, path: str) -> dict:
    with bench.client("vic") as client:
        return client.get(path).json()


def twin_numbers(data: dict) -> dict:
    return {"comparisons": data["result"]["comparisons"], "srm_p_value": data["result"]["srm_p_value"]}


def as_json(value):
    return json.loads(json.dumps(value))


def test_the_verdict_reads_in_chinese_and_english(bench: Workbench) -> None:
    with bench.client("vic") as client:
        zh = client.get(url(CHECKOUT))
        en = client.get(url(CHECKOUT), headers=EN)
    assert zh.status_code == en.status_code == 200
    assert verdicts(zh.text) == ["B 的转化率比 A 高 10.0%（95% 置信区间 +1.1% ~ +18.9%），"
                                 "差异显著，可以上线 B。"]
    assert verdicts(en.text) == ["B's conversion rate is 10.0% higher than A's (95% CI +1.1% to +18.9%): "
                                 "a significant difference, B can ship."]
    assert "样本比例检验（SRM）p = 0.7240" in zh.text and "Sample ratio check (SRM) p = 0.7240" in en.text
    assert 'data-srm=' not in zh.text  # a 10,000 / 10,050 split is no sign of a mismatch
    for page in (zh.text, en.text):
        assert not LEAKED_KEY.search(main(page)), LEAKED_KEY.search(main(page))
        assert 'data-figure="ab-lift-data"' in page and 'href="/p/demo/sample-size"' in page


def test_the_twin_gives_the_numbers_of_run_document(bench: Workbench) -> None:
    with bench.client("vic") as client:
        data = client.get(url(CHECKOUT, api=True)).json()
        from_doc = client.get("/api/v1/p/demo/abtest?" + urlencode({"doc": json.dumps(CHECKOUT_DOC)})).json()
    assert data["error"] is None and data["document"] == CHECKOUT_DOC
    assert twin_numbers(data) == twin_numbers(from_doc) == as_json(run_document(CHECKOUT_DOC))
    (row,) = data["result"]["rows"]
    assert row["verdict"]["code"] == "better" and round(row["p_value"], 3) == 0.028
    assert data["result"]["figure"]["data"][0]["x"] == [row["estimate"]]


def test_not_enough_data_says_how_many_more_users_per_arm(bench: Workbench) -> None:
    small = {"n0": 1000, "conv0": 120, "n1": 1000, "conv1": 150}
    with bench.client("vic") as client:
        zh = client.get(url(small)).text
        en = client.get(url(small), headers=EN).text
        data = client.get(url(small, api=True)).json()
    comparison = data["result"]["comparisons"][0]
    more = verdict(comparison, alpha=0.05, n_per_arm=1000).more_per_arm
    assert more > 1000 and data["result"]["rows"][0]["verdict"]["more_per_arm"] == more
    assert f"若差异为真，每组约还需 {more:,} 位用户" in verdicts(zh)[0]
    assert verdicts(en)[0].startswith("Not enough data yet: B vs A differs by +25.0%")
    assert f"~{more:,} more users per arm are needed" in verdicts(en)[0]


def test_bayesian_says_the_chance_to_win(bench: Workbench) -> None:
    with bench.client("vic") as client:
        page = client.get(url({**CHECKOUT, "method": "bayesian"})).text
        data = client.get(url({**CHECKOUT, "method": "bayesian"}, api=True)).json()
    assert verdicts(page) == ["B 胜过 A 的概率为 98.6%，转化率高 10.0%（95% 可信区间 +1.1% ~ +18.8%），"
                              "可以上线 B。"]
    assert twin_numbers(data) == as_json(run_document({**CHECKOUT_DOC, "method": "bayesian"}))


def test_a_mean_from_mean_and_standard_deviation_is_welchs_test(bench: Workbench) -> None:
    form = {"metric": "mean", "difference": "absolute",
            "name0": "旧版", "n0": 800, "mean0": "12.5", "sd0": "4",
            "name1": "新版", "n1": 820, "mean1": "13.1", "sd1": "4.2"}
    with bench.client("vic") as client:
        data = client.get(url(form, api=True)).json()
        page = client.get(url(form)).text
    (row,) = data["result"]["comparisons"]
    welch = stats.ttest_ind_from_stats(13.1, 4.2, 820, 12.5, 4, 800, equal_var=False)
    assert row["p_value"] == pytest.approx(welch.pvalue, rel=1e-6)
    assert row["estimate"] == pytest.approx(0.6) and (row["arm"], row["baseline"]) == ("新版", "旧版")
    assert verdicts(page) == ["新版 的均值比 旧版 高 0.6000（95% 置信区间 +0.2004 ~ +0.9996），"
                              "差异显著，可以上线 新版。"]


def test_a_skewed_split_warns_of_a_sample_ratio_mismatch_unless_it_was_planned(bench: Workbench) -> None:
    skewed = {"n0": 10000, "conv0": 1000, "n1": 10500, "conv1": 1105}
    planned = {**skewed, "weight0": 100, "weight1": 105}
    with bench.client("vic") as client:
        zh = client.get(url(skewed)).text
        en = client.get(url(skewed), headers=EN).text
        data = client.get(url(skewed, api=True)).json()
        fine = client.get(url(planned, api=True)).json()
        fine_page = client.get(url(planned)).text
    assert data["result"]["srm_warning"] is True and data["result"]["srm_p_value"] < 0.001
    assert "样本比例不匹配（SRM，p = 0.0005）" in zh and "Sample ratio mismatch (SRM, p = 0.0005)" in en
    assert fine["result"]["srm_warning"] is False and fine["result"]["srm_p_value"] > 0.5
    assert fine["document"]["arms"][1]["weight"] == 105 and "data-srm=" not in fine_page


def test_a_sequential_relative_lift_waits_for_50_conversions_per_arm(bench: Workbench) -> None:
    # 16 of 100 against 1 of 100 reads as −94% with a tiny standard error: the delta method is not to be
    # trusted with so few conversions (docs/statistics.md, "Sequential")
    early = {"n0": 100, "conv0": 16, "n1": 100, "conv1": 1, "method": "sequential"}
    with bench.client("vic") as client:
        data = client.get(url(early, api=True)).json()
        page = client.get(url(early)).text
    row = data["result"]["rows"][0]
    assert row["p_value"] < 1e-6  # the test alone would call B worse ...
    assert row["verdict"] == {"code": "inconclusive", "error": None, "more_per_arm": None,
                              "reason": "sequential_too_few"}  # ... but 1 conversion is too few
    assert "要等每组至少有 50 个转化和 50 个未转化才可信（目前较少的一项只有 1 个）" in verdicts(page)[0]
    assert data["result"]["figure"]["data"][0]["marker"]["color"] == ["#6b7a8f"]  # grey: undecided
    # an absolute difference keeps α from the first user: 48 of 300 against 3 of 300 is decided
    absolute = client_json(bench, url({"n0": 300, "conv0": 48, "n1": 300, "conv1": 3, "method": "sequential",
                                       "difference": "absolute"}, api=True))
    assert absolute["result"]["rows"][0]["verdict"]["code"] == "worse"


def test_a_comparison_that_cannot_be_made_says_why_in_words(bench: Workbench) -> None:
    with bench.client("vic") as client:
        zh = client.get(url({"n0": 100, "conv0": 0, "n1": 100, "conv1": 5})).text
        en = client.get(url({"n0": 100, "conv0": 0, "n1": 100, "conv1": 5}), headers=EN).text
    assert verdicts(zh) == ["B 与 A 无法比较：对照组为 0，无法计算相对提升，请改用绝对差。"]
    assert verdicts(en) == ["B cannot be compared with A: the baseline is 0, so a relative lift is "
                            "undefined; choose the absolute difference."]


@pytest.mark.parametrize(("form", "field", "zh_words"), [
    ({"n0": 1000, "conv0": "abc", "n1": 1000, "conv1": 150}, "conv0", "「abc」不是数字"),
    ({"n0": 1000, "conv0": 120, "n1": 1000, "conv1": 1500}, "conv1",
     "转化数必须在 0 到该组用户数（1000）之间"),
    ({"n0": "12.5", "conv0": 1, "n1": 1000, "conv1": 150}, "n0", "必须是整数"),
    ({"n0": 1000, "conv0": 120}, "n1", "请至少填写两组的用户数"),
    ({**CHECKOUT, "alpha": "5"}, "alpha", "α 必须在 0 和 1 之间"),
    ({**CHECKOUT, "weight0": 50}, "weight1", "请为每一组都填写计划分流比例"),
    ({**CHECKOUT, "name0": "X", "name1": "X"}, "name1", "已有一组叫「X」"),
    ({**CHECKOUT, "method": "magic"}, "method", "请从 frequentist / sequential / bayesian 中选择"),
    ({"metric": "mean", "n0": 10, "mean0": 1, "sd0": -1, "n1": 10, "mean1": 2, "sd1": 1}, "sd0",
     "标准差不能为负数"),
])
def test_bad_input_is_refused_at_its_field(bench: Workbench, form: dict, field: str, zh_words: str) -> None:
    with bench.client("vic") as client:
        twin = client.get(url(form, api=True))
        page = client.get(url(form))
    assert twin.status_code == 400
    assert twin.json()["error"]["field"] == field and zh_words in twin.json()["error"]["message"]
    assert page.status_code == 200 and 'id="ab-result"' not in page.text
    # the message sits right after the input it is about, which is marked invalid and keeps what was typed
    at_field = re.search(rf'<(?:input|select) name="{field}"[^>]*aria-invalid="true"[^>]*>(?:.*?</select>)?'
                         rf'<small class="error" id="error-{field}" data-error-for="{field}">([^<]*)</small>',
                         page.text, re.S)
    assert at_field and zh_words in html.unescape(at_field.group(1))
    assert f'data-error="{field}"' in page.text
    if field.startswith("conv"):
        assert f'name="{field}" value="{form[field]}"' in page.text


def test_errors_in_the_document_box_name_the_documents_field(bench: Workbench) -> None:
    typo = {"name": "B", "n": 10, "sum": 1, "sum_sqaures": 1}
    bad = {**CHECKOUT_DOC, "arms": [CHECKOUT_DOC["arms"][0], typo]}
    with bench.client("vic") as client:
        twin = client.get("/api/v1/p/demo/abtest?" + urlencode({"doc": json.dumps(bad)}))
        page = client.get("/p/demo/abtest?" + urlencode({"doc": json.dumps(bad)}), headers=EN)
        not_json = client.get("/api/v1/p/demo/abtest?" + urlencode({"doc": "{metric"}))
    assert twin.status_code == 400 and twin.json()["error"]["field"] == "arms[1].sum_sqaures"
    assert "unknown key" in twin.json()["error"]["message"]
    assert 'data-error-for="doc"' in page.text
    assert "arms[1].sum_sqaures: unknown key" in html.unescape(page.text)
    assert "<details open>" in page.text  # the box with the error is shown open
    assert not_json.status_code == 400 and not_json.json()["error"]["field"] == "doc"


def test_the_command_line_shown_repeats_the_calculation(bench: Workbench) -> None:
    form = {**CHECKOUT, "name0": "Old's", "name1": "新版", "method": "bayesian"}
    with bench.client("vic") as client:
        data = client.get(url(form, api=True)).json()
        page = client.get(url(form)).text
    argv = shlex.split(data["cli"])
    assert argv[:3] == ["yunying", "abtest", "--json"] and data["cli"] in html.unescape(page)
    printed = CliRunner().invoke(app, argv[1:])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == twin_numbers(data)


def test_a_first_visit_shows_an_example_and_no_result(bench: Workbench) -> None:
    with bench.client("vic") as client:
        page = client.get("/p/demo/abtest").text
        data = client.get("/api/v1/p/demo/abtest").json()
    assert 'name="n0" value="1000"' in page and 'name="conv1" value="150"' in page
    assert 'id="ab-result"' not in page and data["result"] is None and data["error"] is None


def test_lower_is_better_turns_a_fall_into_a_win(bench: Workbench) -> None:
    refunds = {"n0": 10000, "conv0": 1105, "n1": 10000, "conv1": 1000, "inverse": 1}
    with bench.client("vic") as client:
        data = client.get(url(refunds, api=True)).json()
        page = client.get(url(refunds)).text
    assert data["document"]["inverse"] is True and data["result"]["rows"][0]["verdict"]["code"] == "better"
    assert "B 的转化率比 A 低 9.5%" in verdicts(page)[0] and 'name="inverse" value="1" checked' in page


def test_who_may_use_the_calculator(bench: Workbench) -> None:
    with bench.client("vic") as viewer:
        assert viewer.get(url(CHECKOUT)).status_code == 200  # a viewer may use it
    with bench.client("otto") as stranger:  # admin of another project only
        assert stranger.get(url(CHECKOUT)).status_code == 404
        assert stranger.get(url(CHECKOUT, api=True)).status_code == 404
        assert stranger.get("/p/other/abtest?" + urlencode(CHECKOUT)).status_code == 200
    with bench.client() as anonymous:
        assert anonymous.get(url(CHECKOUT), follow_redirects=False).status_code == 303
        assert anonymous.get(url(CHECKOUT, api=True)).status_code == 401


def test_the_relative_effect_matches_the_documented_delta_method(bench: Workbench) -> None:
    """The worked example's interval: +1.05% … +18.85% (docs/statistics.md)."""
    with bench.client("vic") as client:
        row = client.get(url(CHECKOUT, api=True)).json()["result"]["comparisons"][0]
    assert [round(x, 4) for x in row["ci"]] == [0.0105, 0.1885]
    assert math.isclose(row["estimate"], (1105 / 10050) / 0.1 - 1, rel_tol=1e-12)


def test_the_risk_of_shipping_reads_as_the_documented_expected_loss(bench: Workbench) -> None:
    """docs/statistics.md: shipping B "risks an expected loss of 0.02% (relative)" — a loss, so unsigned,
    and small enough to need two decimals (not "+0.0%")."""
    with bench.client("vic") as client:
        page = client.get(url({**CHECKOUT, "method": "bayesian"})).text
    cells = re.search(r'<tr data-arm="B">.*?</tr>', page, re.S).group(0)
    chance, risk = re.findall(r'<td class="num">([^<]*)</td>', cells)[-2:]
    assert chance == "98.6%"
    assert risk == "0.02%"
