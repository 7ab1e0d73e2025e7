"""``yunying demo``: build the demo shop's store and show DAU, the funnel, retention and its A/B test.

The numbers come from the same insight runners as ``yunying query`` and the web pages; the
renderers below only turn result models into rich tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from yunying import settings
from yunying.cli import app
from yunying.cli.common import console, fail, is_tty, open_store
from yunying.cli.serve import run_server
from yunying.demo import (
    DEMO_PROJECT,
    DemoMismatchError,
    build_demo_store,
    demo_config,
    generate_demo,
    read_truth,
    write_demo_parquet,
)
from yunying.demo.experiment import TRUE_LIFT_KEYS, experiment_definition
from yunying.demo.truth import FUNNEL_WINDOW
from yunying.demo.workbench import setup_workbench
from yunying.experiments import ExperimentResult, analyze
from yunying.experiments.analysis import ComparisonResult
from yunying.insights import run_query
from yunying.insights.base import QueryContext
from yunying.insights.funnel import FunnelResult, FunnelStepResult
from yunying.insights.retention import RetentionResult
from yunying.insights.trends import TrendsResult
from yunying.store import Store

SPARKS = "▁▂▃▄▅▆▇█"
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
BAR_WIDTH = 20
RETENTION_WEEKS = 8


# ---------------------------------------------------------------- rendering (pure)
def sparkline(values: Sequence[float]) -> str:
    """One block character per value, scaled between the smallest and largest value."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(
        SPARKS[int((v - low) / span * (len(SPARKS) - 1)) if span else len(SPARKS) // 2]
        for v in values
    )


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``fraction`` (0 … 1) of ``width`` cells, in eighths."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (" ▏▎▍▌▋▊▉"[rest] if rest else "")


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def render_dau(result: TrendsResult, last_days: int = 7) -> Table:
    """DAU trend: a sparkline of every day, then the last ``last_days`` days with numbers."""
    series = result.series[0]
    values = [v or 0 for v in series.values]
    table = Table(title="日活 Daily active users", title_justify="left", show_edge=False)
    table.add_column("日期 date")
    table.add_column("星期")
    table.add_column("DAU", justify="right")
    table.add_column("vs. previous day", justify="right")
    start = max(0, len(values) - last_days)
    for i in range(start, len(values)):
        day = dt.date.fromisoformat(series.dates[i][:10])
        change = (values[i] / values[i - 1] - 1) if i and values[i - 1] else None
        style = "green" if change and change > 0 else "red" if change and change < 0 else ""
        table.add_row(
            series.dates[i], WEEKDAYS_ZH[day.weekday()], f"{values[i]:,.0f}",
            Text(f"{change:+.1%}" if change is not None else "", style=style),
        )
    return table


def dau_trend_line(result: TrendsResult) -> Text:
    """``▁▂▃…█`` over every day of the series, then its day count, minimum and maximum."""
    values = [v or 0 for v in result.series[0].values]
    if not values:
        return Text("no days in range")
    line = Text(sparkline(values), style="cyan")
    line.append(f"  {len(values)} days · min {min(values):,.0f} · max {max(values):,.0f}",
                style="default")
    return line


def _funnel_rows(table: Table, steps: Sequence[FunnelStepResult]) -> None:
    first = steps[0].count if steps else 0
    for s in steps:
        table.add_row(
            str(s.step + 1 if steps[0].step == 0 else s.step), s.event, f"{s.count:,}",
            percent(s.conversion_from_first), percent(s.conversion_from_previous),
            Text(bar(s.count / first if first else 0.0), style="cyan"),
        )


