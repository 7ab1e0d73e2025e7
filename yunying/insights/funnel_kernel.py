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
from numba import njit

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


@njit(cache=True)
def _order_by_person_time(person, ts, n_persons):  # pragma: no cover - compiled
    counts = np.zeros(n_persons + 1, np.int64)
    for i in range(person.shape[0]):
        counts[person[i] + 1] += 1
    for p in range(n_persons):
        counts[p + 1] += counts[p]
    starts = counts.copy()
    order = np.empty(person.shape[0], np.int64)
    fill = counts[:-1].copy()
    for i in range(person.shape[0]):
        order[fill[person[i]]] = i
        fill[person[i]] += 1
    for p in range(n_persons):
        a, b = starts[p], starts[p + 1]
        inversions = 0
        for k in range(a + 1, b):
            if ts[order[k]] < ts[order[k - 1]]:
                inversions += 1
        if inversions == 0:
            continue
        if inversions * 16 > (b - a) or b - a > 4096:
            seg = order[a:b].copy()
            idx = np.argsort(ts[seg], kind="mergesort")
            order[a:b] = seg[idx]
        else:
            for k in range(a + 1, b):
                item = order[k]
                key = ts[item]
                m = k - 1
                while m >= a and ts[order[m]] > key:
                    order[m + 1] = order[m]
                    m -= 1
                order[m + 1] = item
    return order, starts


@njit(cache=True)
def funnel_pass(person, ts, masks, codes, n_persons, n_steps, window_us):  # pragma: no cover
    """Per person: level, first time each level was reached (µs), breakdown code.

    ``person`` are dense ids 0..n_persons-1. Returns (level[n], reach[n, n_steps], code[n]);
    persons without rows have level 0.
    """
    order, starts = _order_by_person_time(person, ts, n_persons)
    level = np.zeros(n_persons, np.int64)
    reach = np.full((n_persons, n_steps), NONE, np.int64)
    code_out = np.full(n_persons, -1, np.int64)
    best = np.empty(n_steps + 1, np.int64)
    new_best = np.empty(n_steps + 1, np.int64)
    gm = np.empty(64, np.int64)
    for p in range(n_persons):
        a, b = starts[p], starts[p + 1]
        if a == b:
            continue
        best[:] = NONE
        top = 0
        first_step1 = NONE
        k = a
        while k < b:
            t = ts[order[k]]
            e = k
            while e < b and ts[order[e]] == t:
                e += 1
            g = e - k
            if g > gm.shape[0]:
                gm = np.empty(g * 2, np.int64)
            simple = True
            for r in range(g):
                mk = masks[order[k + r]]
                gm[r] = mk
                if mk & (mk - 1):
                    simple = False
                if mk & 1:
                    c = codes[order[k + r]]
                    if first_step1 == NONE or t < first_step1:
                        first_step1 = t
                        code_out[p] = c
                    elif t == first_step1 and c < code_out[p]:
                        code_out[p] = c
            new_best[:] = best
            for j in range(n_steps):
                if j == 0:
                    start = t
                else:
                    start = best[j]
                    if start == NONE or t - start > window_us:
                        continue
                m = _run_length(j, n_steps, gm, 0, g, simple)
                for i in range(1, m + 1):
                    if start > new_best[j + i]:
                        new_best[j + i] = start
                    if reach[p, j + i - 1] == NONE:
                        reach[p, j + i - 1] = t
                    if j + i > top:
                        top = j + i
            best[:] = new_best
            k = e
        level[p] = top
    return level, reach, code_out
