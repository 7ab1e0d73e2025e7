"""How a workbench page is declared once and served twice: as HTML and as its JSON twin.

    @page("/p/{project}/events", "events.html", need="viewer")
    def events(pc: PageContext) -> dict: ...          # the page's data, plain JSON values

serves ``GET /p/<name>/events`` (the template rendered with that data) and
``GET /api/v1/p/<name>/events`` (the same data as JSON). An ``@action`` is a POST that
changes something: it reads a form (or a JSON body on its ``/api/v1`` twin), is checked for
the role and the CSRF token, and answers with a redirect (HTML) or JSON.

Views run in a worker thread (they query DuckDB); they raise ApiError for anything the
user should be told, which becomes an error page or the JSON error envelope.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from yunying.insights import InsightError
from yunying.store import Project
from yunying.store.accounts import Role
from yunying.store.dashboards import NotFound
from yunying.web.errors import ApiError, envelope
from yunying.web.session import (
    LoginRequired,
    Viewer,
    check_csrf,
    identify,
    project_for,
    require_login,
)
from yunying.web.templating import render

API_PREFIX = "/api/v1"


@dataclass
class PageContext:
    """Everything a view may use: the request, the app state, who asks, the project."""

    request: Request
    state: Any
    viewer: Viewer
    project: Project | None
    form: dict[str, Any] = field(default_factory=dict)
    is_api: bool = False

    @property
    def t(self) -> Any:
        return self.viewer.t

    @property
    def params(self) -> Any:
        return self.request.query_params

    def url(self, path: str = "", **query: Any) -> str:
        """A URL inside the current project (``path`` relative to ``/p/<name>``)."""
        base = f"/p/{quote(self.project.name)}{path}" if self.project else path
        kept = {k: v for k, v in query.items() if v not in (None, "")}
        return base + ("?" + urlencode(kept) if kept else "")


@dataclass(frozen=True)
class Redirect:
    """What an action answers in HTML: go to ``url`` (the JSON twin returns ``data``)."""

    url: str
    data: dict[str, Any] = field(default_factory=dict)


View = Callable[[PageContext], Any]


@dataclass(frozen=True)
class Spec:
    path: str
    view: View
    template: str | None  # None: an action (POST)
    need: Role | None  # None: no project in the path (the viewer must still be signed in)
    raw: bool = False  # the view returns a Response itself (downloads)
    public: bool = False  # no login needed (a shared dashboard's link); the view checks its own token


SPECS: list[Spec] = []


def page(path: str, template: str, *, need: Role | None = "viewer",
         public: bool = False) -> Callable[[View], View]:
    """A GET page; ``public=True`` (with ``need=None``) serves it without a login."""
    def register(view: View) -> View:
        SPECS.append(Spec(path, view, template, need, public=public))
        return view
    return register


def action(path: str, *, need: Role | None = "analyst") -> Callable[[View], View]:
    def register(view: View) -> View:
        SPECS.append(Spec(path, view, None, need))
        return view
    return register


def download(path: str, *, need: Role | None = "viewer", public: bool = False) -> Callable[[View], View]:
    """A GET whose view returns a Response (a file); same checks as a page, no JSON twin."""
    def register(view: View) -> View:
        SPECS.append(Spec(path, view, None, need, raw=True, public=public))
        return view
    return register


def to_json_bytes(data: Any) -> bytes:
    return orjson.dumps(data, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    raise TypeError(f"not JSON: {type(value).__name__}")


async def _read_form(request: Request, is_api: bool) -> dict[str, Any]:
    if request.method in ("GET", "HEAD"):
        return {}
    content_type = request.headers.get("content-type", "")
    is_form = content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))
    if not is_form and (is_api or content_type.startswith("application/json")):
        body = await request.body()
        try:
            data = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "bad_json", "the body must be a JSON object")
        return data
    form = await request.form()
    return {k: (form.getlist(k) if len(form.getlist(k)) > 1 else form[k]) for k in form}


def _endpoint(spec: Spec, is_api: bool) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        state = request.app.state.yunying
        viewer = await run_in_threadpool(identify, request, state)
        try:
            # who may do this first (403/404 before the body is even read), then the body and its token
            pc = await run_in_threadpool(_context, request, state, viewer, spec, {}, is_api)
            pc.form = await _read_form(request, is_api)
            check_csrf(request, viewer, pc.form.pop("csrf_token", None))
            result = await run_in_threadpool(spec.view, pc)
            response = _answer(spec, pc, result, is_api)
        except LoginRequired:
            if is_api:
                response = _error(ApiError(401, "login_required",
                                           "sign in, or send a secret API key as 'Authorization: Bearer'"))
            else:
                response = RedirectResponse("/login?" + urlencode({"next": request.url.path}), 303)
        except ApiError as exc:
            response = _error(exc) if is_api else _error_page(request, viewer, exc)
        except (InsightError, ValueError) as exc:
            error = ApiError(400, "bad_request", str(exc), getattr(exc, "field", None))
            response = _error(error) if is_api else _error_page(request, viewer, error)
        except NotFound as exc:
            error = ApiError(404, "not_found", str(exc))
            response = _error(error) if is_api else _error_page(request, viewer, error)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
    return endpoint


def _context(request: Request, state: Any, viewer: Viewer, spec: Spec, form: dict[str, Any],
             is_api: bool) -> PageContext:
    name = request.path_params.get("project")
    project = None
    if name is not None:
        project = project_for(state, viewer, name, spec.need or "viewer")
    elif not spec.public:
        require_login(viewer)
    return PageContext(request, state, viewer, project, form, is_api)


def _answer(spec: Spec, pc: PageContext, result: Any, is_api: bool) -> Response:
    if spec.raw:
        return result
    if isinstance(result, Redirect):
        if is_api:
            return Response(to_json_bytes(result.data or {"ok": True}), media_type="application/json")
        return RedirectResponse(result.url, 303)
    if is_api or spec.template is None:
        return Response(to_json_bytes(result), media_type="application/json")
    return HTMLResponse(render(spec.template, pc, result))


def _error(exc: ApiError) -> Response:
    return Response(to_json_bytes(envelope(exc.code, exc.message, exc.field)), status_code=exc.status,
                    media_type="application/json", headers=exc.headers)


def _error_page(request: Request, viewer: Viewer, exc: ApiError) -> Response:
    pc = PageContext(request, request.app.state.yunying, viewer, None)
    return HTMLResponse(render("error.html", pc, {"status": exc.status, "code": exc.code,
                                                  "message": exc.message}), status_code=exc.status)


def page_routes() -> list[Route]:
    """Every registered page and action, with its JSON twin under /api/v1."""
    routes: list[Route] = []
    for spec in SPECS:
        methods = ["GET"] if spec.template or spec.raw else ["POST"]
        routes.append(Route(spec.path, _endpoint(spec, False), methods=methods))
        if not spec.raw:
            routes.append(Route(API_PREFIX + spec.path, _endpoint(spec, True), methods=methods))
    return routes