def render_funnel(result: FunnelResult) -> Table:
    """Funnel steps: users, conversion from the first and the previous step, bars."""
    days = result.window_seconds / 86_400
    table = Table(
        title=f"转化漏斗 Funnel (window {days:g} days)", title_justify="left", show_edge=False
    )
    for name, justify in (("#", "right"), ("event", "left"), ("users", "right"),
                          ("of first", "right"), ("of previous", "right"), ("", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    _funnel_rows(table, result.steps)
    return table


def render_funnel_breakdown(result: FunnelResult) -> Table | None:
    """Conversion from the first step per breakdown value (e.g. per channel)."""
    if not result.breakdowns:
        return None
    events = [s.event for s in result.steps]
    table = Table(title="按渠道 By channel (conversion from the first step)",
                  title_justify="left", show_edge=False)
    table.add_column("channel")
    table.add_column("users", justify="right")
    for event in events[1:]:
        table.add_column(event, justify="right")
    best = max((b.steps[-1].conversion_from_first for b in result.breakdowns), default=0.0)
    for b in result.breakdowns:
        cells = [percent(s.conversion_from_first) for s in b.steps[1:]]
        top = b.steps[-1].conversion_from_first == best
        table.add_row(b.breakdown_value or "(none)", f"{b.steps[0].count:,}", *cells,
                      style="bold" if top else None)
    return table


def retention_style(rate: float) -> str:
    """Colour of a retention cell: greener for higher rates."""
    if rate >= 0.5:
        return "bold white on dark_green"
    if rate >= 0.3:
        return "black on green"
    if rate >= 0.15:
        return "black on yellow"
    if rate > 0:
        return "white on red"
    return "dim"


def render_retention(result: RetentionResult) -> Table:
    """Cohort × period table of retention percentages (period 0 = the cohort size)."""
    periods = max((len(c.values) for c in result.cohorts), default=1)
    unit = {"day": "Day", "week": "Week", "month": "Month"}.get(result.period, result.period)
    table = Table(title=f"留存 Retention by {result.period} (cohort: first app_open)",
                  title_justify="left", show_edge=False)
    table.add_column("cohort", no_wrap=True)
    table.add_column("users", justify="right")
    for i in range(1, periods):
        table.add_column(f"{unit[0]}{i}", justify="right")
    for cohort in result.cohorts:
        cells: list[Any] = []
        for i in range(1, periods):
            if i >= len(cohort.values) or not cohort.size:
                cells.append("")
                continue
            rate = cohort.values[i] / cohort.size
            cells.append(Text(f"{rate * 100:.0f}%", style=retention_style(rate)))
        table.add_row(cohort.cohort, f"{cohort.size:,}", *cells)
    return table


ROLES = {"primary": "主要 primary", "secondary": "次要 secondary", "guardrail": "护栏 guardrail"}


def two_lines(name: str) -> str:
    """A demo name "中文 English words" as the Chinese over the English (narrow table cells)."""
    zh, _, en = name.partition(" ")
    return f"{zh}\n{en}" if en and not zh.isascii() else name


def _effect(value: float | None, relative: bool) -> str:
    if value is None:
        return "–"
    if not value:
        return "0"
    return f"{value:+.1%}" if relative else f"{value:+,.4g}"


def verdict_text(comparison: ComparisonResult) -> Text:
    """The analysis's decision in both languages, coloured like the DAU changes."""
    if comparison.error:
        return Text(f"无法比较\n{comparison.error}", style="yellow")
    if comparison.guardrail_failed:
        return Text("护栏未通过\nguardrail failed", style="bold red")
    if comparison.significant:
        if comparison.direction == "better":
            return Text("显著更好\nbetter", style="bold green")
        return Text("显著更差\nworse", style="bold red")
    return Text("无显著差异\ninconclusive", style="dim")


def _covers(ci: tuple[float, float] | None, value: float) -> bool:
    return ci is not None and ci[0] <= value <= ci[1]


def render_experiment(result: ExperimentResult, true_lifts: dict[str, float]) -> Table:
    """Each metric of the demo's A/B test (the second arm against the first): the lift, its
    interval and p-value, the effect the data was simulated with (``true_lifts`` by metric
    key) and the verdict."""
    relative = result.difference == "relative"
    level = f"{1 - result.alpha:.0%}"
    table = Table(title=f"A/B 实验 {result.name} · {result.date_from} … {result.date_to}",
                  title_justify="left", show_edge=False)
    for name, justify in (("指标 metric", "left"), ("lift", "right"), (f"{level} CI · p", "right"),
                          ("真实 true", "right"), ("结论 verdict", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for metric in result.metrics:
        c = metric.comparisons[0]
        ci = "–" if c.ci is None else f"{_effect(c.ci[0], relative)} … {_effect(c.ci[1], relative)}"
        p = "" if c.p_value is None else f"\np = {c.p_value:.2g}"
        true = true_lifts.get(metric.key)
        name = Text(two_lines(metric.name), style="bold" if metric.role == "primary" else "")
        name.append(f"\n{ROLES[metric.role]}", style="dim")
        table.add_row(name, _effect(c.estimate, relative), ci + p,
                      "–" if true is None else _effect(true, relative=True), verdict_text(c))
    return table


def experiment_notes(result: ExperimentResult, true_lifts: dict[str, float]) -> list[Text]:
    """The arms' users and the SRM check, then whether each interval holds the simulated effect."""
    notes = [Text("用户 users: " + " · ".join(f"{a.name} {a.users:,}" for a in result.arms))]
    srm = Text(f"SRM p = {result.srm_p_value:.2g} · ")
    if result.srm_warning:
        srm.append("样本比例失衡 sample ratio mismatch: check the assignment", style="bold red")
    else:
        srm.append("分组均衡 the arms' sizes fit their weights", style="green")
    notes.append(srm)
    if result.difference != "relative":
        return notes
    level, one_in = f"{1 - result.alpha:.0%}", round(1 / result.alpha)
    missed = [(m, true_lifts[m.key]) for m in result.metrics
              if m.key in true_lifts and not _covers(m.comparisons[0].ci, true_lifts[m.key])]
    if not missed:
        notes.append(Text(f"模拟的真实效果都在 {level} 置信区间内 · every simulated effect is "
                          f"inside its {level} interval.", style="green"))
    for metric, true in missed:
        notes.append(Text(
            f"{metric.name}: 真实效果 {_effect(true, True)} 不在 {level} 置信区间内（约每 {one_in} "
            f"次出现一次）· the true effect {_effect(true, True)} is outside the interval, as it is "
            f"about 1 time in {one_in}{' (a false alarm)' if true == 0 else ''}.", style="yellow"))
    return notes


def demo_experiment_result(store: Store, experiment_truth: dict[str, Any]) -> ExperimentResult:
    """The demo's A/B test analysed on the store's events (the definition setup_workbench stores)."""
    project = store.project(DEMO_PROJECT)
    definition = experiment_definition(experiment_truth["date_from"], experiment_truth["date_to"])
    return analyze(QueryContext(store, project), definition)


def true_lifts_of(experiment_truth: dict[str, Any]) -> dict[str, float]:
    """The simulated relative effects by metric key (metrics without a known effect left out)."""
    known = experiment_truth.get("true_relative_lift", {})
    return {metric: known[key] for metric, key in TRUE_LIFT_KEYS.items() if key in known}


def show_experiment(store: Store, truth: dict[str, Any]) -> None:
    experiment_truth = truth.get("experiment")
    if experiment_truth is None:
        return
    result = demo_experiment_result(store, experiment_truth)
    lifts = true_lifts_of(experiment_truth)
    console.print(Text(""))
    console.print(render_experiment(result, lifts))
    for note in experiment_notes(result, lifts):
        console.print(note)


# ---------------------------------------------------------------- insights on the store
def demo_documents(date_from: str, date_to: str) -> dict[str, dict[str, Any]]:
    """The three query documents the demo shows, over the whole generated range."""
    span = {"date_from": date_from, "date_to": date_to}
    return {
        "dau": {"kind": "trends", "series": [{"event": "$any", "math": "unique_users"}],
                "interval": "day", **span},
        "funnel": {"kind": "funnel", "window": FUNNEL_WINDOW, "breakdown": "channel",
                   "steps": [{"event": e} for e in
                             ("app_open", "view_product", "add_to_cart", "checkout", "pay")],
                   **span},
        "retention": {"kind": "retention", "start_event": "app_open", "return_event": "$any",
                      "period": "week", "periods": RETENTION_WEEKS, **span},
    }


def show_insights(store: Store, date_from: str, date_to: str) -> None:
    project = store.project(DEMO_PROJECT)
    docs = demo_documents(date_from, date_to)
    try:
        dau = run_query(store, project, docs["dau"])
        funnel = run_query(store, project, docs["funnel"])
        retention = run_query(store, project, docs["retention"])
    except NotImplementedError:
        console.print("[yellow]The insight runners are not available yet; the store is built.[/]")
        return
    assert isinstance(dau, TrendsResult) and isinstance(funnel, FunnelResult)
    assert isinstance(retention, RetentionResult)
    console.rule(f"演示店铺 demo shop · {date_from} … {date_to} · Asia/Shanghai")
    parts: list[Any] = [render_dau(dau), dau_trend_line(dau), Text(""), render_funnel(funnel)]
    breakdown = render_funnel_breakdown(funnel)
    if breakdown is not None:
        parts += [Text(""), breakdown]
    parts += [Text(""), render_retention(retention)]
    for part in parts:
        console.print(part)


# ---------------------------------------------------------------- the command
def default_demo_db() -> Path:
    return settings.default_db_path().parent / "demo.duckdb"


def _already_built(store: Store, truth: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the store holds exactly the dataset ``wanted`` describes, all of it."""
    if truth.get("dataset") != wanted:
        return False
    try:
        project = store.project(DEMO_PROJECT)
    except LookupError:
        return False
    return int(store.events(project).count().execute()) == truth.get("events")


@app.command("demo")
def demo_command(
    db: Annotated[Path | None, typer.Option(
        "--db", help="Store file to build. Default: demo.duckdb in your user data dir.",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(
        help="Random seed: the same seed gives the same data.")] = 2026,
    users: Annotated[int | None, typer.Option(
        help="Number of users (default 20000).", show_default=False, min=1)] = None,
    days: Annotated[int, typer.Option(help="Days of data, ending 2026-10-31.", min=1)] = 60,
    events: Annotated[int | None, typer.Option(
        help="Scale to about this many events instead of --users.", show_default=False,
        min=1)] = None,
    parquet: Annotated[Path | None, typer.Option(
        help="Write the events to this Parquet file (with <name>.truth.json beside it); "
             "the store is then only built if --db is given too.", show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Rebuild the demo project even if the store already has one.")] = False,
    serve: Annotated[bool, typer.Option(
        "--serve",
        help="Then open the workbench on --host:--port with a demo login (Ctrl-C stops it).")] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: TCP port.")] = 8000,
) -> None:
    """Build the demo shop (演示店铺) and show its DAU, funnel, retention and A/B test."""
    if users is not None and events is not None:
        fail("give --users or --events, not both")
    config = demo_config(users=users, events=events, days=days, seed=seed)
    if parquet is not None:
        with console.status("Generating events…", spinner="dots"):
            data = write_demo_parquet(parquet, users=config.users, days=days, seed=seed)
        console.print(f"Wrote {data.events.num_rows:,} events of {config.users:,} users to "
                      f"{parquet} (ground truth beside it).")
        if db is None:
            return
    path = db or default_demo_db()
    store = open_store(path)
    try:
        existing = read_truth(path)
        wanted = config.identity()
        if existing is not None and not force and _already_built(store, existing, wanted):
            truth = existing
            console.print(f"Demo store {path} is up to date ({truth['events']:,} events).")
        else:
            truth = _build(store, config, force)
        show_insights(store, truth["date_from"], truth["date_to"])
        show_experiment(store, truth)
        console.print(f"\nExplore it: [bold]yunying query --db {path} -p {DEMO_PROJECT} "
                      "--json @document.json[/]  ·  ground truth: "
                      f"{path.with_name(path.stem + '.truth.json')}", highlight=False)
        if serve:
            bench = setup_workbench(store, truth["date_from"], truth["date_to"])
            run_server(store, host, port, banner=(
                f"\n[bold]工作台 Workbench:[/] http://{host}:{port}/\n"
                f"登录 login: [bold]{bench.login}[/]   密码 password: [bold]{bench.password}[/]\n"
                "Ctrl-C stops the server."))
    finally:
        store.close()


def _build(store: Store, config: Any, force: bool) -> dict[str, Any]:
    with console.status("Generating events…", spinner="dots"):
        data = generate_demo(config)
    progress = Progress(
        TextColumn("Writing the demo store"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, disable=not is_tty(), transient=True,
    )
    with progress:
        task = progress.add_task("write", total=data.events.num_rows)
        try:
            result = build_demo_store(
                store, data, force=force,
                progress=lambda done, _total: progress.update(task, completed=done),
            )
        except DemoMismatchError as exc:
            fail(str(exc))
    console.print(
        f"Demo store {store.location}: {result.inserted:,} events written "
        f"({result.duplicates:,} already there), {config.users:,} users, "
        f"{data.truth['date_from']} … {data.truth['date_to']} (Asia/Shanghai)."
    )
    return data.truth
