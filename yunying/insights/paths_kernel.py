"""The per-user paths pass, compiled with numba: each user's path from the anchor.

Input: one row per event in the range, in any order — person (a slot number), timestamp
(µs) and event code. :func:`anchor_keys` finds each person's anchor, :func:`nearest_rows`
keeps each anchored person's ``steps + 1`` rows from the anchor on in a small sorted buffer:
two linear passes, no sort of the rows.

The order of *Ordering and ties* breaks equal timestamps by ``uuid``, which the rows do not
carry (fetching every uuid costs more than everything else). A buffer whose rows share a
timestamp (or ties with a row left out) is flagged, and those persons take the general
route: their rows grouped by person and ordered by time (:func:`group_by_person`), the
stretch where tied events with different names could change the path found
(:func:`ambiguous_spans`), those rows fetched again with their uuids and put in order by the
caller (:func:`apply_order`), then :func:`walk`. Definitions: docs/metrics.md, 'Paths'.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


class Slots:
    """A small integer (slot) for every person id of the rows: ``id - low`` when the ids are
    dense enough (the store numbers persons 1, 2, … across projects), else the rank among
    the distinct ids."""

    def __init__(self, person: np.ndarray) -> None:
        self.ids: np.ndarray | None = None
        low, high = (int(person.min()), int(person.max())) if person.size else (0, -1)
        self.low = 0 if 0 <= low <= high - low + 1 else low  # ids from 1: no subtraction
        self.count = high - self.low + 1
        if self.count <= 2 * person.size + (1 << 16):
            self.of_rows = person - self.low if self.low else person
        else:
            self.ids, inverse = np.unique(person, return_inverse=True)
            self.of_rows = inverse.astype(np.int64)
            self.count = int(self.ids.size)

    def slot(self, person: np.ndarray) -> np.ndarray:
        """The slots of ids seen in the rows."""
        return person - self.low if self.ids is None else np.searchsorted(self.ids, person)

    def person(self, slot: np.ndarray) -> np.ndarray:
        return slot + self.low if self.ids is None else self.ids[slot]


NO_ANCHOR = np.iinfo(np.int64).max


@njit(cache=True)
def anchor_keys(slot, ts, code, n_slots, anchor, before):  # pragma: no cover - compiled
    """Per slot, the anchor's sort key, NO_ANCHOR without one. The key of a row is its
    timestamp (``before``: minus it), so the anchor is the row of smallest key and its path
    the rows of the next larger keys."""
    key_a = np.full(n_slots, NO_ANCHOR, np.int64)
    for i in range(slot.shape[0]):
        if code[i] == anchor:
            key = -ts[i] if before else ts[i]
            if key < key_a[slot[i]]:
                key_a[slot[i]] = key
    return key_a


@njit(cache=True)
def nearest_rows(slot, ts, code, person_of_slot, key_a, k, before):  # pragma: no cover - compiled
    """Per anchored person (``person_of_slot``: its number, -1 for slots without an anchor),
    the codes of its ``k`` rows of smallest key from the anchor's on, in key order (-1 past
    its rows), their number, and whether equal timestamps could change them.

    One pass over the rows in any order, a sorted buffer of ``k`` per person: fastest when
    the keys mostly grow (rows in time order; for ``before`` pass them reversed), as most
    rows then fall past a full buffer at once instead of shifting it. When no two of the
    kept rows share a timestamp and no row left out has the last kept row's timestamp, the
    buffer is the path exactly (position 0 is then the anchor itself); otherwise the person
    is flagged ``tied`` (conservatively: a tie seen on the way that later drops out of the
    buffer still flags it) and its path must come from :func:`walk`.
    """
    n_persons = key_a.shape[0]
    buf_key = np.empty((n_persons, k), np.int64)
    buf_code = np.full((n_persons, k), -1, np.int32)
    count = np.zeros(n_persons, np.int64)
    tied = np.zeros(n_persons, np.bool_)
    for i in range(slot.shape[0]):
        p = person_of_slot[slot[i]]
        if p < 0:
            continue
        key = -ts[i] if before else ts[i]
        if key < key_a[p]:
            continue
        c = count[p]
        evicted = 0
        if c == k:
            top = buf_key[p, k - 1]
            if key >= top:
                if key == top:
                    tied[p] = True
                continue
            evicted = top
            j = k - 1
        else:
            j = c
            count[p] = c + 1
        while j > 0 and buf_key[p, j - 1] > key:
            buf_key[p, j] = buf_key[p, j - 1]
            buf_code[p, j] = buf_code[p, j - 1]
            j -= 1
        if j > 0 and buf_key[p, j - 1] == key:
            tied[p] = True
        buf_key[p, j] = key
        buf_code[p, j] = code[i]
        if c == k and evicted == buf_key[p, k - 1]:
            tied[p] = True
    return buf_code, count, tied


@njit(cache=True, parallel=True)
def group_by_person(person, ts, code, n_persons):  # pragma: no cover - compiled
    """Rows moved into person order (counting sort), each person's rows ordered by time
    (tied rows in any order). Returns (ts, code, starts): person p's rows are
    ``starts[p]:starts[p + 1]``.
    """
    n = person.shape[0]
    starts = np.zeros(n_persons + 1, np.int64)
    for i in range(n):
        starts[person[i] + 1] += 1
    for p in range(n_persons):
        starts[p + 1] += starts[p]
    fill = starts[:-1].copy()
    ts_s = np.empty(n, np.int64)
    code_s = np.empty(n, np.int32)
    for i in range(n):  # one thread: moving rows is bound by memory, not by the core
        at = fill[person[i]]
        fill[person[i]] = at + 1
        ts_s[at] = ts[i]
        code_s[at] = code[i]
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
                t, cd = ts_s[k], code_s[k]
                m = k - 1
                while m >= a and ts_s[m] > t:
                    ts_s[m + 1], code_s[m + 1] = ts_s[m], code_s[m]
                    m -= 1
                ts_s[m + 1], code_s[m + 1] = t, cd
        else:
            idx = np.argsort(ts_s[a:b], kind="mergesort")
            ts_s[a:b] = ts_s[a:b][idx]
            code_s[a:b] = code_s[a:b][idx]
    return ts_s, code_s, starts


@njit(cache=True)
def _anchor(code, a, b, anchor, before):  # pragma: no cover - compiled
    """Index of the first (``before``: last) row with the anchor's code in a..b-1, or -1."""
    if before:
        for k in range(b - 1, a - 1, -1):
            if code[k] == anchor:
                return k
    else:
        for k in range(a, b):
            if code[k] == anchor:
                return k
    return -1


