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

from funnel_assets.lib import engine as engine_module

PACKAGE = Path(engine_module.__file__).resolve().parents[1]
SQL_FILES = sorted(PACKAGE.rglob("*.sql"))
CASES_PER_FILE = 2


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
        bound = engine_module.bind(sql, params)
        taken = self.cases.setdefault(sql_id(path), [])
        if len(taken) >= CASES_PER_FILE or any(_same(c.params, bound) for c in taken):
            return run()
        where = self.folder / f"{path.stem}_{len(taken)}"
        where.mkdir(parents=True)
        inputs = {}
        for table in input_tables(sql, bound):
            if con.execute("select count(*) from duckdb_tables() where table_name = ?", [table]).fetchone()[0]:
                inputs[table] = where / f"{table}.parquet"
                con.execute(f"copy (select * from \"{table}\") to '{inputs[table]}' (format parquet)")
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
    """While active, every `Engine.execute` of a statement holding a package SQL file records a case."""
    capture = Capture(folder)
    texts = [(p, p.read_text().strip()) for p in SQL_FILES]
    original = engine_module.Engine.execute

    def execute(self, sql: str, params: dict[str, Any] | None = None):
        run = lambda: original(self, sql, params)  # noqa: E731
        for path, text in texts:
            if text in sql:
                return capture.record(self.con, path, params or {}, run)
        return run()

    engine_module.Engine.execute = execute
    try:
        yield capture
    finally:
        engine_module.Engine.execute = original
