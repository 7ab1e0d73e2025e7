"""Signing in and out, the language switch, the front door and the static files."""

from __future__ import annotations

import secrets
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from yunying.store.accounts import authenticate, close_session, open_session, set_locale
from yunying.web.errors import ApiError
from yunying.web.i18n import LANG_COOKIE, LOCALES
from yunying.web.pages.framework import PageContext
from yunying.web.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    check_login_csrf,
    identify,
)
from yunying.web.templating import render

YEAR_SECONDS = 365 * 86_400
_STATIC = Path(str(resources.files("yunying.web") / "static"))


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never ``//evil.example`` or a full URL) — no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def login_form(request: Request) -> Response:
    state = request.app.state.yunying
    viewer = await run_in_threadpool(identify, request, state)
    lang = request.query_params.get("lang")
    next_path = _safe_next(request.query_params.get("next"))
    if viewer.session is not None and lang is None:
        return RedirectResponse(next_path, 303)
    return _login_page(request, state, viewer, next_path, failed=False, lang=lang)


def _login_page(request: Request, state: Any, viewer: Any, next_path: str, *, failed: bool,
                lang: str | None = None, login: str = "") -> Response:
    if lang in LOCALES:
        viewer.t = type(viewer.t)(lang)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    pc = PageContext(request, state, viewer, None)
    body = render("login.html", pc,
                  {"login_csrf": token, "next": next_path, "failed": failed, "login": login})
    response = HTMLResponse(body, status_code=401 if failed else 200)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request))
    if lang in LOCALES:
        response.set_cookie(LANG_COOKIE, lang, max_age=YEAR_SECONDS, samesite="lax", secure=_secure(request))
    return response


async def login(request: Request) -> Response:
    state = request.app.state.yunying
    form = await request.form()
    next_path = _safe_next(str(form.get("next", "")))
    try:
        check_login_csrf(request, str(form.get("csrf_token", "")))
    except ApiError:
        return RedirectResponse("/login?next=" + quote(next_path), 303)
    name, password = str(form.get("login", "")), str(form.get("password", ""))
    account = await run_in_threadpool(authenticate, state.meta, name, password)
    if account is None:
        viewer = await run_in_threadpool(identify, request, state)
        return _login_page(request, state, viewer, next_path, failed=True, login=name)
    token, _ = await run_in_threadpool(open_session, state.meta, account)
    response = RedirectResponse(next_path, 303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request),
                        max_age=None)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


async def _checked_form(request: Request) -> tuple[Any, Any, Any, bool]:
    """(state, viewer, form, whether the form carries this session's CSRF token)."""
    state = request.app.state.yunying
    viewer = await run_in_threadpool(identify, request, state)
    form = await request.form()
    try:
        check_csrf(request, viewer, str(form.get("csrf_token", "")))
    except ApiError:
        return state, viewer, form, False
    return state, viewer, form, True


async def logout(request: Request) -> Response:
    state, viewer, _, ok = await _checked_form(request)
    if not ok:
        return RedirectResponse("/", 303)
    await run_in_threadpool(close_session, state.meta, viewer.token)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def switch_language(request: Request) -> Response:
    """Remember the language (cookie, and the account's setting when signed in)."""
    state, viewer, form, ok = await _checked_form(request)
    lang = str(form.get("lang", ""))
    next_path = _safe_next(str(form.get("next", "")))
    if not ok:
        return RedirectResponse(next_path, 303)
    response = RedirectResponse(next_path, 303)
    if lang in LOCALES:
        if viewer.session:
            await run_in_threadpool(set_locale, state.meta, viewer.session.account.account_id, lang)
        response.set_cookie(LANG_COOKIE, lang, max_age=YEAR_SECONDS, samesite="lax", secure=_secure(request))
    return response


async def front_door(request: Request) -> Response:
    """``/``: the first project the viewer belongs to, or the login form."""
    state = request.app.state.yunying
    viewer = await run_in_threadpool(identify, request, state)
    if viewer.session is None:
        return RedirectResponse("/login", 303)
    mine = [p for p in state.projects() if p.project_id in viewer.roles]
    if not mine:
        pc = PageContext(request, state, viewer, None)
        return HTMLResponse(render("error.html", pc, {"status": 403, "code": "no_projects",
                                                      "message": viewer.t("error.no_projects")}), 403)
    return RedirectResponse(f"/p/{quote(mine[0].name)}/", 303)


async def go_to_project(request: Request) -> Response:
    """The project switcher (a GET form): ``/go?project=NAME``."""
    return RedirectResponse(f"/p/{quote(request.query_params.get('project', ''))}/", 303)


async def static(request: Request) -> Response:
    """The workbench's CSS/JS, and plotly.js from the installed ``plotly`` package (offline)."""
    name = request.path_params["name"]
    if name == "plotly.min.js":
        path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    elif name in {p.name for p in _STATIC.iterdir()}:
        path = _STATIC / name
    else:
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


def auth_routes() -> list[Route]:
    return [
        Route("/", front_door, methods=["GET"]),
        Route("/go", go_to_project, methods=["GET"]),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang", switch_language, methods=["POST"]),
        Route("/static/{name}", static, methods=["GET"]),
    ]
