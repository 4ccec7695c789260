"""The embedded engine: one DuckDB file, the project's macros installed as temporary macros."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd
import pyarrow as pa

from funnel_assets.lib.engines import DEFAULT_MEMORY_LIMIT, STATEMENT_LOG, Engine, bind
from funnel_assets.lib.scrub import scrub_macros


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBEngine(Engine):
    """A DuckDB connection with the project's macros installed."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.statement_log = os.environ.get(STATEMENT_LOG)

    def _run(self, sql: str, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        args = bind(sql, params or {})
        if not self.statement_log:
            return self.con.execute(sql, args)
        started = time.perf_counter()
        cursor = self.con.execute(sql, args)
        with open(self.statement_log, "a") as log:
            log.write(json.dumps({"seconds": time.perf_counter() - started, "sql": sql}) + "\n")
        return cursor

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._run(sql, params)

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self._run(sql, params).df()

    def row(self, sql: str, params: dict[str, Any] | None = None) -> tuple | None:
        return self._run(sql, params).fetchone()

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        cursor = self._run(sql, params)
        return [d[0] for d in cursor.description], cursor.fetchall()

    def tables(self) -> list[str]:
        return [r[0] for r in self.con.execute("select table_name from information_schema.tables order by 1").fetchall()]

    def table_exists(self, table: str) -> bool:
        return bool(self.scalar(
            "select count(*) from information_schema.tables where table_name = $table", {"table": table}
        ))

    def schema(self, table: str) -> list[tuple[str, str]]:
        return [
            (r[0], r[1])
            for r in self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
        ]

    def put_frame(self, table: str, frame: pd.DataFrame | pa.Table, temporary: bool = False) -> None:
        self.con.register("_incoming_frame", frame)
        kind = "temp table" if temporary else "table"
        try:
            self.con.execute(f"create or replace {kind} {_q(table)} as select * from _incoming_frame")
        finally:
            self.con.unregister("_incoming_frame")

    def temp_table(self, name: str, select_sql: str, params: dict[str, Any] | None = None) -> None:
        self._run(f"create or replace temp table {_q(name)} as {select_sql}", params)

    def temp_view(self, name: str, select_sql: str, params: dict[str, Any] | None = None) -> None:
        self._run(f"create or replace temp view {_q(name)} as {select_sql}", params)

    def drop_temp(self, name: str) -> None:
        kinds = self.con.execute(
            "select 'view' from duckdb_views() where temporary and view_name = $n "
            "union all select 'table' from duckdb_tables() where temporary and table_name = $n",
            {"n": name},
        ).fetchall()
        for (kind,) in kinds:
            self.con.execute(f"drop {kind} if exists temp.main.{_q(name)}")

    def replace_rows(
        self,
        table: str,
        select_sql: str,
        params: dict[str, Any],
        where: str,
        where_params: dict[str, Any],
        partition_by: tuple[str, ...] = (),
    ) -> int:
        """Delete and insert are one transaction: if the select fails, the old rows stay."""
        described = self._run(f"describe ({select_sql})", params).fetchall()
        columns = [(name, kind) for name, kind, *_ in described]
        if self.table_exists(table) and self.schema(table) != columns:
            # The asset's SQL changed shape: the old table cannot take the rows.
            self.con.execute(f"drop table {_q(table)}")
        definition = ", ".join(f"{_q(name)} {kind}" for name, kind in columns)
        self.con.execute("begin transaction")
        try:
            self.con.execute(f"create table if not exists {_q(table)} ({definition})")
            self._run(f"delete from {_q(table)} where {where}", where_params)
            inserted = self._run(f"insert into {_q(table)} {select_sql}", params).fetchone()[0]
            self.con.execute("commit")
        except Exception:
            self.con.execute("rollback")
            raise
        return int(inserted)

    # --- landing files --------------------------------------------------------------------------

    def load_landing_lines(self, table: str, files: list, data_dir: Path) -> dict[str, str]:
        """Every file read by DuckDB in one statement; when that fails (a truncated gzip, invalid UTF-8), each file
        on its own, and a file DuckDB cannot read by Python, line by line (`ingest.read_leniently`)."""
        from funnel_assets.lib.ingest import _LINES_SCHEMA, relative, read_leniently

        self.con.execute(f"create or replace temp table {_q(table)} ({_LINES_SCHEMA})")
        if not files:
            return {}
        try:
            self._run(f"insert into {_q(table)} " + " union all ".join(_read(f, data_dir) for f in files))
            return {}
        except duckdb.Error:
            pass
        fallbacks = {}
        for f in files:
            try:
                self.con.execute(f"insert into {_q(table)} " + _read(f, data_dir))
            except duckdb.Error as error:
                fallbacks[relative(f.path, data_dir)] = str(error).splitlines()[0]
                lines, reasons = read_leniently(f.path)
                lenient = pa.table({
                    "file": pa.array([relative(f.path, data_dir)] * len(lines), pa.string()),
                    "line_no": pa.array(range(1, len(lines) + 1), pa.int64()),
                    "event_week": pa.array([f.week] * len(lines), pa.date32()),
                    "line": pa.array(lines, pa.string()),
                    "read_error": pa.array(reasons, pa.string()),
                })
                self.con.register("_lenient_lines", lenient)
                try:
                    self.con.execute(f"insert into {_q(table)} select * from _lenient_lines")
                finally:
                    self.con.unregister("_lenient_lines")
        return fallbacks


def _read(f, data_dir: Path) -> str:
    """One landing file as rows of _landing_lines: one line per row, with a delimiter and quote that never occur in
    JSON text. (A trailing carriage return is JSON whitespace, so it needs no trimming.)"""
    from funnel_assets.lib.ingest import relative

    return (
        f"select {_lit(relative(f.path, data_dir))} as file, row_number() over () as line_no, "
        f"cast({_lit(f.week.isoformat())} as date) as event_week, line, null::varchar as read_error "
        f"from read_csv({_lit(str(f.path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(30), "
        f"quote = '', escape = '', auto_detect = false)"
    )


def open_database(path: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int = 2,
                  read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The warehouse file opened: a database that connections (`open_duckdb`) can share while it stays open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        str(path),
        read_only=read_only,
        config={"memory_limit": memory_limit, "threads": threads, "temp_directory": str(path.parent / "duckdb_tmp")},
    )


@contextmanager
def open_duckdb(
    path: Path, pseudonym_key: str, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int = 2, read_only: bool = False,
    database: duckdb.DuckDBPyConnection | None = None,
) -> Iterator[DuckDBEngine]:
    """A connection to the warehouse with the `pseudo()` and `scrub()` macros installed, closed when done: to
    `database` (`open_database`, kept open by its holder) when given, else to the file opened for it alone.
    Each connection has its own temporary tables, views and macros."""
    con = database.cursor() if database is not None else open_database(path, memory_limit, threads, read_only)
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        con.execute("set variable pseudonym_key = ?", [pseudonym_key])
        # Keyed hash, applied twice so the key cannot be extended onto (the HMAC idea):
        # the same input always gives the same pseudonym, which cannot be reversed without the key.
        con.execute(
            "create or replace temp macro pseudo(v) as case when v is null then null else "
            "left(sha256(getvariable('pseudonym_key') || ':' || "
            "sha256(getvariable('pseudonym_key') || ':' || cast(v as varchar))), 20) end"
        )
        # Free text leaving the raw layer loses e-mail addresses, tokens and key-like secrets (lib/scrub.py).
        for macro in scrub_macros():
            con.execute(macro)
        yield DuckDBEngine(con)
    finally:
        con.close()
