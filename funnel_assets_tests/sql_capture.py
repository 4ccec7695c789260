"""Records every package SQL file the DuckDB pipeline runs: its bound parameters, its input tables as they were
at that moment (Parquet), and DuckDB's answer, so the same file can be replayed on another engine.

Used by test_sql_on_both_engines.py: inputs are whatever the real assets, checks and commands hand the SQL
(temp tables such as `_checked` or `_org_members` included), not a copy of them built by hand.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import sqlglot
from sqlglot import exp

from funnel_assets.lib import engines
from funnel_assets.lib.engines.duckdb_engine import DuckDBEngine

PACKAGE = Path(engines.__file__).resolve().parents[2]
SQL_FILES = sorted(PACKAGE.rglob("*.sql"))
CASES_PER_FILE = 1


def sql_id(path: Path) -> str:
    return str(path.relative_to(PACKAGE).with_suffix(""))


def input_tables(sql: str, params: dict[str, Any]) -> list[str]:
    """The tables a statement reads (CTE names left out); `query_table($table)` reads the one `$table` names."""
    tables: set[str] = set()
    for statement in sqlglot.parse(sql, read="duckdb"):
        ctes = {c.alias_or_name for c in statement.find_all(exp.CTE)}
        tables |= {t.name for t in statement.find_all(exp.Table) if t.name and t.name not in ctes}
    if "query_table" in sql.lower():
        tables.add(params["table"])
    return sorted(tables)


@dataclass
class Case:
    """One run of one SQL file: parameters, inputs as Parquet files, DuckDB's answer."""

    path: Path
    params: dict[str, Any]
    inputs: dict[str, Path]
    expected: pd.DataFrame
    deleted_from: str | None = None  # a delete statement: `expected` holds the rows the table keeps


@dataclass
class Capture:
    folder: Path
    cases: dict[str, list[Case]] = field(default_factory=dict)

    def record(self, con, path: Path, params: dict[str, Any], run) -> Any:
        sql = path.read_text()
        bound = engines.bind(sql, params)
        taken = self.cases.setdefault(sql_id(path), [])
        if len(taken) >= CASES_PER_FILE or any(_same(c.params, bound) for c in taken):
            return run()
        where = self.folder / f"{path.stem}_{len(taken)}"
        where.mkdir(parents=True)
        inputs = {}
        for table in input_tables(sql, bound):
            # a table, temp table, view or registered frame; Spark skips files whose names start with `_`
            parquet = where / f"table{table}.parquet"
            try:
                con.execute(f"copy (select * from \"{table}\") to '{parquet}' (format parquet)")
            except Exception:  # noqa: BLE001 - a name the statement defines itself, not an input
                continue
            inputs[table] = parquet
        deleted = re.match(r"(?:\s*--[^\n]*\n)*\s*delete\s+from\s+(\w+)", sql, re.I)
        if deleted:
            # the rows the table keeps, seen inside a transaction rolled back before the real delete runs
            con.execute("begin transaction")
            try:
                con.execute(sql, bound)
                expected = con.execute(f'select * from "{deleted.group(1)}"').df()
            finally:
                con.execute("rollback")
            taken.append(Case(path, bound, inputs, expected, deleted.group(1)))
            return run()
        expected = con.execute(sql, bound).df()
        taken.append(Case(path, bound, inputs, expected))
        return run()


def _same(a: dict, b: dict) -> bool:
    return {k: str(v) for k, v in a.items()} == {k: str(v) for k, v in b.items()}


@contextmanager
def capturing(folder: Path) -> Iterator[Capture]:
    """While active, every statement the DuckDB engine runs that holds a package SQL file records a case."""
    capture = Capture(folder)
    texts = [(p, p.read_text().strip()) for p in SQL_FILES]
    original = DuckDBEngine._run

    def run_recorded(self, sql: str, params: dict[str, Any] | None = None):
        run = lambda: original(self, sql, params)  # noqa: E731
        for path, text in texts:
            if text in sql:
                return capture.record(self.con, path, params or {}, run)
        return run()

    DuckDBEngine._run = run_recorded
    try:
        yield capture
    finally:
        DuckDBEngine._run = original


def run_on_spark(spark, case: Case) -> tuple[list[str], list[tuple]]:
    """The case's SQL file translated (dialect.to_engine) and run by Spark over the same inputs: columns, rows."""
    from funnel_assets.lib.engines.dialect import keep_rows, spark_args, spark_statements

    for table, parquet in case.inputs.items():
        spark.read.parquet(str(parquet)).createOrReplaceTempView(table)
    sql = case.path.read_text()
    if case.deleted_from:
        _, sql = keep_rows(sql)
    *before, last = spark_statements(sql)
    args = spark_args(sql, case.params)
    for statement in before:
        spark.sql(statement, args=args)
    frame = spark.sql(last, args=args)
    return frame.columns, [tuple(row) for row in frame.collect()]


def _cell(value: Any) -> Any:
    """A value as both engines' results can be compared: timestamps and dates as UTC microseconds, durations as
    microseconds, numbers as floats (integers stay exact below 2**53), lists as tuples, every null as None."""
    import datetime as dt

    import numpy as np

    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_cell(v) for v in value)
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) or type(value).__name__ == "Decimal":
        return float(value)
    if isinstance(value, (pd.Timedelta, dt.timedelta)):
        return ("interval", pd.Timedelta(value).value // 1000)
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, np.datetime64)):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return ("time", stamp.value // 1000)
    if isinstance(value, dict):
        return tuple(sorted((k, _cell(v)) for k, v in value.items()))
    return value


def _sort_key(row: tuple) -> tuple:
    return tuple(repr(round(v, 6) if isinstance(v, float) else v) for v in row)


def rows_of(frame: pd.DataFrame) -> list[tuple]:
    return sorted((tuple(_cell(v) for v in row) for row in frame.itertuples(index=False, name=None)), key=_sort_key)


def differences(expected: pd.DataFrame, columns: list[str], rows: list[tuple], tolerance: float = 1e-9) -> list[str]:
    """Where Spark's answer differs from DuckDB's, cell by cell (rows in a canonical order): empty when equal."""
    problems = []
    if list(expected.columns) != list(columns):
        problems.append(f"columns: DuckDB {list(expected.columns)}, Spark {list(columns)}")
    want = rows_of(expected)
    got = sorted((tuple(_cell(v) for v in row) for row in rows), key=_sort_key)
    if len(want) != len(got):
        problems.append(f"rows: DuckDB {len(want)}, Spark {len(got)}")
    for i, (a, b) in enumerate(zip(want, got)):
        for column, x, y in zip(expected.columns, a, b):
            if not _equal(x, y, tolerance):
                problems.append(f"row {i} {column}: DuckDB {x!r}, Spark {y!r}")
        if len(problems) > 10:
            break
    return problems


def _equal(x: Any, y: Any, tolerance: float) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y or abs(x - y) <= tolerance * max(1.0, abs(x), abs(y))
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(_equal(a, b, tolerance) for a, b in zip(x, y))
    return x == y
