"""Apache Spark as the engine: every table Parquet under the warehouse folder or URI, partitioned by week.

- A table is `<warehouse>/<table>/`, partitioned by the columns its writer
  names (the event or signup week; the source too for the quarantine and the
  file counts); a table without them (configuration, identity) is rewritten
  whole. Writes use dynamic partition overwrite, so re-materialising a week
  replaces exactly that week, and a week that now has no rows is emptied.
- Timestamps are UTC (`spark.sql.session.timeZone`), written as microseconds.
- `<warehouse>/_tables/` lists the tables with their schema and partition
  columns (Spark itself reads and writes it, so a warehouse on s3a:// or
  hdfs:// needs nothing but Spark); every table is a temporary view of the
  session under its own name, so the SQL names tables as on DuckDB.
- SQL arrives in DuckDB's dialect and is translated (`dialect.to_engine`);
  the project's functions are installed per session (`spark_functions`).
- Temporary tables are checkpointed: a snapshot, as on DuckDB, not a query
  that would see a table rewritten after it.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from funnel_assets.lib.engines import SPARK_EXTRA, Engine, EngineUnavailable, SparkSettings
from funnel_assets.lib.engines.dialect import spark_args, spark_statements, temp_table

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

CATALOG = "_tables"

# What every session of the warehouse needs, whatever the deployment; `spark_conf` is applied over it.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


def session(settings: SparkSettings) -> SparkSession:
    """The Spark session of `settings`: Spark Connect when `remote` is given, else the master URL."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailable(f"--engine spark needs pyspark: {SPARK_EXTRA}") from None
    if not settings.remote and settings.master.startswith("local"):
        # local executors run this Python (the landing reader's per-file function needs this package)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("funnel_assets")
    builder = builder.remote(settings.remote) if settings.remote else builder.master(settings.master)
    for key, value in {**SESSION_CONF, **settings.conf}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkEngine(Engine):
    """A Spark session over one warehouse location."""

    name = "spark"

    def __init__(self, spark: SparkSession, warehouse: str, pseudonym_key: str = ""):
        self.spark = spark
        self.warehouse = warehouse.rstrip("/")
        self._temps: set[str] = set()
        for key, value in SESSION_CONF.items():
            if key.startswith("spark.sql."):
                spark.conf.set(key, value)
        if pseudonym_key:
            self._install_functions(pseudonym_key)
        self._catalog = self._read_catalog()
        for table in self._catalog:
            self._register(table)

    # --- statements and small results ---------------------------------------------------------

    def _sql(self, sql: str, params: dict[str, Any] | None = None) -> DataFrame:
        """One statement (DuckDB's dialect) as a Spark DataFrame, its parameters bound."""
        statements = spark_statements(sql)
        if len(statements) != 1:
            raise ValueError(f"one statement expected, got {len(statements)}")
        return self.spark.sql(statements[0], args=spark_args(sql, params or {}) or None)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """A statement; `create temp table t as ...` is kept as a snapshot (as DuckDB's), `delete` rewrites."""
        snapshot = temp_table(sql)
        if snapshot is not None:
            self.temp_table(*snapshot, params)
            return
        self._sql(sql, params).collect()

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Decimal columns (Spark's type of a literal such as 0.5 and of arithmetic on it) as DuckDB's frames give
        them: floats (integers when the scale is 0)."""
        from pyspark.sql.types import DecimalType, TimestampType

        df = self._sql(sql, params)
        decimals = {f.name: ("bigint" if f.dataType.scale == 0 else "double") for f in df.schema.fields
                    if isinstance(f.dataType, DecimalType)}
        if decimals:
            df = df.select(*(df[c].cast(decimals[c]).alias(c) if c in decimals else df[c] for c in df.columns))
        frame = df.toPandas()
        # Spark's timestamps arrive naive, in the session's time zone (UTC): aware, as DuckDB's frames carry them
        for f in df.schema.fields:
            if isinstance(f.dataType, TimestampType) and frame[f.name].dtype.kind == "M" \
                    and getattr(frame[f.name].dtype, "tz", None) is None:
                frame[f.name] = frame[f.name].dt.tz_localize("UTC")
        return frame

    def row(self, sql: str, params: dict[str, Any] | None = None) -> tuple | None:
        first = self._sql(sql, params).first()
        return None if first is None else tuple(_python_value(v) for v in first)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        df = self._sql(sql, params)
        return df.columns, [tuple(_python_value(v) for v in r) for r in df.collect()]

    # --- tables ---------------------------------------------------------------------------------

    def tables(self) -> list[str]:
        return sorted(self._catalog)

    def table_exists(self, table: str) -> bool:
        return table in self._catalog

    def schema(self, table: str) -> list[tuple[str, str]]:
        from pyspark.sql.types import StructType

        stored = StructType.fromJson(json.loads(self._catalog[table]["schema"]))
        return [(f.name, f.dataType.simpleString()) for f in stored.fields]

    def partition_columns(self, table: str) -> tuple[str, ...]:
        return tuple(json.loads(self._catalog[table]["partition_by"]))

    def replace_rows(
        self,
        table: str,
        select_sql: str,
        params: dict[str, Any],
        where: str,
        where_params: dict[str, Any],
        partition_by: tuple[str, ...] = (),
    ) -> int:
        """The query's rows are computed once (checkpointed), then written over the partitions they fall in;
        partitions `where` selects that get no rows are removed."""
        partition_by = tuple(partition_by)
        rows = self._sql(select_sql, params)
        # the rows of one partition together: one file per partition and task, not one per input split
        rows = (rows.repartition(*partition_by) if partition_by else rows).localCheckpoint(eager=True)
        written = rows.count()
        same_shape = self.table_exists(table) and self._catalog[table]["schema"] == rows.schema.json() \
            and self.partition_columns(table) == partition_by
        if same_shape and partition_by:
            stale = (
                self._sql(f"select distinct {', '.join(_q(c) for c in partition_by)} from {_q(table)} where {where}",
                          where_params)
                .exceptAll(rows.select(*partition_by).distinct())
                .collect()
            )
            if stale and self._connected():
                # Spark Connect reaches no file system to delete the emptied weeks' folders from: the table is
                # rewritten with the rows `where` does not select
                kept = self._sql(f"select * from {_q(table)} where not coalesce(({where}), false)", where_params)
                writer = kept.unionByName(rows).localCheckpoint(eager=True).write.mode("overwrite").option(
                    "partitionOverwriteMode", "static")
            else:
                self._remove_partitions(table, partition_by, stale)
                writer = rows.write.mode("overwrite").option("partitionOverwriteMode", "dynamic")
        elif same_shape:
            # no partitions to replace: the rows `where` does not select stay, the table is rewritten with them
            kept = self._sql(f"select * from {_q(table)} where not coalesce(({where}), false)", where_params)
            rows_and_kept = kept.unionByName(rows).localCheckpoint(eager=True)
            writer = rows_and_kept.write.mode("overwrite").option("partitionOverwriteMode", "static")
        else:
            # a new table, or one whose query changed shape: the old rows cannot stay
            writer = rows.write.mode("overwrite").option("partitionOverwriteMode", "static")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(self._path(table))
        self._remember(table, rows.schema.json(), partition_by)
        return int(written)

    def put_frame(self, table: str, frame: pd.DataFrame, temporary: bool = False) -> None:
        rows = self._from_pandas(frame)
        if temporary:
            rows.localCheckpoint(eager=True).createOrReplaceTempView(table)
            self._temps.add(table)
            return
        rows.write.mode("overwrite").option("partitionOverwriteMode", "static").parquet(self._path(table))
        self._remember(table, rows.schema.json(), ())

    def temp_table(self, name: str, select_sql: str, params: dict[str, Any] | None = None) -> None:
        self._sql(select_sql, params).localCheckpoint(eager=True).createOrReplaceTempView(name)
        self._temps.add(name)

    def temp_view(self, name: str, select_sql: str, params: dict[str, Any] | None = None) -> None:
        self._sql(select_sql, params).createOrReplaceTempView(name)
        self._temps.add(name)

    def drop_temp(self, name: str) -> None:
        if name in self._temps:
            self.spark.catalog.dropTempView(name)
            self._temps.discard(name)
            if name in self._catalog:  # it shadowed a stored table: that one is visible again
                self._register(name)

    def load_landing_lines(self, table: str, files: list, data_dir: Path) -> dict[str, str]:
        """Read on the executors (`spark_landing`), with DuckDB's reader's rules for gzip, UTF-8 and empty lines."""
        from funnel_assets.lib.engines.spark_landing import landing_lines

        lines, fallbacks = landing_lines(self.spark, files, data_dir)
        lines.createOrReplaceTempView(table)
        self._temps.add(table)
        return fallbacks

    def validate_rows(self, sql: str, params: dict[str, Any] | None, expectations: list, index_columns: list[str],
                      fetched: pd.DataFrame | None = None) -> list:
        from funnel_assets.lib.engines.spark_validation import validate

        return validate(self._sql(sql, params), expectations, index_columns)

    judged_fields = "typed"

    def judge_lines(self, table: str, lines_table: str, contracts) -> None:
        """`spark_landing.parse`: the contract's rules with Spark's VARIANT functions, the fields typed."""
        from funnel_assets.lib.engines.spark_landing import parse

        parse(self.spark.table(lines_table), contracts).localCheckpoint(eager=True).createOrReplaceTempView(table)
        self._temps.add(table)

    def delete_rows(self, sql: str, params: dict[str, Any] | None = None) -> int:
        """`delete from t where c` (DuckDB's text): t rewritten with the rows it keeps (`dialect.keep_rows`);
        how many went. Parquet has no DELETE."""
        from funnel_assets.lib.engines.dialect import keep_rows

        table, kept_sql = keep_rows(sql)
        before = self.spark.table(table).count()
        kept = self._sql(kept_sql, params).localCheckpoint(eager=True)
        partition_by = self.partition_columns(table)
        writer = kept.write.mode("overwrite").option("partitionOverwriteMode", "static")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(self._path(table))
        self._remember(table, self._catalog[table]["schema"], partition_by)
        return int(before - kept.count())

    def close(self) -> None:
        for name in list(self._temps):
            self.spark.catalog.dropTempView(name)
        self._temps.clear()
        for name in self._catalog:
            self.spark.catalog.dropTempView(name)

    # --- the warehouse's own bookkeeping ------------------------------------------------------

    def _path(self, table: str) -> str:
        return f"{self.warehouse}/{table}"

    def _register(self, table: str) -> None:
        """The stored table as a view of the session, with its own column order and types (partition columns
        included, which Parquet keeps in the folder names)."""
        from pyspark.sql.types import StructType

        stored = StructType.fromJson(json.loads(self._catalog[table]["schema"]))
        columns = [f.name for f in stored.fields]
        self.spark.read.schema(stored).parquet(self._path(table)).select(*columns).createOrReplaceTempView(table)

    def _read_catalog(self) -> dict[str, dict[str, str]]:
        if not self._exists(self._path(CATALOG)):  # a new warehouse
            return {}
        listed = self.spark.read.parquet(self._path(CATALOG)).collect()
        return {r["table"]: {"schema": r["schema"], "partition_by": r["partition_by"]} for r in listed}

    def _remember(self, table: str, schema: str, partition_by: tuple[str, ...]) -> None:
        self._catalog[table] = {"schema": schema, "partition_by": json.dumps(list(partition_by))}
        listed = [(name, entry["schema"], entry["partition_by"]) for name, entry in sorted(self._catalog.items())]
        (self.spark.createDataFrame(listed, "table string, schema string, partition_by string")
         .coalesce(1).write.mode("overwrite").option("partitionOverwriteMode", "static").parquet(self._path(CATALOG)))
        self._register(table)

    def _file_system(self, path: str):
        """Hadoop's file system of `path` and the path in its terms (any URI Spark reads: file, s3a, hdfs)."""
        jvm = self.spark.sparkContext._jvm
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        return hadoop_path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path

    def _connected(self) -> bool:
        """A Spark Connect session (`spark_remote`): no JVM on this side, so no Hadoop file system either."""
        return type(self.spark).__module__.startswith("pyspark.sql.connect")

    def _exists(self, path: str) -> bool:
        if self._connected():
            from pyspark.errors import AnalysisException

            try:
                self.spark.read.parquet(path).schema
            except AnalysisException as error:
                if "PATH_NOT_FOUND" in str(error) or "UNABLE_TO_INFER_SCHEMA" in str(error):
                    return False
                raise
            return True
        fs, hadoop_path = self._file_system(path)
        return bool(fs.exists(hadoop_path))

    def _remove_partitions(self, table: str, partition_by: tuple[str, ...], stale: list) -> None:
        """Delete the folders of partitions that a rewrite leaves without rows (Hadoop's file system: any URI)."""
        if not stale:
            return
        for partition in stale:
            parts = "/".join(f"{c}={_partition_text(partition[c])}" for c in partition_by)
            fs, path = self._file_system(f"{self._path(table)}/{parts}")
            fs.delete(path, True)

    def _install_functions(self, pseudonym_key: str) -> None:
        from funnel_assets.lib.engines.spark_functions import install

        install(self.spark, pseudonym_key)

    def _from_pandas(self, frame: pd.DataFrame) -> DataFrame:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        # Spark reads microseconds; pandas gives nanoseconds
        fields = [pa.field(f.name, pa.timestamp("us", tz=f.type.tz)) if pa.types.is_timestamp(f.type)
                  else pa.field(f.name, pa.large_string() if pa.types.is_string(f.type) else f.type)
                  for f in table.schema]
        return self.spark.createDataFrame(table.cast(pa.schema(fields)))


def _q(name: str) -> str:
    """An identifier in the SQL this engine translates (DuckDB's quoting)."""
    return '"' + name.replace('"', '""') + '"'


def _partition_text(value: Any) -> str:
    """A partition value as Spark names its folder."""
    from urllib.parse import quote

    if value is None:
        return "__HIVE_DEFAULT_PARTITION__"
    return quote(value.isoformat() if hasattr(value, "isoformat") else str(value), safe="")


def _python_value(value: Any) -> Any:
    """Spark gives timestamps as naive datetimes in the local time of the driver: aware UTC, as DuckDB gives them;
    a decimal as a float (an integer when whole), as DuckDB's results of the same SQL carry them."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.astimezone(timezone.utc)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    return value


@contextmanager
def open_spark(
    warehouse: str, pseudonym_key: str, settings: SparkSettings, read_only: bool = False
) -> Iterator[SparkEngine]:
    """The warehouse on Spark; the session stays up for the next step of the run (starting one takes seconds)."""
    engine = SparkEngine(session(settings), warehouse, pseudonym_key)
    try:
        yield engine
    finally:
        engine.close()
