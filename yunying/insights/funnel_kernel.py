"""The per-user funnel pass, compiled with numba: one linear scan per user.

Input: one row per event that matches at least one step — person, timestamp (µs), a bit mask
of the steps it matches, and a breakdown code. Rows arrive in any order; they are grouped by
person with a counting sort and ordered by time inside each person (nearly sorted input is
the common case, so an insertion sort is linear there; long unsorted runs fall back to a
merge sort).

The scan keeps, for every level j, ``best[j]``: the latest possible start (step-1 time) of a
chain of distinct events reaching step j. Events with the same timestamp (a tie group) may
be taken in any order, so a whole tie group is applied at once: from every reachable level j
the chain is extended by the longest run of steps j+1, j+2, … that distinct events of the
group can fill (a bipartite matching; with one event per group it is just "does it match
step j+1"). The first time each level is reached gives the time-to-convert figures.
Definitions: docs/metrics.md, 'Funnel'.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

NONE = np.iinfo(np.int64).min


@njit(cache=True)
def _try_assign(step, masks, g0, g1, row_step, visited):  # pragma: no cover - compiled
    """Kuhn's augmenting path: give ``step`` a distinct row of the group, re-seating others."""
    for r in range(g0, g1):
        if (masks[r] >> step) & 1 and not visited[r - g0]:
            visited[r - g0] = True
            if row_step[r - g0] < 0 or _try_assign(row_step[r - g0], masks, g0, g1, row_step, visited):
                row_step[r - g0] = step
                return True
    return False


@njit(cache=True)
def _run_length(j, n_steps, masks, g0, g1, simple):  # pragma: no cover - compiled
    """How many consecutive steps j, j+1, … (0-based) distinct rows g0..g1-1 can fill."""
    if g1 - g0 == 1:
        return 1 if (masks[g0] >> j) & 1 else 0
    if simple:  # every row matches one step: distinct steps take distinct rows by themselves
        union = 0
        for r in range(g0, g1):
            union |= masks[r]
        m = 0
        while j + m < n_steps and (union >> (j + m)) & 1:
            m += 1
        return m
    row_step = np.full(g1 - g0, -1, np.int64)
    m = 0
    while j + m < n_steps:
        visited = np.zeros(g1 - g0, np.bool_)
        if not _try_assign(j + m, masks, g0, g1, row_step, visited):
            break
        m += 1
    return m


@njit(cache=True)
def _dense(person, max_id):  # pragma: no cover - compiled
    slot = np.full(max_id + 1, -1, np.int64)
    out = np.empty(person.shape[0], np.int64)
    n = 0
    for i in range(person.shape[0]):
        p = person[i]
        if slot[p] < 0:
            slot[p] = n
            n += 1
        out[i] = slot[p]
    return out, n


def dense_ids(person: np.ndarray) -> tuple[np.ndarray, int]:
    """Re-number non-negative ids as 0..n-1 in order of first appearance; O(rows + max id)."""
    if person.size == 0:
        return person.astype(np.int64), 0
    if person.min() < 0:
        raise ValueError("person ids must be non-negative")
    out, n = _dense(person, int(person.max()))
    return out, int(n)


