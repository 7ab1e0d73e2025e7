"""The per-user passes over fetched rows, compiled with numba (cached on disk after the first run;
they release the interpreter lock, so other threads' queries run meanwhile).

Users are numbered by rank of their person id (:func:`rank_persons`), so a user's running
values live in flat arrays and a person id maps to its user with one array read: no hashing,
no sorting, one linear scan per pass. Rows may come in any order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LATEST = np.iinfo(np.int64).max
NOT_EXPOSED = np.iinfo(np.int64).min  # the first-exposure column of rows of no included user


@njit(cache=True, nogil=True)
def mark_persons(person, arm, present):  # pragma: no cover - compiled
    """``present[p] = 1`` for the person of every row with an arm (≥ 0), one batch at a time."""
    for i in range(person.shape[0]):
        if arm[i] >= 0:
            present[person[i]] = 1


@njit(cache=True, nogil=True)
def rank_persons(present):  # pragma: no cover - compiled
    """(slot, persons in user order): users numbered 0… by ascending person id; ``slot[p]`` the
    user of person ``p``, -1 for none."""
    slot = np.empty(present.shape[0], np.int64)
    n = 0
    for p in range(present.shape[0]):
        slot[p] = n if present[p] else -1
        n += present[p]
    persons = np.empty(n, np.int64)
    for p in range(present.shape[0]):
        if slot[p] >= 0:
            persons[slot[p]] = p
    return slot, persons


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
def reduce_exposures(person, ts, arm, code, slot, state):  # pragma: no cover - compiled
    """Fold exposure rows into ``state`` (one batch at a time): the first exposure (µs), the
    smallest and largest arm seen, and the breakdown code of the first exposure (the smallest
    code among exposures at that instant). One row of ``state`` per user: one random access.
    Rows without an arm (-1) are skipped."""
    for i in range(person.shape[0]):
        if arm[i] < 0:
            continue
        u = slot[person[i]]
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
def accumulate(person, ts, period, masks, numbers, part_column, part_bit, part_property, part_sums,
               part_window_us, slot, totals, exposure):  # pragma: no cover - compiled
    """Add each row's contribution to every part it feeds, in its user's row of ``totals``.

    ``totals`` has one row per user — or, when ``slot`` is empty, one row per person id (then
    a row costs one random read instead of two) — laid out as [first exposure, post of each
    part, pre of each part]; ``exposure`` is the same memory read as int64, whose column 0 is
    the first exposure in µs (``NOT_EXPOSED`` for rows of no included user). ``slot[p]`` is the
    user row of person ``p`` (-1: none).

    Row i feeds part k when bit ``part_bit[k]`` of ``masks[part_column[k], i]`` is set and, for a
    part with a property (``part_property[k]`` ≥ 0), ``numbers[part_property[k], i]`` is a number;
    it adds that number (``part_sums[k]``) or 1. ``period`` 2 = in the experiment's dates: counted
    as post when ``0 <= ts - exposure <= part_window_us[k]`` (a negative window: no upper limit);
    1 = in the pre-period: counted as pre.

    The ``part_*`` arguments are tuples: their length is known when compiling, so the loop over
    parts unrolls (about twice as fast as arrays; one compiled version per number of parts).
    Rows hit users at random, so the time goes to memory reads (splitting the rows between two
    threads gained nothing on two cores).
    """
    n_parts = len(part_bit)
    by_person = slot.shape[0] == 0
    for i in range(person.shape[0]):
        p = person[i]
        if by_person:
            if p < 0 or p >= totals.shape[0]:
                continue
            r = p
        else:
            if p < 0 or p >= slot.shape[0]:
                continue
            r = slot[p]
            if r < 0:
                continue
        first = exposure[r, 0]
        if first == NOT_EXPOSED:
            continue
        after = period[i] == 2
        delay = ts[i] - first
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
                totals[r, 1 + n_parts + k] += v
            elif part_window_us[k] < 0 or delay <= part_window_us[k]:
                totals[r, 1 + k] += v


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
