"""The benchmark's results: one JSON file under ``bench/results/`` and a short markdown summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPARKS = "▁▂▃▄▅▆▇█"

# (goal name, result path, comparison, target) — checked and shown in the summary
TARGETS = (
    ("durable events/s", ("durable", "events_per_s"), ">=", 50_000),
    ("durable / ceiling", ("ratio_durable_to_ceiling",), ">=", 0.8),
    ("p99 latency at 50% load (ms)", ("latency", "latency_ms", "p99"), "<", 200),
    ("p99 latency at 50% load over the soak (ms)", ("soak", "load", "latency_ms", "p99"), "<", 200),
)


def sparkline(values: list[float]) -> str:
    """One character per value, scaled between the smallest and the largest."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - lo) / span * len(SPARKS)))] for v in values)


def _get(results: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal with its measured value and whether it is met (None when not measured)."""
    out = []
    for name, path, op, target in TARGETS:
        value = _get(results, path)
        met = None if value is None else (value >= target if op == ">=" else value < target)
        out.append({"goal": name, "target": f"{op} {target:g}", "measured": value, "met": met})
    return out


def write_json(results: dict[str, Any], directory: Path) -> Path:
    """``<directory>/ingest-<date>.json`` (a second run the same day adds the time)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"ingest-{results['date'][:10]}.json"
    if path.exists():
        path = directory / f"ingest-{results['date'][:19].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _phase_row(name: str, phase: dict[str, Any] | None) -> str:
    if not phase:
        return f"| {name} | — | — | — | — | — |"
    lat = phase["latency_ms"]
    return (f"| {name} | {_num(phase['events_per_s'])} | {_num(lat['p50'], 1)} | {_num(lat['p99'], 1)} "
            f"| {_num(phase['server_cpu_cores'], 2)} | {_num(phase['generator_cpu_cores'], 2)} |")


def markdown(results: dict[str, Any]) -> str:
    """The summary printed at the end of a run."""
    cores, batch = results["machine"]["cores"], results["options"]["batch_size"]
    lines = [
        f"## yunying serve — ingestion benchmark ({results['date'][:19]}, {cores} cores, "
        f"batches of {batch}, PostHog /batch/)",
        "",
        "| run | events/s acknowledged | p50 ms | p99 ms | server CPU (cores) | generator CPU (cores) |",
        "|---|---:|---:|---:|---:|---:|",
        _phase_row("ceiling (--benchmark-discard), closed loop", results.get("ceiling")),
        _phase_row("durable, closed loop", results.get("durable")),
    ]
    latency = results.get("latency")
    if latency:
        lines.append(_phase_row(f"durable, open loop at {_num(latency['target_events_per_s'])} events/s",
                                latency))
    soak = results.get("soak")
    if soak:
        lines.append(_phase_row(f"soak, open loop, {soak['seconds']:g} s", soak["load"]))
    lines += ["", f"durable / ceiling: **{_num(results.get('ratio_durable_to_ceiling'), 2)}**"]
    if soak and soak["samples"]:
        rss = [s["rss_mb"] for s in soak["samples"]]
        lines += [
            "",
            f"Server RSS over the soak (every {soak['sample_seconds']:g} s): `{sparkline(rss)}`  "
            f"first {rss[0]:.0f} MB, last {rss[-1]:.0f} MB, max {max(rss):.0f} MB",
            "",
            "| minute | RSS MB (end) | events/s | p50 ms | p99 ms |",
            "|---:|---:|---:|---:|---:|",
        ]
        for row in soak["per_minute"]:
            lines.append(f"| {row['minute']} | {row['rss_mb']:.0f} | {_num(row['events_per_s'])} "
                         f"| {_num(row['p50_ms'], 1)} | {_num(row['p99_ms'], 1)} |")
    lines += ["", "| goal | target | measured | met |", "|---|---|---:|---|"]
    for t in results["targets"]:
        met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['goal']} | {t['target']} | {_num(t['measured'], 2)} | {met} |")
    return "\n".join(lines)
