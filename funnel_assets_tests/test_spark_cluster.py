"""The same code on a real Spark deployment, by configuration alone: a standalone master and worker, and a Spark
Connect server, started on loopback from the installed pyspark package; the same rows as the local session gives.

The deployments run as processes of their own (module-scoped fixtures, killed afterwards); the driver that talks to
them runs in a child process too (`spark_cluster_scenario`), as a process holds one Spark session and the tests'
shared local one (`spark`) is already up. Needs what the `spark` fixture needs (and the Connect test pyspark's
connect extra): without them these tests skip, saying why, and with FUNNEL_REQUIRE_SPARK set they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from funnel_assets_tests.spark_cluster_scenario import TABLE, WEEKS, run

KEY = "cluster-test-key"
DRIVER_CONF = {"spark.driver.host": "127.0.0.1", "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"}
STARTUP_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_env(logs: Path) -> dict:
    import pyspark

    return {
        **os.environ,
        "SPARK_HOME": str(Path(pyspark.__file__).parent),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(logs),
        "SPARK_PID_DIR": str(logs),
        "SPARK_NO_DAEMONIZE": "1",
        "PYSPARK_PYTHON": sys.executable,
    }


class Daemon:
    """One Spark process started here, in a process group of its own so that stopping it stops its children."""

    def __init__(self, name: str, command: list[str], env: dict, logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        self.process = subprocess.Popen(command, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        self.stop()
        pytest.fail(f"the Spark {self.name} did not start (no {text!r} in its log):\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def standalone(spark, tmp_path_factory):
    """A standalone master and one worker (1 core, 2 GiB) on 127.0.0.1: the master URL."""
    logs = tmp_path_factory.mktemp("spark_standalone")
    env = _spark_env(logs)
    spark_class = str(Path(env["SPARK_HOME"]) / "bin" / "spark-class")
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    daemons = [Daemon("master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                 "--port", str(port), "--webui-port", str(_free_port())], env, logs)]
    try:
        daemons[0].wait_for("I have been elected leader")
        daemons.append(Daemon("worker", [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                         "--cores", "1", "--memory", "2g", "--webui-port", str(_free_port()),
                                         "--work-dir", str(logs / "work"), url], env, logs))
        daemons[1].wait_for("Successfully registered with master")
        yield url
    finally:
        for daemon in reversed(daemons):
            daemon.stop()


@pytest.fixture(scope="module")
def connect_server(standalone, tmp_path_factory):
    """A Spark Connect server (the package's sbin/start-connect-server.sh, in the foreground) whose jobs run on the
    standalone cluster: its sc:// URL. The client needs pyspark's connect extra (the test extra installs it)."""
    import importlib.util

    missing = [m for m in ("grpc", "grpc_status", "google.rpc", "zstandard") if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"the Spark Connect client needs {', '.join(missing)}: pip install 'funnel_assets[spark-connect]'"
        if os.environ.get("FUNNEL_REQUIRE_SPARK"):
            pytest.fail(f"FUNNEL_REQUIRE_SPARK is set but {reason}")
        pytest.skip(reason)
    logs = tmp_path_factory.mktemp("spark_connect")
    env = _spark_env(logs)
    port = _free_port()
    server = Daemon("connect server", [
        str(Path(env["SPARK_HOME"]) / "sbin" / "start-connect-server.sh"), "--wait", "--master", standalone,
        "--conf", f"spark.connect.grpc.binding.address=127.0.0.1", "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.session.timeZone=UTC",
    ], env, logs)
    try:
        server.wait_for("Spark Connect server started")
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.stop()


def _in_child(settings: dict, tmp_path: Path) -> dict:
    """The scenario in a process of its own (its own Spark session), as `funnel run` would reach the engine."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run([sys.executable, "-m", "funnel_assets_tests.spark_cluster_scenario", json.dumps(settings)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _settings(warehouse: Path, **spark) -> dict:
    return {"engine": "spark", "warehouse_path": str(warehouse), "pseudonym_key": KEY, "allow_demo_key": True,
            **spark}


def _pseudo(value: str) -> str:
    """The keyed pseudonym as the SQL function defines it (lib/engines/spark_functions.py)."""
    inner = hashlib.sha256(f"{KEY}:{value}".encode()).hexdigest()
    return hashlib.sha256(f"{KEY}:{inner}".encode()).hexdigest()[:20]


@pytest.fixture(scope="module")
def local_outcome(spark, tmp_path_factory) -> dict:
    """The scenario on the tests' shared local session (`local[2]`), through the same settings path."""
    warehouse = tmp_path_factory.mktemp("local") / "warehouse"
    return run(_settings(warehouse, spark_master="local[2]", spark_conf=DRIVER_CONF))


def test_the_local_session_writes_the_planted_rows(local_outcome):
    assert local_outcome["written"] == [8, 2, 3, 0]
    # request n of a week: n hours and n microseconds after it starts (microseconds survive the round trip)
    expected = [(WEEKS[1], n) for n in range(2)] + [(WEEKS[2], n) for n in range(3)]
    assert local_outcome["rows"] == [
        [week.isoformat(), n, datetime(week.year, week.month, week.day, n, 0, 0, n, tzinfo=timezone.utc).isoformat(),
         _pseudo(f"req_{week}_{n}")] for week, n in expected
    ]
    assert local_outcome["schema"] == [["_event_week", "date"], ["n", "bigint"], ["event_time", "timestamp"],
                                       ["request_pid", "string"]]


def test_a_standalone_cluster_gives_the_same_rows_as_local(standalone, local_outcome, tmp_path):
    warehouse = tmp_path / "warehouse"
    on_cluster = _in_child(_settings(warehouse, spark_master=standalone, spark_conf=DRIVER_CONF), tmp_path)
    assert on_cluster["master"] == standalone  # it ran on the cluster, not on a local session
    for field in ("written", "rows", "schema", "table_exists"):
        assert on_cluster[field] == local_outcome[field], field
    _assert_week_folders(warehouse)


def _assert_week_folders(warehouse: Path) -> None:
    """The executors wrote Parquet, one folder per week with rows; the emptied week's folder is gone."""
    weeks = sorted(p.name for p in (warehouse / TABLE).iterdir() if p.is_dir())
    assert weeks == [f"_event_week={w.isoformat()}" for w in WEEKS[1:]]
    assert all(list((warehouse / TABLE / week).glob("*.parquet")) for week in weeks)


def test_a_spark_connect_server_gives_the_same_rows_as_local(connect_server, standalone, local_outcome, tmp_path):
    warehouse = tmp_path / "warehouse"
    on_connect = _in_child(_settings(warehouse, spark_remote=connect_server), tmp_path)
    assert on_connect["master"] == f"connect:{standalone}"
    for field in ("written", "rows", "schema", "table_exists"):
        assert on_connect[field] == local_outcome[field], field
    _assert_week_folders(warehouse)
