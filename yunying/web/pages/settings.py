"""Project settings (设置): general facts, the overview's key numbers, keys, members; new projects.

Everything under ``/p/<name>/settings`` needs the project's admin role; ``/projects/new``
needs a superuser. A secret key (and the keys of a new project) is shown once: the action
keeps it in memory for the session that made it, for a few minutes, and the page it
redirects to takes it out and shows it — reloading that page shows it no more, and the
store keeps only its SHA-256. Validation errors travel the same way (with the values that
were entered, never a password) so the form shows them next to their field; the JSON twins
answer them with the error envelope naming the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from yunying.insights.documents import parse_window_seconds
from yunying.store.accounts import (
    MIN_PASSWORD_LENGTH,
    ROLES,
    AccountError,
    account_by_login,
    create_account,
    members,
    remove_member,
    set_role,
)
from yunying.store.connection import validate_timezone
from yunying.store.dashboards import project_settings, set_project_settings
from yunying.store.keys import add_key, create_project_with_keys, revoke_key
from yunying.store.keys import key_rows as keys_of
from yunying.web.errors import ApiError
from yunying.web.pages.framework import PageContext, Redirect, action, page

CURRENCIES = ("CNY", "USD")
DEFAULT_TIMEZONE = "Asia/Shanghai"
COMMON_TIMEZONES = (
    "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Asia/Seoul",
    "Asia/Bangkok", "Asia/Jakarta", "Asia/Kolkata", "Asia/Dubai", "Europe/London", "Europe/Paris",
    "Europe/Berlin", "Europe/Moscow", "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Sao_Paulo", "Australia/Sydney", "Pacific/Auckland", "UTC",
)
MAX_STEPS = 20  # the overview's conversion funnel takes 2-20 steps
MAX_NAME = 400  # event names and property keys (the query documents' limit)
SAMPLE_DAYS = 7  # the datalists look at the project's last days of data only (no full scan)
SAMPLE_PROPERTIES = 1_000
LIST_LIMIT = 200
SECTIONS = ("general", "numbers", "keys", "members")


# ---------------------------------------------------------------- shown once
# What an action hands to the page it redirects to, for that session only: new keys (shown
# once), validation errors with the values entered. Kept in this process's memory.
ONCE_SECONDS = 600
_ONCE_MAX = 1_000
_once: dict[str, tuple[str, float, dict[str, Any]]] = {}
_once_lock = threading.Lock()


def _binding(pc: PageContext) -> str:
    return hashlib.sha256(pc.viewer.csrf_token.encode()).hexdigest()


def keep_once(pc: PageContext, payload: dict[str, Any]) -> str:
    """Keep ``payload`` for the next page of this session; the id to put in its URL."""
    nonce = secrets.token_urlsafe(16)
    now = time.monotonic()
    with _once_lock:
        for old in [k for k, (_, expires, _) in _once.items() if expires < now]:
            del _once[old]
        while len(_once) >= _ONCE_MAX:
            del _once[next(iter(_once))]
        _once[nonce] = (_binding(pc), now + ONCE_SECONDS, payload)
    return nonce


def take_once(pc: PageContext) -> dict[str, Any]:
    """What the action before kept for this page (``?once=``), removed as it is taken."""
    nonce = pc.params.get("once")
    if not nonce:
        return {}
    with _once_lock:
        entry = _once.get(nonce)
        if entry is None or entry[0] != _binding(pc) or entry[1] < time.monotonic():
            return {}
        del _once[nonce]
    return entry[2]


class Refused(Exception):
    """Form fields that cannot be saved as entered: {field: message} (JSON: ``status``, ``code``)."""

    def __init__(self, errors: dict[str, str], status: int = 400, code: str = "invalid") -> None:
        super().__init__(next(iter(errors.values())))
        self.errors, self.status, self.code = errors, status, code


def _refused(pc: PageContext, exc: Refused, back: str, section: str, values: dict[str, Any]) -> Redirect:
    """JSON: the error envelope naming the field. HTML: back to the form, the errors by their fields."""
    field, message = next(iter(exc.errors.items()))
    if pc.is_api:
        raise ApiError(exc.status, exc.code, message, field)
    nonce = keep_once(pc, {"errors": exc.errors, "values": values, "section": section})
    return Redirect(f"{back}?once={quote(nonce)}#{section}")


def _settings_url(pc: PageContext, section: str, **query: Any) -> str:
    return pc.url("/settings", **query) + f"#{section}"


def _text(form: dict[str, Any], name: str, limit: int = MAX_NAME) -> str:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value if value is not None else "").strip()[:limit + 1]


# ---------------------------------------------------------------- reads
def _local(value: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    """A stored (naive UTC) time in the project's time zone."""
    return None if value is None else value.replace(tzinfo=dt.UTC).astimezone(zone)