@njit(cache=True, parallel=True)
def ambiguous_spans(ts, code, starts, anchor, steps, before):  # pragma: no cover - compiled
    """Per person, the rows lo..hi (inclusive; -1 when none) whose order among equal
    timestamps could change the path: from the anchor's tie group to ``steps`` rows beyond
    it, whole tie groups, when one of its tie groups holds different events. Outside it the
    rows are in their final order whatever the uuids."""
    n_persons = starts.shape[0] - 1
    lo_ix = np.full(n_persons, -1, np.int64)
    hi_ix = np.full(n_persons, -1, np.int64)
    for p in prange(n_persons):
        a, b = starts[p], starts[p + 1]
        k = _anchor(code, a, b, anchor, before)
        if k < 0:
            continue
        g0 = k  # the anchor's tie group is g0..e0-1
        while g0 > a and ts[g0 - 1] == ts[k]:
            g0 -= 1
        e0 = k + 1
        while e0 < b and ts[e0] == ts[k]:
            e0 += 1
        if before:  # the anchor is somewhere in g0..e0-1; the path reaches `steps` rows back
            lo = max(g0 - steps, a)
            while lo > a and ts[lo - 1] == ts[lo]:
                lo -= 1
            hi = e0 - 1
        else:
            lo = g0
            hi = min(e0 - 1 + steps, b - 1)
            while hi + 1 < b and ts[hi + 1] == ts[hi]:
                hi += 1
        group = lo
        for i in range(lo + 1, hi + 1):
            if ts[i] != ts[i - 1]:
                group = i
            elif code[i] != code[group]:
                lo_ix[p] = lo
                hi_ix[p] = hi
                break
    return lo_ix, hi_ix


@njit(cache=True)
def apply_order(ts, code, lo_ix, hi_ix, person, row_ts, row_code):  # pragma: no cover - compiled
    """Write the rows of the ambiguous spans in their full order: ``person``/``row_ts``/
    ``row_code`` are exactly those rows (person numbers), grouped by person and in order
    inside each. False when they are not the rows of the spans (the events changed between
    the reads)."""
    n_spans = 0
    for p in range(lo_ix.shape[0]):
        if lo_ix[p] >= 0:
            n_spans += 1
    seen = np.zeros(lo_ix.shape[0], np.bool_)
    m = person.shape[0]
    i = 0
    while i < m:
        p = person[i]
        j = i
        while j < m and person[j] == p:
            j += 1
        if p < 0 or p >= lo_ix.shape[0] or seen[p] or lo_ix[p] < 0:
            return False
        seen[p] = True
        n_spans -= 1
        lo = lo_ix[p]
        if j - i != hi_ix[p] - lo + 1:
            return False
        for r in range(j - i):
            if row_ts[i + r] != ts[lo + r]:
                return False
            code[lo + r] = row_code[i + r]
        i = j
    return n_spans == 0


@njit(cache=True, parallel=True)
def walk(code, starts, anchor, steps, before):  # pragma: no cover - compiled
    """Per person, the path's event codes (position 0 is the anchor; -1 past the end) and
    its length (0: no anchor)."""
    n_persons = starts.shape[0] - 1
    path = np.full((n_persons, steps + 1), -1, np.int32)
    length = np.zeros(n_persons, np.int64)
    for p in prange(n_persons):
        a, b = starts[p], starts[p + 1]
        k = _anchor(code, a, b, anchor, before)
        if k < 0:
            continue
        n = 0
        if before:
            end = max(k - steps, a)
            for i in range(k, end - 1, -1):
                path[p, n] = code[i]
                n += 1
        else:
            end = min(k + steps, b - 1)
            for i in range(k, end + 1):
                path[p, n] = code[i]
                n += 1
        length[p] = n
    return path, length
