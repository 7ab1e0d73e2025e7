"""The shape every insight shares: a context to run in, a result that is JSON and a frame."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from yunying.insights.daterange import DateRange
from yunying.insights.documents import PropertyFilter
from yunying.insights.filters import all_of
from yunying.store import Project, Store


class InsightError(ValueError):
    """A query that cannot run as asked; ``field`` names the part of the document at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class QueryContext:
    """Where a query runs: the store, the project (and so its rows), the default time zone."""

    store: Store
    project: Project

    @property
    def engine(self) -> str:
        return self.store.kind

    def timezone_for(self, requested: str | None) -> str:
        return requested or self.project.timezone

    def events(self) -> ir.Table:
        """The project's events (the store's accessor: project isolation happens there)."""
        return self.store.events(self.project)

    def events_in(self, daterange: DateRange, filters: Sequence[PropertyFilter]) -> ir.Table:
        """The project's events whose local date is in ``daterange`` and that pass ``filters``."""
        table = self.events()
        return table.filter(daterange.in_range(table.timestamp), all_of(table, filters, self.engine))


@contextmanager
def in_memory(ctx: QueryContext, data: pa.Table) -> Iterator[ir.Table]:
    """``data`` as a table for the queries run inside the block. ibis keeps an in-memory table
    registered on the connection for the connection's lifetime (a server's read cursors live
    as long as the server); this one is dropped after the block."""
    table = ibis.memtable(data)
    try:
        yield table
    finally:
        name = table.op().name
        if ctx.engine == "duckdb":
            ctx.store.duckdb.unregister(name)
        else:
            ctx.store.backend._session.catalog.dropTempView(name)


class Result(BaseModel):
    """Base of every insight result: plain JSON (``model_dump(mode="json")``) plus a frame."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    timezone: str

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def rows(self) -> list[dict[str, Any]]:
        """The result as flat rows (one per number), for tables, CSV and ``to_frame``."""
        raise NotImplementedError

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows())

    def to_frame(self) -> Any:
        """A pandas DataFrame of :meth:`rows` (pandas must be installed)."""
        return self.to_arrow().to_pandas()
