import os
import sys
from pathlib import Path

import dagster as dg
import pytest

from funnel_assets.defs.resources import FunnelResource
from funnel_assets.definitions import defs as load_defs
from funnel_assets.lib.engines import connect
from funnel_assets.orchestration.launch import run_everything


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every Spark test (starting one takes ~5 s).

    Without pyspark or Java the Spark tests skip, saying why; with FUNNEL_REQUIRE_SPARK set (CI) they fail."""
    import shutil

    reason = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason = "pyspark is not installed (pip install 'funnel_assets[spark]')"
    if reason is None and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        reason = "no Java: apt-get install openjdk-17-jre-headless"
    if reason:
        if os.environ.get("FUNNEL_REQUIRE_SPARK"):
            pytest.fail(f"FUNNEL_REQUIRE_SPARK is set but {reason}")
        pytest.skip(reason)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the executors' Python (mapInArrow): this environment's
    from funnel_assets.lib.engines import SparkSettings
    from funnel_assets.lib.engines.spark_engine import session

    started = session(SparkSettings(master="local[2]", conf={
        "spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1", "spark.sql.shuffle.partitions": "4",
    }))
    yield started
    started.stop()


@pytest.fixture(scope="session")
def definitions() -> dg.Definitions:
    return load_defs()


class Pipeline:
    """Runs every asset over a data folder and reads the warehouse back."""

    def __init__(self, definitions: dg.Definitions, root: Path, identity_db_url: str = ""):
        self.definitions = definitions
        self.root = root
        self.data_dir = root / "data"
        self.resource = FunnelResource(
            data_dir=str(self.data_dir),
            warehouse_path=str(root / "warehouse.duckdb"),
            identity_db_url=identity_db_url,
        )

    def run(self) -> dg.ExecuteInProcessResult:
        result = run_everything(self.definitions, self.resource, dg.DagsterInstance.ephemeral())
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def frame(self, sql: str, params: dict | None = None):
        with connect(Path(self.resource.warehouse_path), self.resource.pseudonym_key) as engine:
            return engine.frame(sql, params)

    def pid(self, raw_id: str) -> str:
        return self.pids([raw_id])[raw_id]

    def pids(self, raw_ids: list[str]) -> dict[str, str]:
        """Pseudonyms of many raw ids, in one query."""
        with connect(Path(self.resource.warehouse_path), self.resource.pseudonym_key) as engine:
            frame = engine.frame("select v, pseudo(v) as p from unnest(cast($ids as varchar[])) as t(v)", {"ids": raw_ids})
        return dict(zip(frame.v, frame.p))


@pytest.fixture
def pipeline(tmp_path, definitions) -> Pipeline:
    return Pipeline(definitions, tmp_path)

