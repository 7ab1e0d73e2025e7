"""The docs keep up with the code: every kind, setting and command is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from yunying.cli import app
from yunying.insights import REGISTRY
from yunying.settings import SETTINGS

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_kind_is_defined_and_documented(kind):
    assert f"## {kind}" in (DOCS / "api.md").read_text(encoding="utf-8")
    assert f"## {kind}" in (DOCS / "metrics.md").read_text(encoding="utf-8").lower()


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_documented_field_exists(kind):
    model = REGISTRY[kind][0]
    schema = model.model_json_schema()
    assert {"kind", "date_from", "date_to", "timezone", "filters"} <= set(schema["properties"])
    result = CliRunner().invoke(app, ["schema", kind])
    assert result.exit_code == 0 and '"date_from"' in result.output


def test_every_setting_has_help_and_a_typed_default():
    for setting in SETTINGS:
        assert setting.help.endswith(".") and isinstance(setting.default, setting.type)


def test_settings_command_lists_every_setting(monkeypatch):
    from yunying.cli import common

    monkeypatch.setenv("YUNYING_DEDUP_WINDOW_DAYS", "9")
    monkeypatch.setattr(common.console, "width", 240)  # a wide terminal: one row per setting
    result = CliRunner().invoke(app, ["settings"])
    assert result.exit_code == 0
    for setting in SETTINGS:
        assert f"YUNYING_{setting.name.upper()}" in result.output
    assert "9" in result.output.split("YUNYING_DEDUP_WINDOW_DAYS", 1)[1].splitlines()[0]


def test_readme_quick_start_is_the_two_commands():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make demo" in quick and "make test" in quick


def test_every_capture_path_and_api_route_is_documented():
    from yunying.ingest.formats import registry

    ingest = (DOCS / "ingest.md").read_text(encoding="utf-8")
    for fmt in registry():
        for path in fmt.paths:
            assert f"`{path.rstrip('/')}" in ingest, path
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    from yunying.web.api import api_routes

    routes = [r.path for r in api_routes(None)]  # the routes are built without touching the state
    assert "/api/v1/experiments/variants" in routes
    for route in (*routes, "/api/v1/events"):
        assert f"`{route}" in api or f"{route}?" in api or f" {route}`" in api, route


def test_every_server_setting_is_documented_for_the_server():
    ingest = (DOCS / "ingest.md").read_text(encoding="utf-8")
    for name in ("max_body_bytes", "max_decoded_bytes", "commit_interval_ms", "commit_max_events",
                 "max_pending_events", "dedup_window_days", "future_tolerance_seconds", "query_timeout_ms",
                 "person_cache_size", "server_memory_limit", "checkpoint_wal_bytes"):
        assert f"`{name}`" in ingest
