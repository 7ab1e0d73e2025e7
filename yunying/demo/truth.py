"""Ground truth of a generated dataset, computed from the generator's own arrays.

Nothing here uses yunying's insight code: these numbers are what the insights *should*
measure on the demo store, by the definitions of docs/metrics.md, over the whole generated
range (``date_from`` = first local day, ``date_to`` = last local day, Asia/Shanghai):

* daily active users, new users, events, ``pay`` events and revenue per local day;
* funnel step counts (users with level ≥ k, window 7 days) overall and per channel;
* retention (start ``app_open``, return any event) by day (7 periods) and by Monday week
  (8 periods), every cohort;
* the model's parameters, to compare rates with (within sampling error);
* the demo experiment: its dates, exposed users per arm, checkouts, pays, paying users, shares
  and support contacts after exposure per arm, and the checkouts it treated per channel (the
  funnel's expected rates move).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from yunying.demo.generator import US_PER_DAY, DemoLog, experiment_start_day
from yunying.demo.model import CHANNELS, EVENT_NAMES, EXPOSURE_EVENT, FUNNEL_EVENTS, TIMEZONE

FUNNEL_WINDOW = "7d"
FUNNEL_WINDOW_US = 7 * US_PER_DAY
DAILY_RETENTION_PERIODS = 7
WEEKLY_RETENTION_PERIODS = 8
_PAY = EVENT_NAMES.index("pay")
_CHECKOUT = EVENT_NAMES.index("checkout")
_OPEN = EVENT_NAMES.index("app_open")
_EXPOSURE = EVENT_NAMES.index(EXPOSURE_EVENT)
_SHARE = EVENT_NAMES.index("share")
_SUPPORT = EVENT_NAMES.index("contact_support")


def funnel_levels(
    user: np.ndarray, timestamp_us: np.ndarray, code: np.ndarray, steps: list[int],
    window_us: int, n_users: int,
) -> np.ndarray:
    """Each user's funnel level (docs/metrics.md, Funnel) for steps of distinct event codes.

    From every step-1 event the chain greedily takes the earliest event of the next step at
    or after the current one (a tie — equal timestamps — in either order); the earliest
    choice is never worse, so the level is the longest such chain within the window.
    """
    order = np.lexsort((timestamp_us, user))
    u, t, c = user[order], timestamp_us[order], code[order]
    # first position of each (user, timestamp) group: ties may be taken in any order
    new_group = np.ones(len(u), dtype=bool)
    new_group[1:] = (u[1:] != u[:-1]) | (t[1:] != t[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(u)), 0))

    position = np.flatnonzero(c == steps[0])
    start_time, start_user = t[position], u[position]
    level = np.ones(len(position), dtype=np.int8)
    alive = np.ones(len(position), dtype=bool)
    for step in steps[1:]:
        candidates = np.flatnonzero(c == step)
        k = np.searchsorted(candidates, group_start[position])
        found = k < len(candidates)
        nxt = candidates[np.minimum(k, len(candidates) - 1)] if len(candidates) else position
        found &= (u[nxt] == start_user) & (t[nxt] - start_time <= window_us) & alive
        level += found
        alive = found
        position = np.where(found, nxt, position)
    per_user = np.zeros(n_users, dtype=np.int8)
    np.maximum.at(per_user, start_user, level)
    return per_user


def step_counts(levels: np.ndarray, n_steps: int) -> list[int]:
    """Step k count = users with level ≥ k, for k = 1 … n_steps."""
    histogram = np.bincount(levels, minlength=n_steps + 1)
    return [int(histogram[k:].sum()) for k in range(1, n_steps + 1)]


def retention_table(
    user: np.ndarray, bucket: np.ndarray, is_start: np.ndarray, n_buckets: int, periods: int,
    n_users: int,
) -> list[dict[str, Any]]:
    """Cohorts by bucket of the first start event; ``values[i]`` = members active in cohort + i."""
    cohort = np.full(n_users, n_buckets, dtype=np.int64)
    np.minimum.at(cohort, user[is_start], bucket[is_start])
    size = np.bincount(cohort, minlength=n_buckets + 1)[:n_buckets]
    pairs = np.unique(user.astype(np.int64) * n_buckets + bucket)
    p_user, p_bucket = pairs // n_buckets, pairs % n_buckets
    offset = p_bucket - cohort[p_user]
    counted = (offset >= 1) & (offset <= periods) & (cohort[p_user] < n_buckets)
    matrix = np.zeros((n_buckets, periods + 1), dtype=np.int64)
    np.add.at(matrix, (cohort[p_user][counted], offset[counted]), 1)
    matrix[:, 0] = size
    return [
        {"cohort_index": b, "size": int(size[b]),
         "values": matrix[b, : min(periods, n_buckets - 1 - b) + 1].tolist()}
        for b in range(n_buckets)
    ]


def _labelled(rows: list[dict[str, Any]], first: dt.date, step_days: int) -> list[dict[str, Any]]:
    return [
        {"cohort": (first + dt.timedelta(days=step_days * r.pop("cohort_index"))).isoformat(), **r}
        for r in rows
    ]


def experiment_truth(log: DemoLog) -> dict[str, Any]:
    """The demo experiment as generated: who was exposed, and what happened after exposure.

    ``after_exposure`` counts a user's events at or after their exposure (its timestamp
    included); a checkout is *treated* when its session opened at or after the exposure of a
    user in a non-control arm (the generator's rule), counted per channel.
    """
    cfg, ev, users = log.config, log.events, log.users
    exp = cfg.model.experiment
    n_users = len(users.signup_day)
    never = np.iinfo(np.int64).max
    exposed_at = np.full(n_users, never, dtype=np.int64)
    is_exposure = ev.code == _EXPOSURE
    np.minimum.at(exposed_at, ev.user[is_exposure], ev.timestamp_us[is_exposure])
    session_start = np.full(log.session_count, never, dtype=np.int64)
    is_open = ev.code == _OPEN
    np.minimum.at(session_start, ev.session[is_open], ev.timestamp_us[is_open])

    exposed = exposed_at != never
    after = ev.timestamp_us >= exposed_at[ev.user]
    arms = len(exp.variants)
    is_checkout = ev.code == _CHECKOUT
    treated = is_checkout & (users.variant[ev.user] > 0) & (session_start[ev.session] >= exposed_at[ev.user])

    def per_arm(mask: np.ndarray) -> list[int]:
        return np.bincount(users.variant[ev.user[mask & after]], minlength=arms).tolist()

    start = cfg.start_date + dt.timedelta(days=experiment_start_day(cfg))
    return {
        **exp.to_json(),
        "date_from": start.isoformat(),
        "date_to": cfg.end_date.isoformat(),
        "exposed_users": np.bincount(users.variant[exposed], minlength=arms).tolist(),
        "checkouts_after_exposure": per_arm(is_checkout),
        "pays_after_exposure": per_arm(ev.code == _PAY),
        "paying_users_after_exposure": np.bincount(
            users.variant[np.unique(ev.user[(ev.code == _PAY) & after])], minlength=arms).tolist(),
        "shares_after_exposure": per_arm(ev.code == _SHARE),
        "support_contacts_after_exposure": per_arm(ev.code == _SUPPORT),
        "treated_checkouts_by_channel": dict(zip(
            CHANNELS,
            np.bincount(users.channel[ev.user[treated]], minlength=len(CHANNELS)).tolist(),
            strict=True,
        )),
    }


def ground_truth(log: DemoLog) -> dict[str, Any]:
    """All ground-truth numbers and parameters of ``log`` as a JSON-ready dict."""
    cfg, ev, users = log.config, log.events, log.users
    n_users, days = len(users.signup_day), cfg.days
    dates = [(cfg.start_date + dt.timedelta(days=d)).isoformat() for d in range(days)]
    day_pairs = np.unique(ev.user.astype(np.int64) * days + ev.local_day)
    is_pay = ev.code == _PAY
    price_fen = log.products.price_fen[np.maximum(ev.product, 0)]
    amount_fen = np.where(is_pay, price_fen * ev.quantity, 0)

    steps = list(range(len(FUNNEL_EVENTS)))
    levels = funnel_levels(ev.user, ev.timestamp_us, ev.code, steps, FUNNEL_WINDOW_US, n_users)
    step_events = np.zeros((len(CHANNELS), len(FUNNEL_EVENTS)), dtype=np.int64)
    is_step = ev.code < len(FUNNEL_EVENTS)
    np.add.at(step_events, (users.channel[ev.user[is_step]], ev.code[is_step]), 1)

    first_weekday = cfg.start_date.weekday()
    week = (ev.local_day + first_weekday) // 7
    is_open = ev.code == FUNNEL_EVENTS.index("app_open")
    return {
        "dataset": cfg.identity(),
        "timezone": TIMEZONE,
        "date_from": dates[0],
        "date_to": dates[-1],
        "events": len(ev),
        "users": n_users,
        "sessions": log.session_count,
        "model": cfg.model.to_json(),
        "users_by_channel": dict(
            zip(CHANNELS, np.bincount(users.channel, minlength=len(CHANNELS)).tolist(), strict=True)
        ),
        "daily": {
            "dates": dates,
            "active_users": np.bincount(day_pairs % days, minlength=days).tolist(),
            "new_users": np.bincount(users.signup_day, minlength=days).tolist(),
            "events": np.bincount(ev.local_day, minlength=days).tolist(),
            "pay_events": np.bincount(ev.local_day[is_pay], minlength=days).tolist(),
            "revenue_fen": np.bincount(ev.local_day, weights=amount_fen, minlength=days)
            .astype(np.int64).tolist(),
        },
        "funnel": {
            "steps": list(FUNNEL_EVENTS),
            "window": FUNNEL_WINDOW,
            "counts": step_counts(levels, len(FUNNEL_EVENTS)),
            "by_channel": {
                ch: step_counts(levels[users.channel == i], len(FUNNEL_EVENTS))
                for i, ch in enumerate(CHANNELS)
            },
            "step_events_by_channel": {
                ch: step_events[i].tolist() for i, ch in enumerate(CHANNELS)
            },
        },
        "experiment": experiment_truth(log),
        "retention_daily": {
            "start_event": "app_open", "return_event": "$any", "period": "day",
            "periods": DAILY_RETENTION_PERIODS,
            "cohorts": _labelled(
                retention_table(ev.user, ev.local_day.astype(np.int64), is_open, days,
                                DAILY_RETENTION_PERIODS, n_users),
                cfg.start_date, 1,
            ),
        },
        "retention_weekly": {
            "start_event": "app_open", "return_event": "$any", "period": "week",
            "periods": WEEKLY_RETENTION_PERIODS,
            "cohorts": _labelled(
                retention_table(ev.user, week.astype(np.int64), is_open,
                                int((days - 1 + first_weekday) // 7) + 1,
                                WEEKLY_RETENTION_PERIODS, n_users),
                cfg.start_date - dt.timedelta(days=first_weekday), 7,
            ),
        },
    }