def key_rows(pc: PageContext) -> list[dict[str, Any]]:
    """Every key of the project, oldest first: kind, id (its SHA-256), public key, created, revoked."""
    assert pc.project is not None
    zone = ZoneInfo(pc.project.timezone)
    return [{"kind": k.kind, "id": k.key_sha256, "key": k.public_key if k.kind == "ingest" else None,
             "created_at": _local(k.created_at, zone), "revoked_at": _local(k.revoked_at, zone)}
            for k in keys_of(pc.state.meta, pc.project.project_id)]


def suggestions(pc: PageContext, event: str | None) -> tuple[list[str], list[str]]:
    """(event names, property keys) seen in the project's last days of data, most frequent first.

    For the datalists of the key-number form. Only the last ``SAMPLE_DAYS`` before the latest
    event are read (a time bound on an insertion-ordered table skips the older row groups) and
    property keys come from at most ``SAMPLE_PROPERTIES`` events (of ``event`` when given).
    """
    assert pc.project is not None
    pid = pc.project.project_id

    def work(reader: Any) -> tuple[list[str], list[str]]:
        con = reader.duckdb
        last = con.execute("SELECT max(timestamp) FROM events WHERE project_id = ?", [pid]).fetchall()[0][0]
        if last is None:
            return [], []
        since = last - dt.timedelta(days=SAMPLE_DAYS)
        names = con.execute(
            "SELECT event FROM events WHERE project_id = ? AND timestamp >= ? "
            "GROUP BY event ORDER BY count(*) DESC, event LIMIT ?", [pid, since, LIST_LIMIT]).fetchall()
        keys = con.execute(
            "SELECT k FROM (SELECT unnest(json_keys(properties)) AS k FROM (SELECT properties FROM events "
            "WHERE project_id = ? AND timestamp >= ? AND (event = ? OR ? IS NULL) LIMIT ?)) "
            "GROUP BY k ORDER BY count(*) DESC, k LIMIT ?",
            [pid, since, event, event, SAMPLE_PROPERTIES, LIST_LIMIT]).fetchall()
        return [r[0] for r in names], [r[0] for r in keys]

    return pc.state.reads.call(work)


def snippets(pc: PageContext, key: str) -> dict[str, str]:
    """How each SDK is pointed at this server with ``key`` (the forms of docs/ingest.md)."""
    assert pc.project is not None
    host = str(pc.request.base_url).rstrip("/")
    name = quote(pc.project.name, safe="")
    return {
        "posthog": f'from posthog import Posthog\n\nposthog = Posthog("{key}", host="{host}")',
        "segment": f'from segment.analytics import Client\n\nanalytics = Client("{key}", host="{host}")',
        "mixpanel": (f'from mixpanel import Consumer, Mixpanel\n\n'
                     f'mp = Mixpanel("{key}", consumer=Consumer(\n'
                     f'    events_url="{host}/track", people_url="{host}/engage",\n'
                     f'    import_url="{host}/import", groups_url="{host}/groups"))'),
        "sensors": (f'import sensorsanalytics\n\nsa = sensorsanalytics.SensorsAnalytics(\n'
                    f'    sensorsanalytics.DefaultConsumer("{host}/sa?project={name}&token={key}"))'),
        "http": (f'curl -X POST {host}/api/v1/events -H "Authorization: Bearer {key}" \\\n'
                 f'  -H "Content-Type: application/json" \\\n'
                 f'  -d \'{{"events": [{{"event": "app_open", "distinct_id": "user-42"}}]}}\''),
    }


