"""The server's memory of which event ids it has stored recently: a fingerprint hash table.

Deduplication must answer, for every event of every commit, "is this id already stored?"
Scanning the events table for that is too slow at tens of thousands of events a second,
and an ordered index inside the database (DuckDB's ART) slows down as it grows. So the
writer keeps, in memory, a 64-bit fingerprint of ``(project_id, uuid)`` for every event
stored within ``dedup_window_days``, with the minute it was stored:

* a fingerprint *not* in the table means the id is new (exact);
* a fingerprint in the table means "probably a duplicate": the writer confirms it against
  the events table (a retry really is one; two different ids sharing a 64-bit fingerprint,
  about one chance in 10¹² per event, is caught there);
* the table is rebuilt from the events table when the server starts, so it survives
  restarts, and forgets entries older than the window whenever it grows.

Cost: 12 bytes per slot, at most 3/4 full, so 12–24 bytes per event stored within the
window (about 250 MB for ten million events a day over seven days).
"""

from __future__ import annotations

import numba
import numpy as np

EMPTY = np.uint64(0)
MAX_LOAD = 0.75


@numba.njit(cache=True, nogil=True)
def _slot(keys: np.ndarray, fp: np.uint64) -> int:
    mask = keys.shape[0] - 1
    i = int((fp * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while keys[i] != 0 and keys[i] != fp:
        i = (i + 1) & mask
    return i


@numba.njit(cache=True, nogil=True)
def _lookup(keys: np.ndarray, fps: np.ndarray, out: np.ndarray) -> None:
    for j in range(fps.shape[0]):
        out[j] = keys[_slot(keys, fps[j])] == fps[j]


@numba.njit(cache=True, nogil=True)
def _insert(keys: np.ndarray, minutes: np.ndarray, fps: np.ndarray, minute: np.ndarray) -> int:
    added = 0
    for j in range(fps.shape[0]):
        i = _slot(keys, fps[j])
        if keys[i] == 0:
            added += 1
        keys[i] = fps[j]
        if minute[j] > minutes[i]:
            minutes[i] = minute[j]
    return added


@numba.njit(cache=True, nogil=True)
def _live(keys: np.ndarray, minutes: np.ndarray, oldest: int) -> np.ndarray:
    n = 0
    for i in range(keys.shape[0]):
        if keys[i] != 0 and minutes[i] >= oldest:
            n += 1
    out = np.empty(n, dtype=np.int64)
    n = 0
    for i in range(keys.shape[0]):
        if keys[i] != 0 and minutes[i] >= oldest:
            out[n] = i
            n += 1
    return out


def fingerprints(raw: np.ndarray) -> np.ndarray:
    """Fingerprints from 64-bit hashes: 0 marks an empty slot, so it becomes 1."""
    fps = np.asarray(raw, dtype=np.uint64).copy()
    fps[fps == EMPTY] = np.uint64(1)
    return fps


class DedupIndex:
    """Fingerprints of recently stored event ids (see the module docstring)."""

    def __init__(self, window_minutes: int, capacity: int = 1 << 16) -> None:
        self.window_minutes = window_minutes
        size = 1 << max(10, int(capacity - 1).bit_length())
        self._keys = np.zeros(size, dtype=np.uint64)
        self._minutes = np.zeros(size, dtype=np.int32)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return int(self._keys.nbytes + self._minutes.nbytes)

    def contains(self, fps: np.ndarray) -> np.ndarray:
        """A boolean per fingerprint: True means probably stored already (confirm it)."""
        out = np.zeros(fps.shape[0], dtype=np.bool_)
        _lookup(self._keys, fps, out)
        return out

    def add(self, fps: np.ndarray, minute: int | np.ndarray) -> None:
        """Remember ``fps`` as stored at ``minute`` (minutes since the epoch, UTC)."""
        if fps.shape[0] == 0:
            return
        minutes = np.broadcast_to(np.asarray(minute, dtype=np.int32), fps.shape).copy()
        if (self._count + fps.shape[0]) > MAX_LOAD * self._keys.shape[0]:
            self._rebuild(fps.shape[0], int(minutes.max()))
        self._count += _insert(self._keys, self._minutes, fps, minutes)

    def _rebuild(self, incoming: int, now_minute: int) -> None:
        """Drop entries older than the window; grow so ``incoming`` more fit below MAX_LOAD."""
        live = _live(self._keys, self._minutes, now_minute - self.window_minutes)
        keys, minutes = self._keys[live], self._minutes[live]
        size = self._keys.shape[0]
        while (keys.shape[0] + incoming) > MAX_LOAD * size:
            size *= 2
        self._keys = np.zeros(size, dtype=np.uint64)
        self._minutes = np.zeros(size, dtype=np.int32)
        self._count = _insert(self._keys, self._minutes, keys, minutes)
