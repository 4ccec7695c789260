"""The production instance config (deploy/dagster_postgres.yaml) on a real PostgreSQL server.

A fresh schema per test (selected with PGOPTIONS, which libpq reads), dropped
afterwards. Skips when the server is not there, fails instead when
FUNNEL_REQUIRE_POSTGRES=1 (as CI sets it).
"""

import os
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy
from dagster._core.events import DagsterEventType

from funnel_assets.defs.automation.resources import AlertSinksResource
from funnel_assets.defs.automation.sensors import data_quality_alert_sensor
from funnel_assets.orchestration.launch import run_everything
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.landing import write_landing
from funnel_assets_tests.test_automation import tiny_probe
from funnel_assets_tests.test_identity_store import _records

POSTGRES = os.environ.get("FUNNEL_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


@pytest.fixture
def postgres_home(tmp_path, monkeypatch):
    """A DAGSTER_HOME holding deploy/dagster_postgres.yaml, its env vars pointing at a fresh schema."""
    url = sqlalchemy.engine.make_url(POSTGRES)
    schema = f"dagster_test_{uuid.uuid4().hex[:8]}"
    try:
        engine = sqlalchemy.create_engine(POSTGRES)
        with engine.begin() as con:
            con.execute(sqlalchemy.text(f'create schema "{schema}"'))
    except sqlalchemy.exc.OperationalError as error:
        if os.environ.get("FUNNEL_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES} ({error.orig}); set FUNNEL_REQUIRE_POSTGRES=1 to fail instead")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster_postgres.yaml", home / "dagster.yaml")
    for name, value in {
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USERNAME": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": url.database,
        "PGOPTIONS": f"-c search_path={schema}",
    }.items():
        monkeypatch.setenv(name, value)
    yield home, engine, schema
    with engine.begin() as con:
        con.execute(sqlalchemy.text(f'drop schema "{schema}" cascade'))
    engine.dispose()


@pytest.mark.postgres
def test_the_postgres_instance_records_a_materialisation_and_its_checks(tmp_path, definitions, postgres_home):
    home, engine, schema = postgres_home
    pipeline = Pipeline(definitions, tmp_path / "funnel")
    write_landing(pipeline.data_dir, _records())
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        result = run_everything(definitions, pipeline.resource, instance)
        assert result.success

        run = instance.get_run_record_by_id(result.run_id)
        assert run.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        marts = instance.fetch_materializations(dg.AssetKey("mart_production_rate"), limit=20).records
        assert {r.run_id for r in marts} == {result.run_id}
        assert "2025-03-03" in {r.partition_key for r in marts}
        checks = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
        assert {r.event_log_entry.dagster_event.event_specific_data.check_name for r in checks} >= {
            "raw_gateway_requests_reconciles_input_lines", "raw_auth_users_reconciles_input_lines"}

        # the alert sensor's cursor (a storage id) works on this storage too
        assert dg.materialize([tiny_probe], partition_key="2025-03-03", instance=instance).success
        sinks = AlertSinksResource(alert_log_path=str(tmp_path / "alerts.jsonl"))
        tick = data_quality_alert_sensor(dg.build_sensor_context(instance=instance, resources={"alert_sinks": sinks}))
        assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == 2
        again = data_quality_alert_sensor(dg.build_sensor_context(instance=instance, cursor=tick.cursor, resources={"alert_sinks": sinks}))
        assert again.cursor == tick.cursor
        assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == 2
    finally:
        instance.dispose()

    # everything went to the test's own schema
    with engine.connect() as con:
        tables = {r[0] for r in con.execute(
            sqlalchemy.text("select table_name from information_schema.tables where table_schema = :s"), {"s": schema})}
        events = con.execute(sqlalchemy.text(f'select count(*) from "{schema}".event_logs where run_id = :r'),
                             {"r": result.run_id}).scalar()
    assert {"runs", "event_logs", "asset_check_executions"} <= tables
    assert events > 50
