"""Identity through the writer: links merge persons exactly as docs/metrics.md ("Persons") says.

A brute-force model (plain dicts, one rule per line) replays the same requests; the store's
partition of distinct_ids into persons, which persons are identified, and the persons the
events are counted under must be the model's, for random sequences of logins, aliases,
merges and events.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yunying.ingest.batch import IdentityLink, IngestBatch, PersonOp
from yunying.ingest.identity import apply_op
from yunying.ingest.pipeline import Submission, Writer
from yunying.ingest.stats import IngestStats
from yunying.insights import run_query
from yunying.store.connection import connect
from yunying.store.keys import create_project_with_keys

NOW_US = 1_795_000_000_000_000
_uuids = (f"uuid-{i}" for i in itertools.count())


class Model:
    """The rules, written as plainly as possible."""

    def __init__(self) -> None:
        self.person: dict[str, int] = {}
        self.identified: set[int] = set()
        self.next = 0

    def new(self) -> int:
        self.next += 1
        return self.next

    def link(self, anon: str, user: str, kind: str) -> None:
        if anon == user:
            return
        pa, pu = self.person.get(anon), self.person.get(user)
        if pa is None and pu is None:
            p = self.new()
            self.person[anon] = self.person[user] = p
        elif pu is None:
            p = self.new() if pa in self.identified and kind != "merge" else pa
            self.person[user] = p
        elif pa is None:
            p = pu
            self.person[anon] = p
        elif pa == pu:
            p = pu
        elif pa in self.identified and kind != "merge":
            return
        else:
            p = pu
            for d, q in list(self.person.items()):
                if q == pa:
                    self.person[d] = pu
        self.identified.add(p)

    def event(self, distinct_id: str) -> None:
        if distinct_id not in self.person:
            self.person[distinct_id] = self.new()

    def partition(self) -> set[frozenset[str]]:
        groups: dict[int, set[str]] = {}
        for d, p in self.person.items():
            groups.setdefault(p, set()).add(d)
        return {frozenset(g) for g in groups.values()}

    def identified_groups(self) -> set[frozenset[str]]:
        return {g for g in self.partition() if self.person[next(iter(g))] in self.identified}


def _store():
    store = connect(":memory:")
    project, _ = create_project_with_keys(store, "p")
    return store, project, Writer(store, IngestStats())


def _commit(writer: Writer, project, batch: IngestBatch) -> None:
    results: list = []
    writer._commit_group([Submission(project, batch, "test", results.append)])
    assert results and not isinstance(results[0], BaseException), results


def _stored(store, project) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    rows = store.duckdb.execute(
        "SELECT p.distinct_id, p.person_id, coalesce(f.is_identified, false) FROM persons p "
        "LEFT JOIN person_profiles f USING (project_id, person_id) WHERE p.project_id = ?",
        [project.project_id]).fetchall()
    groups: dict[int, set[str]] = {}
    identified = set()
    for d, p, ident in rows:
        groups.setdefault(p, set()).add(d)
        if ident:
            identified.add(p)
    return ({frozenset(g) for g in groups.values()},
            {frozenset(g) for p, g in groups.items() if p in identified})


ids = st.sampled_from(["a1", "a2", "a3", "u1", "u2", "u3"])
step = st.one_of(
    st.tuples(st.just("event"), ids),
    st.tuples(st.sampled_from(["identify", "alias", "merge"]), ids, ids),
)


@given(requests=st.lists(st.lists(step, min_size=1, max_size=4), min_size=1, max_size=6))
def test_persons_match_the_model(requests):
    store, project, writer = _store()
    model = Model()
    for request in requests:
        batch = IngestBatch(messages=len(request))
        for i, s in enumerate(request):
            if s[0] == "event":
                batch.add_event(i, uuid=next(_uuids), event="e", distinct_id=s[1],
                                timestamp_us=NOW_US, properties={}, now_us=NOW_US)
            else:
                batch.links.append(IdentityLink(s[1], s[2], s[0], i))
        for link in batch.links:  # the writer applies a request's links before its events
            model.link(link.anon_id, link.user_id, link.kind)
        for d in batch.distinct_id:
            model.event(d)
        _commit(writer, project, batch)
    partition, identified = _stored(store, project)
    assert partition == model.partition()
    assert identified == model.identified_groups()
    # every event is counted under the person its distinct_id belongs to now
    rows = store.duckdb.execute(
        "SELECT e.distinct_id, e.person_id = p.person_id FROM events e JOIN persons p "
        "USING (project_id, distinct_id)").fetchall()
    assert all(same for _, same in rows)
    if rows:
        day = dt.datetime.fromtimestamp(NOW_US / 1e6, dt.UTC).date().isoformat()
        result = run_query(store, project, {
            "kind": "trends", "series": [{"event": "e", "math": "unique_users"}],
            "date_from": day, "date_to": day, "interval": "day", "timezone": "UTC"}).to_json()
        persons_with_events = {model.person[d] for d, _ in rows}
        assert result["series"][0]["total"] == len(persons_with_events)


def test_two_identified_persons_are_not_merged_by_a_login():
    store, project, writer = _store()
    batch = IngestBatch()
    batch.links += [IdentityLink("phone", "alice", "identify", 0),
                    IdentityLink("laptop", "bob", "identify", 1)]
    _commit(writer, project, batch)
    refused = IngestBatch()
    refused.links.append(IdentityLink("phone", "bob", "identify", 0))  # a shared device
    _commit(writer, project, refused)
    partition, _ = _stored(store, project)
    assert partition == {frozenset({"phone", "alice"}), frozenset({"laptop", "bob"})}
    assert writer.stats.project(project.project_id).links_refused == 1
    forced = IngestBatch()
    forced.links.append(IdentityLink("alice", "bob", "merge", 0))  # explicit, with the secret key
    _commit(writer, project, forced)
    assert _stored(store, project)[0] == {frozenset({"phone", "alice", "laptop", "bob"})}


def test_merge_keeps_the_surviving_persons_properties():
    store, project, writer = _store()
    batch = IngestBatch()
    batch.add_event(0, uuid="x", event="e", distinct_id="anon", timestamp_us=NOW_US,
                    properties={}, now_us=NOW_US)
    batch.add_event(1, uuid="y", event="e", distinct_id="user", timestamp_us=NOW_US,
                    properties={}, now_us=NOW_US)
    batch.person_ops += [PersonOp("anon", "set", {"city": "杭州", "plan": "free"}, 0),
                         PersonOp("user", "set", {"plan": "pro"}, 1)]
    _commit(writer, project, batch)
    login = IngestBatch()
    login.links.append(IdentityLink("anon", "user", "identify", 0))
    _commit(writer, project, login)
    rows = store.duckdb.execute("SELECT is_identified, properties FROM person_profiles").fetchall()
    assert rows == [(True, '{"city":"杭州","plan":"pro"}')]
    assert store.duckdb.execute("SELECT count(DISTINCT person_id) FROM events").fetchone() == (1,)


@pytest.mark.parametrize(("before", "op", "values", "after"), [
    ({"a": 1}, "set", {"a": 2, "b": 3}, {"a": 2, "b": 3}),
    ({"a": 1}, "set_once", {"a": 2, "b": 3}, {"a": 1, "b": 3}),
    ({"a": 1, "b": 2}, "unset", {"a": None}, {"b": 2}),
    ({"n": 2, "s": "x"}, "add", {"n": 3, "s": 1, "m": 1.5}, {"n": 5, "s": 1, "m": 1.5}),
    ({"l": [1], "s": "x"}, "append", {"l": 2, "s": "y", "new": 1},
     {"l": [1, 2], "s": ["x", "y"], "new": [1]}),
    ({"l": [1, 2]}, "union", {"l": [2, 3]}, {"l": [1, 2, 3]}),
    ({"l": [1, 2, 1], "s": "x"}, "remove", {"l": 1, "s": "x"}, {"l": [2], "s": "x"}),
    ({"a": 1}, "delete", {}, {}),
])
def test_person_operations(before, op, values, after):
    assert apply_op(before, PersonOp("d", op, values, 0)) == after


def test_a_failed_commit_leaves_no_person_behind(monkeypatch):
    from yunying.ingest import identity

    store, project, writer = _store()
    batch = IngestBatch()
    batch.add_event(0, uuid="x", event="e", distinct_id="new-user", timestamp_us=NOW_US,
                    properties={}, now_us=NOW_US)
    batch.person_ops.append(PersonOp("new-user", "set", {"a": 1}, 0))
    real = identity.apply_person_ops

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(identity, "apply_person_ops", broken)
    failed: list = []
    writer._commit_group([Submission(project, batch, "test", failed.append)])
    assert isinstance(failed[0], RuntimeError)
    assert store.duckdb.execute("SELECT count(*) FROM persons").fetchall() == [(0,)]
    assert writer.stats.project(project.project_id).stored == 0  # counted only once durable
    monkeypatch.setattr(identity, "apply_person_ops", real)
    _commit(writer, project, batch)
    rows = store.duckdb.execute(
        "SELECT p.person_id, e.person_id FROM persons p JOIN events e USING (distinct_id)").fetchall()
    assert rows == [(1, 1)]  # the rolled-back person id is not skipped or reused wrongly
    assert writer.stats.project(project.project_id).stored == 1
    assert writer.stats.project(project.project_id).persons_created == 1
