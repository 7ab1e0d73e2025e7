"""Hash assignment: the published vectors, a uniform split, minimal moves, SQL = Python, variants_for."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from scipy import stats

from yunying.experiments import create_experiment, set_status, variants_for
from yunying.experiments.assignment import (
    assign,
    assign_many,
    bucket,
    cumulative_weights,
    hash_value,
    variant_code_expr,
    variant_index,
)
from yunying.experiments.definition import parse_experiment
from yunying.store.connection import connect
from yunying.store.meta import Meta

DOCS = Path(__file__).resolve().parents[1] / "docs" / "experiments.md"
IDS = [f"user-{i}" for i in range(20_000)]


def _published_vectors() -> list[list[str]]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Assignment by hashing", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]


def test_the_documented_vectors_hold():
    vectors = _published_vectors()
    assert len(vectors) >= 6
    for key, user, hex_h, shown_bucket, two, three in vectors:
        assert f"{hash_value(key, user):016x}" == hex_h
        # the definition itself, independently of the module: SHA-256, first 8 bytes, big-endian
        assert hashlib.sha256(f"{key}:{user}".encode()).hexdigest()[:16] == hex_h
        assert f"{bucket(key, user):.6f}" == shown_bucket
        assert ["control", "green"][variant_index(key, user, [1, 1])] == two
        assert ["A", "B", "C"][variant_index(key, user, [1, 1, 2])] == three


def test_the_docs_python_snippet_agrees():
    section = DOCS.read_text(encoding="utf-8").split("## Assignment by hashing", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # the snippet any app may copy
    for weights in ([1, 1], [1, 1, 2], [0.1, 0.7, 0.2], [3, 1]):
        snippet = namespace["variant"]
        assert all(snippet("exp", u, weights) == variant_index("exp", u, weights) for u in IDS[:3000])


@pytest.mark.parametrize("weights", [[1, 1], [1, 1, 1, 1], [1, 2, 7], [0.05, 0.95]])
def test_the_split_follows_the_weights(weights):
    counts = [0] * len(weights)
    for u in IDS:
        counts[variant_index("split-test", u, weights)] += 1
    expected = [len(IDS) * w / sum(weights) for w in weights]
    assert stats.chisquare(counts, expected).pvalue > 0.001  # fixed ids: deterministic


def test_buckets_are_uniform():
    values = [bucket("uniform", u) for u in IDS]
    assert stats.kstest(values, "uniform").pvalue > 0.001
    assert all(0 <= v < 1 for v in values)


@pytest.mark.parametrize(("old", "new"), [([1, 1], [1, 3]), ([1, 1, 1], [1, 2, 1]), ([1, 1, 1], [2, 1, 1]),
                                          ([5, 5], [9, 1]), ([1, 1, 2], [1, 1, 1])])
def test_changing_weights_moves_only_the_users_it_must(old, new):
    """A user changes variant exactly when their bucket lies between an old boundary and its new
    place; with two variants that is the smallest possible share, |Δ weight share|."""
    before, after = cumulative_weights(old), cumulative_weights(new)
    moved = 0
    for u in IDS:
        b = bucket("moves", u)
        crossed = any(min(x, y) <= b < max(x, y) for x, y in zip(before, after, strict=True))
        changed = variant_index("moves", u, old) != variant_index("moves", u, new)
        assert changed == crossed, u
        moved += changed
    if len(old) == 2:
        share = abs(old[0] / sum(old) - new[0] / sum(new))
        assert abs(moved / len(IDS) - share) < 0.02


def test_assign_many_and_assign_agree():
    experiment = parse_experiment({"key": "bulk", "name": "b", "start": "2026-01-01",
                                   "variants": [{"key": "a"}, {"key": "b", "weight": 2}, {"key": "c"}],
                                   "metrics": {"primary": [{"key": "m", "kind": "count", "event": "x"}]}})
    many = assign_many("bulk", IDS[:2000], [("a", 1), ("b", 2), ("c", 1)])
    assert many == [assign(experiment, u) for u in IDS[:2000]]


@pytest.mark.parametrize("weights", [[1, 1], [1, 2, 7], [0.3, 0.3, 0.4], [1e-9, 1]])
def test_the_sql_expression_gives_the_python_answer(weights):
    """variant_code_expr compares hex prefixes as text; it must agree with the integer rule."""
    ids = [*IDS[:3000], "用户", "😀", "", "a:b", "x" * 300]
    store = connect(":memory:")
    table = ibis.memtable(pa.table({"id": ids}))
    found = store.backend.execute(table.select(code=variant_code_expr("sql", table.id, weights)))
    codes = found["code"].tolist()
    assert codes == [variant_index("sql", u, weights) for u in ids]
    store.close()


def test_variants_for_returns_the_running_hash_experiments_of_the_project():
    store = connect(":memory:")
    meta = Meta(store)

    def experiment(key: str, kind: str) -> dict:
        return {"key": key, "name": key, "start": "2026-01-01", "variants": [{"key": "a"}, {"key": "b"}],
                "assignment": {"kind": kind},
                "metrics": {"primary": [{"key": "m", "kind": "count", "event": "x"}]}}

    create_experiment(meta, 1, experiment("running-hash", "hash"))
    create_experiment(meta, 1, experiment("draft-hash", "hash"))
    create_experiment(meta, 1, experiment("running-flag", "exposure_event"))
    create_experiment(meta, 2, experiment("elsewhere", "hash"))
    for project, key in ((1, "running-hash"), (1, "running-flag"), (2, "elsewhere")):
        set_status(meta, project, key, "running")
    for user in ("user-1", "用户3"):
        expected = ["a", "b"][variant_index("running-hash", user, [1, 1])]
        assert variants_for(meta, 1, user) == {"running-hash": expected}
    assert set(variants_for(meta, 2, "user-1")) == {"elsewhere"}
    assert variants_for(meta, 3, "user-1") == {}
    meta.close()
    store.close()
