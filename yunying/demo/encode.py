"""Latent arrays → canonical events (``schema.CANONICAL_EVENT``) as an Arrow table, fast.

No per-row Python: every string column is gathered from small tables of prebuilt strings
(user properties depend only on channel × city × platform; event properties only on the
product, quantity, category or search term), joined by :func:`~yunying.demo.strings.gather_join`;
uuids and session ids are hex-formatted in numpy. The JSON needs no escaping: every string
in the model is free of quotes, backslashes and control characters.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yunying.demo.generator import NO_VALUE, DemoLog, rng_for
from yunying.demo.model import (
    CATEGORIES,
    CHANNELS,
    CITIES,
    EVENT_NAMES,
    EXPERIMENT_PROPERTY,
    EXPOSURE_EVENT,
    FUNNEL_EVENTS,
    PLATFORMS,
    SEARCH_TERMS,
    UTM_SOURCES,
    VARIANT_PROPERTY,
)
from yunying.demo.strings import CHUNK_ROWS, Part, distinct_ids, gather_join, hex_strings
from yunying.store import schema

_PAY = FUNNEL_EVENTS.index("pay")
_VIEW_CATEGORY = EVENT_NAMES.index("view_category")
_SEARCH = EVENT_NAMES.index("search")
_EXPOSURE = EVENT_NAMES.index(EXPOSURE_EVENT)
MAX_QUANTITY = 3
UUID_DASHES = (8, 12, 16, 20)


def event_uuids(log: DemoLog) -> pa.ChunkedArray:
    """Random (version 4) uuids, a pure function of the config: re-runs give the same ids."""
    rng = rng_for(log.config, 1)
    chunks = []
    for start in range(0, len(log.events), CHUNK_ROWS):
        n = min(CHUNK_ROWS, len(log.events) - start)
        raw = rng.integers(0, 2**64, (n, 2), dtype=np.uint64).view(np.uint8).reshape(n, 16)
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
        chunks.append(hex_strings(raw, UUID_DASHES))
    return pa.chunked_array(chunks, pa.string())


def _yuan(fen: np.ndarray) -> list[str]:
    """Fen as a JSON number of yuan, shortest form (15890 → 158.9, 1000 → 10)."""
    return [f"{f / 100:.2f}".rstrip("0").rstrip(".") for f in fen.tolist()]


def _user_prefixes() -> list[str]:
    """JSON members of every channel × city × platform combination (no braces)."""
    out = []
    for ch, utm in zip(CHANNELS, UTM_SOURCES, strict=True):
        utm_part = f',"utm_source":"{utm}"' if utm else ""
        for city, _ in CITIES:
            for os_, device, browser, _ in PLATFORMS:
                out.append(
                    f'"channel":"{ch}"{utm_part},"$city":"{city}","$os":"{os_}",'
                    f'"$device_type":"{device}","$browser":"{browser}"'
                )
    return out


def _event_suffixes(log: DemoLog) -> tuple[list[str], np.ndarray]:
    """Strings of event-specific JSON members, and each event's index into them."""
    ev, products = log.events, log.products
    n_products = len(products.price_fen)
    price = _yuan(products.price_fen)
    product_part = [
        f',"product_id":"P{p + 1:05d}","category":"{CATEGORIES[c][0]}","price":{price[p]}'
        for p, c in enumerate(products.category.tolist())
    ]
    amounts = _yuan(np.outer(products.price_fen, np.arange(1, MAX_QUANTITY + 1)).ravel())
    pay_part = [
        f'{product_part[p]},"quantity":{q},"amount":{amounts[p * MAX_QUANTITY + q - 1]}'
        for p in range(n_products) for q in range(1, MAX_QUANTITY + 1)
    ]
    category_part = [f',"category":"{name}"' for name, _, _ in CATEGORIES]
    search_part = [f',"keyword":"{term}"' for term in SEARCH_TERMS]
    experiment = log.config.model.experiment
    exposure_part = [
        f',"{EXPERIMENT_PROPERTY}":"{experiment.key}","{VARIANT_PROPERTY}":"{variant}"'
        for variant, _ in experiment.variants
    ]
    table = [""] + product_part + pay_part + category_part + search_part + exposure_part
    base_pay = 1 + n_products
    base_category = base_pay + len(pay_part)
    base_search = base_category + len(category_part)
    base_exposure = base_search + len(search_part)

    index = np.zeros(len(ev), dtype=np.int32)
    is_product = ev.product != NO_VALUE
    is_pay = ev.code == _PAY
    index[is_product] = 1 + ev.product[is_product]
    quantity = ev.quantity[is_pay].astype(np.int32)
    index[is_pay] = base_pay + ev.product[is_pay] * MAX_QUANTITY + quantity - 1
    is_cat = ev.code == _VIEW_CATEGORY
    index[is_cat] = base_category + ev.category[is_cat].astype(np.int32)
    is_search = ev.code == _SEARCH
    index[is_search] = base_search + ev.search_term[is_search].astype(np.int32)
    is_exposure = ev.code == _EXPOSURE
    index[is_exposure] = base_exposure + log.users.variant[ev.user[is_exposure]].astype(np.int32)
    return table, index


def _session_members(log: DemoLog) -> pa.StringArray:
    """``{"$session_id":"<16 hex digits>",`` per session: the opening of every event's JSON."""
    raw = rng_for(log.config, 2).integers(0, 2**64, log.session_count, dtype=np.uint64)
    ids = hex_strings(raw.view(np.uint8).reshape(-1, 8))
    return pc.binary_join_element_wise('{"$session_id":"', ids, '",', "")


def properties_json(log: DemoLog) -> pa.ChunkedArray:
    """The ``properties`` JSON text of every event."""
    ev, users = log.events, log.users
    combo = (
        users.channel.astype(np.int32) * len(CITIES) + users.city
    ) * len(PLATFORMS) + users.platform
    suffixes, index = _event_suffixes(log)
    return gather_join([
        Part.of(_session_members(log), ev.session),
        Part.of(_user_prefixes(), combo[ev.user]),
        Part.of([s + "}" for s in suffixes], index),
    ])


def to_arrow(log: DemoLog) -> pa.Table:
    """The events as a table of ``schema.CANONICAL_EVENT`` (UTC timestamps, microseconds)."""
    ev = log.events
    columns = [
        event_uuids(log),
        gather_join([Part.of(EVENT_NAMES, ev.code)]),
        gather_join([Part.of(distinct_ids(len(log.users.signup_day)), ev.user)]),
        pa.array(ev.timestamp_us, pa.int64()).cast(pa.timestamp("us")),
        properties_json(log),
    ]
    return pa.Table.from_arrays(columns, schema=schema.CANONICAL_EVENT)
