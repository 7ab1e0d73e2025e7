"""The demo's workbench: a login, an ingestion key, the project's key numbers, a filled dashboard
and the running A/B test.

``setup_workbench(store, date_from, date_to)`` is idempotent: it creates what is missing and
leaves what exists (a dashboard someone rearranged stays as they left it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yunying.demo.build import DEMO_PROJECT
from yunying.demo.experiment import store_demo_experiment
from yunying.demo.model import FUNNEL_EVENTS, DemoExperiment
from yunying.demo.truth import FUNNEL_WINDOW
from yunying.insights import parse_document
from yunying.store import Store
from yunying.store.accounts import account_by_login, create_account, set_role
from yunying.store.dashboards import (
    add_tile,
    create_dashboard,
    dashboards,
    project_settings,
    save_insight,
    set_project_settings,
)
from yunying.store.keys import add_key, ingest_keys
from yunying.store.meta import Meta

DEMO_LOGIN = "demo"
DEMO_PASSWORD = "yunying-demo"  # the demo store is local (127.0.0.1); documented in docs/demo.md


@dataclass(frozen=True)
class DemoWorkbench:
    login: str
    password: str
    dashboard_id: int


def demo_tiles(date_from: str, date_to: str) -> list[tuple[str, dict[str, Any], int]]:
    """(name, document, width) of the demo dashboard's tiles; names in both languages."""
    span = {"date_from": date_from, "date_to": date_to}
    return [
        ("日活跃用户 Daily active users", {"kind": "trends", "interval": "day",
         "series": [{"event": "$any", "math": "unique_users"}], **span}, 2),
        ("购买漏斗（按渠道）Purchase funnel by channel", {"kind": "funnel", "window": FUNNEL_WINDOW,
         "breakdown": "channel", "steps": [{"event": e} for e in FUNNEL_EVENTS], **span}, 1),
        ("每日收入 Daily revenue", {"kind": "trends", "interval": "day",
         "series": [{"event": "pay", "math": "sum", "property": "amount"}], **span}, 1),
        ("周留存 Weekly retention", {"kind": "retention", "start_event": "app_open", "return_event": "$any",
         "period": "week", "periods": 6, **span}, 2),
        ("用户生命周期 Lifecycle", {"kind": "lifecycle", "event": "$any", "interval": "week", **span}, 1),
        ("粘性 Stickiness", {"kind": "stickiness", "event": "app_open", "interval": "day", **span}, 1),
        ("打开应用之后 Paths after app_open", {"kind": "paths", "event": "app_open", "direction": "after",
         "steps": 4, **span}, 2),
    ]


def setup_workbench(store: Store, date_from: str, date_to: str,
                    experiment: DemoExperiment | None = None) -> DemoWorkbench:
    """Create the demo login (admin of the demo project), its settings, its dashboard and its
    experiment (``experiment``: the model's A/B test, when the data was made with another)."""
    meta = Meta(store)
    try:
        project = store.project(DEMO_PROJECT)
        account = account_by_login(meta, DEMO_LOGIN) or create_account(
            meta, DEMO_LOGIN, DEMO_PASSWORD, display_name="演示 Demo", superuser=True)
        set_role(meta, project.project_id, account.account_id, "admin")
        if not ingest_keys(store, project):  # so the demo can receive events from an SDK right away
            add_key(store, project, "ingest")
        if not project_settings(meta, project.project_id):
            set_project_settings(meta, project.project_id, {
                "revenue_event": "pay", "revenue_property": "amount", "currency": "CNY",
                "conversion_steps": ["app_open", "pay"], "conversion_window": "1d"})
        store_demo_experiment(meta, project.project_id, date_from, date_to, account.account_id, experiment)
        existing = dashboards(meta, project.project_id)
        if existing:
            return DemoWorkbench(DEMO_LOGIN, DEMO_PASSWORD, existing[0].dashboard_id)
        board = create_dashboard(meta, project.project_id, "运营日报 Daily operations", account.account_id,
                                 date_range="last_30d")
        for name, document, width in demo_tiles(date_from, date_to):
            parse_document(document)  # a demo tile that does not validate is a bug, found here
            saved = save_insight(meta, project.project_id, name, document, account.account_id)
            add_tile(meta, project.project_id, board.dashboard_id, saved.insight_id, width)
        return DemoWorkbench(DEMO_LOGIN, DEMO_PASSWORD, board.dashboard_id)
    finally:
        meta.close()
