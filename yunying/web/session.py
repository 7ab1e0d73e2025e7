"""Who is asking: the browser session (cookie), its CSRF token, its roles; or a secret API key.

* The session cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` when the request came
  over https. Every state-changing request made with a session cookie must carry the
  session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``) and, when the
  browser sends one, an ``Origin`` of this server: a page elsewhere can not act for a user.
* The login form has no session yet: it uses a double-submit token (a cookie and the same
  value in the form).
* A member of project A gets 404 for anything of project B — the same answer as for a
  project that does not exist, so names do not leak. A role too low for an action gets 403.
* The JSON twins of the pages also accept a project's secret key (``Authorization:
  Bearer``), with viewer rights on that project only.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from yunying.store import Project
from yunying.store.accounts import Role, Session, role_at_least, roles_of, session
from yunying.web.errors import ApiError
from yunying.web.i18n import LANG_COOKIE, Translator, negotiate

SESSION_COOKIE = "yy_session"
LOGIN_CSRF_COOKIE = "yy_login_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, the API answers 401."""


@dataclass
class Viewer:
    """The person (or key) behind a request, and the words to answer them in."""

    session: Session | None
    token: str | None
    roles: dict[int, Role]
    t: Translator
    key_project: Project | None = None  # set when a secret API key authenticated the request
    form: dict[str, Any] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.session is not None or self.key_project is not None

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""

    def role(self, project: Project) -> Role | None:
        return self.roles.get(project.project_id)

    def can(self, project: Project, needed: Role) -> bool:
        return role_at_least(self.role(project), needed)


def identify(request: Request, state: Any) -> Viewer:
    """The viewer of ``request`` (signed in or not); never raises for a missing login."""
    token = request.cookies.get(SESSION_COOKIE)
    found = session(state.meta, token)
    account_locale = found.account.locale if found else None
    locale = negotiate(account_locale, request.cookies.get(LANG_COOKIE),
                       request.headers.get("accept-language"))
    roles = roles_of(state.meta, found.account) if found else {}
    viewer = Viewer(found, token if found else None, roles, Translator(locale))
    if found is None and request.headers.get("authorization"):
        try:
            project = state.keys.reading_project(request)
        except ApiError:
            return viewer
        viewer.key_project, viewer.roles = project, {project.project_id: "viewer"}
    return viewer


def require_login(viewer: Viewer) -> None:
    if not viewer.signed_in:
        raise LoginRequired()


def check_csrf(request: Request, viewer: Viewer, submitted: str | None) -> None:
    """Refuse a state-changing cookie request without this session's token (403)."""
    if request.method in SAFE_METHODS or viewer.session is None:
        return  # key-authenticated requests carry no ambient credential to forge
    origin = request.headers.get("origin")
    if origin and origin != _own_origin(request):
        raise ApiError(403, "bad_origin", "this request came from another site and was refused")
    token = submitted or request.headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(token, viewer.session.csrf_token):
        raise ApiError(403, "bad_csrf",
                       "the form expired or came from elsewhere; reload the page and try again")


def check_login_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not cookie or not hmac.compare_digest(cookie, submitted or ""):
        raise ApiError(403, "bad_csrf", "the login form expired; reload the page and try again")


def _own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}"


def project_for(state: Any, viewer: Viewer, name: str, needed: Role) -> Project:
    """The project ``name`` if the viewer may do ``needed`` there: 404 for non-members, 403 if too low."""
    require_login(viewer)
    project = next((p for p in state.projects() if p.name == name), None)
    if project is None or viewer.role(project) is None:
        raise ApiError(404, "not_found", viewer.t("error.no_project", name=name))
    if not viewer.can(project, needed):
        raise ApiError(403, "forbidden", viewer.t("error.role_needed", role=viewer.t(f"role.{needed}")))
    return project
