"""``yunying abtest --json``: the public document in, the public result out, bad documents named."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats
from typer.testing import CliRunner

from yunying.cli import app
from yunying.stats import Proportion, two_proportion_ztest
from yunying.stats.abtest import run_document

runner = CliRunner()
CONTRACT = {"arm", "baseline", "estimate", "ci", "p_value", "chance_to_win", "risk", "error"}
# statsmodels' proportions_ztest example: 5 of 83 against 12 of 99
STATSMODELS = {"metric": "proportion", "difference": "absolute",
               "arms": [{"name": "A", "n": 83, "sum": 5}, {"name": "B", "n": 99, "sum": 12}]}
# the worked example of docs/statistics.md
CHECKOUT = {"metric": "proportion", "method": "frequentist", "difference": "relative", "alpha": 0.05,
            "arms": [{"name": "A", "n": 10000, "sum": 1000}, {"name": "B", "n": 10050, "sum": 1105}]}


def abtest(*args: str, stdin: str | None = None):
    return runner.invoke(app, ["abtest", *args], input=stdin)


def printed(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_worked_example_prints_the_documented_numbers() -> None:
    out = printed(abtest("--json", json.dumps(CHECKOUT)))
    assert set(out) == {"comparisons", "srm_p_value"}
    (row,) = out["comparisons"]
    assert set(row) >= CONTRACT and (row["arm"], row["baseline"]) == ("B", "A")
    assert round(row["estimate"], 4) == 0.0995 and [round(x, 4) for x in row["ci"]] == [0.0105, 0.1885]
    assert round(row["p_value"], 3) == 0.028 and round(out["srm_p_value"], 2) == 0.72
    assert row["chance_to_win"] is None and row["risk"] is None and row["error"] is None
    assert out == json.loads(json.dumps(run_document(CHECKOUT)))


def test_statsmodels_example_is_welchs_test_not_the_pooled_z_test() -> None:
    """The calculator's frequentist test of a rate is Welch's with √(p(1 − p)) (docs/statistics.md):
    p = 0.148 for 5/83 against 12/99, where the pooled z-test of statsmodels' example gives 0.159."""
    (row,) = printed(abtest("--json", json.dumps(STATSMODELS)))["comparisons"]
    a, b = 5 / 83, 12 / 99
    welch = stats.ttest_ind_from_stats(b, math.sqrt(b * (1 - b)), 99, a, math.sqrt(a * (1 - a)), 83,
                                       equal_var=False)
    assert row["p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert round(row["p_value"], 3) == 0.148 and row["estimate"] == pytest.approx(b - a)
    assert round(two_proportion_ztest(Proportion(83, 5), Proportion(99, 12)).p_value, 3) == 0.159


def test_bayesian_fills_chance_to_win_and_risk_and_leaves_the_p_value_null() -> None:
    doc = {**CHECKOUT, "method": "bayesian"}
    (row,) = printed(abtest("--json", json.dumps(doc), "--no-pretty"))["comparisons"]
    assert row["p_value"] is None and round(row["chance_to_win"], 3) == 0.986 and row["risk"] >= 0


def test_the_document_comes_inline_from_a_file_or_from_stdin(tmp_path: Path) -> None:
    text = json.dumps(CHECKOUT)
    path = tmp_path / "检验.json"
    path.write_text(text, encoding="utf-8")
    inline, from_file, from_stdin = (printed(abtest("--json", text)), printed(abtest("--json", f"@{path}")),
                                     printed(abtest("-j", "-", stdin=text)))
    assert inline == from_file == from_stdin
    compact = abtest("--json", text, "--no-pretty")
    assert compact.stdout.count("\n") == 1 and json.loads(compact.stdout) == inline


def test_chinese_arm_names_are_printed_as_they_are() -> None:
    doc = {"metric": "proportion", "arms": [{"name": "对照组", "n": 500, "sum": 50},
                                            {"name": "新首页", "n": 500, "sum": 70}]}
    result = abtest("--json", json.dumps(doc, ensure_ascii=False))
    assert '"arm": "新首页"' in result.stdout and printed(result)["comparisons"][0]["baseline"] == "对照组"


def test_a_degenerate_arm_gives_an_error_code_not_a_failure() -> None:
    doc = {"metric": "proportion",
           "arms": [{"name": "A", "n": 100, "sum": 0}, {"name": "B", "n": 100, "sum": 3}]}
    (row,) = printed(abtest("--json", json.dumps(doc)))["comparisons"]
    assert row["error"] == "BASELINE_ZERO" and row["estimate"] is None and row["ci"] is None


@pytest.mark.parametrize(("doc", "field", "words"), [
    ({**CHECKOUT, "alpha": 1.5}, "alpha", "between 0 and 1"),
    ({**CHECKOUT, "arms": [CHECKOUT["arms"][0], {"name": "B", "n": -99, "sum": 12}]},
     "arms[1].n", "whole number"),
    ({**CHECKOUT, "arms": [{"name": "A", "n": 10, "sum": 11}, CHECKOUT["arms"][1]]},
     "arms[0].sum", "between 0 and n"),
    ({**CHECKOUT, "arms": [{**CHECKOUT["arms"][0], "sum_sqaures": 1000}, CHECKOUT["arms"][1]]},
     "arms[0].sum_sqaures", "unknown key"),
    ({**CHECKOUT, "method": "bayes"}, "method", "frequentist, sequential, bayesian"),
    ({**CHECKOUT, "arms": CHECKOUT["arms"][:1]}, "arms", "at least two arms"),
    ({"metric": "mean", "arms": [{"name": "A", "n": 10, "sum": 5}, {"name": "B", "n": 10, "sum": 6}]},
     "arms[0].sum_squares", "required"),
    ({**CHECKOUT, "arms": [{"name": "[bold]A", "n": 10, "sum": 1, "[red]x": 1}, CHECKOUT["arms"][1]]},
     "arms[0].[red]x", "unknown key"),
])
def test_a_bad_document_names_the_field_and_exits_non_zero(doc: dict, field: str, words: str) -> None:
    result = abtest("--json", json.dumps(doc))
    assert result.exit_code == 2 and result.stdout == ""
    assert f"bad A/B document: {field}" in result.stderr and words in result.stderr
    assert "docs/statistics.md" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(("text", "words"), [
    ("[1, 2]", 'must be a JSON object with "metric" and "arms"'),
    ('{"metric": "proportion", "arms": [', "not valid JSON"),
    ("", "not valid JSON"),
])
def test_what_is_not_a_document_is_said_plainly(text: str, words: str) -> None:
    result = abtest("--json", text)
    assert result.exit_code == 2 and words in result.stderr and "Traceback" not in result.output


def test_a_missing_or_non_utf8_file_is_said_plainly(tmp_path: Path) -> None:
    missing = abtest("--json", f"@{tmp_path / 'nope.json'}")
    assert missing.exit_code == 2 and "cannot read the document file" in missing.stderr
    gbk = tmp_path / "gbk.json"
    gbk.write_bytes(json.dumps({"metric": "proportion", "arms": [{"name": "对照", "n": 1, "sum": 0}]},
                               ensure_ascii=False).encode("gbk"))
    wrong = abtest("--json", f"@{gbk}")
    assert wrong.exit_code == 2 and "not UTF-8" in wrong.stderr and "Traceback" not in wrong.output


def test_the_help_shows_the_contract_and_an_example_that_runs() -> None:
    from yunying.cli.abtest import EXAMPLE

    shown = runner.invoke(app, ["abtest", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    for word in ("--json", "@file.json", "stdin", "chance_to_win", "srm_p_value", "baseline"):
        assert word in shown.output, word
    assert len(printed(abtest("--json", EXAMPLE))["comparisons"]) == 1


def test_the_installed_command_reads_stdin() -> None:
    yunying = Path(sys.executable).with_name("yunying")
    done = subprocess.run([str(yunying), "abtest", "--json", "-", "--no-pretty"], input=json.dumps(CHECKOUT),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.load(io.StringIO(done.stdout)) == json.loads(json.dumps(run_document(CHECKOUT)))
    bad = subprocess.run([str(yunying), "abtest", "--json", "-"], input='{"metric": "x", "arms": []}',
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "metric" in bad.stderr and "Traceback" not in bad.stderr
