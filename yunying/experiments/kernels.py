"""The per-user passes over fetched rows, compiled with numba (cached on disk after the first run;
they release the interpreter lock, so a query can run in another thread meanwhile).

Users are numbered by rank of their person id (:func:`rank_ids`), so a user's running values
live in flat arrays and a person id maps to its user with one array read: no hashing, no
sorting, one linear scan per pass. Rows may come in any order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LATEST = np.iinfo(np.int64).max


@njit(cache=True, nogil=True)
def mark_persons(person, arm, present):  # pragma: no cover - compiled
    """``present[p] = 1`` for the person of every row with an arm (≥ 0), one batch at a time."""
    for i in range(person.shape[0]):
        if arm[i] >= 0:
            present[person[i]] = 1


@njit(cache=True, nogil=True)
def rank_persons(present):  # pragma: no cover - compiled
    """(index, persons in user order): users numbered 0… by ascending person id; ``index[p, 0]``
    the user of person ``p`` (-1: none), ``index[p, 1]`` left for :func:`finish_index`."""
    index = np.empty((present.shape[0], 2), np.int64)
    n = 0
    for p in range(present.shape[0]):
        index[p, 0] = n if present[p] else -1
        index[p, 1] = 0
        n += present[p]
    persons = np.empty(n, np.int64)
    for p in range(present.shape[0]):
        if index[p, 0] >= 0:
            persons[index[p, 0]] = p
    return index, persons


FIRST, LOW, HIGH, GROUP = 0, 1, 2, 3  # columns of the exposure state


def exposure_state(n_users):
    """Per user: [first exposure µs, smallest arm, largest arm, breakdown code] before any row."""
    state = np.empty((n_users, 4), np.int64)
    state[:, FIRST] = LATEST
    state[:, LOW] = LATEST
    state[:, HIGH] = -1
    state[:, GROUP] = LATEST
    return state


@njit(cache=True, nogil=True)
def reduce_exposures(person, ts, arm, code, index, state):  # pragma: no cover - compiled
    """Fold exposure rows into ``state`` (one batch at a time): the first exposure (µs), the
    smallest and largest arm seen, and the breakdown code of the first exposure (the smallest
    code among exposures at that instant). One row of ``state`` per user: one random access.
    Rows without an arm (-1) are skipped."""
    for i in range(person.shape[0]):
        if arm[i] < 0:
            continue
        u = index[person[i], 0]
        t = ts[i]
        if t < state[u, FIRST]:
            state[u, FIRST] = t
            state[u, GROUP] = code[i]
        elif t == state[u, FIRST] and code[i] < state[u, GROUP]:
            state[u, GROUP] = code[i]
        if arm[i] < state[u, LOW]:
            state[u, LOW] = arm[i]
        if arm[i] > state[u, HIGH]:
            state[u, HIGH] = arm[i]


@njit(cache=True, nogil=True)
def finish_index(index, persons, arm, exposed):  # pragma: no cover - compiled
    """``index[p]`` = (user, first exposure µs) for included users, user -1 for excluded ones:
    the one random read a metric row needs."""
    for u in range(persons.shape[0]):
        p = persons[u]
        if arm[u] >= 0:
            index[p, 1] = exposed[u]
        else:
            index[p, 0] = -1


@njit(cache=True, nogil=True)
def accumulate(person, ts, period, masks, numbers, part_column, part_bit, part_property, part_sums,
               part_window_us, index, post, pre):  # pragma: no cover - compiled
    """Add each row's contribution to every part it feeds, in its user's ``post`` or ``pre`` total.

    Row i feeds part k when bit ``part_bit[k]`` of ``masks[part_column[k], i]`` is set and, for a
    part with a property (``part_property[k]`` ≥ 0), ``numbers[part_property[k], i]`` is a number;
    it adds that number (``part_sums[k]``) or 1. ``index[person]`` is (user, first exposure µs),
    user -1 for persons not in the analysis. ``period`` 2 = in the experiment's dates: counted in
    ``post[user, k]`` when ``0 <= ts - exposure <= part_window_us[k]`` (a negative window: no
    upper limit); 1 = in the pre-period: counted in ``pre[user, k]``.

    The ``part_*`` arguments are tuples: their length is known when compiling, so the loop over
    parts unrolls (about twice as fast as arrays; one compiled version per number of parts).
    Rows hit users at random, so the time goes to memory reads (splitting the persons between
    two threads gained nothing on two cores).
    """
    n_parts = len(part_bit)
    for i in range(person.shape[0]):
        p = person[i]
        if p < 0 or p >= index.shape[0]:
            continue
        u = index[p, 0]
        if u < 0:
            continue
        after = period[i] == 2
        delay = ts[i] - index[p, 1]
        if after and delay < 0:
            continue
        for k in range(n_parts):
            if not (masks[part_column[k], i] >> part_bit[k]) & 1:
                continue
            v = 1.0
            if part_property[k] >= 0:
                x = numbers[part_property[k], i]
                if x != x:
                    continue
                if part_sums[k]:
                    v = x
            if not after:
                pre[u, k] += v
            elif part_window_us[k] < 0 or delay <= part_window_us[k]:
                post[u, k] += v


@njit(cache=True, nogil=True)
def cell_sums(cell, n_cells, x, y, cap_x, cap_y, indicator):  # pragma: no cover - compiled
    """Per cell: [users, Σx, Σx², Σy, Σy², Σxy] over the users whose ``cell`` is below ``n_cells``.

    Each value is capped first (``min(value, cap)``; ``inf``: no cap), then with ``indicator``
    read as 0/1 (value > 0)."""
    out = np.zeros((n_cells, 6))
    for u in range(cell.shape[0]):
        c = cell[u]
        if c >= n_cells:
            continue
        a = min(x[u], cap_x)
        b = min(y[u], cap_y)
        if indicator:
            a = 1.0 if a > 0 else 0.0
            b = 1.0 if b > 0 else 0.0
        out[c, 0] += 1
        out[c, 1] += a
        out[c, 2] += a * a
        out[c, 3] += b
        out[c, 4] += b * b
        out[c, 5] += a * b
    return out
