"""A minimal HTTP/1.1 keep-alive client on asyncio streams: the cheapest way to post pre-built requests.

A general HTTP client spends more CPU per request than the server's own parsing of a small
batch; the load generator shares two cores with the server, so it writes complete request
bytes and reads back only the status line, the headers it needs and the body.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Response:
    status: int
    retry_after: float | None
    body: bytes


class Connection:
    """One keep-alive connection; reconnects by itself after the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> Response:
        """Send one complete request and read its response (raises OSError on a broken connection)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length, retry_after, close = 0, None, False
            for line in head.lower().split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value)
                elif name == b"retry-after":
                    retry_after = float(value)
                elif name == b"connection" and value.strip() == b"close":
                    close = True
            body = await reader.readexactly(length) if length else b""
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self.close()
            raise ConnectionError(f"broken response: {exc}") from None
        except OSError:
            self.close()
            raise
        if close:
            self.close()
        return Response(status, retry_after, body)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
