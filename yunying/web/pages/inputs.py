"""Numbers and choices typed into a page's form, read once for every page.

A wrong input raises :class:`InputError` with the key of its words (``input.*`` for the
checks here, the page's own keys for its own rules), the input's name and the words' values,
so the page can say what is wrong, in the reader's language, at the input it is about.
"""

from __future__ import annotations

import math
from typing import Any


class InputError(ValueError):
    """A wrong input: ``key`` of the words, the input's ``field`` name, the words' values."""

    def __init__(self, key: str, field: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.field, self.values = key, field, values


def number(raw: str, field: str, *, whole: bool = False, positive: bool = False,
           percent: bool = False) -> float:
    """``raw`` as a finite number: thousands separators (, ，) allowed, and a trailing ``%``
    when ``percent`` (the number is then read as typed, 5% as 5)."""
    text = raw.replace(",", "").replace("，", "").strip()
    if percent:
        text = text.removesuffix("%").strip()
    shown = raw.strip()
    if not text:
        raise InputError("input.missing", field)
    try:
        value = float(text)
    except ValueError:
        raise InputError("input.not_number", field, value=shown) from None
    if not math.isfinite(value):
        raise InputError("input.not_number", field, value=shown)
    if whole and not value.is_integer():
        raise InputError("input.whole", field, value=shown)
    if positive and value <= 0:
        raise InputError("input.positive", field, value=shown)
    return value


def choice(raw: str, field: str, choices: tuple[str, ...]) -> str:
    """``raw`` if it is one of ``choices``."""
    if raw not in choices:
        raise InputError("input.choice", field, choices=" / ".join(choices))
    return raw
