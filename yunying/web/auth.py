"""Which project a key opens, and with what right (ingest: write only; secret: read)."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from yunying.store import Project, Store
from yunying.store.keys import KeyKind, key_table, sha256
from yunying.web.errors import ApiError


class KeyRing:
    """The live keys of a store, loaded when the server starts (keys are made by the CLI)."""

    def __init__(self, store: Store) -> None:
        self._keys = key_table(store)
        self._projects = {p.project_id: p for p in store.projects()}

    def project(self, key: str | None, kind: KeyKind) -> Project | None:
        """The project ``key`` opens for ``kind``; a secret key also opens ingestion."""
        if not key:
            return None
        found = self._keys.get(sha256(key))
        if found is None:
            return None
        pid, key_kind = found
        if key_kind != kind and not (kind == "ingest" and key_kind == "secret"):
            return None
        return self._projects.get(pid)

    def reading_project(self, request: Request) -> Project:
        """The project of the secret key in ``Authorization: Bearer``; 401 otherwise."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        key = value.strip() if scheme.lower() == "bearer" else basic_username(header)
        if not key:
            raise ApiError(401, "missing_key",
                           "send the project's secret API key as 'Authorization: Bearer <key>' "
                           "(yunying project create prints it)")
        project = self.project(key, "secret")
        if project is None:
            kind = "an ingestion key, which can only send events" if self.project(key, "ingest") \
                else "not a key of this server"
            raise ApiError(401, "invalid_key", f"that key is {kind}; use the project's secret API key")
        return project


def basic_username(header: str) -> str | None:
    """The user name of an ``Authorization: Basic`` header (where SDKs put write keys)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None
