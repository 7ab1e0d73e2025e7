"""Which project a key opens, and with what right (ingest: write only; secret: read)."""

from __future__ import annotations

from starlette.requests import Request

from yunying.ingest.batch import Unauthorized
from yunying.ingest.formats.body import basic_auth, bearer
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
        try:
            basic = basic_auth(request.headers)
        except Unauthorized:
            basic = None
        key = bearer(request.headers) or (basic[0] if basic else None)
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

