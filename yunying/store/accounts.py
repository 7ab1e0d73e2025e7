"""Accounts of the workbench, their roles per project, and browser sessions.

* Passwords are stored as argon2id hashes (argon2-cffi's defaults); a wrong login name costs
  the same time as a wrong password, so the answer does not tell which one was wrong.
* Roles are per project: ``viewer`` reads (pages, insights, exports), ``analyst`` also saves
  insights and dashboards, imports files and uses the SQL console, ``admin`` also manages the
  project (settings, keys, members). A superuser is admin of every project and can create
  projects and accounts. Someone who is not a member of a project sees nothing of it.
* A session is a random token in a cookie; the store keeps its SHA-256, the account and the
  session's CSRF token, and forgets it after ``session_days``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from yunying import settings
from yunying.store.keys import sha256
from yunying.store.meta import Meta, utcnow

Role = Literal["viewer", "analyst", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
LOCALES = ("zh-CN", "en")
_LOGIN = re.compile(r"^[\w.@+\-]{2,64}$", re.UNICODE)
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A request about accounts that cannot be done as asked (message says why)."""


@dataclass(frozen=True)
class Account:
    account_id: int
    login: str
    display_name: str
    locale: str | None
    is_superuser: bool


def role_at_least(role: Role | None, needed: Role) -> bool:
    """Whether ``role`` includes the rights of ``needed`` (viewer < analyst < admin)."""
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


_ACCOUNT_COLUMNS = "account_id, login, display_name, locale, is_superuser"


def create_account(meta: Meta, login: str, password: str, *, display_name: str | None = None,
                   superuser: bool = False, locale: str | None = None) -> Account:
    """A new account; raises AccountError for a taken login, a bad login or a short password."""
    if not _LOGIN.match(login):
        raise AccountError(f"login {login!r} must be 2-64 letters, digits or . @ + - _")
    _check_password(password)
    if locale is not None and locale not in LOCALES:
        raise AccountError(f"language {locale!r} is not one of {', '.join(LOCALES)}")
    password_hash = _HASHER.hash(password)
    with meta.transaction():
        if meta.value("SELECT count(*) FROM accounts WHERE login = ?", [login]):
            raise AccountError(f"an account {login!r} already exists")
        account_id = meta.next_id("accounts")
        meta.rows("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                  [account_id, login, display_name or login, password_hash, locale, superuser, utcnow()])
    return Account(account_id, login, display_name or login, locale, superuser)


def account(meta: Meta, account_id: int) -> Account | None:
    row = meta.row(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE account_id = ? AND disabled_at IS NULL",
                   [account_id])
    return Account(*row) if row else None


def account_by_login(meta: Meta, login: str) -> Account | None:
    row = meta.row(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE login = ? AND disabled_at IS NULL",
                   [login])
    return Account(*row) if row else None


def accounts(meta: Meta) -> list[Account]:
    rows = meta.rows(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE disabled_at IS NULL ORDER BY login")
    return [Account(*r) for r in rows]


def authenticate(meta: Meta, login: str, password: str) -> Account | None:
    """The account if ``password`` is its password, else None (same cost either way)."""
    row = meta.row("SELECT account_id, password_hash FROM accounts WHERE login = ? AND disabled_at IS NULL",
                   [login])
    try:
        _HASHER.verify(row[1] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return account(meta, row[0]) if row else None


def set_password(meta: Meta, account_id: int, password: str) -> None:
    _check_password(password)
    meta.rows("UPDATE accounts SET password_hash = ? WHERE account_id = ?",
              [_HASHER.hash(password), account_id])


def set_locale(meta: Meta, account_id: int, locale: str | None) -> None:
    if locale is not None and locale not in LOCALES:
        raise AccountError(f"language {locale!r} is not one of {', '.join(LOCALES)}")
    meta.rows("UPDATE accounts SET locale = ? WHERE account_id = ?", [locale, account_id])


# ---------------------------------------------------------------- memberships
def set_role(meta: Meta, project_id: int, account_id: int, role: Role) -> None:
    """Make the account a member of the project with ``role`` (replacing any earlier role)."""
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
    with meta.transaction():
        meta.rows("DELETE FROM memberships WHERE project_id = ? AND account_id = ?", [project_id, account_id])
        meta.rows("INSERT INTO memberships VALUES (?, ?, ?, ?)", [project_id, account_id, role, utcnow()])


def remove_member(meta: Meta, project_id: int, account_id: int) -> None:
    meta.rows("DELETE FROM memberships WHERE project_id = ? AND account_id = ?", [project_id, account_id])


def roles_of(meta: Meta, account: Account) -> dict[int, Role]:
    """project_id -> the account's role there (every project, as admin, for a superuser)."""
    if account.is_superuser:
        return {pid: "admin" for (pid,) in meta.rows("SELECT project_id FROM projects")}
    rows = meta.rows("SELECT project_id, role FROM memberships WHERE account_id = ?", [account.account_id])
    return {pid: role for pid, role in rows}


def members(meta: Meta, project_id: int) -> list[tuple[Account, Role]]:
    """The project's members with their roles, by login."""
    rows = meta.rows(
        f"SELECT {', '.join('a.' + c.strip() for c in _ACCOUNT_COLUMNS.split(','))}, m.role "
        "FROM memberships m JOIN accounts a USING (account_id) "
        "WHERE m.project_id = ? AND a.disabled_at IS NULL ORDER BY a.login", [project_id])
    return [(Account(*r[:5]), r[5]) for r in rows]


# ---------------------------------------------------------------- sessions
@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str


def open_session(meta: Meta, account: Account) -> tuple[str, Session]:
    """A new session for ``account``: (the cookie token, the session)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = utcnow()
    expires = now + dt.timedelta(days=settings.get("session_days"))
    with meta.transaction():
        meta.rows("DELETE FROM web_sessions WHERE expires_at < ?", [now])
        meta.rows("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)",
                  [sha256(token), account.account_id, csrf, now, expires])
    return token, Session(account, csrf)


def session(meta: Meta, token: str | None) -> Session | None:
    """The live session of cookie ``token``, or None (unknown, expired, account disabled)."""
    if not token:
        return None
    row = meta.row("SELECT account_id, csrf_token FROM web_sessions "
                   "WHERE token_sha256 = ? AND expires_at > ?", [sha256(token), utcnow()])
    if row is None:
        return None
    found = account(meta, row[0])
    return Session(found, row[1]) if found else None


def close_session(meta: Meta, token: str | None) -> None:
    if token:
        meta.rows("DELETE FROM web_sessions WHERE token_sha256 = ?", [sha256(token)])