def _numbers(saved: dict[str, Any]) -> dict[str, Any]:
    return {"revenue_event": saved.get("revenue_event") or "",
            "revenue_property": saved.get("revenue_property") or "",
            "currency": saved.get("currency") or "CNY",
            "conversion_steps": list(saved.get("conversion_steps") or []),
            "conversion_window": saved.get("conversion_window") or "1d"}


def _created_at(pc: PageContext) -> dt.datetime | None:
    assert pc.project is not None
    created = pc.state.meta.value("SELECT created_at FROM projects WHERE project_id = ?",
                                  [pc.project.project_id])
    return _local(created, ZoneInfo(pc.project.timezone))


@page("/p/{project}/settings", "settings.html", need="admin")
def settings_page(pc: PageContext) -> dict[str, Any]:
    assert pc.project is not None
    once = take_once(pc)
    numbers = _numbers(project_settings(pc.state.meta, pc.project.project_id))
    entered = once.get("values") if once.get("section") == "numbers" else None
    keys = key_rows(pc)
    for row in keys:
        if row["kind"] == "ingest" and row["revoked_at"] is None:
            row["snippets"] = snippets(pc, row["key"])
    me = pc.viewer.session.account.account_id if pc.viewer.session else None
    names, properties = suggestions(pc, numbers["revenue_event"] or None)
    return {
        "general": {"name": pc.project.name, "timezone": pc.project.timezone, "created_at": _created_at(pc)},
        "numbers": numbers,
        "entered": entered or numbers,
        "currencies": list(CURRENCIES),
        "event_names": names,
        "property_keys": properties,
        "ingest_keys": [k for k in keys if k["kind"] == "ingest"],
        "secret_keys": [k for k in keys if k["kind"] == "secret"],
        "revealed": once.get("revealed", []),
        "members": [{"account_id": a.account_id, "login": a.login, "display_name": a.display_name,
                     "role": role, "superuser": a.is_superuser, "you": a.account_id == me}
                    for a, role in members(pc.state.meta, pc.project.project_id)],
        "roles": list(ROLES),
        "errors": once.get("errors", {}),
        "error_section": once.get("section"),
        "values": once.get("values", {}),
        "notice": pc.params.get("notice") if pc.params.get("notice") in NOTICES else None,
        "min_password": MIN_PASSWORD_LENGTH,
    }


NOTICES = ("numbers_saved", "key_created", "key_revoked", "member_added", "member_created",
           "role_changed", "member_removed", "project_created")


# ---------------------------------------------------------------- key numbers
def _steps(value: Any) -> list[str]:
    """The conversion steps of a form (several fields, or one text of names split by , or lines)."""
    if isinstance(value, str):
        value = re.split(r"[,\n，]", value)
    if not isinstance(value, list):
        return []
    return [str(v).strip() for v in value if str(v).strip()]


