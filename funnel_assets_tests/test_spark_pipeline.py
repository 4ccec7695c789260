"""The whole asset graph on Spark, through the real run path (`funnel run --engine spark`), equals DuckDB's.

Two generated datasets, each run once per engine (module fixtures; in process, so the CLI's Spark session is the
shared `spark` fixture's):

- every fault the generator knows: the blocking checks stop both runs after the raw layer; every table written
  is identical cell by cell, the quarantine counts by source, kind and reason and the reconciliation
  (`ingested_files`) counts are identical, so are the check outcomes (`funnel checks --format json`), and
  running again on Spark leaves the same rows (idempotent);
- every fault that only warns: the whole graph materialises on both, every table (marts included) identical
  cell by cell (integers equal, floats to 1e-9), the same check outcomes, and `funnel show MART --engine spark
  --format json` prints what DuckDB's prints.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from funnel_assets.cli import main
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.simulator import generate
from funnel_assets.lib.simulator.faults import FAULTS
from funnel_assets.lib.simulator.parameters import DEFAULT_PARAMETERS
from funnel_assets.defs.marts.diagnostics import POOLS_COMPLETE_COHORTS

ALL_FAULTS = sorted(FAULTS)
# the faults whose blocking checks stop the run before the identity, stage and mart assets
BLOCKING_FAULTS = {"call_before_key", "future_events", "key_before_user", "past_events", "schema_drift"}
# small: the cost on Spark is per statement, not per row; activity followed for 60 days keeps the weeks few
SMALL = dict(developers=120, weeks=4, seed=5, requests=2500, params=replace(DEFAULT_PARAMETERS, follow_up_days=60))


def _run(data: Path, warehouse: str, engine: str) -> int:
    return main(["run", "--engine", engine, "--data", str(data), "--warehouse", warehouse, "--demo-data"])


def _on_both(root: Path, inject: list[str]) -> dict:
    """`funnel run` on DuckDB and on Spark over the same generated data; the warehouses and the exit codes."""
    generate(root / "data", inject=inject, **SMALL)
    runs = {"duckdb": str(root / "duckdb" / "warehouse.duckdb"), "spark": str(root / "spark" / "warehouse")}
    return {engine: (warehouse, _run(root / "data", warehouse, engine)) for engine, warehouse in runs.items()}


@pytest.fixture(scope="module")
def every_fault(tmp_path_factory, spark) -> dict:
    """Every fault the generator knows: the blocking checks stop the run after the raw layer, on both engines."""
    return _on_both(tmp_path_factory.mktemp("every_fault"), ALL_FAULTS)


@pytest.fixture(scope="module")
def whole_graph(tmp_path_factory, spark) -> dict:
    """Every fault that only warns: every asset materialises."""
    return _on_both(tmp_path_factory.mktemp("whole_graph"), sorted(set(ALL_FAULTS) - BLOCKING_FAULTS))


def _resource(warehouse: str, engine: str) -> FunnelResource:
    return FunnelResource(warehouse_path=warehouse, engine=engine, allow_demo_key=True)


def _tables(warehouse: str, engine: str) -> dict[str, pd.DataFrame]:
    """Every stored table of the warehouse, rows in a set order (every column), values as plain Python."""
    found = {}
    with _resource(warehouse, engine).connect(read_only=True) as opened:
        for table in opened.tables():
            if table.startswith("_"):
                continue
            names, rows = opened.rows(f'select * from "{table}"')
            frame = pd.DataFrame([[_plain(v) for v in row] for row in rows], columns=names, dtype=object)
            if "read_by" in frame:  # which reader read a file: the engine's own (named after it) or Python's
                frame["read_by"] = frame["read_by"].replace(engine, "the engine")
            found[table] = frame.sort_values(by=list(names), key=lambda c: c.map(_sort_key)).reset_index(drop=True)
    return found


def _plain(value):
    if isinstance(value, datetime):
        # as an instant: a DuckDB `timestamp` column (naive, UTC) is an instant in UTC on Spark
        # (mart_stage_conversion.complete_at, seen 2026-12-01)
        return (value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return json.dumps([_plain(v) for v in value])
    if isinstance(value, dict):
        return json.dumps({k: _plain(v) for k, v in sorted(value.items())})
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _sort_key(value):
    return (value is None, "" if value is None else str(round(value, 9)) if isinstance(value, float) else str(value))


def _assert_same_cells(table: str, duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert list(spark.columns) == list(duck.columns), table
    assert len(spark) == len(duck), f"{table}: {len(spark)} rows on Spark, {len(duck)} on DuckDB"
    for column in duck.columns:
        for i, (a, b) in enumerate(zip(duck[column], spark[column])):
            if isinstance(a, float) or isinstance(b, float):
                assert a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), \
                    f"{table}.{column} row {i}: DuckDB {a!r}, Spark {b!r}"
            else:
                assert a == b, f"{table}.{column} row {i}: DuckDB {a!r}, Spark {b!r}"


def _both_tables(runs: dict) -> tuple[dict, dict]:
    return _tables(runs["duckdb"][0], "duckdb"), _tables(runs["spark"][0], "spark")


@pytest.fixture(scope="module")
def every_fault_tables(every_fault):
    assert every_fault["spark"][1] == every_fault["duckdb"][1] == 1  # blocked alike
    return _both_tables(every_fault)


@pytest.fixture(scope="module")
def whole_graph_tables(whole_graph):
    assert whole_graph["duckdb"][1] == 0 and whole_graph["spark"][1] == 0
    return _both_tables(whole_graph)


def _assert_same_tables(duck: dict, spark: dict) -> None:
    assert sorted(spark) == sorted(duck)
    for table in sorted(duck):
        _assert_same_cells(table, duck[table], spark[table])


def test_with_every_fault_the_same_tables_and_every_cell_equal(every_fault_tables):
    duck, spark = every_fault_tables
    assert "quarantine" in duck and "raw_gateway_requests" in duck
    _assert_same_tables(duck, spark)


def test_with_every_fault_quarantine_and_reconciliation_counts_equal(every_fault_tables):
    duck, spark = every_fault_tables
    by_reason = {name: t["quarantine"].groupby(["source", "kind", "reason"], dropna=False).size().to_dict()
                 for name, t in (("duckdb", duck), ("spark", spark))}
    assert by_reason["spark"] == by_reason["duckdb"]
    kinds = {kind for _, kind, _ in by_reason["duckdb"]}
    assert {"unreadable", "rejected", "duplicate"} <= kinds  # the faults reached the quarantine
    counts = ["input_lines", "accepted", "unreadable", "rejected", "duplicates"]
    files = {name: t["ingested_files"].groupby("source")[counts].sum().to_dict("index")
             for name, t in (("duckdb", duck), ("spark", spark))}
    assert files["spark"] == files["duckdb"]
    for source, row in files["duckdb"].items():  # every line ends in one place, on both engines
        assert row["input_lines"] == row["accepted"] + row["unreadable"] + row["rejected"] + row["duplicates"], source


def _checks(warehouse: str, engine: str, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["checks", "--engine", engine, "--warehouse", warehouse, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    kept = ("asset", "check", "partition", "passed", "severity", "observed", "threshold", "failing_rows")
    return sorted(({k: r[k] for k in kept} for r in rows), key=lambda r: (r["asset"], r["check"], str(r["partition"])))


@pytest.mark.parametrize("runs", ["every_fault", "whole_graph"])
def test_the_same_check_outcomes(runs, request, capsys):
    runs = request.getfixturevalue(runs)
    duck = _checks(runs["duckdb"][0], "duckdb", capsys)
    spark = _checks(runs["spark"][0], "spark", capsys)
    assert duck, "no check ran"
    assert any(not r["passed"] for r in duck)  # the faults failed (or warned) checks
    assert [(r["asset"], r["check"], r["partition"], r["passed"]) for r in spark] == \
        [(r["asset"], r["check"], r["partition"], r["passed"]) for r in duck]
    assert spark == duck


def test_the_whole_graph_gives_the_same_marts_cell_by_cell(whole_graph_tables):
    duck, spark = whole_graph_tables
    marts = [t for t in duck if t.startswith("mart_")]
    assert len(marts) >= 10 and all(len(duck[t]) for t in marts if t not in POOLS_COMPLETE_COHORTS)
    _assert_same_tables(duck, spark)


def _shown(warehouse: str, engine: str, table: str, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["show", table, "--engine", engine, "--warehouse", warehouse, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_show_prints_the_same_rows(whole_graph, whole_graph_tables, capsys):
    duck, _ = whole_graph_tables
    for table in sorted(t for t in duck if t.startswith("mart_")):
        shown = _shown(whole_graph["duckdb"][0], "duckdb", table, capsys)
        assert shown or table in POOLS_COMPLETE_COHORTS, table
        # the same cells: floats to 1e-9, timestamps as instants (DuckDB prints a plain UTC timestamp
        # without its offset, Spark with +00:00)
        assert _as_cells(_shown(whole_graph["spark"][0], "spark", table, capsys), exact=True) == _as_cells(shown), table


def _as_cells(rows: list[dict], exact: bool = False) -> list[dict]:
    def cell(value):
        if isinstance(value, float) and not exact:
            return pytest.approx(value, rel=1e-9, abs=1e-12)
        if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
            stamp = pd.Timestamp(value)
            return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return value
    return [{key: cell(value) for key, value in row.items()} for row in rows]


def test_running_again_on_spark_leaves_the_same_rows(every_fault, every_fault_tables):
    _, before = every_fault_tables
    warehouse, code = every_fault["spark"]
    data = Path(warehouse).parent.parent / "data"
    assert _run(data, warehouse, "spark") == code
    _assert_same_tables(before, _tables(warehouse, "spark"))
