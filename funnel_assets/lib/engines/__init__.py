"""The one seam between the assets and the SQL engine.

Everything the assets, the ingestion and the checks do to the warehouse goes
through an `Engine`: run SQL with bound parameters, replace the partitions of
a table with a query's rows, read a small result as a frame, say whether a
table exists and its schema, put a small frame or a query's rows in a
(temporary) table. `connect(...)` opens the configured engine:

- `duckdb` (`duckdb_engine.py`): the embedded default, one DuckDB file;
- `spark` (`spark_engine.py`): Apache Spark, tables as Parquet partitioned by
  week under a folder or URI (installed with `pip install 'funnel_assets[spark]'`).

SQL files are written in DuckDB's dialect; an engine that speaks another
translates them (`dialect.to_engine`). Parameters are named `$name` and bound,
never formatted into the text. No module outside this package imports duckdb
or pyspark.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator

if TYPE_CHECKING:
    import pandas as pd

ENGINES = ("duckdb", "spark")
# the kind an asset that the engine computes declares; the definitions show the configured engine's name in its place
ENGINE_KIND = "engine"
SPARK_EXTRA = "pip install 'funnel_assets[spark]'"
# DuckDB's memory limit when none is configured: with the process's own memory, a run stays under 2 GiB at
# 10 M requests (README, Benchmarks); beyond it DuckDB spills to disk
DEFAULT_MEMORY_LIMIT = "1408MB"
# when set, a file the DuckDB engine appends each statement it runs to, with its time (bench/bench_run.py --profile)
STATEMENT_LOG = "FUNNEL_STATEMENT_LOG"

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


class EngineUnavailable(RuntimeError):
    """The configured engine cannot start here (its package or runtime is missing); the message says how to fix it."""


def read_sql(path: Path) -> str:
    return path.read_text()


def bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of `params` that `sql` names (DuckDB rejects unused ones); a missing one is an error."""
    wanted = set(_PARAM.findall(sql))
    missing = wanted - params.keys()
    if missing:
        raise KeyError(f"SQL needs parameters {sorted(missing)} that were not given")
    return {k: v for k, v in params.items() if k in wanted}


@dataclass(frozen=True)
class SparkSettings:
    """How to reach Spark: a master URL (`local[*]`, `spark://host:7077`, `yarn`, `k8s://...`) or a Spark Connect
    URL (`sc://host:15002`, which wins when given), and settings passed to the session as they are."""

    master: str = "local[*]"
    remote: str = ""
    conf: dict[str, str] = field(default_factory=dict)


