"""The demo dataset: determinism, the model's effects, ground truth vs. brute force and insights."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from typer.testing import CliRunner

from yunying.cli import app
from yunying.cli.demo import (
    bar,
    demo_documents,
    render_dau,
    render_funnel,
    render_funnel_breakdown,
    render_retention,
    sparkline,
)
from yunying.demo import (
    DEMO_PROJECT,
    DemoConfig,
    DemoData,
    DemoMismatchError,
    build_demo_store,
    demo_config,
    generate_demo,
    read_truth,
    write_demo_parquet,
)
from yunying.demo.build import write_truth
from yunying.demo.model import (
    CHANNELS,
    EXPERIMENT_PROPERTY,
    EXPOSURE_EVENT,
    FUNNEL_EVENTS,
    GENERATOR_VERSION,
    VARIANT_PROPERTY,
)
from yunying.experiments.assignment import variant_index
from yunying.insights import run_query
from yunying.insights.funnel import FunnelBreakdownResult, FunnelResult, FunnelStepResult
from yunying.insights.retention import RetentionCohort, RetentionResult
from yunying.insights.trends import TrendsResult, TrendsSeriesResult
from yunying.store import Store, connect
from yunying.store.schema import CANONICAL_EVENT

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG = DemoConfig(users=2_000, seed=11)
WINDOW = dt.timedelta(days=7)


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(CONFIG)


@pytest.fixture(scope="module")
def rows(demo: DemoData) -> list[dict[str, Any]]:
    """The events as Python rows with parsed properties and the Asia/Shanghai local date."""
    out = demo.events.to_pylist()
    for r in out:
        r["props"] = json.loads(r["properties"])
        r["local_date"] = r["timestamp"].replace(tzinfo=dt.UTC).astimezone(SHANGHAI).date()
    return out


@pytest.fixture(scope="module")
def store(demo: DemoData, tmp_path_factory: pytest.TempPathFactory) -> Store:
    db = connect(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    build_demo_store(db, demo)
    yield db
    db.close()


def expected_continuation(truth: dict[str, Any], channel: str, step: int) -> float:
    """The model's chance of funnel step ``step + 1`` after ``step`` for ``channel``, counting the
    demo experiment: its treated checkouts are paid ``pay_lift`` times as often."""
    p = CONFIG.model.continuation[CHANNELS.index(channel)][step]
    if FUNNEL_EVENTS[step] != "checkout":
        return p
    checkouts = truth["funnel"]["step_events_by_channel"][channel][step]
    treated = truth["experiment"]["treated_checkouts_by_channel"][channel] / checkouts
    return p * (1 + (CONFIG.model.experiment.pay_lift - 1) * treated)


def within(observed: float, expected: float, n: int, sigmas: float = 4.0) -> bool:
    """``observed`` share of ``n`` trials is within ``sigmas`` binomial errors of ``expected``."""
    return abs(observed - expected) <= sigmas * math.sqrt(expected * (1 - expected) / n)


# ------------------------------------------------------------------ the generated data
def test_same_seed_same_data_and_other_seed_other_data(demo: DemoData) -> None:
    again = generate_demo(CONFIG)
    assert again.events.equals(demo.events)
    assert again.truth == demo.truth
    other = generate_demo(DemoConfig(users=2_000, seed=12))
    assert not other.events.slice(0, 100).equals(demo.events.slice(0, 100))


def test_events_are_canonical_and_in_range(demo: DemoData, rows: list[dict[str, Any]]) -> None:
    assert demo.events.schema == CANONICAL_EVENT
    assert len({r["uuid"] for r in rows}) == len(rows)
    dates = {r["local_date"] for r in rows}
    assert min(dates) == CONFIG.start_date
    assert max(dates) == CONFIG.end_date == dt.date(2026, 10, 31)
    timestamps = [r["timestamp"] for r in rows]
    assert timestamps == sorted(timestamps)
    for r in rows:
        assert r["props"]["channel"] in CHANNELS and r["props"]["$city"]
    pays = [r["props"] for r in rows if r["event"] == "pay"]
    assert pays and all(p["amount"] == pytest.approx(p["price"] * p["quantity"]) for p in pays)


def test_channel_shares_follow_the_model(demo: DemoData, rows: list[dict[str, Any]]) -> None:
    first_channel: dict[str, str] = {}
    for r in rows:
        first_channel.setdefault(r["distinct_id"], r["props"]["channel"])
    assert len(first_channel) == CONFIG.users
    shares = dict(zip(CHANNELS, CONFIG.model.channel_shares, strict=True))
    for channel, expected in shares.items():
        n = sum(1 for c in first_channel.values() if c == channel)
        assert n == demo.truth["users_by_channel"][channel]
        assert within(n / CONFIG.users, expected, CONFIG.users)


def test_funnel_drop_off_per_session_follows_the_model(demo: DemoData, rows: list[dict[str, Any]]) -> None:
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(FUNNEL_EVENTS))
    for r in rows:
        if r["event"] in FUNNEL_EVENTS:
            counts[r["props"]["channel"]][FUNNEL_EVENTS.index(r["event"])] += 1
    for channel in CHANNELS:
        c = counts[channel]
        for k in range(len(FUNNEL_EVENTS) - 1):
            p = expected_continuation(demo.truth, channel, k)
            assert within(c[k + 1] / c[k], p, c[k]), (channel, FUNNEL_EVENTS[k + 1])


def test_weekends_are_busier(demo: DemoData) -> None:
    dau = demo.truth["daily"]["active_users"]
    days = [dt.date.fromisoformat(d) for d in demo.truth["daily"]["dates"]]
    ratios = []
    for i, day in enumerate(days):
        if day.weekday() == 0 and i + 6 < len(days):
            ratios.append(np.mean(dau[i + 5 : i + 7]) / np.mean(dau[i : i + 4]))
    assert len(ratios) >= 7 and np.mean(ratios) > 1.1


def test_retention_decays(demo: DemoData) -> None:
    first = demo.truth["retention_weekly"]["cohorts"][0]["values"]
    assert first[1] > first[4] > first[-1] > 0


def test_events_option_scales_users() -> None:
    config = demo_config(events=60_000, seed=5)
    n = len(generate_demo(config).events)
    assert 0.85 * 60_000 < n < 1.15 * 60_000


# ------------------------------------------------------------------ ground truth vs. brute force
def brute_funnel_level(events: list[tuple[dt.datetime, str]]) -> int:
    """The longest chain of FUNNEL_EVENTS in order (ties allowed) within 7 days, by search."""
    best = 0
    for t1, name in events:
        if name != FUNNEL_EVENTS[0]:
            continue
        level, t = 1, t1
        for step in FUNNEL_EVENTS[1:]:
            later = [te for te, n in events if n == step and t <= te <= t1 + WINDOW]
            if not later:
                break
            level, t = level + 1, min(later)
        best = max(best, level)
    return best


def test_truth_equals_brute_force(demo: DemoData, rows: list[dict[str, Any]]) -> None:
    truth = demo.truth
    dates = [dt.date.fromisoformat(d) for d in truth["daily"]["dates"]]
    active: dict[dt.date, set[str]] = defaultdict(set)
    revenue: dict[dt.date, int] = defaultdict(int)
    per_user: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for r in rows:
        active[r["local_date"]].add(r["distinct_id"])
        per_user[r["distinct_id"]].append((r["timestamp"], r["event"]))
        if r["event"] == "pay":
            revenue[r["local_date"]] += round(r["props"]["amount"] * 100)
    assert truth["daily"]["active_users"] == [len(active[d]) for d in dates]
    assert truth["daily"]["revenue_fen"] == [revenue[d] for d in dates]

    levels = {u: brute_funnel_level(ev) for u, ev in per_user.items()}
    assert truth["funnel"]["counts"] == [
        sum(1 for v in levels.values() if v >= k) for k in range(1, 6)
    ]
    channel = {r["distinct_id"]: r["props"]["channel"] for r in rows}
    for ch in CHANNELS:
        assert truth["funnel"]["by_channel"][ch] == [
            sum(1 for u, v in levels.items() if v >= k and channel[u] == ch) for k in range(1, 6)
        ]

    def bucket_day(d: dt.date) -> dt.date:
        return d

    def bucket_week(d: dt.date) -> dt.date:
        return d - dt.timedelta(days=d.weekday())

    kinds = (("retention_daily", bucket_day, 1), ("retention_weekly", bucket_week, 7))
    for key, bucket, step in kinds:
        periods = truth[key]["periods"]
        cohort: dict[str, dt.date] = {}
        seen: set[tuple[str, dt.date]] = set()
        for r in rows:
            b = bucket(r["local_date"])
            if r["event"] == "app_open":
                cohort[r["distinct_id"]] = min(cohort.get(r["distinct_id"], b), b)
            seen.add((r["distinct_id"], b))
        last = bucket(CONFIG.end_date)
        expected = []
        b = bucket(CONFIG.start_date)
        while b <= last:
            members = [u for u, c in cohort.items() if c == b]
            n_periods = min(periods, (last - b).days // step)
            values = [len(members)] + [
                sum(1 for u in members if (u, b + dt.timedelta(days=step * i)) in seen)
                for i in range(1, n_periods + 1)
            ]
            expected.append({"cohort": b.isoformat(), "size": len(members), "values": values})
            b += dt.timedelta(days=step)
        assert truth[key]["cohorts"] == expected, key


def test_experiment_truth_equals_brute_force(demo: DemoData, rows: list[dict[str, Any]]) -> None:
    truth, experiment = demo.truth["experiment"], CONFIG.model.experiment
    keys, weights = [k for k, _ in experiment.variants], [w for _, w in experiment.variants]
    first_day = dt.date.fromisoformat(truth["date_from"])
    assert (CONFIG.end_date - first_day).days + 1 == experiment.days
    assert truth["date_to"] == CONFIG.end_date.isoformat()
    exposure: dict[str, tuple[dt.datetime, str]] = {}
    first_open: dict[str, dt.datetime] = {}
    for r in rows:
        if r["event"] == EXPOSURE_EVENT:
            assert r["props"][EXPERIMENT_PROPERTY] == experiment.key
            assert r["distinct_id"] not in exposure  # once per user
            exposure[r["distinct_id"]] = (r["timestamp"], r["props"][VARIANT_PROPERTY])
        elif r["event"] == "app_open" and r["local_date"] >= first_day:
            first_open.setdefault(r["distinct_id"], r["timestamp"])
    # everyone who opens the app in the test's dates sees the flag once, as that first session opens
    assert {user: t for user, (t, _) in exposure.items()} == first_open
    for user, (_, variant) in exposure.items():  # the documented hash of the distinct_id
        assert variant == keys[variant_index(experiment.key, user, weights)]
    arms = Counter(variant for _, variant in exposure.values())
    assert truth["exposed_users"] == [arms[k] for k in keys]

    after: dict[str, Counter[str]] = defaultdict(Counter)
    paid: set[str] = set()
    for r in rows:
        seen = exposure.get(r["distinct_id"])
        if seen is not None and r["timestamp"] >= seen[0]:
            after[r["event"]][seen[1]] += 1
            if r["event"] == "pay":
                paid.add(r["distinct_id"])
    payers = Counter(exposure[user][1] for user in paid)
    assert truth["checkouts_after_exposure"] == [after["checkout"][k] for k in keys]
    assert truth["pays_after_exposure"] == [after["pay"][k] for k in keys]
    assert truth["shares_after_exposure"] == [after["share"][k] for k in keys]
    assert truth["support_contacts_after_exposure"] == [after["contact_support"][k] for k in keys]
    assert truth["paying_users_after_exposure"] == [payers[k] for k in keys]


# ------------------------------------------------------------------ writing
def test_store_build_is_idempotent(demo: DemoData, store: Store) -> None:
    project = store.project(DEMO_PROJECT)
    assert project.timezone == "Asia/Shanghai"
    assert store.events(project).count().execute() == demo.truth["events"]
    again = build_demo_store(store, demo)
    assert (again.inserted, again.duplicates) == (0, demo.truth["events"])
    assert read_truth(store.location) == json.loads(json.dumps(demo.truth))
    other = generate_demo(DemoConfig(users=50, seed=3))
    with pytest.raises(DemoMismatchError):
        build_demo_store(store, other)


def test_a_store_of_an_older_generator_is_refused(tmp_path: Path) -> None:
    """The same options gave other events before the experiment existed: writing the new ones
    over them would keep the old rows (same uuids, skipped as duplicates) under the new truth."""
    data = generate_demo(DemoConfig(users=50, seed=3))
    assert data.truth["dataset"]["generator"] == GENERATOR_VERSION == 2
    db = connect(tmp_path / "old.duckdb")
    older = {k: v for k, v in data.truth["dataset"].items() if k != "generator"}
    write_truth(db.location, {**data.truth, "dataset": older})
    with pytest.raises(DemoMismatchError, match="--force"):
        build_demo_store(db, data)
    assert build_demo_store(db, data, force=True).inserted == data.truth["events"]
    db.close()


def test_parquet_has_the_canonical_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    data = write_demo_parquet(path, users=300, seed=4)
    assert pq.read_table(path).cast(CANONICAL_EVENT).equals(data.events)
    assert read_truth(path) is not None


# ------------------------------------------------------------------ insights recover the truth
def test_insights_recover_the_ground_truth(demo: DemoData, store: Store) -> None:
    truth, project = demo.truth, store.project(DEMO_PROJECT)
    docs = demo_documents(truth["date_from"], truth["date_to"])
    dau = run_query(store, project, docs["dau"])
    assert dau.series[0].values == truth["daily"]["active_users"]

    funnel = run_query(store, project, docs["funnel"])
    assert [s.count for s in funnel.steps] == truth["funnel"]["counts"]
    assert {b.breakdown_value: [s.count for s in b.steps] for b in funnel.breakdowns} == (
        truth["funnel"]["by_channel"]
    )
    for key in ("retention_daily", "retention_weekly"):
        spec = truth[key]
        result = run_query(store, project, {
            "kind": "retention", "start_event": spec["start_event"],
            "return_event": spec["return_event"], "period": spec["period"],
            "periods": spec["periods"], "date_from": truth["date_from"],
            "date_to": truth["date_to"],
        })
        assert [c.model_dump() for c in result.cohorts] == spec["cohorts"], key

    revenue = run_query(store, project, {
        "kind": "trends", "series": [{"event": "pay", "math": "sum", "property": "amount"}],
        "date_from": truth["date_from"], "date_to": truth["date_to"],
    })
    assert [round(v * 100) for v in revenue.series[0].values] == truth["daily"]["revenue_fen"]


def test_insight_rates_match_the_model(demo: DemoData, store: Store) -> None:
    truth, project = demo.truth, store.project(DEMO_PROJECT)
    result = run_query(store, project, {
        "kind": "trends", "breakdown": "channel", "interval": "month",
        "series": [{"event": e} for e in FUNNEL_EVENTS],
        "date_from": truth["date_from"], "date_to": truth["date_to"],
    })
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(FUNNEL_EVENTS))
    for s in result.series:
        totals[s.breakdown_value][FUNNEL_EVENTS.index(s.event)] = sum(s.values)
    for channel in CHANNELS:
        c = totals[channel]
        assert c == truth["funnel"]["step_events_by_channel"][channel]
        for k in range(len(FUNNEL_EVENTS) - 1):
            p = expected_continuation(truth, channel, k)
            assert within(c[k + 1] / c[k], p, int(c[k])), (channel, FUNNEL_EVENTS[k + 1])


# ------------------------------------------------------------------ terminal output
def rendered(renderable: Any) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_sparkline_and_bar() -> None:
    assert sparkline([0, 7, 14]) == "▁▄█"
    assert sparkline([5, 5]) == "▅▅"
    assert sparkline([]) == ""
    assert bar(1.0, 4) == "████" and bar(0.5, 4) == "██" and bar(0.0, 4) == ""


def test_renderers_on_hand_built_results() -> None:
    dates = [f"2026-10-{d:02d}" for d in range(20, 32)]
    trends = TrendsResult(timezone="Asia/Shanghai", interval="day", series=[TrendsSeriesResult(
        label="A", event="$any", math="unique_users", dates=dates,
        values=[float(100 + d) for d in range(12)])])
    text = rendered(render_dau(trends))
    assert "2026-10-31" in text and "周六" in text and "111" in text and "2026-10-24" not in text

    def step(i: int, event: str, count: int) -> FunnelStepResult:
        return FunnelStepResult(step=i, event=event, count=count,
                                conversion_from_first=count / 200,
                                conversion_from_previous=1.0 if i == 0 else 0.5,
                                median_seconds_to_convert=None, median_seconds_from_first=None)

    steps = [step(0, "app_open", 200), step(1, "pay", 50)]
    funnel = FunnelResult(timezone="Asia/Shanghai", window_seconds=604_800, steps=steps,
                          breakdowns=[FunnelBreakdownResult(breakdown_value="微信", steps=steps)])
    text = rendered(render_funnel(funnel))
    assert "7 days" in text and "25.0%" in text and "█" in text
    assert "微信" in rendered(render_funnel_breakdown(funnel))

    retention = RetentionResult(timezone="Asia/Shanghai", period="week", cohorts=[
        RetentionCohort(cohort="2026-10-19", size=200, values=[200, 90, 40]),
        RetentionCohort(cohort="2026-10-26", size=0, values=[0]),
    ])
    text = rendered(render_retention(retention))
    assert "45%" in text and "20%" in text and "W2" in text


def test_demo_command_builds_then_reuses_the_store(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--db", str(db), "--users", "300", "--days", "21"])
    assert first.exit_code == 0, first.output
    assert "Funnel" in first.output and "Retention" in first.output
    assert "A/B 实验 结算页改版 Checkout redesign" in first.output and "SRM p = " in first.output
    second = runner.invoke(app, ["demo", "--db", str(db), "--users", "300", "--days", "21"])
    assert second.exit_code == 0 and "up to date" in " ".join(second.output.split())
    clash = runner.invoke(app, ["demo", "--db", str(db), "--users", "200", "--days", "21"])
    assert clash.exit_code == 2
