"""The whole asset graph on Spark, through the real run path (`funnel run --engine spark`), equals DuckDB's.

One generated dataset with every fault `funnel generate --inject` knows is run once per engine (module fixtures,
in process, so the CLI's Spark session is the shared `spark` fixture's): the same assets materialise, every table
the run writes is identical cell by cell (integers equal, floats to 1e-9), the quarantine and the reconciliation
(`ingested_files`) counts are identical, and so are the check outcomes (`funnel checks --format json`).
`funnel show --engine spark --format json` prints the rows DuckDB's prints, and running again on Spark leaves the
same rows (idempotent).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from funnel_assets.cli import main
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.simulator.faults import FAULTS

ALL_FAULTS = sorted(FAULTS)
# small: the cost on Spark is per statement, not per row
GENERATE = ["--developers", "120", "--weeks", "2", "--requests", "2500", "--seed", "5"]


def _run(data: Path, warehouse: str, engine: str) -> int:
    return main(["run", "--engine", engine, "--data", str(data), "--warehouse", warehouse, "--demo-data"])


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("spark_pipeline")
    assert main(["generate", "--out", str(root / "data"), *GENERATE, "--inject", ",".join(ALL_FAULTS)]) == 0
    return root


@pytest.fixture(scope="module")
def on_duckdb(generated) -> tuple[str, int]:
    warehouse = str(generated / "duckdb" / "warehouse.duckdb")
    return warehouse, _run(generated / "data", warehouse, "duckdb")


@pytest.fixture(scope="module")
def on_spark(generated, spark) -> tuple[str, int]:
    warehouse = str(generated / "spark" / "warehouse")
    return warehouse, _run(generated / "data", warehouse, "spark")


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
        return value.isoformat()
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


@pytest.fixture(scope="module")
def both(on_duckdb, on_spark):
    (duck_warehouse, duck_code), (spark_warehouse, spark_code) = on_duckdb, on_spark
    # every fault is in the data, so blocking checks fail the run on both engines alike
    assert spark_code == duck_code
    return _tables(duck_warehouse, "duckdb"), _tables(spark_warehouse, "spark")


def test_the_same_tables_and_every_cell_equal(both):
    duck, spark = both
    assert sorted(spark) == sorted(duck)
    assert "quarantine" in duck and "raw_gateway_requests" in duck
    for table in sorted(duck):
        _assert_same_cells(table, duck[table], spark[table])


def test_quarantine_and_reconciliation_counts_equal(both):
    duck, spark = both
    by_reason = {name: t["quarantine"].groupby(["source", "kind", "reason"], dropna=False).size().to_dict()
                 for name, t in (("duckdb", duck), ("spark", spark))}
    assert by_reason["spark"] == by_reason["duckdb"]
    kinds = {kind for _, kind, _ in by_reason["duckdb"]}
    assert {"unreadable", "rejected", "duplicate"} <= kinds  # the faults reached the quarantine
    counts = ["input_lines", "accepted", "unreadable", "rejected", "duplicates"]
    files = {name: t["ingested_files"].groupby("source")[counts].sum().to_dict("index")
             for name, t in (("duckdb", duck), ("spark", spark))}
    assert files["spark"] == files["duckdb"]


def _checks(warehouse: str, engine: str, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["checks", "--engine", engine, "--warehouse", warehouse, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    return sorted(({k: r[k] for k in ("asset", "check", "partition", "passed", "severity", "observed", "threshold",
                                      "failing_rows")} for r in rows), key=lambda r: (r["asset"], r["check"],
                                                                                        str(r["partition"])))


def test_the_same_check_outcomes(on_duckdb, on_spark, both, capsys):
    duck = _checks(on_duckdb[0], "duckdb", capsys)
    spark = _checks(on_spark[0], "spark", capsys)
    assert duck, "no check ran"
    assert [(r["asset"], r["check"], r["partition"], r["passed"]) for r in spark] == \
        [(r["asset"], r["check"], r["partition"], r["passed"]) for r in duck]
    assert spark == duck
    assert any(not r["passed"] for r in duck)  # the faults failed checks


def _shown(warehouse: str, engine: str, table: str, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["show", table, "--engine", engine, "--warehouse", warehouse, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_show_prints_the_same_rows(on_duckdb, on_spark, both, capsys):
    duck, _ = both
    shown = [t for t in sorted(duck) if t.startswith("mart_")] or ["raw_auth_users", "quarantine"]
    for table in shown:
        a, b = _shown(on_duckdb[0], "duckdb", table, capsys), _shown(on_spark[0], "spark", table, capsys)
        assert len(b) == len(a), table
        assert b == a, table


def test_running_again_on_spark_leaves_the_same_rows(generated, on_spark, both, spark):
    _, before = both
    warehouse, code = on_spark
    assert _run(generated / "data", warehouse, "spark") == code
    after = _tables(warehouse, "spark")
    assert sorted(after) == sorted(before)
    for table in sorted(before):
        _assert_same_cells(table, before[table], after[table])
