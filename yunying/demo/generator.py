"""The latent simulation: users, their active days, sessions and events, as numpy arrays.

Everything is drawn from one seeded ``numpy.random.Generator`` in a fixed order, fully
vectorised, so the same :class:`~yunying.demo.model.DemoConfig` always gives the same arrays
(and ~10M events take seconds, not minutes).

The story of one user: arrives on a day (more users arrive later and at weekends) from one
channel, city and platform; on the first day opens the app; then either never comes back
(bounce) or stays for an exponentially distributed lifetime, active on each day with a
personal probability times the weekday factor; each active day has one or more sessions
starting at a local hour drawn from the weekday or weekend profile. A session opens with
``app_open``, walks the funnel ``view_product → add_to_cart → checkout → pay`` with the
channel's continuation probabilities (one product per session) and is padded with filler
events. Events after the last local day are cut (not yet observed).

Over the last days runs the A/B test of :class:`~yunying.demo.model.DemoExperiment`: a user
active then gets one exposure event when their first session of the period opens, and in
the treated arm every later checkout is paid with a higher chance. It reuses the random
draws of the plain simulation (only a threshold moves), so the control arm and all days
before the test are exactly the data a model without an experiment gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from yunying.demo.model import (
    CATEGORIES,
    DEFAULT_END_DATE,
    EVENT_NAMES,
    EXPOSURE_EVENT,
    FILLER_EVENTS,
    FUNNEL_EVENTS,
    SEARCH_TERMS,
    UTC_OFFSET_HOURS,
    DemoConfig,
)
from yunying.demo.strings import distinct_id_list
from yunying.experiments.assignment import assign_many

US_PER_SECOND = 1_000_000
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR
NO_VALUE = -1  # "this event has no such property" in the integer property arrays


@dataclass(frozen=True)
class DemoUsers:
    """One row per user (index = user number). Days count from the first local day (0)."""

    signup_day: np.ndarray  # int32, local day of the first session
    last_alive_day: np.ndarray  # int32, last day the user may be active (>= signup_day)
    channel: np.ndarray  # int8, index into model.CHANNELS
    city: np.ndarray  # int8, index into model.CITIES
    platform: np.ndarray  # int8, index into model.PLATFORMS
    variant: np.ndarray  # int8, index into model.experiment.variants (by the assignment hash)


@dataclass(frozen=True)
class DemoProducts:
    category: np.ndarray  # int8, index into model.CATEGORIES
    price_fen: np.ndarray  # int64, price in fen (0.01 yuan)


@dataclass(frozen=True)
class DemoEvents:
    """One row per event, sorted by timestamp (ties: generation order)."""

    timestamp_us: np.ndarray  # int64, UTC microseconds since the Unix epoch
    local_day: np.ndarray  # int32, Asia/Shanghai day index from config.start_date
    code: np.ndarray  # int8, index into model.EVENT_NAMES
    user: np.ndarray  # int32
    session: np.ndarray  # int32
    product: np.ndarray  # int32, product index on product events, else NO_VALUE
    quantity: np.ndarray  # int8, items bought on pay, else 0
    category: np.ndarray  # int8, category on product and view_category events, else NO_VALUE
    search_term: np.ndarray  # int16, index into model.SEARCH_TERMS on search, else NO_VALUE

    def __len__(self) -> int:
        return len(self.timestamp_us)


@dataclass(frozen=True)
class DemoLog:
    """The whole latent record of one generated dataset."""

    config: DemoConfig
    users: DemoUsers
    products: DemoProducts
    session_count: int
    events: DemoEvents

    @property
    def start_us(self) -> int:
        """UTC microseconds of local midnight starting ``config.start_date``."""
        return local_midnight_us(self.config.start_date)


def local_midnight_us(day: dt.date) -> int:
    """UTC microseconds since the epoch of 00:00 Asia/Shanghai on ``day``."""
    return (day - dt.date(1970, 1, 1)).days * US_PER_DAY - UTC_OFFSET_HOURS * US_PER_HOUR


def _normalised(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def rng_for(config: DemoConfig, stream: int) -> np.random.Generator:
    """The seeded generator of one stream (0: the simulation, 1: uuids)."""
    key = [config.seed, config.users, config.days, config.end_date.toordinal(), stream]
    return np.random.default_rng(key)


def _weekday_of_day(config: DemoConfig) -> np.ndarray:
    return (config.start_date.weekday() + np.arange(config.days)) % 7


def _make_users(rng: np.random.Generator, config: DemoConfig) -> DemoUsers:
    m, n, days = config.model, config.users, config.days

    def pick(shares: tuple[float, ...]) -> np.ndarray:
        return rng.choice(len(shares), n, p=_normalised(shares)).astype(np.int8)

    weekday = _weekday_of_day(config)
    growth = np.log(m.growth_over_range) / max(days - 1, 1)
    arrivals = np.exp(growth * np.arange(days)) * np.asarray(m.weekday_acquisition)[weekday]
    signup = np.sort(rng.choice(days, size=n, p=_normalised(arrivals))).astype(np.int32)
    bounce = rng.random(n) < m.bounce_share
    lifetime = 1 + np.floor(rng.exponential(m.lifetime_mean_days, n)).astype(np.int64)
    last_alive = np.minimum(signup + np.where(bounce, 0, lifetime), days - 1).astype(np.int32)
    return DemoUsers(
        signup_day=signup,
        last_alive_day=last_alive,
        channel=pick(m.channel_shares),
        city=pick(m.city_shares),
        platform=pick(m.platform_shares),
        variant=_variants(config),
    )


def _variants(config: DemoConfig) -> np.ndarray:
    """Each user's arm of the demo experiment, as any app would compute it from its user id."""
    exp = config.model.experiment
    keys = [key for key, _ in exp.variants]
    arms = assign_many(exp.key, distinct_id_list(config.users), exp.variants)
    return np.array([keys.index(a) for a in arms], dtype=np.int8)


