"""An experiment as a document: variants, how users are assigned, dates, metrics, analysis settings.

Every model forbids unknown keys and is frozen; :func:`parse_experiment` turns a JSON object into
an :class:`Experiment` or raises :class:`ExperimentError` naming the field at fault
(``variants[1].weight``). The meaning of every field: docs/experiments.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from yunying.insights.documents import ANY_EVENT, Document, EventName, Filters, parse_window_seconds

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, description="letters, digits, '_', '-', '.'; 1-100")]
PropertyName = Annotated[str, Field(min_length=1, max_length=400)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Status = Literal["draft", "running", "stopped"]
M = TypeVar("M", bound=Document)
STATUSES: tuple[str, ...] = ("draft", "running", "stopped")


class ExperimentError(ValueError):
    """An experiment document that cannot be used; ``field`` names the part at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# ---------------------------------------------------------------------------- variants
class Variant(Document):
    """One arm. ``value``: the variant property's string form that means this arm on an
    exposure event (default: the key), e.g. Sensors' numeric group ids."""

    key: Slug
    name: str = Field(default="", max_length=200)
    weight: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    value: Annotated[str, Field(min_length=1, max_length=400)] | None = None

    @property
    def exposure_value(self) -> str:
        return self.key if self.value is None else self.value

    @property
    def label(self) -> str:
        return self.name or self.key


# ---------------------------------------------------------------------------- assignment
class ExposureEventAssignment(Document):
    """Users are exposed by an event the app sends (PostHog's ``$feature_flag_called`` by default).

    An exposure is an ``event`` (passing ``filters``) whose ``experiment_property`` equals
    ``experiment_value`` (default: the experiment's key; with ``experiment_property`` null every
    such event is an exposure of this experiment) and whose ``variant_property`` names a variant.
    Sensors: ``{"event": "$ABTestTrigger", "experiment_property": "$abtest_experiment_id",
    "experiment_value": "123", "variant_property": "$abtest_experiment_group_id"}``.
    """

    kind: Literal["exposure_event"] = "exposure_event"
    event: EventName = "$feature_flag_called"
    filters: Filters
    experiment_property: PropertyName | None = "$feature_flag"
    experiment_value: Annotated[str, Field(min_length=1, max_length=400)] | None = None
    variant_property: PropertyName = "$feature_flag_response"


class HashAssignment(Document):
    """Server-side deterministic assignment (see ``assignment.py``): users with a
    ``trigger_event`` (``$any``: any event) in the dates are in the experiment from their first one."""

    kind: Literal["hash"] = "hash"
    trigger_event: EventName = ANY_EVENT
    filters: Filters


Assignment = Annotated[ExposureEventAssignment | HashAssignment, Field(discriminator="kind")]


# ---------------------------------------------------------------------------- metrics
class Capping(Document):
    """Winsorise per-user values from above: at the ``percentile`` of all exposed users' values
    (all arms pooled, 0 < p < 1, e.g. 0.99) or at a fixed ``value``. Exactly one of them."""

    percentile: Annotated[float, Field(gt=0, lt=1)] | None = None
    value: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Capping:
        if (self.percentile is None) == (self.value is None):
            raise ValueError("capping takes exactly one of 'percentile' or 'value'")
        return self


class _Metric(Document):
    key: Slug
    name: str = Field(default="", max_length=200)
    inverse: bool = Field(default=False, description="lower is better")
    window: str | None = Field(default=None, description="only events this long after first exposure")

    @field_validator("window")
    @classmethod
    def _window_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window_seconds(value)
        return value

    @property
    def window_seconds(self) -> int | None:
        return None if self.window is None else parse_window_seconds(self.window)

    @property
    def label(self) -> str:
        return self.name or self.key


class ConversionMetric(_Metric):
    """1 when the user has a matching event after exposure (within ``window``), else 0."""

    kind: Literal["conversion"] = "conversion"
    event: EventName
    filters: Filters


class CountMetric(_Metric):
    """Number of matching events per user."""

    kind: Literal["count"] = "count"
    event: EventName
    filters: Filters
    capping: Capping | None = None


class SumMetric(_Metric):
    """Sum of a numeric property over the user's matching events (non-numbers count 0)."""

    kind: Literal["sum"] = "sum"
    event: EventName
    filters: Filters
    property: PropertyName
    capping: Capping | None = None


class MeanMetric(_Metric):
    """Event-level mean of a property: Σ values / number of matching events with a numeric value
    (a ratio with the user as unit); ``capping`` caps the per-user sum."""

    kind: Literal["mean"] = "mean"
    event: EventName
    filters: Filters
    property: PropertyName
    capping: Capping | None = None


class Aggregate(Document):
    """One side of a ratio: per user, the ``count`` of matching events or the ``sum`` of ``property``."""

    aggregation: Literal["sum", "count"]
    event: EventName
    filters: Filters
    property: PropertyName | None = None

    @model_validator(mode="after")
    def _property_fits(self) -> Aggregate:
        if self.aggregation == "sum" and self.property is None:
            raise ValueError("aggregation 'sum' needs a property")
        if self.aggregation == "count" and self.property is not None:
            raise ValueError("aggregation 'count' takes no property")
        return self


class RatioMetric(_Metric):
    """Σ numerator / Σ denominator over users (e.g. revenue per session); ``capping`` caps the
    per-user numerator."""

    kind: Literal["ratio"] = "ratio"
    numerator: Aggregate
    denominator: Aggregate
    capping: Capping | None = None


