"""Jinja2 templates of the workbench (autoescaped; every word through ``t``)."""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from yunying import __version__
from yunying.web.i18n import LOCALES

# The sidebar: (key of the words, path inside the project, role needed to see the entry).
NAV: tuple[tuple[str, str, str], ...] = (
    ("nav.overview", "/", "viewer"),
    ("nav.insights", "/insights", "viewer"),
    ("nav.dashboards", "/dashboards", "viewer"),
    ("nav.events", "/events", "viewer"),
    ("nav.users", "/users", "viewer"),
    ("nav.experiments", "/experiments", "viewer"),
    ("nav.abtest", "/abtest", "viewer"),
    ("nav.sql", "/sql", "analyst"),
    ("nav.data", "/data", "analyst"),
    ("nav.settings", "/settings", "admin"),
)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("yunying.web", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.globals.update(version=__version__, locales=LOCALES, nav=NAV)
    return env


def render(template: str, pc: Any, data: dict[str, Any]) -> str:
    """``template`` rendered with the view's ``data`` and what every page shows (nav, user, words)."""
    viewer = pc.viewer
    projects = [p for p in pc.state.projects() if p.project_id in viewer.roles]
    context = {
        "t": viewer.t, "viewer": viewer, "project": pc.project, "projects": projects,
        "role": viewer.role(pc.project) if pc.project else None,
        "csrf_token": viewer.csrf_token, "path": pc.request.url.path,
        "query": str(pc.request.url.query), "pc": pc, **data,
    }
    return environment().get_template(template).render(context)
