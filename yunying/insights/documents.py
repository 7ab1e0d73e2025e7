"""What every query document shares: dates, time zone, filters, event selectors, windows.

Documents are pydantic models with ``extra="forbid"`` and a ``kind`` literal; their field
names are a public contract (the CLI, the API and saved dashboards store them).
Definitions of every field: docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from yunying.store.connection import validate_timezone

ANY_EVENT = "$any"
Interval = Literal["hour", "day", "week", "month"]
Period = Literal["day", "week", "month"]

FilterOperator = Literal[
    "eq", "neq", "contains", "not_contains", "icontains",
    "gt", "gte", "lt", "lte", "is_set", "is_not_set",
]
_NUMERIC_OPERATORS = {"gt", "gte", "lt", "lte"}
_WINDOW = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PropertyFilter(Document):
    property: Annotated[str, Field(min_length=1, max_length=400)]
    operator: FilterOperator = "eq"
    value: str | float | int | bool | list[str | float | int | bool] | None = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> PropertyFilter:
        if self.operator in ("is_set", "is_not_set"):
            return self
        if self.value is None:
            raise ValueError(f"operator {self.operator!r} needs a value")
        if self.operator in _NUMERIC_OPERATORS:
            if isinstance(self.value, bool) or not isinstance(self.value, int | float):
                raise ValueError(f"operator {self.operator!r} compares numbers: value must be a number")
        elif isinstance(self.value, list):
            if self.operator not in ("eq", "neq"):
                raise ValueError(f"operator {self.operator!r} takes one value, not a list")
            if not self.value:
                raise ValueError("value list is empty")
        return self


Filters = Annotated[list[PropertyFilter], Field(default_factory=list, max_length=50)]
EventName = Annotated[str, Field(min_length=1, max_length=400)]


class DateRangeDocument(Document):
    """Base of every insight document: an inclusive local date range in a time zone."""

    date_from: dt.date
    date_to: dt.date
    timezone: str | None = Field(default=None, description="IANA zone; default the project's")
    filters: Filters

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else validate_timezone(value)

    @field_validator("date_from", "date_to")
    @classmethod
    def _plausible_year(cls, value: dt.date) -> dt.date:
        # far enough from year 1 and 9999 that every window around the range stays a date
        if not 1900 <= value.year <= 2999:
            raise ValueError(f"{value} is outside the years 1900-2999")
        return value

    @field_validator("date_to")
    @classmethod
    def _ordered_dates(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        date_from = info.data.get("date_from")
        if date_from is not None and date_from > value:
            raise ValueError(f"date_to {value} is before date_from {date_from}")
        if date_from is not None and (value - date_from).days > 3660:
            raise ValueError("the date range may span at most ten years")
        return value


def parse_window_seconds(text: str) -> int:
    """``"7d"`` -> 604800. Units: s, m, h, d, w. Raises ValueError naming the accepted form."""
    match = _WINDOW.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"window {text!r} must be a positive number and a unit s, m, h, d or w, e.g. '7d' or '30m'"
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
