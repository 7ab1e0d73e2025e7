# yunying — the front door. `make` alone lists the targets.
SHELL := /bin/bash
UV_VERSION := 0.13.9
PY := .venv/bin/python
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST := $(PY) -m pytest

.DEFAULT_GOAL := help
.PHONY: help install gbstats demo test test-spark test-crash test-ui java chromium lint bench bench-ingest clean

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

install: .venv/.installed ## set up .venv with the yunying command (uv, locked versions)

# GrowthBook's engine pins numpy<2 and pandas<2: it gets an environment of its own, built once.
.tools/gbstats/.installed: tests/gbstats-requirements.txt | $(UV)
	rm -rf .tools/gbstats
	$(UV) venv --quiet --python 3.11 .tools/gbstats
	$(UV) pip sync --quiet --compile-bytecode --python .tools/gbstats/bin/python tests/gbstats-requirements.txt
	@touch $@

gbstats: .tools/gbstats/.installed ## .tools/gbstats: GrowthBook's gbstats, the oracle of the statistics tests

demo: install ## build the demo store (2M events) and open the workbench on http://127.0.0.1:8000
	.venv/bin/yunying demo --events 2000000 --serve

test: install gbstats ## the fast tests: unit, property, API, real SDK clients (under ~10 minutes)
	YUNYING_REQUIRE_GBSTATS=1 $(PYTEST) -n 2 -m "not spark and not slow and not crash and not ui" tests

java:
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

test-spark: install java ## the same insights on Spark (local[2]) give identical results
	$(PYTEST) -m spark tests

# Debian's chromium (Playwright drives it; no browser download) and a CJK font for screenshots.
chromium:
	@command -v chromium >/dev/null && fc-list | grep -qi "wenquanyi\|noto sans cjk" || { \
	  apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

test-ui: install chromium ## the workbench in a real browser (Debian chromium + Playwright); screenshots in artifacts/ui
	$(PYTEST) -m ui tests

test-crash: install ## kill -9 the server under load, restart: every acknowledged event stored once
	$(PYTEST) -m crash tests

lint: install ## ruff
	.venv/bin/ruff check yunying tests bench

bench: install ## DuckDB (yunying) vs ClickHouse (chdb) at 1M and 10M events; workbench pages at 2M; an experiment at 10M users
	$(PY) -m bench.run --events 1000000 10000000
	$(PY) -m bench.pages
	$(PY) -m bench.experiments

bench-ingest: install ## capture throughput, latency and memory of yunying serve (PostHog format, loopback)
	$(PY) -m bench.ingest

clean: ## remove the environment and generated files
	rm -rf .venv .tools bench/data bench/results artifacts