def check_numbers(pc: PageContext, form: dict[str, Any]) -> dict[str, Any]:
    """The key-number settings of ``form``, or Refused naming each bad field."""
    t = pc.t
    errors: dict[str, str] = {}
    event, prop = _text(form, "revenue_event"), _text(form, "revenue_property")
    currency = _text(form, "currency") or "CNY"
    steps = _steps(form.get("conversion_steps"))
    window = _text(form, "conversion_window") or "1d"
    if len(event) > MAX_NAME:
        errors["revenue_event"] = t("settings.error.too_long", limit=MAX_NAME)
    if len(prop) > MAX_NAME:
        errors["revenue_property"] = t("settings.error.too_long", limit=MAX_NAME)
    elif event and not prop:
        errors["revenue_property"] = t("settings.error.property_needed")
    if currency not in CURRENCIES:
        errors["currency"] = t("settings.error.currency", choices=" / ".join(CURRENCIES))
    if len(steps) == 1:
        errors["conversion_steps"] = t("settings.error.steps_few")
    elif len(steps) > MAX_STEPS or any(len(s) > MAX_NAME for s in steps):
        errors["conversion_steps"] = t("settings.error.steps_many", limit=MAX_STEPS)
    try:
        parse_window_seconds(window)
    except ValueError:
        errors["conversion_window"] = t("settings.error.window", window=window[:40])
    if errors:
        raise Refused(errors)
    return {"revenue_event": event or None, "revenue_property": prop or None, "currency": currency,
            "conversion_steps": steps or None, "conversion_window": window}


@action("/p/{project}/settings/numbers", need="admin")
def save_numbers(pc: PageContext) -> Redirect:
    assert pc.project is not None
    try:
        values = check_numbers(pc, pc.form)
    except Refused as exc:
        entered = {"revenue_event": _text(pc.form, "revenue_event"),
                   "revenue_property": _text(pc.form, "revenue_property"),
                   "currency": _text(pc.form, "currency"),
                   "conversion_steps": _steps(pc.form.get("conversion_steps")),
                   "conversion_window": _text(pc.form, "conversion_window")}
        return _refused(pc, exc, pc.url("/settings"), "numbers", entered)
    set_project_settings(pc.state.meta, pc.project.project_id, values)
    saved = _numbers(project_settings(pc.state.meta, pc.project.project_id))
    return Redirect(_settings_url(pc, "numbers", notice="numbers_saved"), {"ok": True, "settings": saved})


# ---------------------------------------------------------------- keys
def _new_key(pc: PageContext, kind: str) -> Redirect:
    assert pc.project is not None
    key = add_key(pc.state.store.cursor_store(), pc.project, kind)  # type: ignore[arg-type]
    pc.state.reload()  # the server accepts the key from the next request on
    if pc.is_api:
        return Redirect("", {"kind": kind, "key": key})
    nonce = keep_once(pc, {"revealed": [{"kind": kind, "key": key}]})
    return Redirect(_settings_url(pc, "keys", notice="key_created", once=nonce))


@action("/p/{project}/settings/keys/ingest", need="admin")
def new_ingest_key(pc: PageContext) -> Redirect:
    return _new_key(pc, "ingest")


@action("/p/{project}/settings/keys/secret", need="admin")
def new_secret_key(pc: PageContext) -> Redirect:
    return _new_key(pc, "secret")


@action("/p/{project}/settings/keys/revoke", need="admin")
def revoke(pc: PageContext) -> Redirect:
    kind, key_id = _text(pc.form, "kind"), _text(pc.form, "id", 64)
    if kind not in ("ingest", "secret") or not re.fullmatch(r"[0-9a-f]{64}", key_id):
        raise ApiError(400, "invalid", pc.t("settings.error.no_key"), "id")
    if not revoke_key(pc.state.meta, pc.project.project_id, kind, key_id):  # type: ignore[union-attr,arg-type]
        raise ApiError(404, "not_found", pc.t("settings.error.no_key"), "id")
    pc.state.reload()  # refused from the next request on
    return Redirect(_settings_url(pc, "keys", notice="key_revoked"), {"ok": True, "revoked": key_id})


# ---------------------------------------------------------------- members
def _role(pc: PageContext) -> str:
    role = _text(pc.form, "role")
    if role not in ROLES:
        raise Refused({"role": pc.t("settings.error.role", choices=", ".join(ROLES))})
    return role


