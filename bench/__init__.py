"""``make bench``: yunying (DuckDB + numba) against ClickHouse (chdb) on the same events.

``python -m bench.run --events 1000000 10000000`` generates demo events with yunying's own
generator (cached in ``bench/data/``), loads them into a yunying store and a ClickHouse
MergeTree table, runs trend / funnel / retention on both with the same definitions
(docs/metrics.md), checks the numbers agree and times them side by side. See
docs/benchmarks.md.
"""
