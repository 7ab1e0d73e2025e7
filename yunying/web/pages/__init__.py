"""The workbench's pages. Each module of this package declares its pages with ``@page`` /
``@action`` / ``@download`` (framework.py); importing it registers them, and every module
here is imported."""

from __future__ import annotations

import importlib
import pkgutil

from starlette.routing import Route

from yunying.web.pages.auth import auth_routes
from yunying.web.pages.framework import page_routes

# modules that declare no pages
_SUPPORT = {"auth", "common", "comparisons", "experiment_results", "framework", "inputs"}
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _SUPPORT:
        importlib.import_module(f"{__name__}.{_module}")


def workbench_routes() -> list[Route]:
    return auth_routes() + page_routes()