@njit(cache=True, parallel=True)
def _group_by_person(person, ts, masks, codes, n_persons):  # pragma: no cover - compiled
    """Rows moved into person order (counting sort), each person's rows ordered by time.

    Moving the values themselves (not an index) makes the scan read memory front to back.
    """
    n = person.shape[0]
    starts = np.zeros(n_persons + 1, np.int64)
    for i in range(n):
        starts[person[i] + 1] += 1
    for p in range(n_persons):
        starts[p + 1] += starts[p]
    fill = starts[:-1].copy()
    ts_s = np.empty(n, np.int64)
    mask_s = np.empty(n, np.int64)
    code_s = np.empty(n, np.int64)
    for i in range(n):
        at = fill[person[i]]
        fill[person[i]] += 1
        ts_s[at] = ts[i]
        mask_s[at] = masks[i]
        code_s[at] = codes[i]
    for p in prange(n_persons):  # persons are independent: sort them on every core
        a, b = starts[p], starts[p + 1]
        sorted_already = True
        for k in range(a + 1, b):
            if ts_s[k] < ts_s[k - 1]:
                sorted_already = False
                break
        if sorted_already:
            continue
        if b - a <= 64:  # insertion sort in place: no allocation for the many short runs
            for k in range(a + 1, b):
                t, mk, cd = ts_s[k], mask_s[k], code_s[k]
                m = k - 1
                while m >= a and ts_s[m] > t:
                    ts_s[m + 1], mask_s[m + 1], code_s[m + 1] = ts_s[m], mask_s[m], code_s[m]
                    m -= 1
                ts_s[m + 1], mask_s[m + 1], code_s[m + 1] = t, mk, cd
        else:
            idx = np.argsort(ts_s[a:b], kind="mergesort")
            ts_s[a:b] = ts_s[a:b][idx]
            mask_s[a:b] = mask_s[a:b][idx]
            code_s[a:b] = code_s[a:b][idx]
    return ts_s, mask_s, code_s, starts


@njit(cache=True)
def _extend(best, reach, p, level, start, t):  # pragma: no cover - compiled
    """A chain with ``start`` reaches ``level`` at time ``t``; returns the level."""
    if start > best[level]:
        best[level] = start
    if reach[p, level - 1] == NONE:
        reach[p, level - 1] = t
    return level


@njit(cache=True, parallel=True)
def funnel_pass(person, ts, masks, codes, n_persons, n_steps, window_us):  # pragma: no cover
    """Per person: level, first time each level was reached (µs), breakdown code.

    ``person`` are dense ids 0..n_persons-1. Returns (level[n], reach[n, n_steps], code[n]);
    persons without rows have level 0.
    """
    ts, masks, codes, starts = _group_by_person(person, ts, masks, codes, n_persons)
    level = np.zeros(n_persons, np.int64)
    reach = np.full((n_persons, n_steps), NONE, np.int64)
    code_out = np.full(n_persons, -1, np.int64)
    for p in prange(n_persons):  # persons are independent: scan them on every core
        a, b = starts[p], starts[p + 1]
        if a == b:
            continue
        best = np.full(n_steps + 1, NONE, np.int64)
        new_best = np.empty(n_steps + 1, np.int64)
        top = 0
        first_step1 = NONE
        k = a
        while k < b:
            t = ts[k]
            e = k + 1
            while e < b and ts[e] == t:
                e += 1
            for r in range(k, e):  # breakdown: earliest step-1 event, smallest value on ties
                if masks[r] & 1:
                    if first_step1 == NONE:
                        first_step1 = t
                        code_out[p] = codes[r]
                    elif t == first_step1 and codes[r] < code_out[p]:
                        code_out[p] = codes[r]
            if e - k == 1:
                # One event: it fills one step of a chain. Taking its steps from the highest
                # down reads every best[s] before this event can change it.
                mk = masks[k]
                for s in range(n_steps - 1, -1, -1):
                    if not (mk >> s) & 1:
                        continue
                    if s == 0:
                        reached = _extend(best, reach, p, 1, t, t)
                    elif best[s] != NONE and t - best[s] <= window_us:
                        reached = _extend(best, reach, p, s + 1, best[s], t)
                    else:
                        continue
                    if reached > top:
                        top = reached
            else:
                simple = True
                for r in range(k, e):
                    if masks[r] & (masks[r] - 1):
                        simple = False
                new_best[:] = best
                for j in range(n_steps):
                    if j == 0:
                        start = t
                    else:
                        start = best[j]
                        if start == NONE or t - start > window_us:
                            continue
                    m = _run_length(j, n_steps, masks, k, e, simple)
                    for i in range(1, m + 1):
                        reached = _extend(new_best, reach, p, j + i, start, t)
                        if reached > top:
                            top = reached
                best[:] = new_best
            k = e
        level[p] = top
    return level, reach, code_out
