"""Experiment pages (A/B 实验): the list, the editor, the results and their JSON twin, status changes.

The numbers on a results page are the analysis's (``yunying.experiments.analyze`` on the same
store); these tests check that the page shows them, in both languages, with verdicts that follow
the analysis's decision, and that only the right people change anything.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from web_support import Workbench, csrf, sign_in

from yunying.experiments import analyze, get_experiment, parse_experiment
from yunying.insights.base import QueryContext
from yunying.store.meta import Meta
from yunying.web.pages.experiment_editor import (
    METRIC_ROWS,
    VARIANT_ROWS,
    document_from_form,
    form_from_document,
)

EN = {"Accept-Language": "en-US,en"}
LEAKED_KEY = re.compile(r"\b(?:exp|ab)\.[a-z_]+\.?[a-z_]*\b")


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    return Workbench.build(tmp_path_factory.mktemp("experiments"), users=400, days=35)


def _form(bench: Workbench, key: str, **extra: str) -> dict[str, str]:
    e = bench.truth["experiment"]
    return {
        "key": key,
        "name": f"试验 {key}",
        "start": e["date_from"],
        "end": e["date_to"],
        "hypothesis": "a better checkout",
        "vkey0": "control",
        "vweight0": "1",
        "vkey1": "test",
        "vweight1": "1",
        "akind": "exposure_event",
        "aevent": "$feature_flag_called",
        "aexp_prop": "$feature_flag",
        "aexp_value": "checkout_redesign",
        "avar_prop": "$feature_flag_response",
        "mrole0": "primary",
        "mkey0": "pay_rate",
        "mname0": "Pays per checkout",
        "mkind0": "ratio",
        "mevent0": "pay",
        "mden_event0": "checkout",
        "mrole1": "secondary",
        "mkey1": "shares",
        "mkind1": "count",
        "mevent1": "share",
        "mrole2": "guardrail",
        "mkey2": "support",
        "mkind2": "count",
        "mevent2": "contact_support",
        "minverse2": "1",
        "method": "frequentist",
        "difference": "relative",
        "alpha": "0.05",
        "cuped": "1",
        "pre_period_days": "14",
        "correction": "none",
        **extra,
    }


def _save(client: TestClient, form: dict[str, str]) -> Any:
    return client.post(
        "/p/demo/experiment-editor/save", data={"csrf_token": csrf(client), **form}, follow_redirects=False
    )


def _create(client: TestClient, bench: Workbench, key: str, **extra: str) -> None:
    answer = _save(client, _form(bench, key, **extra))
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/p/demo/experiments/{key}"


def _stored(client: TestClient, key: str) -> Any:
    state = client.app.state.yunying  # type: ignore[attr-defined]
    return get_experiment(state.meta, state.store.project("demo").project_id, key).experiment


def _direct(client: TestClient, key: str, breakdown: str | None = None) -> dict[str, Any]:
    state = client.app.state.yunying  # type: ignore[attr-defined]
    project = state.store.project("demo")
    experiment = get_experiment(state.meta, project.project_id, key).experiment
    return analyze(QueryContext(state.store, project), experiment, breakdown=breakdown).to_json()


# ----------------------------------------------------------------------------- creating
def test_the_editor_saves_what_the_form_says(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "form-made")
        e = _stored(client, "form-made")
    assert e.status == "draft"
    assert [v.key for v in e.variants] == ["control", "test"] and e.weights == [0.5, 0.5]
    assert e.assignment.kind == "exposure_event" and e.experiment_value == "checkout_redesign"
    primary = e.metrics.primary[0]
    assert (
        primary.kind == "ratio"
        and primary.numerator.event == "pay"
        and primary.denominator.event == "checkout"
    )
    assert primary.numerator.aggregation == primary.denominator.aggregation == "count"
    assert [m.key for m in e.metrics.secondary] == ["shares"]
    assert e.metrics.guardrail[0].inverse is True
    assert e.analysis.cuped is True and e.end is not None


def test_the_editor_offers_the_projects_events_and_properties(bench: Workbench) -> None:
    with bench.client("ana") as client:
        page = client.get("/p/demo/experiment-editor").text
    events = re.search(r'<datalist id="exp-events">(.*?)</datalist>', page, re.S).group(1)
    for name in ("checkout", "pay", "$feature_flag_called"):
        assert f'<option value="{name}">' in events
    assert '<option value="$feature_flag_response">' in page
    assert page.count('list="exp-events"') >= 2 + 2 * METRIC_ROWS


def test_a_bad_definition_comes_back_to_the_editor_with_the_field_and_what_was_typed(
    bench: Workbench,
) -> None:
    with bench.client("ana") as client:
        answer = _save(client, _form(bench, "bad-weight", vweight1="lots"))
        assert answer.status_code == 303
        back = answer.headers["location"]
        assert urlsplit(back).path == "/p/demo/experiment-editor"
        assert parse_qs(urlsplit(back).query)["field"] == ["variants[1].weight"]
        page = client.get(back)
        assert page.status_code == 200
        assert 'data-error-for="variants[1].weight"' in page.text
        assert 'name="vweight1" value="lots"' in page.text  # nothing typed is lost
        assert 'name="mden_event0" value="checkout"' in page.text
        # the JSON twin answers 400 naming the field, and nothing was stored
        twin = client.post(
            "/api/v1/p/demo/experiment-editor/save",
            json=_form(bench, "bad-weight", vweight1="lots"),
            headers={"X-CSRF-Token": csrf(client)},
        )
        assert twin.status_code == 400
        assert twin.json()["error"]["field"] == "variants[1].weight"
        assert client.get("/api/v1/p/demo/experiments/bad-weight").status_code == 404


def test_a_taken_key_is_a_conflict_and_a_key_never_changes(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "taken")
        twin = client.post(
            "/api/v1/p/demo/experiment-editor/save",
            json=_form(bench, "taken"),
            headers={"X-CSRF-Token": csrf(client)},
        )
        assert twin.status_code == 409 and twin.json()["error"]["field"] == "key"
        renamed = client.post(
            "/api/v1/p/demo/experiment-editor/save",
            json={**_form(bench, "taken-2"), "editing": "taken"},
            headers={"X-CSRF-Token": csrf(client)},
        )
        assert renamed.status_code == 400 and renamed.json()["error"]["field"] == "key"


def test_editing_changes_the_definition_and_keeps_status_and_decision(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "edited")
        token = csrf(client)
        assert (
            client.post(
                "/p/demo/experiments/edited/status",
                data={"csrf_token": token, "status": "running"},
                follow_redirects=False,
            ).status_code
            == 303
        )
        editor = client.get("/p/demo/experiment-editor?key=edited")
        assert editor.status_code == 200 and 'name="editing" value="edited"' in editor.text
        answer = _save(
            client, {**_form(bench, "edited", method="bayesian", mkey1="", mevent1=""), "editing": "edited"}
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/p/demo/experiments/edited"
        e = _stored(client, "edited")
    assert e.status == "running" and e.analysis.method == "bayesian" and e.metrics.secondary == []


def test_the_document_box_takes_any_definition(bench: Workbench) -> None:
    document = {
        "key": "from-json",
        "name": "JSON",
        "start": bench.truth["experiment"]["date_from"],
        "variants": [{"key": "control"}, {"key": "test"}],
        "assignment": {"kind": "exposure_event", "experiment_value": "checkout_redesign"},
        "metrics": {
            "primary": [
                {
                    "key": "rev",
                    "kind": "sum",
                    "event": "pay",
                    "property": "amount",
                    "capping": {"value": 500},
                    "filters": [{"property": "channel", "operator": "neq", "value": "百度"}],
                }
            ]
        },
    }
    import json

    with bench.client("ana") as client:
        answer = _save(client, {"doc": json.dumps(document, ensure_ascii=False)})
        assert answer.status_code == 303, answer.text
        e = _stored(client, "from-json")
        assert e.metrics.primary[0].filters[0].value == "百度" and e.metrics.primary[0].capping.value == 500
        broken = _save(client, {"doc": "{not json"})
        page = client.get(broken.headers["location"])
        assert 'data-error-for="doc"' in page.text and "{not json" in page.text


# ----------------------------------------------------------------------------- the results
def test_the_results_twin_carries_the_analysis_and_verdicts_follow_it(bench: Workbench) -> None:
    with bench.client("vic") as viewer, bench.client("ana") as analyst:
        _create(analyst, bench, "results")
        twin = viewer.get("/api/v1/p/demo/experiments/results")
        assert twin.status_code == 200, twin.text
        data = twin.json()
        assert data["analysis"] == _direct(viewer, "results")
    truth = bench.truth["experiment"]
    assert [a["users"] for a in data["analysis"]["arms"]] == truth["exposed_users"]
    primary = next(m for m in data["analysis"]["metrics"] if m["key"] == "pay_rate")
    assert [s["numerator"]["sum"] for s in primary["statistics"]] == truth["pays_after_exposure"]
    assert [s["denominator"]["sum"] for s in primary["statistics"]] == truth["checkouts_after_exposure"]
    for metric in data["shown"]["metrics"]:
        for row in metric["comparisons"]:
            expected = (
                "error"
                if row["error"]
                else ("better" if row["direction"] == "better" else "worse")
                if row["significant"]
                else "inconclusive"
            )
            assert row["verdict"]["code"] == expected
            assert row["sentence"] and "{" not in row["sentence"]
    assert data["shown"]["figure"]["data"][0]["x"] == [
        c["estimate"] for m in data["shown"]["metrics"] for c in m["comparisons"]
    ]


def test_the_results_page_speaks_both_languages(bench: Workbench) -> None:
    with bench.client("vic") as client:
        zh = client.get("/p/demo/experiments/checkout_redesign")
        en = client.get("/p/demo/experiments/checkout_redesign", headers=EN)
        data = client.get("/api/v1/p/demo/experiments/checkout_redesign").json()
    assert zh.status_code == en.status_code == 200
    assert "置信区间" in zh.text and "confidence" not in zh.text.lower().split("</header>")[-1]
    assert "CI" in en.text and "Pays per checkout" in en.text
    for page in (zh.text, en.text):
        assert not LEAKED_KEY.findall(re.sub(r"<script.*?</script>", "", page, flags=re.S))
        assert 'id="exp-lift"' in page
        for metric in data["shown"]["metrics"]:
            assert f'data-metric="{metric["key"]}"' in page
    users = [a["users"] for a in data["analysis"]["arms"]]
    assert re.findall(r"data-users>([\d,]+)<", zh.text) == [f"{u:,}" for u in users]


def test_the_breakdown_shows_each_group_of_the_analysis(bench: Workbench) -> None:
    with bench.client("vic") as client:
        data = client.get("/api/v1/p/demo/experiments/checkout_redesign?breakdown=channel").json()
        page = client.get("/p/demo/experiments/checkout_redesign?breakdown=channel")
        assert data["analysis"] == _direct(client, "checkout_redesign", breakdown="channel")
    groups = data["analysis"]["groups"]
    assert groups and sum(sum(a["users"] for a in g["arms"]) for g in groups) == sum(
        a["users"] for a in data["analysis"]["arms"]
    )
    for g in groups:
        assert f'data-group="{g["value"] if g["value"] is not None else ""}"' in page.text


def test_the_breakdown_by_a_user_property_is_the_analysis_by_profile(bench: Workbench) -> None:
    with bench.client("vic") as client:
        path = "/p/demo/experiments/checkout_redesign?breakdown=plan&breakdown_type=person"
        data = client.get("/api/v1" + path).json()
        page = client.get(path, headers=EN)
        bad = client.get("/api/v1/p/demo/experiments/checkout_redesign?breakdown=plan&breakdown_type=session")
        store = client.app.state.yunying.store  # type: ignore[attr-defined]
        direct = analyze(QueryContext(store, store.project("demo")), _stored(client, "checkout_redesign"),
                         breakdown="plan", breakdown_type="person").to_json()
    assert data["analysis"] == direct and data["analysis"]["breakdown_type"] == "person"
    assert 'value="person" selected' in page.text and "profile" in page.text
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "breakdown_type"


def test_a_bayesian_experiment_reads_as_chance_to_win(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "bayes", method="bayesian")
        data = client.get("/api/v1/p/demo/experiments/bayes").json()
        page = client.get("/p/demo/experiments/bayes", headers=EN)
    row = data["shown"]["metrics"][0]["comparisons"][0]
    assert row["chance_to_win"] is not None and row["p_value"] is None
    assert "probability" in page.text


def test_corrected_p_values_decide_the_verdict(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "holm", correction="holm")
        data = client.get("/api/v1/p/demo/experiments/holm").json()
    for metric in data["shown"]["metrics"]:
        if metric["role"] == "guardrail":
            continue
        for row in metric["comparisons"]:
            assert row["p_value"] == row["p_value_adjusted"] >= row["p_value_raw"]


def test_an_experiment_nobody_saw_says_so(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "unseen", aexp_value="no-such-flag")
        page = client.get("/p/demo/experiments/unseen", headers=EN)
        data = client.get("/api/v1/p/demo/experiments/unseen").json()
    assert page.status_code == 200 and "data-no-exposures" in page.text
    assert all(a["users"] == 0 for a in data["analysis"]["arms"])
    assert all(c["verdict"]["code"] == "error" for m in data["shown"]["metrics"] for c in m["comparisons"])


# ----------------------------------------------------------------------------- the list, status, roles
def test_the_list_filters_by_status(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "listed")
        every = client.get("/api/v1/p/demo/experiments").json()["experiments"]
        drafts = client.get("/api/v1/p/demo/experiments?status=draft").json()["experiments"]
        running = client.get("/api/v1/p/demo/experiments?status=running").json()["experiments"]
        assert client.get("/api/v1/p/demo/experiments?status=paused").status_code == 400
        page = client.get("/p/demo/experiments")
    assert "listed" in [e["key"] for e in drafts] and "listed" not in [e["key"] for e in running]
    assert "checkout_redesign" in [e["key"] for e in running]
    assert {e["key"] for e in every} >= {e["key"] for e in drafts} | {e["key"] for e in running}
    assert 'data-experiment="listed"' in page.text


def test_stopping_records_the_decision_and_wrong_moves_are_refused(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "decided")
        token = csrf(client)
        stop = {
            "csrf_token": token,
            "status": "stopped",
            "decision_variant": "test",
            "decision_note": "ship it",
        }
        assert (
            client.post(
                "/p/demo/experiments/decided/status",
                data={"csrf_token": token, "status": "running"},
                follow_redirects=False,
            ).status_code
            == 303
        )
        assert (
            client.post("/p/demo/experiments/decided/status", data=stop, follow_redirects=False).status_code
            == 303
        )
        again = client.post(
            "/api/v1/p/demo/experiments/decided/status",
            json={"status": "stopped"},
            headers={"X-CSRF-Token": token},
        )
        assert again.status_code == 409
        e = _stored(client, "decided")
        page = client.get("/p/demo/experiments/decided")
    assert e.status == "stopped" and e.decision.variant == "test" and e.decision.note == "ship it"
    assert e.decision.decided_by == "ana"
    assert "data-decision" in page.text


def test_viewers_read_but_change_nothing_and_other_projects_see_nothing(bench: Workbench) -> None:
    with bench.client("vic") as viewer:
        token = csrf(viewer)
        assert viewer.get("/p/demo/experiments/checkout_redesign").status_code == 200
        assert "data-edit" not in viewer.get("/p/demo/experiments/checkout_redesign").text
        assert viewer.get("/p/demo/experiment-editor").status_code == 403
        assert _save(viewer, _form(bench, "by-viewer")).status_code == 403
        assert (
            viewer.post(
                "/p/demo/experiments/checkout_redesign/status",
                data={"csrf_token": token, "status": "stopped"},
            ).status_code
            == 403
        )
        assert (
            viewer.post(
                "/p/demo/experiments/checkout_redesign/delete", data={"csrf_token": token}
            ).status_code
            == 403
        )
    with bench.client("otto") as outsider:
        assert outsider.get("/p/demo/experiments/checkout_redesign").status_code == 404
        assert outsider.get("/api/v1/p/other/experiments").json()["experiments"] == []
        assert outsider.get("/api/v1/p/other/experiments/checkout_redesign").status_code == 404


def test_deleting_removes_the_definition(bench: Workbench) -> None:
    with bench.client("ana") as client:
        _create(client, bench, "doomed")
        answer = client.post(
            "/p/demo/experiments/doomed/delete", data={"csrf_token": csrf(client)}, follow_redirects=False
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/p/demo/experiments"
        assert client.get("/p/demo/experiments/doomed").status_code == 404


# ----------------------------------------------------------------------------- form <-> document
_slug = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_event = st.sampled_from(["pay", "checkout", "$any", "分享", "app_open"])
_prop = st.sampled_from(["amount", "price", "数量"])


@st.composite
def _metric(draw: st.DrawFn, key: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["conversion", "count", "sum", "mean", "ratio", "quantile"]))
    m: dict[str, Any] = {"key": key, "kind": kind}
    if draw(st.booleans()):
        m["name"] = draw(st.text("结算支付 ab", min_size=1, max_size=6)).strip() or "x"
    if kind == "ratio":

        def side() -> dict[str, Any]:
            prop = draw(st.none() | _prop)
            return (
                {"aggregation": "sum", "event": draw(_event), "property": prop}
                if prop
                else {"aggregation": "count", "event": draw(_event)}
            )

        m["numerator"], m["denominator"] = side(), side()
    else:
        m["event"] = draw(_event)
        if kind in ("sum", "mean") or (kind == "quantile" and draw(st.booleans())):
            m["property"] = draw(_prop)
    if draw(st.booleans()):
        m["window"] = draw(st.sampled_from(["7d", "1h", "30m", "2w"]))
    if kind == "quantile" and draw(st.booleans()):
        m["level"] = draw(st.sampled_from([0.5, 0.9, 0.25]))
    if kind in ("count", "sum", "mean", "ratio") and draw(st.booleans()):
        m["capping"] = {"percentile": draw(st.sampled_from([0.99, 0.95]))}
    if draw(st.booleans()):
        m["inverse"] = True
    return m


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(_slug, min_size=2, max_size=VARIANT_ROWS, unique=True))
    metric_keys = draw(st.lists(_slug, min_size=1, max_size=METRIC_ROWS, unique=True))
    roles = ["primary"] + draw(
        st.lists(
            st.sampled_from(["primary", "secondary", "guardrail"]),
            min_size=len(metric_keys) - 1,
            max_size=len(metric_keys) - 1,
        )
    )
    metrics: dict[str, list[dict[str, Any]]] = {"primary": [], "secondary": [], "guardrail": []}
    for role, key in sorted(
        zip(roles, metric_keys, strict=True),
        key=lambda rk: ["primary", "secondary", "guardrail"].index(rk[0]),
    ):
        metrics[role].append(draw(_metric(key)))
    if draw(st.booleans()):
        assignment: dict[str, Any] = {"kind": "hash", "trigger_event": draw(_event)}
    else:
        assignment = {
            "kind": "exposure_event",
            "event": draw(st.sampled_from(["$feature_flag_called", "$ABTestTrigger"])),
            "experiment_property": draw(st.sampled_from(["$feature_flag", "$abtest_experiment_id", None])),
            "variant_property": draw(st.sampled_from(["$feature_flag_response", "group"])),
        }
        if draw(st.booleans()):
            assignment["experiment_value"] = "42"
    doc: dict[str, Any] = {
        "key": draw(_slug),
        "name": "实验 test",
        "hypothesis": draw(st.sampled_from(["", "更多支付"])),
        "variants": [
            {
                "key": k,
                "weight": draw(st.sampled_from([1, 2, 0.5])),
                **({"name": k.upper()} if draw(st.booleans()) else {}),
                **({"value": str(i)} if draw(st.booleans()) else {}),
            }
            for i, k in enumerate(keys)
        ],
        "assignment": assignment,
        "start": "2026-10-01",
        "metrics": metrics,
        "analysis": {
            "method": draw(st.sampled_from(["frequentist", "sequential", "bayesian"])),
            "difference": draw(st.sampled_from(["relative", "absolute"])),
            "alpha": draw(st.sampled_from([0.05, 0.1])),
            "cuped": draw(st.booleans()),
            "pre_period_days": draw(st.sampled_from([7, 14])),
            "correction": draw(st.sampled_from(["none", "holm", "bh"])),
        },
    }
    if draw(st.booleans()):
        doc["end"] = "2026-10-31"
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_every_definition_the_form_can_show_survives_a_round_trip(doc: dict[str, Any]) -> None:
    """Editing a stored experiment and saving without changes stores the same experiment."""
    try:
        experiment = parse_experiment(doc)
    except ValueError:  # e.g. duplicate exposure values: not a definition the editor ever shows
        return
    form = {
        k: ("1" if v is True else "" if v is False else str(v))
        for k, v in form_from_document(experiment.to_json()).items()
    }
    assert parse_experiment(document_from_form(form)) == experiment


def test_the_meta_of_another_project_is_untouched(bench: Workbench) -> None:
    """Experiments are created in the project of the URL only."""
    with bench.client("ana") as client:
        _create(client, bench, "isolated")
        state = client.app.state.yunying  # type: ignore[attr-defined]
        other = state.store.project("other").project_id
        meta: Meta = state.meta
        assert meta.rows("SELECT key FROM experiments WHERE project_id = ?", [other]) == []


def test_new_exposures_show_on_the_next_view(bench: Workbench, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached analysis is not served once the project's data changed (and results may be
    reused while events arrive only for result_max_age_seconds: 0 here)."""
    from yunying.store.keys import ingest_keys

    monkeypatch.setenv("YUNYING_RESULT_MAX_AGE_SECONDS", "0")
    with bench.client("ana") as client:
        _create(client, bench, "fresh", aexp_value="fresh-flag")
        before = client.get("/api/v1/p/demo/experiments/fresh").json()["analysis"]["arms"]
        assert [a["users"] for a in before] == [0, 0]
        state = client.app.state.yunying  # type: ignore[attr-defined]
        key = ingest_keys(state.store, state.store.project("demo"))[0]
        when = f"{bench.truth['experiment']['date_to']}T10:00:00+08:00"
        events = [{"event": "$feature_flag_called", "distinct_id": f"fresh-{i}", "timestamp": when,
                   "properties": {"$feature_flag": "fresh-flag", "$feature_flag_response": variant}}
                  for i, variant in enumerate(["control", "test", "test"])]
        sent = client.post("/api/v1/events", json={"events": events},
                           headers={"Authorization": f"Bearer {key}"})
        assert sent.status_code == 200, sent.text
        after = client.get("/api/v1/p/demo/experiments/fresh").json()["analysis"]["arms"]
    assert [a["users"] for a in after] == [1, 2]


def test_a_server_analyses_running_experiments_at_start(bench: Workbench,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first visitor of a running experiment's page gets the analysis made at start."""
    import threading
    import time

    from yunying.store.connection import connect
    from yunying.web import create_app
    from yunying.web.pages import experiments

    calls: list[str] = []
    real = experiments.analyze

    def counting(ctx: Any, experiment: Any, **kwargs: Any) -> Any:
        calls.append(experiment.key)
        return real(ctx, experiment, **kwargs)

    monkeypatch.setattr(experiments, "analyze", counting)
    store = connect(bench.path)
    try:
        with TestClient(create_app(store, warm=True), base_url="http://127.0.0.1:8000") as client:
            deadline = time.monotonic() + 60
            def warming() -> bool:
                return any(t.name == "yunying-warm" for t in threading.enumerate())

            while warming() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "checkout_redesign" in calls  # every running experiment (others: drafts)
            assert "form-made" not in calls
            warmed = len(calls)
            sign_in(client, "vic")
            assert client.get("/p/demo/experiments/checkout_redesign").status_code == 200
            assert len(calls) == warmed  # served from the cache
    finally:
        store.close()
