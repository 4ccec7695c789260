"""The engine seam: only `funnel_assets/lib/engines/` talks to DuckDB or Spark."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "funnel_assets"
ENGINES = PACKAGE / "lib" / "engines"
ENGINE_MODULES = {"duckdb", "pyspark"}


def _engine_imports(path: Path) -> list[str]:
    """`import duckdb`, `from pyspark.sql import ...` and the like in one source file (anywhere, nested too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{path.name}:{node.lineno}: {name}"
                  for name in names if name.split(".")[0] in ENGINE_MODULES]
    return found


def test_no_module_outside_the_engine_package_imports_duckdb_or_pyspark():
    sources = [p for p in PACKAGE.rglob("*.py") if not p.is_relative_to(ENGINES)]
    assert len(sources) > 50  # the scan sees the package
    offending = [line for path in sources for line in _engine_imports(path)]
    assert offending == []


def test_no_module_outside_the_engine_package_reaches_a_connection():
    """`engine.con` (the DuckDB connection) is the engine's own."""
    sources = [p for p in PACKAGE.rglob("*.py") if not p.is_relative_to(ENGINES)]
    offending = [
        f"{p.relative_to(PACKAGE.parent)}:{node.lineno}"
        for p in sources
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in ("con", "spark") and isinstance(node.value, ast.Name)
        and node.value.id == "engine"
    ]
    assert offending == []


def test_the_scan_finds_an_engine_import(tmp_path):
    """The check itself: a module importing duckdb, even inside a function, is found."""
    planted = tmp_path / "planted.py"
    planted.write_text("import os\ndef f():\n    import duckdb.typing\n    from pyspark.sql import SparkSession\n")
    assert _engine_imports(planted) == ["planted.py:3: duckdb.typing", "planted.py:4: pyspark.sql"]


@pytest.mark.parametrize("module", ["duckdb_engine"])
def test_the_engine_package_does_import_its_engine(module):
    assert _engine_imports(ENGINES / f"{module}.py")


# --- choosing the engine ------------------------------------------------------------------------


def test_the_configuration_chooses_the_engine_and_refuses_an_unknown_one():
    from funnel_assets.defs.resources import FunnelResource, settings_from

    settings = settings_from({"engine": "spark", "spark_master": "spark://127.0.0.1:7077",
                              "spark_conf": {"spark.executor.memory": "2g"}, "warehouse_path": "s3a://bucket/wh"}, "f.yaml")
    resource = FunnelResource.from_settings(settings)
    assert (resource.engine_name, resource.spark_master, resource.spark_remote) == ("spark", "spark://127.0.0.1:7077", "")
    assert resource.spark_conf == {"spark.executor.memory": "2g"}
    assert resource.warehouse_location == "s3a://bucket/wh"  # a URI stays a URI
    assert str(resource.warehouse) == ".funnel/wh"  # its local files (identity store, instance) live here
    assert FunnelResource().engine_name == "duckdb"
    with pytest.raises(ValueError, match="engine must be one of duckdb, spark"):
        FunnelResource.from_settings(settings_from({"engine": "sparkk"}, "f.yaml"))
    with pytest.raises(ValueError, match="did you mean 'spark_conf'"):
        settings_from({"spark_confs": {}}, "f.yaml")


@pytest.mark.parametrize("command", [
    ["run", "--data", "{tmp}/data"], ["show", "mart_sdk_usage"], ["backfill", "--data", "{tmp}/data", "--from",
    "2025-01-06", "--to", "2025-01-13"],
])
def test_engine_spark_without_pyspark_says_how_to_install_it(command, tmp_path, monkeypatch, capsys):
    from funnel_assets import cli

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if the [spark] extra were not installed
    argv = [part.format(tmp=tmp_path) for part in command] + ["--engine", "spark", "--warehouse", str(tmp_path / "wh")]
    assert cli.main(argv) in (1, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --engine spark needs pyspark: pip install 'funnel_assets[spark]'"]


def test_a_runs_steps_share_one_open_warehouse_and_it_is_closed_after_the_run(tmp_path, definitions, monkeypatch):
    """engines.hold: the DuckDB file is opened once for all the steps of a run, not once a step; after the run it
    is closed (a read-only connection, which DuckDB refuses beside an open read-write one in the same process,
    then opens)."""
    from funnel_assets.lib.engines import connect, duckdb_engine
    from funnel_assets.lib.simulator import generate
    from funnel_assets_tests.conftest import Pipeline

    generate(tmp_path / "data", developers=150, weeks=3, seed=4, requests=6_000)
    pipeline = Pipeline(definitions, tmp_path)
    opened = []
    real_open = duckdb_engine.open_database
    monkeypatch.setattr(duckdb_engine, "open_database", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    result = pipeline.run()
    steps = [e for e in result.all_events if e.event_type_value == "STEP_SUCCESS"]
    assert len(steps) > 30 and len(opened) == 1, (len(steps), len(opened))
    with connect(pipeline.resource.warehouse, pipeline.resource.pseudonym_secret, read_only=True) as engine:
        assert engine.scalar("select count(*) from developer_stages") > 0
