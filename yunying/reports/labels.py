"""The human words of charts and tables, one set per locale: ``LABELS = {"en": ..., "zh-CN": ...}``.

Charts and tables never spell a word themselves; they read it from a :class:`ChartLabels`
(``LABELS[locale]``, default :meth:`ChartLabels.english`). Numbers shown as text (cohort
sizes, percentages in cells) are formatted with Babel's CLDR data for ``locale``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from babel import Locale, UnknownLocaleError
from babel import numbers as babel_numbers

ANY_EVENT = "$any"
OTHER = "$other"


@functools.cache
def babel_locale(locale: str) -> Locale:
    """The Babel locale of ``"en"``/``"zh-CN"``-style tags (unknown tags fall back to English)."""
    try:
        return Locale.parse(locale, sep="-")
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


def plotly_separators(locale: str) -> str:
    """Plotly's ``layout.separators`` for ``locale``: the decimal mark, then the group mark.

    Plotly reads the first character as the decimal separator and the second as the
    thousands separator (``".,"`` is its English default); en and zh-CN both give ``".,"``.
    """
    loc = babel_locale(locale)
    return babel_numbers.get_decimal_symbol(loc) + babel_numbers.get_group_symbol(loc)


def _frozen(mapping: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(mapping)


@dataclass(frozen=True)
class ChartLabels:
    """Every word a chart or table needs, in one language (``locale`` is a BCP 47 tag)."""

    locale: str
    separators: str
    date: str
    users: str
    value: str
    step: str
    event: str
    breakdown: str
    all_users: str
    conversion_from_first: str
    conversion_from_previous: str
    median_time: str
    cohort: str
    cohort_size: str
    retained: str
    period: str
    share: str
    new: str
    returning: str
    resurrecting: str
    dormant: str
    depth: str
    source: str
    target: str
    previous_period: str
    previous_name: str  # "{name}" → the name of a previous-period series
    any_event: str
    none_value: str
    other_value: str
    generated: str
    period_n: Mapping[str, str] = field(hash=False)  # unit → "Day {n}"
    active_buckets: Mapping[str, str] = field(hash=False)  # unit → "Days active"
    math_names: Mapping[str, str] = field(hash=False)  # trends math → its name
    # d3 time formats of date axes and hovers (plotly.js alone would name months in English)
    date_ticks: str = "%Y-%m-%d"
    date_hover: str = "%Y-%m-%d"

    @classmethod
    def english(cls) -> ChartLabels:
        """The English words (the default of every chart and table)."""
        return LABELS["en"]

    def period_label(self, unit: str, n: int) -> str:
        """The name of period ``n`` of a ``unit`` (``day`` → "Day 3" / "第 3 天")."""
        return self.period_n.get(unit, self.period_n["period"]).format(n=n)

    def active_label(self, unit: str) -> str:
        """The stickiness axis for ``unit`` ("Days active" / "活跃天数")."""
        return self.active_buckets.get(unit, self.active_buckets["period"])

    def event_name(self, event: str | None) -> str:
        """An event as shown: ``$any`` becomes "All events"; others are shown as stored."""
        return self.any_event if event in (None, ANY_EVENT) else event

    def breakdown_name(self, value: str | None) -> str:
        """A breakdown value as shown: null → "(none)", ``$other`` → "Other"."""
        if value is None:
            return self.none_value
        return self.other_value if value == OTHER else value

    def math_name(self, math: str) -> str:
        """A trends math as shown ("unique_users" → "Unique users")."""
        return self.math_names.get(math, math)

    def number(self, value: float) -> str:
        """``value`` with the locale's grouping (``1,234`` / ``1,234.5``)."""
        return babel_numbers.format_decimal(value, "#,##0.##", locale=babel_locale(self.locale))

    def percent(self, fraction: float) -> str:
        """A fraction as a percentage with one decimal (``0.1234`` → ``12.3%``)."""
        return babel_numbers.format_percent(fraction, "#,##0.0%", locale=babel_locale(self.locale))


ENGLISH = ChartLabels(
    locale="en", separators=plotly_separators("en"),
    date_ticks="%b %-d", date_hover="%b %-d, %Y",
    date="Date", users="Users", value="Value", step="Step", event="Event", breakdown="Breakdown",
    all_users="All users", conversion_from_first="Conversion from first step",
    conversion_from_previous="Conversion from previous step", median_time="Median time to convert (s)",
    cohort="Cohort", cohort_size="Users in cohort", retained="Retained", period="Period",
    share="Share of users", new="New", returning="Returning", resurrecting="Resurrecting",
    dormant="Dormant", depth="Depth", source="From event", target="To event",
    previous_period="previous period", previous_name="{name} (previous period)",
    any_event="All events", none_value="(none)", other_value="Other", generated="Generated",
    period_n=_frozen({"hour": "Hour {n}", "day": "Day {n}", "week": "Week {n}", "month": "Month {n}",
                      "period": "Period {n}"}),
    active_buckets=_frozen({"hour": "Hours active", "day": "Days active", "week": "Weeks active",
                            "month": "Months active", "period": "Periods active"}),
    math_names=_frozen({"total": "Total", "unique_users": "Unique users", "sum": "Sum", "avg": "Average",
                        "min": "Minimum", "max": "Maximum", "median": "Median", "p90": "90th percentile",
                        "formula": "Formula"}),
)

CHINESE = ChartLabels(
    locale="zh-CN", separators=plotly_separators("zh-CN"),
    date_ticks="%-m月%-d日", date_hover="%Y年%-m月%-d日",
    date="日期", users="用户数", value="数值", step="步骤", event="事件", breakdown="分组",
    all_users="全部用户", conversion_from_first="总体转化率", conversion_from_previous="步骤转化率",
    median_time="转化耗时中位数（秒）", cohort="同期群", cohort_size="同期群人数", retained="留存率",
    period="周期", share="用户占比", new="新用户", returning="持续活跃", resurrecting="回流",
    dormant="流失", depth="深度", source="来源事件", target="目标事件",
    previous_period="上一周期", previous_name="{name}（上一周期）",
    any_event="所有事件", none_value="（空）", other_value="其他", generated="生成时间",
    period_n=_frozen({"hour": "第 {n} 小时", "day": "第 {n} 天", "week": "第 {n} 周", "month": "第 {n} 个月",
                      "period": "第 {n} 期"}),
    active_buckets=_frozen({"hour": "活跃小时数", "day": "活跃天数", "week": "活跃周数", "month": "活跃月数",
                            "period": "活跃周期数"}),
    math_names=_frozen({"total": "总次数", "unique_users": "用户数", "sum": "总和", "avg": "平均值",
                        "min": "最小值", "max": "最大值", "median": "中位数", "p90": "P90",
                        "formula": "公式"}),
)

LABELS: dict[str, ChartLabels] = {"en": ENGLISH, "zh-CN": CHINESE}
