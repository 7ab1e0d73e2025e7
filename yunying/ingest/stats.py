"""Counters of the ingestion server: what arrived, what was stored, what was refused and why.

Kept in memory since the server started (``GET /api/v1/ingest/stats`` shows them with the
all-time reject reasons from the ``ingest_rejects`` table). A project's counters are shown
only to that project's secret key; the server-wide ones (HTTP statuses, commits, queue) hold
no project's data.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np


@dataclass
class ProjectCounters:
    requests: Counter[str] = field(default_factory=Counter)  # by wire format
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    clamped: int = 0
    persons_created: int = 0
    merges: int = 0
    links_refused: int = 0
    profile_updates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {f.name: dict(v) if isinstance(v := getattr(self, f.name), Counter) else v
                for f in fields(self)}


class IngestStats:
    """Thread-safe counters; the writer thread and the HTTP handlers both update them."""

    LATENCY_SAMPLES = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.projects: dict[int, ProjectCounters] = defaultdict(ProjectCounters)
        self.http_status: Counter[int] = Counter()
        self.refused: Counter[str] = Counter()  # requests refused before a project was known
        self.commits = 0
        self.commit_events = 0
        self._commit_ms = np.zeros(self.LATENCY_SAMPLES)
        self._commit_n = 0

    def project(self, project_id: int) -> ProjectCounters:
        with self._lock:
            return self.projects[project_id]

    def add(self, project_id: int, delta: ProjectCounters) -> None:
        """Add a committed write's counts (``requests`` is counted by the HTTP side, not here)."""
        with self._lock:
            mine = self.projects[project_id]
            for f in fields(delta):
                if f.name != "requests":
                    setattr(mine, f.name, getattr(mine, f.name) + getattr(delta, f.name))

    def data_version(self, project_id: int) -> int:
        """A number that grows whenever a commit changes what queries of the project can see."""
        with self._lock:
            c = self.projects[project_id]
            return c.stored + c.merges + c.persons_created + c.profile_updates

    def count_status(self, status: int, reason: str | None = None) -> None:
        with self._lock:
            self.http_status[status] += 1
            if reason:
                self.refused[reason] += 1

    def count_commit(self, events: int, seconds: float) -> None:
        with self._lock:
            self.commits += 1
            self.commit_events += events
            self._commit_ms[self._commit_n % self.LATENCY_SAMPLES] = seconds * 1000
            self._commit_n += 1

    def server_view(self, pending_events: int) -> dict[str, Any]:
        with self._lock:
            recent = self._commit_ms[: min(self._commit_n, self.LATENCY_SAMPLES)]
            return {
                "http_status": {str(k): v for k, v in sorted(self.http_status.items())},
                "refused_requests": dict(self.refused),
                "commits": self.commits,
                "events_per_commit": round(self.commit_events / self.commits, 1) if self.commits else 0,
                "commit_ms_p50": round(float(np.percentile(recent, 50)), 2) if recent.size else None,
                "commit_ms_p99": round(float(np.percentile(recent, 99)), 2) if recent.size else None,
                "pending_events": pending_events,
            }
