"""The demo's A/B test as a stored experiment: what the workbench shows and ``yunying demo`` reports.

The generator (``generator.py``) runs :class:`~yunying.demo.model.DemoExperiment`: users are
assigned by the documented hash of their distinct_id, see the flag once (a
``$feature_flag_called`` event naming the experiment and their variant), and in the ``test``
arm every checkout after that is paid ``pay_lift`` times as often. The definition below reads
those exposure events, so its arms are exactly the generated ones, and measures:

* primary — pays per checkout after exposure (a ratio over the arm: Σ pays ÷ Σ checkouts),
  whose true relative lift is ``pay_lift − 1`` (+10 %): the treatment multiplies the chance
  that a checkout is paid and changes nothing upstream of it;
* secondary — the share of users who pay after exposure (moved too, by less than 10 %: some
  pay twice, most never check out), and shares per user, which nothing in the model moves
  (true lift 0);
* guardrail — support contacts per user (lower is better; no true effect either).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from yunying.demo.model import EXPERIMENT_PROPERTY, EXPOSURE_EVENT, VARIANT_PROPERTY, DemoExperiment
from yunying.experiments import (
    NotFound,
    StoredExperiment,
    create_experiment,
    get_experiment,
    set_status,
    update_experiment,
)
from yunying.store.meta import Meta

PRIMARY_METRIC = "pays_per_checkout"
NO_EFFECT_METRIC = "shares"
# metric key -> the key of its effect in the ground truth's ``true_relative_lift``
TRUE_LIFT_KEYS = {PRIMARY_METRIC: "pay / checkout", NO_EFFECT_METRIC: "share",
                  "support_contacts": "contact_support"}
VARIANT_NAMES = {"control": "对照组 Control", "test": "新结算页 New checkout"}


def experiment_dates(date_from: str, date_to: str, experiment: DemoExperiment | None = None
                     ) -> tuple[str, str]:
    """The test's first and last local date for demo data over ``date_from`` … ``date_to``:
    the last ``experiment.days`` days (all of them when the data is shorter)."""
    days = (experiment or DemoExperiment()).days
    first, last = dt.date.fromisoformat(date_from), dt.date.fromisoformat(date_to)
    return max(first, last - dt.timedelta(days=days - 1)).isoformat(), last.isoformat()


def experiment_definition(start: str, end: str, experiment: DemoExperiment | None = None
                          ) -> dict[str, Any]:
    """The experiment document (docs/experiments.md) of the demo's A/B test from ``start`` to ``end``."""
    exp = experiment or DemoExperiment()
    lift = f"{exp.pay_lift - 1:+.0%}"
    return {
        "key": exp.key,
        "name": exp.name,
        "hypothesis": f"新结算页让更多结算变成支付（模拟的真实效果 {lift}）· The new checkout "
                      f"page turns more checkouts into payments (simulated true effect {lift})",
        "variants": [{"key": key, "name": VARIANT_NAMES.get(key, key), "weight": weight}
                     for key, weight in exp.variants],
        "assignment": {"kind": "exposure_event", "event": EXPOSURE_EVENT,
                       "experiment_property": EXPERIMENT_PROPERTY, "variant_property": VARIANT_PROPERTY},
        "start": start,
        "end": end,
        "metrics": {
            "primary": [{
                "key": PRIMARY_METRIC, "name": "结算支付率 Pays per checkout", "kind": "ratio",
                "numerator": {"aggregation": "count", "event": "pay"},
                "denominator": {"aggregation": "count", "event": "checkout"},
            }],
            "secondary": [
                {"key": "paid", "name": "支付转化 Paid", "kind": "conversion", "event": "pay"},
                {"key": NO_EFFECT_METRIC, "name": "人均分享 Shares per user", "kind": "count",
                 "event": "share"},
            ],
            "guardrail": [
                {"key": "support_contacts", "name": "人均咨询客服 Support contacts",
                 "kind": "count", "event": "contact_support", "inverse": True},
            ],
        },
        "analysis": {"method": "frequentist", "difference": "relative", "alpha": 0.05,
                     "cuped": True, "pre_period_days": 14, "correction": "none"},
    }


def store_demo_experiment(meta: Meta, project_id: int, date_from: str, date_to: str,
                          account_id: int | None = None, experiment: DemoExperiment | None = None
                          ) -> StoredExperiment:
    """Keep the demo's A/B test, running, in the project's experiments (idempotent).

    Created and started when missing; left as it is when its dates fit the data (someone may
    have stopped it or changed its metrics); given the new dates when the data was rebuilt over
    other days (status and decision stay).
    """
    start, end = experiment_dates(date_from, date_to, experiment)
    definition = experiment_definition(start, end, experiment)
    try:
        stored = get_experiment(meta, project_id, definition["key"])
    except NotFound:
        create_experiment(meta, project_id, definition, account_id)
        return set_status(meta, project_id, definition["key"], "running")
    current = stored.experiment
    if (current.start.isoformat(), current.end and current.end.isoformat()) == (start, end):
        return stored
    return update_experiment(meta, project_id, definition)