class QuantileMetric(_Metric):
    """The ``level`` quantile (0.5 = median, 0.9 = p90) of the per-user value: the sum of
    ``property`` (the count of events without one). ``ignore_zeros``: users whose value is 0
    are left out."""

    kind: Literal["quantile"] = "quantile"
    event: EventName
    filters: Filters
    property: PropertyName | None = None
    level: Annotated[float, Field(gt=0, lt=1)] = 0.5
    ignore_zeros: bool = False


Metric = Annotated[ConversionMetric | CountMetric | SumMetric | MeanMetric | RatioMetric | QuantileMetric,
                   Field(discriminator="kind")]
CUPED_KINDS: frozenset[str] = frozenset({"conversion", "count", "sum"})
MetricRole = Literal["primary", "secondary", "guardrail"]
ROLES: tuple[MetricRole, ...] = ("primary", "secondary", "guardrail")


class Metrics(Document):
    primary: Annotated[list[Metric], Field(min_length=1, max_length=20)]
    secondary: Annotated[list[Metric], Field(default_factory=list, max_length=50)]
    guardrail: Annotated[list[Metric], Field(default_factory=list, max_length=20)]

    @model_validator(mode="after")
    def _unique_keys(self) -> Metrics:
        seen: set[str] = set()
        for _, metric in self.all():
            if metric.key in seen:
                raise ValueError(f"metric key {metric.key!r} is used twice")
            seen.add(metric.key)
        return self

    def all(self) -> Iterator[tuple[MetricRole, Metric]]:
        """(role, metric) in order: primary, secondary, guardrail."""
        for role in ROLES:
            for metric in getattr(self, role):
                yield role, metric


# ---------------------------------------------------------------------------- analysis
class PriorSettings(Document):
    mean: Annotated[float, Field(allow_inf_nan=False)] = 0.0
    stddev: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.3
    proper: bool = False


class AnalysisSettings(Document):
    """How arms are compared (``yunying.stats.Options``) and corrected, and the CUPED covariate."""

    method: Literal["frequentist", "sequential", "bayesian"] = "frequentist"
    difference: Literal["relative", "absolute"] = "relative"
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    sequential_tuning: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 5000.0
    prior: PriorSettings = PriorSettings()
    cuped: bool = True
    pre_period_days: Annotated[int, Field(ge=1, le=365)] = 14
    correction: Literal["none", "holm", "bh"] = "none"


# ---------------------------------------------------------------------------- the experiment
class Decision(Document):
    """What was decided when the experiment stopped: the variant to ship (None: none of them)."""

    variant: Slug | None = None
    note: str = Field(default="", max_length=5000)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: dt.datetime


class Experiment(Document):
    key: Slug
    name: Name
    hypothesis: str = Field(default="", max_length=5000)
    variants: Annotated[list[Variant], Field(min_length=2, max_length=20)]
    assignment: Assignment = ExposureEventAssignment()
    start: dt.date
    end: dt.date | None = None
    metrics: Metrics
    analysis: AnalysisSettings = AnalysisSettings()
    status: Status = "draft"
    decision: Decision | None = None

    @field_validator("start", "end")
    @classmethod
    def _plausible_year(cls, value: dt.date | None) -> dt.date | None:
        # far enough from year 1 and 9999 that the pre-period and every window stay dates
        if value is not None and not 1900 <= value.year <= 2999:
            raise ValueError(f"{value} is outside the years 1900-2999")
        return value

    @field_validator("variants")
    @classmethod
    def _distinct_variants(cls, variants: list[Variant]) -> list[Variant]:
        keys = [v.key for v in variants]
        if len(set(keys)) != len(keys):
            raise ValueError("variant keys must be unique")
        values = [v.exposure_value for v in variants]
        if len(set(values)) != len(values):
            raise ValueError("variants must have distinct exposure values")
        return variants

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError(f"end {end} is before start {start}")
        return end

    @field_validator("decision")
    @classmethod
    def _known_variant(cls, decision: Decision | None, info: ValidationInfo) -> Decision | None:
        keys = [v.key for v in info.data.get("variants", [])]
        if decision is not None and decision.variant is not None and keys and decision.variant not in keys:
            raise ValueError(f"decision names an unknown variant {decision.variant!r}")
        return decision

    @property
    def weights(self) -> list[float]:
        """The variants' weights normalised to sum to 1 (in variant order)."""
        total = sum(v.weight for v in self.variants)
        return [v.weight / total for v in self.variants]

    @property
    def experiment_value(self) -> str:
        """The value of the exposure event's experiment property that means this experiment."""
        if isinstance(self.assignment, ExposureEventAssignment) and self.assignment.experiment_value:
            return self.assignment.experiment_value
        return self.key

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# ---------------------------------------------------------------------------- parsing
def field_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's error location as ``metrics.primary[0].window`` (union tags left out)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_TAGS:
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


# pydantic puts a discriminated union's tag into the location; no field has these names.
_UNION_TAGS = {"exposure_event", "hash", "conversion", "count", "sum", "mean", "ratio", "quantile"}


def parse_model(model: type[M], document: dict[str, Any] | M, prefix: str = "") -> M:
    """``model`` from its JSON object; :class:`ExperimentError` names the bad field (under ``prefix``)."""
    if isinstance(document, model):
        return document
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(p for p in (prefix, field_path(tuple(first["loc"]))) if p) or None
        message = first["msg"].removeprefix("Value error, ")
        raise ExperimentError(f"{where}: {message}" if where else message, where) from None


def parse_experiment(document: dict[str, Any] | Experiment) -> Experiment:
    """An :class:`Experiment` from its JSON object; :class:`ExperimentError` names the bad field."""
    return parse_model(Experiment, document)