def _member(pc: PageContext) -> tuple[Any, str]:
    """The member the form names by ``account_id`` (an account of this project), with its role."""
    assert pc.project is not None
    raw = _text(pc.form, "account_id", 20)
    for account, role in members(pc.state.meta, pc.project.project_id):
        if raw.isdigit() and account.account_id == int(raw):
            return account, role
    raise ApiError(404, "not_found", pc.t("settings.error.no_member"), "account_id")


def _keeps_an_admin(pc: PageContext, account: Any, role: str, new_role: str | None) -> None:
    """Refused (409) if the change would leave the project without an admin member."""
    assert pc.project is not None
    if role != "admin" or new_role == "admin":
        return
    admins = [a for a, r in members(pc.state.meta, pc.project.project_id) if r == "admin"]
    if len(admins) <= 1:
        you = pc.viewer.session is not None and pc.viewer.session.account.account_id == account.account_id
        message = pc.t("settings.error.last_admin_you" if you else "settings.error.last_admin",
                       login=account.login)
        raise Refused({"account_id": message}, 409, "last_admin")


def _after_change(pc: PageContext, account: Any, notice: str, data: dict[str, Any]) -> Redirect:
    """Back to the members; to the front door if the viewer just gave up their own admin role."""
    assert pc.project is not None
    me = pc.viewer.session.account if pc.viewer.session else None
    if me is not None and me.account_id == account.account_id and not me.is_superuser:
        role = next((r for a, r in members(pc.state.meta, pc.project.project_id)
                     if a.account_id == me.account_id), None)
        if role != "admin":
            return Redirect(pc.url("/") if role else "/", data)
    return Redirect(_settings_url(pc, "members", notice=notice), data)


@action("/p/{project}/settings/members/role", need="admin")
def change_role(pc: PageContext) -> Redirect:
    assert pc.project is not None
    account, role = _member(pc)
    try:
        new_role = _role(pc)
        _keeps_an_admin(pc, account, role, new_role)
    except Refused as exc:
        return _refused(pc, exc, pc.url("/settings"), "members", {})
    set_role(pc.state.meta, pc.project.project_id, account.account_id, new_role)  # type: ignore[arg-type]
    return _after_change(pc, account, "role_changed", {"ok": True, "login": account.login, "role": new_role})


@action("/p/{project}/settings/members/remove", need="admin")
def remove(pc: PageContext) -> Redirect:
    assert pc.project is not None
    account, role = _member(pc)
    try:
        _keeps_an_admin(pc, account, role, None)
    except Refused as exc:
        return _refused(pc, exc, pc.url("/settings"), "members", {})
    remove_member(pc.state.meta, pc.project.project_id, account.account_id)
    return _after_change(pc, account, "member_removed", {"ok": True, "login": account.login})


@action("/p/{project}/settings/members/add", need="admin")
def add_member(pc: PageContext) -> Redirect:
    """Make an existing account (by login) a member with a role."""
    assert pc.project is not None
    login = _text(pc.form, "login", 64)
    values = {"login": login, "role": _text(pc.form, "role")}
    try:
        role = _role(pc)
        found = account_by_login(pc.state.meta, login) if login else None
        if found is None:
            raise Refused({"login": pc.t("settings.error.no_account", login=login)})
        if any(a.account_id == found.account_id for a, _ in members(pc.state.meta, pc.project.project_id)):
            raise Refused({"login": pc.t("settings.error.already_member", login=login)})
    except Refused as exc:
        return _refused(pc, exc, pc.url("/settings"), "members", {"add": values})
    set_role(pc.state.meta, pc.project.project_id, found.account_id, role)  # type: ignore[arg-type]
    return Redirect(_settings_url(pc, "members", notice="member_added"),
                    {"ok": True, "login": found.login, "role": role})