def experiment_start_day(config: DemoConfig) -> int:
    """The first local day (index) of the demo experiment: it runs to the last day."""
    return max(config.days - config.model.experiment.days, 0)


def _exposure_sessions(
    s_user: np.ndarray, s_start: np.ndarray, in_period: np.ndarray
) -> np.ndarray:
    """Each user's first session in the experiment's period (by start time)."""
    candidates = np.flatnonzero(in_period)
    order = candidates[np.lexsort((s_start[candidates], s_user[candidates]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = s_user[order][1:] != s_user[order][:-1]
    return order[first]


def _make_products(rng: np.random.Generator, config: DemoConfig) -> DemoProducts:
    per = config.model.products_per_category
    category = np.repeat(np.arange(len(CATEGORIES), dtype=np.int8), per)
    median = np.array([c[1] for c in CATEGORIES])[category]
    yuan = np.maximum(np.round(rng.lognormal(np.log(median), 0.45)), 2.0)
    # Shop prices end in .90 (159 → 158.90): whole yuan minus one jiao, in fen.
    return DemoProducts(category=category, price_fen=(yuan * 100 - 10).astype(np.int64))


def _active_days(
    rng: np.random.Generator, config: DemoConfig, users: DemoUsers
) -> tuple[np.ndarray, np.ndarray]:
    """(user, day) of every active user-day: the signup day, then each alive day by chance."""
    m = config.model
    n = len(users.signup_day)
    base = rng.beta(*m.daily_activity_beta, n)
    span = (users.last_alive_day - users.signup_day).astype(np.int64)  # days after signup
    user = np.repeat(np.arange(n, dtype=np.int32), span)
    first = np.cumsum(span) - span
    day = users.signup_day[user] + 1 + (np.arange(len(user)) - np.repeat(first, span))
    factor = np.asarray(m.weekday_activity)[_weekday_of_day(config)[day]]
    active = rng.random(len(user)) < np.minimum(base[user] * factor, 1.0)
    all_user = np.concatenate([np.arange(n, dtype=np.int32), user[active]])
    all_day = np.concatenate([users.signup_day, day[active].astype(np.int32)])
    return all_user, all_day


def _session_starts(
    rng: np.random.Generator, config: DemoConfig, day: np.ndarray
) -> np.ndarray:
    """Local microseconds since the first local midnight of sessions on ``day``."""
    m = config.model
    weekend = _weekday_of_day(config)[day] >= 5
    hour = np.where(
        weekend,
        rng.choice(24, len(day), p=_normalised(m.hours_weekend)),
        rng.choice(24, len(day), p=_normalised(m.hours_weekday)),
    )
    return day * US_PER_DAY + hour * US_PER_HOUR + rng.integers(0, US_PER_HOUR, len(day))


def _funnel_depth(
    rng: np.random.Generator, config: DemoConfig, channel: np.ndarray, treated: np.ndarray
) -> np.ndarray:
    """How many funnel steps (1 … 5) each session reaches (``treated``: the test's pay lift)."""
    probs = np.asarray(config.model.continuation)[channel]
    probs[:, -1] *= np.where(treated, config.model.experiment.pay_lift, 1.0)
    passed = np.cumprod(rng.random(probs.shape) < probs, axis=1)
    return (1 + passed.sum(axis=1)).astype(np.int8)


def simulate(config: DemoConfig) -> DemoLog:
    """Run the model for ``config``: deterministic in the config (seed included)."""
    rng = rng_for(config, 0)
    m = config.model
    users = _make_users(rng, config)
    products = _make_products(rng, config)

    s_user, s_day = _active_days(rng, config, users)
    repeat = 1 + rng.poisson(m.extra_sessions_per_active_day, len(s_user))
    s_user, s_day = np.repeat(s_user, repeat), np.repeat(s_day, repeat).astype(np.int64)
    n_sessions = len(s_user)
    s_start = _session_starts(rng, config, s_day)
    in_period = s_day >= experiment_start_day(config)
    depth = _funnel_depth(rng, config, users.channel[s_user], in_period & (users.variant[s_user] > 0))
    funnel_gap = (3 * US_PER_SECOND + rng.exponential(45 * US_PER_SECOND, (n_sessions, 4))).astype(
        np.int64
    )
    funnel_offset = np.concatenate(
        [np.zeros((n_sessions, 1), np.int64), np.cumsum(funnel_gap, axis=1)], axis=1
    )
    category_p = _normalised([c[2] for c in CATEGORIES])
    s_category = rng.choice(len(CATEGORIES), n_sessions, p=category_p)
    rank_p = _normalised(1.0 / np.arange(1, m.products_per_category + 1))
    s_product = s_category * m.products_per_category + rng.choice(
        m.products_per_category, n_sessions, p=rank_p
    )
    quantity_p = _normalised(m.quantity_weights)
    s_quantity = 1 + rng.choice(len(quantity_p), n_sessions, p=quantity_p)
    n_fillers = rng.geometric(1.0 / (1.0 + m.fillers_per_session_mean), n_sessions) - 1
    duration = np.maximum(
        funnel_offset[np.arange(n_sessions), depth - 1],
        rng.exponential(240 * US_PER_SECOND, n_sessions).astype(np.int64),
    )

    # funnel events: step k of session s at s_start + funnel_offset[s, k]
    f_session = np.repeat(np.arange(n_sessions, dtype=np.int32), depth)
    f_step = np.arange(len(f_session)) - np.repeat(np.cumsum(depth) - depth, depth)
    f_time = s_start[f_session] + funnel_offset[f_session, f_step]
    # filler events: uniformly inside the session, strictly after its app_open
    e_session = np.repeat(np.arange(n_sessions, dtype=np.int32), n_fillers)
    e_time = s_start[e_session] + 1 + (rng.random(len(e_session)) * duration[e_session]).astype(
        np.int64
    )
    e_code = len(FUNNEL_EVENTS) + rng.choice(
        len(FILLER_EVENTS), len(e_session), p=_normalised([w for _, w in FILLER_EVENTS])
    )

    drawn = len(f_session) + len(e_session)
    filler_category = rng.choice(len(CATEGORIES), drawn, p=category_p)
    filler_term = rng.integers(0, len(SEARCH_TERMS), drawn)
    # exposures: when the user's first session of the test period opens (a tie with its app_open)
    x_session = _exposure_sessions(s_user, s_start, in_period).astype(np.int32)
    session = np.concatenate([f_session, e_session, x_session])
    local_us = np.concatenate([f_time, e_time, s_start[x_session]])
    code = np.concatenate(
        [f_step, e_code, np.full(len(x_session), EVENT_NAMES.index(EXPOSURE_EVENT))]
    ).astype(np.int8)
    filler_category = np.concatenate([filler_category, np.zeros(len(x_session), np.int64)])
    filler_term = np.concatenate([filler_term, np.zeros(len(x_session), np.int64)])

    observed = local_us < config.days * US_PER_DAY
    order = np.flatnonzero(observed)[np.argsort(local_us[observed], kind="stable")]
    session, local_us, code = session[order], local_us[order], code[order]
    filler_category, filler_term = filler_category[order], filler_term[order]

    is_product = (code >= 1) & (code < len(FUNNEL_EVENTS))
    names = np.array(EVENT_NAMES)
    is_view_category = code == int(np.flatnonzero(names == "view_category")[0])
    is_search = code == int(np.flatnonzero(names == "search")[0])
    product = np.where(is_product, s_product[session], NO_VALUE).astype(np.int32)
    category = np.where(
        is_product, s_category[session], np.where(is_view_category, filler_category, NO_VALUE)
    ).astype(np.int8)
    events = DemoEvents(
        timestamp_us=local_us + local_midnight_us(config.start_date),
        local_day=(local_us // US_PER_DAY).astype(np.int32),
        code=code,
        user=s_user[session],
        session=session,
        product=product,
        quantity=np.where(code == len(FUNNEL_EVENTS) - 1, s_quantity[session], 0).astype(np.int8),
        category=category,
        search_term=np.where(is_search, filler_term, NO_VALUE).astype(np.int16),
    )
    return DemoLog(config, users, products, n_sessions, events)


def users_for_events(
    n_events: int, *, days: int = 60, end_date: dt.date | None = None, seed: int = 2026
) -> int:
    """How many users give about ``n_events`` events (calibrated on a small pilot run)."""
    pilot_users = 4_000
    pilot = simulate(DemoConfig(
        users=pilot_users, days=days, seed=seed, end_date=end_date or DEFAULT_END_DATE
    ))
    per_user = max(len(pilot.events), 1) / pilot_users
    return max(1, round(n_events / per_user))
