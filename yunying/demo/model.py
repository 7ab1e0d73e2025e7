"""The demo shop's model: every parameter the generator draws from, in one frozen object.

The parameters are the *truth* a test (or an operator trying the product) can compare the
insights with: the per-session continuation probability of each funnel step per channel,
the share of new users per channel, weekday factors, churn and return rates.

Units: days are Asia/Shanghai calendar days; hours are local wall-clock hours; money is
yuan (prices are whole fen, i.e. 0.01 yuan).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

TIMEZONE = "Asia/Shanghai"
# Asia/Shanghai has had no daylight saving time since 1991: local = UTC + 8 h, always.
UTC_OFFSET_HOURS = 8
DEFAULT_END_DATE = dt.date(2026, 10, 31)
# Part of every dataset's identity: raise it when the same options start to give other events
# (2: the checkout A/B test), so a store built by an older generator is never mixed with new
# events (the uuids are a function of the options and would be skipped as duplicates).
GENERATOR_VERSION = 2

FUNNEL_EVENTS: tuple[str, ...] = ("app_open", "view_product", "add_to_cart", "checkout", "pay")
# Events that fill a session around the funnel walk, with relative frequencies.
FILLER_EVENTS: tuple[tuple[str, float], ...] = (
    ("$pageview", 0.34),
    ("search", 0.16),
    ("view_category", 0.16),
    ("view_promo", 0.10),
    ("click_banner", 0.08),
    ("add_to_wishlist", 0.06),
    ("share", 0.05),
    ("view_order", 0.03),
    ("contact_support", 0.02),
)
# The experiment's exposure, as PostHog's SDKs report a feature flag's variant to the user.
EXPOSURE_EVENT = "$feature_flag_called"
EXPERIMENT_PROPERTY = "$feature_flag"
VARIANT_PROPERTY = "$feature_flag_response"
EVENT_NAMES: tuple[str, ...] = (
    FUNNEL_EVENTS + tuple(name for name, _ in FILLER_EVENTS) + (EXPOSURE_EVENT,)
)

CHANNELS: tuple[str, ...] = ("百度", "微信", "抖音", "小红书", "广点通", "organic", "referral")
# utm_source as the app's links carry it; organic traffic has none (the key is absent).
UTM_SOURCES: tuple[str | None, ...] = (
    "baidu", "wechat", "douyin", "xiaohongshu", "gdt", None, "referral",
)

CITIES: tuple[tuple[str, float], ...] = (
    ("上海", 0.14), ("北京", 0.13), ("广州", 0.09), ("深圳", 0.09), ("杭州", 0.07),
    ("成都", 0.07), ("武汉", 0.06), ("南京", 0.05), ("重庆", 0.05), ("西安", 0.04),
    ("苏州", 0.04), ("天津", 0.04), ("长沙", 0.04), ("郑州", 0.03), ("青岛", 0.03),
    ("厦门", 0.03),
)
# (os, device_type, browser, share): the app's platforms and the web shop's.
PLATFORMS: tuple[tuple[str, str, str, float], ...] = (
    ("Android", "Mobile", "Chrome", 0.34),
    ("iOS", "Mobile", "Safari", 0.28),
    ("Android", "Mobile", "WeChat", 0.08),
    ("iOS", "Mobile", "WeChat", 0.05),
    ("HarmonyOS", "Mobile", "Huawei Browser", 0.07),
    ("iPadOS", "Tablet", "Safari", 0.04),
    ("Android", "Tablet", "Chrome", 0.02),
    ("Windows", "Desktop", "Chrome", 0.07),
    ("Windows", "Desktop", "Edge", 0.03),
    ("Mac OS X", "Desktop", "Safari", 0.02),
)
# (category, median price in yuan, share of product views)
CATEGORIES: tuple[tuple[str, float, float], ...] = (
    ("服饰", 159.0, 0.24), ("美妆", 129.0, 0.18), ("数码", 899.0, 0.12), ("食品", 49.0, 0.16),
    ("家居", 199.0, 0.12), ("母婴", 169.0, 0.10), ("运动", 239.0, 0.08),
)
SEARCH_TERMS: tuple[str, ...] = (
    "连衣裙", "口红", "蓝牙耳机", "零食", "收纳盒", "纸尿裤", "跑步鞋", "防晒霜", "手机壳",
    "咖啡", "T恤", "面膜", "充电宝", "坚果", "四件套", "奶粉", "瑜伽垫", "卫衣",
)


@dataclass(frozen=True)
class DemoExperiment:
    """An A/B test of the checkout page over the last ``days`` local days of the data.

    Every user active in those days is assigned by the documented hash of (``key``, their
    distinct_id) and sees the flag once, when their first session in the period opens. From
    then on, in the ``test`` arm, the chance that a checkout is paid is the channel's
    ``checkout → pay`` continuation times ``pay_lift`` (the true effect on the ratio
    ``pay / checkout``); nothing else differs, so e.g. ``share`` counts have no effect.
    """

    key: str = "checkout_redesign"
    name: str = "结算页改版 Checkout redesign"
    variants: tuple[tuple[str, float], ...] = (("control", 0.5), ("test", 0.5))
    days: int = 28
    pay_lift: float = 1.10

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "days": self.days,
            "variants": [{"key": k, "weight": w} for k, w in self.variants],
            "true_relative_lift": {"pay / checkout": round(self.pay_lift - 1, 12), "share": 0.0,
                                   "contact_support": 0.0},
        }


@dataclass(frozen=True)
class DemoModel:
    """Parameters of the simulated shop (all probabilities in [0, 1])."""

    channel_shares: tuple[float, ...] = (0.16, 0.22, 0.20, 0.12, 0.08, 0.15, 0.07)
    # channel -> P(step k+1 | step k in the same session), for k = app_open … checkout.
    continuation: tuple[tuple[float, float, float, float], ...] = (
        (0.55, 0.30, 0.55, 0.70),  # 百度
        (0.60, 0.36, 0.60, 0.80),  # 微信
        (0.50, 0.24, 0.45, 0.60),  # 抖音
        (0.65, 0.38, 0.55, 0.72),  # 小红书
        (0.45, 0.22, 0.45, 0.62),  # 广点通
        (0.62, 0.36, 0.62, 0.82),  # organic
        (0.70, 0.42, 0.66, 0.86),  # referral
    )
    # Monday … Sunday multipliers of a live user's chance to be active that day.
    weekday_activity: tuple[float, ...] = (1.00, 0.97, 0.96, 0.98, 1.06, 1.30, 1.22)
    # Monday … Sunday multipliers of new-user arrivals.
    weekday_acquisition: tuple[float, ...] = (1.00, 0.98, 0.97, 0.98, 1.05, 1.25, 1.20)
    # New users per day grow by this factor from the first day to the last.
    growth_over_range: float = 2.5
    # Churn: a share of users never return after their first day; the others stay for an
    # exponentially distributed lifetime (days) and are then gone for good.
    bounce_share: float = 0.35
    lifetime_mean_days: float = 24.0
    # While alive, a user's base chance to be active on a day ~ Beta(a, b).
    daily_activity_beta: tuple[float, float] = (2.0, 4.5)
    extra_sessions_per_active_day: float = 0.35  # Poisson mean, on top of one
    fillers_per_session_mean: float = 4.0  # geometric, >= 0
    # Local-hour profiles (24 relative weights) of session starts.
    hours_weekday: tuple[float, ...] = (
        0.30, 0.15, 0.08, 0.05, 0.04, 0.06, 0.20, 0.50, 0.80, 0.80, 0.75, 0.85,
        1.10, 0.95, 0.70, 0.70, 0.75, 0.85, 1.00, 1.20, 1.45, 1.60, 1.40, 0.80,
    )
    hours_weekend: tuple[float, ...] = (
        0.55, 0.35, 0.18, 0.08, 0.05, 0.05, 0.08, 0.20, 0.40, 0.70, 0.95, 1.10,
        1.20, 1.20, 1.10, 1.05, 1.05, 1.10, 1.20, 1.35, 1.50, 1.55, 1.35, 0.95,
    )
    quantity_weights: tuple[float, ...] = (0.72, 0.20, 0.08)  # 1, 2, 3 items per order
    products_per_category: int = 60
    city_shares: tuple[float, ...] = field(default=tuple(w for _, w in CITIES))
    platform_shares: tuple[float, ...] = field(default=tuple(p[3] for p in PLATFORMS))
    experiment: DemoExperiment = field(default_factory=DemoExperiment)

    def to_json(self) -> dict[str, Any]:
        """Parameters as a JSON object, keyed by names rather than positions."""
        raw = asdict(self)
        raw["channel_shares"] = dict(zip(CHANNELS, self.channel_shares, strict=True))
        raw["continuation"] = {
            ch: dict(zip(FUNNEL_EVENTS[1:], probs, strict=True))
            for ch, probs in zip(CHANNELS, self.continuation, strict=True)
        }
        days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        raw["weekday_activity"] = dict(zip(days, self.weekday_activity, strict=True))
        raw["weekday_acquisition"] = dict(zip(days, self.weekday_acquisition, strict=True))
        raw["city_shares"] = {name: w for name, w in CITIES}
        raw["platform_shares"] = [
            {"$os": os_, "$device_type": dev, "$browser": br, "share": w}
            for os_, dev, br, w in PLATFORMS
        ]
        raw["utm_source"] = dict(zip(CHANNELS, UTM_SOURCES, strict=True))
        raw["experiment"] = self.experiment.to_json()
        return raw


@dataclass(frozen=True)
class DemoConfig:
    """What to generate: how many users over how many days ending when, from which seed."""

    users: int = 20_000
    days: int = 60
    end_date: dt.date = DEFAULT_END_DATE
    seed: int = 2026
    model: DemoModel = field(default_factory=DemoModel)

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"users must be at least 1, not {self.users}")
        if not 1 <= self.days <= 3650:
            raise ValueError(f"days must be between 1 and 3650, not {self.days}")

    @property
    def start_date(self) -> dt.date:
        """The first local (Asia/Shanghai) day of the data."""
        return self.end_date - dt.timedelta(days=self.days - 1)

    def identity(self) -> dict[str, Any]:
        """What makes one demo dataset differ from another (stored with the ground truth)."""
        return {
            "users": self.users, "days": self.days, "end_date": self.end_date.isoformat(),
            "seed": self.seed, "timezone": TIMEZONE, "generator": GENERATOR_VERSION,
        }
