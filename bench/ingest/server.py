"""A ``yunying serve`` subprocess: create its store, start, wait for health, kill, restart, measure.

Used by the ingestion benchmark (``python -m bench.ingest``) and the crash test
(``tests/test_crash.py``). The server runs as ``python -m yunying`` with the interpreter
running this code, so both work from the project's virtualenv without a PATH lookup.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

YUNYING = [sys.executable, "-m", "yunying"]
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Keys:
    """The keys ``yunying project create --json`` printed."""

    project: str
    ingest_key: str
    api_key: str


def create_project(db: Path, name: str = "bench", timezone: str = "UTC") -> Keys:
    """Create ``name`` in the store at ``db`` (created if absent); no server may hold it."""
    out = subprocess.run([*YUNYING, "project", "create", name, "--db", str(db), "--json",
                          "--timezone", timezone],
                         check=True, capture_output=True, text=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    return Keys(found["project"], found["ingest_key"], found["api_key"])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    """The server did not come up (its log is in the message)."""


class Server:
    """One ``yunying serve`` process over ``db``; :meth:`start` again after a kill restarts it."""

    def __init__(self, db: Path, port: int | None = None, *, discard: bool = False,
                 log: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.db = db
        self.port = port or free_port()
        self.discard = discard
        self.log = log or db.with_suffix(".serve.log")
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the server is not running"
        return self.proc.pid

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server and return once ``/api/v1/health`` answers 200."""
        args = [*YUNYING, "serve", "--db", str(self.db), "--host", "127.0.0.1", "--port", str(self.port)]
        if self.discard:
            args.append("--benchmark-discard")
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts + 1}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"yunying serve exited with {self.proc.returncode}:\n{self._log_tail()}")
            if self.healthy():
                return
            time.sleep(0.05)
        raise ServerError(f"yunying serve did not answer within {timeout_s:g} s:\n{self._log_tail()}")

    def healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/api/v1/health")
                return conn.getresponse().status == 200
            finally:
                conn.close()
        except OSError:
            return False

    def ingest_stats(self, api_key: str) -> dict:
        """``GET /api/v1/ingest/stats`` (counters since the server started, commit times)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/api/v1/ingest/stats", headers={"Authorization": f"Bearer {api_key}"})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise ServerError(f"/api/v1/ingest/stats answered {response.status}: {body[:200]!r}")
        return json.loads(body)

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs; waits until the process is gone."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout_s: float = 60.0) -> int:
        """Stop cleanly (SIGINT: the writer commits what is queued, the store closes)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError(f"yunying serve did not stop within {timeout_s:g} s") from None

    def rss_bytes(self) -> int:
        """Resident memory of the server process now (``VmRSS``)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all of its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.kill()
