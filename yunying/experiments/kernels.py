"""The per-user passes over fetched rows, compiled with numba (cached on disk after the first run).

Both passes run on integer user indexes (``dense_ids``), so a user's running values live in
flat arrays: no hashing, no sorting, one linear scan. Rows may come in any order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LATEST = np.iinfo(np.int64).max


@njit(cache=True)
def reduce_exposures(user, ts, arm, code, n_users):  # pragma: no cover - compiled
    """Per user: the first exposure (µs), the smallest and largest arm seen, and the breakdown
    code of the first exposure (the smallest code among exposures at that instant)."""
    first = np.full(n_users, LATEST, np.int64)
    low = np.full(n_users, LATEST, np.int64)
    high = np.full(n_users, -1, np.int64)
    group = np.full(n_users, LATEST, np.int64)
    for i in range(user.shape[0]):
        u = user[i]
        if ts[i] < first[u]:
            first[u] = ts[i]
            group[u] = code[i]
        elif ts[i] == first[u] and code[i] < group[u]:
            group[u] = code[i]
        if arm[i] < low[u]:
            low[u] = arm[i]
        if arm[i] > high[u]:
            high[u] = arm[i]
    return first, low, high, group


@njit(cache=True)
def person_index(person, arm, exposed):  # pragma: no cover - compiled
    """Per person id: (user index, first exposure µs) of the included users; user -1 elsewhere.

    Both in one row, so a metric row costs one random read for both."""
    size = 0
    for p in person:
        size = max(size, p + 1)
    index = np.full((size, 2), -1, np.int64)
    for u in range(person.shape[0]):
        if arm[u] >= 0:
            index[person[u], 0] = u
            index[person[u], 1] = exposed[u]
    return index


@njit(cache=True)
def accumulate(person, ts, period, masks, numbers, part_column, part_bit, part_property, part_sums,
               part_window_us, index, post, pre):  # pragma: no cover - compiled
    """Add each row's contribution to every part it feeds, in its user's ``post`` or ``pre`` total.

    Row i feeds part k when bit ``part_bit[k]`` of ``masks[part_column[k], i]`` is set and, for a
    part with a property (``part_property[k]`` ≥ 0), ``numbers[part_property[k], i]`` is a number;
    it adds that number (``part_sums[k]``) or 1. ``index[person]`` is (user, first exposure µs),
    user -1 for persons not in the analysis. ``period`` 2 = in the experiment's dates: counted in
    ``post[user, k]`` when ``0 <= ts - exposure <= part_window_us[k]`` (a negative window: no
    upper limit); 1 = in the pre-period: counted in ``pre[user, k]``.
    """
    n_parts = part_bit.shape[0]
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
