"""The Dagster instance's event log on SQLite, without the cost of a new database engine per event.

Dagster's `SqliteEventLogStorage` opens a new SQLAlchemy engine (and so a new
SQLite connection, an empty statement cache and a table look-up) for every
event it stores, and commits each with a full fsync. A run of the funnel over
a year of weeks records thousands of events (a materialisation per asset and
week, an evaluation per check and week): at about 9 ms each that was most of a
`funnel run` on modest data (found with pyinstrument on a whole `funnel run`;
the README's Benchmarks give the figures).

This storage is the same tables, files and migrations; it keeps one engine per
database file (the index and the latest run shards), so connections and
compiled statements are reused, and commits with `synchronous=NORMAL`, which
in WAL mode (Dagster's own choice for these files) loses nothing when a process
dies, only the last transactions on a power cut. `deploy/dagster.yaml` names it,
with the instance's folder (`instance_dir`): the files are where Dagster's own
storage keeps them, `<instance_dir>/history/runs/`, so either storage reads them.

A run over a range of weeks records an asset's materialisations (and, when the
run starts, the planned ones) one per week. Dagster hands such events over in
batches when `DAGSTER_EVENT_BATCH_SIZE` is set (this storage sets it, unless it
is set already); its SQLite storage then still stores them one by one, three
transactions each. `store_event_batch` writes a batch in one transaction per
file, the rows Dagster's own `store_event` would write.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from dagster import StringSource
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)

OPEN_SHARDS = 4  # engines kept: the index and the run shards written last (a daemon writes many runs)
BATCH_SIZE_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"  # read by DagsterInstance.handle_new_event
BATCH_SIZE = 1000  # events of one batch written at once: a step's materialisations of a year of weeks


def _engine(conn_string: str) -> sa.Engine:
    engine = sa.create_engine(
        conn_string,
        pool_size=1,
        max_overflow=2,  # Dagster's migrations open a second connection inside the first
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    return engine


class FunnelSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with its engines kept open (see the module's docstring)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)
        os.environ.setdefault(BATCH_SIZE_VARIABLE, str(BATCH_SIZE))  # Dagster batches only when it is set

    @classmethod
    def config_type(cls):
        return {"instance_dir": StringSource}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> FunnelSqliteEventLogStorage:
        return cls(str(Path(config_value["instance_dir"]) / "history" / "runs"), inst_data=inst_data)

    def _engine_for(self, shard: str) -> sa.Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = _engine(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine  # the latest used last
        while len(self._engines) > OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = self._engine_for(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """The events of one batch (one asset's materialisations or planned materialisations, a week each),
        stored as `store_event` stores them: each in its run's shard, and, being asset events, mirrored in the
        index with its tags and the asset's latest event; in one transaction per file. Anything else, one by
        one."""
        if not events or len({e.run_id for e in events}) > 1 or any(
            not e.is_dagster_event or e.dagster_event_type not in ASSET_EVENTS or not e.dagster_event.asset_key
            for e in events
        ):
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]  # each event serialised once
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert().values(rows))
        with self.index_transaction() as conn:
            # one statement for the batch; the ids come back in the rows' order
            ids = conn.execute(
                SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True),
                rows,
            ).scalars().all()
            self._store_asset_event_tags(conn, list(events), ids)
            # the asset's row keeps the latest event: of a batch of one kind of event, the last of each asset
            latest = {event.dagster_event.asset_key: (event, id_) for event, id_ in zip(events, ids)}
            for event, id_ in latest.values():
                self._store_asset_event(conn, event, id_)

    def has_table(self, table_name: str) -> bool:
        # tables are only ever added (by migrations); a table once seen stays
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def _dispose_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._dispose_engines()  # the run shards' files are removed: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
