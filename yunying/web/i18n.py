"""Words and number/date formats of the workbench in zh-CN and en.

Catalogs are JSON files ``locales/<locale>/<area>.json`` (one area per part of the
workbench, so each page's words sit in one place); keys are dotted (``nav.overview``) and
unique across areas, and every key exists in every locale (tests/test_i18n.py).
Numbers and dates are formatted with Babel's CLDR data for the locale (``1.2万`` in Chinese,
``12K`` in English for compact numbers).

The language of a request: the account's setting, else the ``yy_lang`` cookie (the
language switch sets it), else the browser's ``Accept-Language``, else zh-CN.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
LANG_COOKIE = "yy_lang"


@functools.cache
def catalog(locale: str) -> dict[str, str]:
    """Every key of ``locale``, merged from its area files (a key in two areas is an error)."""
    merged: dict[str, str] = {}
    folder = resources.files("yunying.web") / "locales" / locale
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        for key, text in json.loads(entry.read_text(encoding="utf-8")).items():
            if key in merged:
                raise ValueError(f"i18n key {key!r} is defined twice ({locale}/{entry.name})")
            merged[key] = text
    return merged


@functools.cache
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))  # parsing CLDR data costs ~0.25 ms: once per locale


def negotiate(account_locale: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The locale for a request (see the module docstring for the order)."""
    for choice in (account_locale, cookie):
        if choice in LOCALES:
            return choice  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


@dataclass(frozen=True)
class Translator:
    """Words and formats of one locale; templates call it as ``t('key', name=...)``."""

    locale: str

    @property
    def babel(self) -> Locale:
        return _babel_locale(self.locale)

    def __call__(self, key: str, /, **values: Any) -> str:
        text = catalog(self.locale).get(key)
        if text is None:
            return key  # a missing key shows itself (and fails tests/test_i18n.py)
        return text.format(**values) if values else text

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return babel_numbers.format_decimal(value, format=fmt, locale=self.babel)

    def compact(self, value: float | int | None) -> str:
        """Short form for cards: 12,345 -> 1.2万 (zh) / 12K (en); below 10,000 in full."""
        if value is None:
            return "–"
        if abs(value) < 10_000:
            return self.number(value, 0 if float(value).is_integer() else 2)
        return babel_numbers.format_compact_decimal(value, locale=self.babel, fraction_digits=1)

    def percent(self, fraction: float | None, digits: int = 1) -> str:
        if fraction is None:
            return "–"
        fmt = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return babel_numbers.format_percent(fraction, format=fmt, locale=self.babel)

    def p_value(self, p: float | None, *, relation: bool = False) -> str:
        """A p-value with 4 decimals, below 0.0001 as "< 0.0001" (not a misleading 0.0000);
        ``relation``: with its sign for a sentence ("= 0.0123", "< 0.0001")."""
        if p is None:
            return "–"
        if p < 0.0001:
            return "< " + self.number(0.0001, 4)
        return ("= " if relation else "") + self.number(p, 4)

    def change(self, fraction: float | None) -> str:
        """A signed relative change: +5.2% / −3.0%; – when there is nothing to compare with."""
        if fraction is None:
            return "–"
        sign = "+" if fraction > 0 else ("−" if fraction < 0 else "±")
        return sign + self.percent(abs(fraction))

    def date(self, value: dt.date | str | None, form: str = "medium") -> str:
        if value is None:
            return "–"
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return babel_dates.format_date(value, format=form, locale=self.babel)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return "–"
        return babel_dates.format_datetime(value, format="medium", locale=self.babel)
