"""One error envelope for the JSON API: ``{"error": {"code", "message", "field"}}``.

Codes are stable (clients may branch on them); messages are for people and say what to do.
Capture endpoints answer in their SDK's own shape instead (``WireFormat.error``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}


def envelope(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status_code=status,
                    media_type="application/json", headers=headers)


def error_response(exc: ApiError) -> Response:
    return json_response(exc.status, envelope(exc.code, exc.message, exc.field), exc.headers)
