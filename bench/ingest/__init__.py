"""``make bench-ingest``: throughput, latency and memory of ``yunying serve`` (PostHog ``/batch/``, loopback).

``python -m bench.ingest`` measures, each run against its own server process and store:

1. the sustained rate of *durable* acknowledgements (HTTP 200 only after the commit reached
   the disk) and the same against ``yunying serve --benchmark-discard`` (HTTP + parsing only,
   the ceiling of the machine), and their ratio;
2. p50 / p99 acknowledge latency at half the durable rate, open loop (requests leave at a
   fixed rate; latency runs from each request's scheduled time);
3. the server's resident memory over a soak at the same load.

The load generator posts pre-built requests over raw keep-alive connections so that it
takes little of the CPU it shares with the server; its own CPU time is measured and reported.
Results go to ``bench/results/ingest-<date>.json`` and a markdown summary to stdout. See
docs/ingest-benchmark.md.
"""