@action("/p/{project}/settings/members/create", need="admin")
def create_member(pc: PageContext) -> Redirect:
    """Create an account (login, display name, initial password) as a member with a role."""
    assert pc.project is not None
    login, name = _text(pc.form, "login", 64), _text(pc.form, "display_name", 100)
    password = str(pc.form.get("password") or "")
    values = {"login": login, "display_name": name, "role": _text(pc.form, "role")}  # never the password
    try:
        role = _role(pc)
        if not login:
            raise Refused({"login": pc.t("settings.error.login_needed")})
        if account_by_login(pc.state.meta, login) is not None:
            raise Refused({"login": pc.t("settings.error.login_taken", login=login)})
        if len(password) < MIN_PASSWORD_LENGTH:
            raise Refused({"password": pc.t("settings.error.password_short", length=MIN_PASSWORD_LENGTH)})
        try:
            made = create_account(pc.state.meta, login, password, display_name=name or None)
        except AccountError:
            raise Refused({"login": pc.t("settings.error.login_invalid")}) from None
    except Refused as exc:
        return _refused(pc, exc, pc.url("/settings"), "members", {"create": values})
    set_role(pc.state.meta, pc.project.project_id, made.account_id, role)  # type: ignore[arg-type]
    return Redirect(_settings_url(pc, "members", notice="member_created"),
                    {"ok": True, "login": made.login, "role": role})


# ---------------------------------------------------------------- new projects
def _superuser(pc: PageContext) -> Any:
    session = pc.viewer.session
    if session is None or not session.account.is_superuser:
        raise ApiError(403, "forbidden", pc.t("settings.new.superuser_only"))
    return session.account


def _zone_label(name: str) -> str:
    offset = dt.datetime.now(ZoneInfo(name)).strftime("%z")
    return f"{name} (UTC{offset[:3]}:{offset[3:]})"


@page("/projects/new", "projects_new.html", need=None)
def new_project_form(pc: PageContext) -> dict[str, Any]:
    _superuser(pc)
    once = take_once(pc)
    values = once.get("values") or {"name": "", "timezone": DEFAULT_TIMEZONE}
    return {"timezones": [{"value": z, "label": _zone_label(z)} for z in COMMON_TIMEZONES],
            "values": values, "errors": once.get("errors", {})}


def check_new_project(pc: PageContext, name: str, timezone: str) -> None:
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = pc.t("settings.new.name_needed")
    elif any(p.name == name for p in pc.state.projects()):
        errors["name"] = pc.t("settings.new.name_taken", name=name)
    elif not re.fullmatch(r"[\w\-.]{1,64}", name):
        errors["name"] = pc.t("settings.new.name_invalid")
    try:
        validate_timezone(timezone)
    except ValueError:
        errors["timezone"] = pc.t("settings.new.timezone_invalid", timezone=timezone[:64])
    if errors:
        raise Refused(errors)


@action("/projects/new", need=None)
def create_project(pc: PageContext) -> Redirect:
    account = _superuser(pc)
    name, timezone = _text(pc.form, "name", 64), _text(pc.form, "timezone", 64) or DEFAULT_TIMEZONE
    try:
        check_new_project(pc, name, timezone)
        try:
            project, keys = create_project_with_keys(pc.state.store.cursor_store(), name, timezone)
        except ValueError:  # taken or refused in the meantime
            raise Refused({"name": pc.t("settings.new.name_invalid")}) from None
    except Refused as exc:
        return _refused(pc, exc, "/projects/new", "project", {"name": name, "timezone": timezone})
    set_role(pc.state.meta, project.project_id, account.account_id, "admin")
    pc.state.reload()  # the switcher, the project cache and the key ring see it at once
    data = {"project": project.name, "timezone": project.timezone, "ingest_key": keys.ingest_key,
            "api_key": keys.api_key}
    if pc.is_api:
        return Redirect("", data)
    nonce = keep_once(pc, {"revealed": [{"kind": "ingest", "key": keys.ingest_key},
                                        {"kind": "secret", "key": keys.api_key}]})
    url = f"/p/{quote(project.name)}/settings?notice=project_created&once={quote(nonce)}#keys"
    return Redirect(url, data)