class Engine(ABC):
    """What the assets, the ingestion and the checks may do to the warehouse; nothing else reaches the engine."""

    name: ClassVar[str]
    # how the judged lines (`judge_lines`) hold a passing line's fields: "json" (DuckDB: the JSON values in `j`,
    # typed by the SQL that reads them) or "typed" (Spark: a struct `fields` of the contract's typed columns)
    judged_fields: ClassVar[str] = "json"

    # --- statements and small results ---------------------------------------------------------

    @abstractmethod
    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run one statement with bound `$name` parameters."""

    def run_file(self, path: Path, params: dict[str, Any] | None = None) -> None:
        """Run the statement of a SQL file with bound parameters."""
        self.execute(read_sql(path), params)

    @abstractmethod
    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """A small result as a pandas frame."""

    @abstractmethod
    def row(self, sql: str, params: dict[str, Any] | None = None) -> tuple | None:
        """The first row of a result (None when there is none)."""

    @abstractmethod
    def rows(self, sql: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        """The column names and every row of a small result, as plain Python values (dates, datetimes, numbers)."""

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        row = self.row(sql, params)
        return None if row is None else row[0]

    def delete_rows(self, sql: str, params: dict[str, Any] | None = None) -> int:
        """Run a `delete from t where c` statement; how many rows went."""
        return int(self.scalar(sql, params))

    def validate_rows(self, sql: str, params: dict[str, Any] | None, expectations: list, index_columns: list[str],
                      fetched: pd.DataFrame | None = None) -> list:
        """Great Expectations on the rows of a query, where the engine holds them (`quality.gx.ExpectationOutcome`s):
        DuckDB's rows as a pandas frame (`fetched`, when the caller has it already; GX on DuckDB through SQLAlchemy
        is broken), Spark's DataFrame as it is."""
        from funnel_assets.lib.quality.gx import validate

        return validate(self.frame(sql, params) if fetched is None else fetched, expectations, index_columns)

    # --- tables ---------------------------------------------------------------------------------

    @abstractmethod
    def tables(self) -> list[str]:
        """The warehouse's tables, by name."""

    def table_exists(self, table: str) -> bool:
        return table in self.tables()

    @abstractmethod
    def schema(self, table: str) -> list[tuple[str, str]]:
        """(column, type) of `table` in column order, types as the engine names them."""

    @abstractmethod
    def replace_rows(
        self,
        table: str,
        select_sql: str,
        params: dict[str, Any],
        where: str,
        where_params: dict[str, Any],
        partition_by: tuple[str, ...] = (),
    ) -> int:
        """Replace the rows of `table` matching `where` with the rows `select_sql` gives; how many were written.

        This is how every partitioned asset writes: `where` selects exactly
        the partitions being rewritten (over the `partition_by` columns), so
        re-running a partition replaces it and materialisations are
        idempotent. If the select fails, the old rows stay. A table whose
        query changed shape is recreated."""

    @abstractmethod
    def put_frame(self, table: str, frame: pd.DataFrame, temporary: bool = False) -> None:
        """Replace `table` with the rows of a small frame (configuration, identity).

        `temporary`: the table lives only as long as this connection (values that must not be stored)."""

    @abstractmethod
    def temp_table(self, name: str, select_sql: str, params: dict[str, Any] | None = None) -> None:
        """Keep the rows of a query as a temporary table, for the statements after it (computed once)."""

    @abstractmethod
    def temp_view(self, name: str, select_sql: str, params: dict[str, Any] | None = None) -> None:
        """A temporary view: a name for a query, which may shadow a stored table of the same name."""

    @abstractmethod
    def drop_temp(self, name: str) -> None:
        """Drop a temporary table or view if it exists (a stored table of the same name is kept)."""

    # --- landing files ------------------------------------------------------------------------

    @abstractmethod
    def load_landing_lines(self, table: str, files: list, data_dir: Path) -> dict[str, str]:
        """Every line of the landing `files` as the temporary table `table` (file, line_no, event_week, line,
        read_error), gzip, truncated gzip and invalid UTF-8 included; returns the files that needed the lenient
        reader, with the reason the fast one gave."""


    def judge_lines(self, table: str, lines_table: str, contracts) -> None:
        """The contract's verdict on every line of `lines_table` as the temporary table `table`: file, line_no,
        event_week, line, version, kind, reason, extra_fields and the line's fields (`judged_fields`).

        Both engines render the same rules (`ingest.field_rules`): DuckDB as SQL (`ingest._parse_sql`), Spark with
        its VARIANT functions (`spark_landing.parse`)."""
        from funnel_assets.lib.ingest import _parse_sql

        self.temp_table(table, _parse_sql(contracts, lines_table))


@contextmanager
def connect(
    warehouse: Path | str,
    pseudonym_key: str,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int = 2,
    read_only: bool = False,
    engine: str = "duckdb",
    spark: SparkSettings | None = None,
    held: Any = None,
) -> Iterator[Engine]:
    """Open the warehouse on `engine` with the project's functions installed (`pseudo()`, `scrub()`, ...); on
    the database `held` open by a run (`hold`), when given."""
    if engine == "duckdb":
        from funnel_assets.lib.engines.duckdb_engine import open_duckdb

        with open_duckdb(Path(warehouse), pseudonym_key, memory_limit, threads, read_only, held) as opened:
            yield opened
    elif engine == "spark":
        from funnel_assets.lib.engines.spark_engine import open_spark

        with open_spark(str(warehouse), pseudonym_key, spark or SparkSettings(), read_only) as opened:
            yield opened
    else:
        raise ValueError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")


def hold(warehouse: Path | str, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int = 2,
         engine: str = "duckdb") -> Any:
    """The warehouse opened once for a run's steps to share (`connect(held=...)`), or None where the engine keeps
    nothing open per warehouse (Spark's session is one per process already). Opening a DuckDB file reads its
    catalogue, and closing it checkpoints what was written: once a run instead of once a step, and the
    buffer pool is kept between steps. Close it with `release`."""
    if engine != "duckdb":
        return None
    from funnel_assets.lib.engines.duckdb_engine import open_database

    return open_database(Path(warehouse), memory_limit, threads)


def release(held: Any) -> None:
    if held is not None:
        held.close()


def transpile(sql: str, dialect: str = "spark") -> str:
    """The same statement in another engine's dialect, by sqlglot alone (no project rewrites)."""
    import sqlglot

    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True))


def ensure_available(engine: str) -> None:
    """Fail early, in one line saying what to install, when `engine` cannot run here."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    if engine != "spark":
        return
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineUnavailable(f"--engine spark needs pyspark: {SPARK_EXTRA}") from None
    import os
    import shutil

    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise EngineUnavailable("--engine spark needs Java 17: apt-get install openjdk-17-jre-headless (or set JAVA_HOME)")
