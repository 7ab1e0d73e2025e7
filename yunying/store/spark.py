"""Spark as the store's engine: the same insight expressions on a distributed engine.

``connect_spark()`` starts (or reuses) a Spark session configured so that Spark computes
what DuckDB computes: the session time zone is UTC (stored timestamps mean UTC), ANSI mode is
off so that ``TRY_CAST``-style lookups give null rather than an error, and the UI is off.

Writes stay on DuckDB for now (one writer, group commit); :func:`copy_to_spark` publishes a
DuckDB store's tables to Spark, which is how the tests run the same queries on both engines.
"""

from __future__ import annotations

from typing import Any

import ibis

from yunying.store.connection import Store

TABLES = ("projects", "persons", "person_profiles", "events")
# Spark types of the Arrow types of these tables (an empty table has no rows to infer them from)
_SPARK_TYPES = {"int8": "TINYINT", "int16": "SMALLINT", "int32": "INT", "int64": "BIGINT", "bool": "BOOLEAN",
                "string": "STRING", "large_string": "STRING", "double": "DOUBLE", "float": "FLOAT"}


def spark_session(master: str = "local[2]", app_name: str = "yunying") -> Any:
    """A Spark session set up for yunying's queries (imported lazily: pyspark is optional)."""
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("Spark support needs the 'spark' extra: pip install 'yunying[spark]'") from exc
    return (
        SparkSession.builder.master(master).appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def connect_spark(session: Any | None = None, database: str | None = None) -> Store:
    """A read-only :class:`Store` over Spark tables ``projects``, ``persons``, ``person_profiles``,
    ``events``."""
    session = session or spark_session()
    backend = ibis.pyspark.connect(session)
    if database:
        backend.raw_sql(f"USE `{database.replace('`', '')}`")
    return Store(backend, "spark", f"spark:{session.sparkContext.master}")


def copy_to_spark(source: Store, target: Store) -> None:
    """Publish ``source``'s tables (DuckDB) to ``target`` (Spark) as temporary views."""
    session = target.backend._session
    for name in TABLES:
        arrow = source.backend.table(name).to_pyarrow()
        if arrow.num_rows:
            frame = session.createDataFrame(arrow.to_pandas())
        else:
            frame = session.createDataFrame([], _ddl(arrow.schema))
        frame.createOrReplaceTempView(name)


def _ddl(schema: Any) -> str:
    """A Spark DDL schema ("a INT, b STRING") for an Arrow schema of the store's tables."""
    def spark_type(arrow_type: Any) -> str:
        text = str(arrow_type)
        return "TIMESTAMP" if text.startswith("timestamp") else _SPARK_TYPES[text]
    return ", ".join(f"`{field.name}` {spark_type(field.type)}" for field in schema)
