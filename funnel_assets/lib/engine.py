"""The one seam between the assets and the SQL engine.

Assets hand this module a SQL file and bound parameters; it runs them in
DuckDB (the embedded default). The same SQL files transpile to Spark SQL with
sqlglot (`transpile`), so a distributed engine can run them unchanged.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from funnel_assets.lib.scrub import scrub_macros

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


def read_sql(path: Path) -> str:
    return path.read_text()


def bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of `params` that `sql` names: DuckDB rejects unused ones."""
    wanted = set(_PARAM.findall(sql))
    missing = wanted - params.keys()
    if missing:
        raise KeyError(f"SQL needs parameters {sorted(missing)} that were not given")
    return {k: v for k, v in params.items() if k in wanted}


def transpile(sql: str, dialect: str = "spark") -> str:
    """The same statement in another engine's dialect."""
    import sqlglot

    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True))


@dataclass
class Engine:
    """A DuckDB connection with the project's macros installed."""

    con: duckdb.DuckDBPyConnection

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, bind(sql, params or {}))

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.execute(sql, params).df()

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def table_exists(self, table: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables where table_name = $table",
                {"table": table},
            )
        )

    def put_frame(self, table: str, frame: pd.DataFrame, temporary: bool = False) -> None:
        """Replace `table` with the rows of a small frame (configuration, identity).

        `temporary`: the table lives only as long as this connection (values that must not be stored)."""
        self.con.register("_incoming_frame", frame)
        kind = "temp table" if temporary else "table"
        try:
            self.con.execute(f'create or replace {kind} "{table}" as select * from _incoming_frame')
        finally:
            self.con.unregister("_incoming_frame")

    def replace_rows(
        self,
        table: str,
        select_sql: str,
        params: dict[str, Any],
        where: str,
        where_params: dict[str, Any],
    ) -> int:
        """Delete the rows of `table` matching `where`, insert the result of `select_sql`.

        This is how every partitioned asset writes: re-running a partition
        replaces it, so materialisations are idempotent. Delete and insert are
        one transaction: if the select fails, the old rows stay.
        """
        described = self.execute(f"describe ({select_sql})", params).fetchall()
        columns = [(name, kind) for name, kind, *_ in described]
        if self.table_exists(table) and self._columns(table) != columns:
            # The asset's SQL changed shape: the old table cannot take the rows.
            self.con.execute(f'drop table "{table}"')
        definition = ", ".join(f'"{name}" {kind}' for name, kind in columns)
        self.con.execute("begin transaction")
        try:
            self.con.execute(f'create table if not exists "{table}" ({definition})')
            self.execute(f'delete from "{table}" where {where}', where_params)
            inserted = self.execute(f'insert into "{table}" {select_sql}', params).fetchone()[0]
            self.con.execute("commit")
        except Exception:
            self.con.execute("rollback")
            raise
        return int(inserted)

    def _columns(self, table: str) -> list[tuple[str, str]]:
        return [
            (r[0], r[1])
            for r in self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
        ]


@contextmanager
def connect(
    path: Path,
    pseudonym_key: str,
    memory_limit: str = "1536MB",
    threads: int = 2,
    read_only: bool = False,
) -> Iterator[Engine]:
    """Open the warehouse file, install the `pseudo()` and `scrub()` macros, close when done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={"memory_limit": memory_limit, "threads": threads, "temp_directory": str(path.parent / "duckdb_tmp")},
    )
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
        yield Engine(con)
    finally:
        con.close()
