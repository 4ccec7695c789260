"""The identity store: SQLite by default, PostgreSQL when configured, same marts either way."""

import os
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy

from funnel_assets.lib.identity_store import IdentityKeyOwner, IdentityStore
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.test_known_answers import call, identify, key, page, user
from funnel_assets_tests.landing import at, write_landing

POSTGRES = os.environ.get("FUNNEL_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
MARTS = ["mart_stage_conversion", "mart_ttfac_by_cohort", "mart_sdk_usage", "mart_first_session_depth", "mart_production_rate"]


def _records():
    return {
        "auth_users": [user("u1", 0), user("u2", 1, account_type="organization"), user("u3", 2)],
        "api_keys": [key("k1", "u1", 0, minutes=2), key("k2", "u2", 1, minutes=2, mode="live"), key("k3", "u3", 2, minutes=3)],
        "gateway_requests": [
            call("k1", at(minutes=5)),
            call("k1", at(minutes=9), path="/v1/charges/ch_9", method="GET"),
            call("k2", at(days=1, hours=2), agent="acme-go/0.9.1"),
            call("k3", at(days=2, hours=5), status=429),
            call("k3", at(days=40)),
        ],
        "analytics_events": [
            page("p1", at(hours=-3), "/pricing", anonymous_id="a1", utm_medium="cpc"),
            identify("i1", at(), "a1", "u1"),
        ],
    }


@pytest.fixture(scope="module")
def postgres_url():
    """A fresh schema on the local server; fails instead of skipping when CI requires PostgreSQL."""
    schema = f"funnel_test_{uuid.uuid4().hex[:8]}"
    try:
        engine = sqlalchemy.create_engine(POSTGRES)
        with engine.begin() as con:
            con.execute(sqlalchemy.text(f'create schema "{schema}"'))
    except sqlalchemy.exc.OperationalError as error:
        if os.environ.get("FUNNEL_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES} ({error.orig}); set FUNNEL_REQUIRE_POSTGRES=1 to fail instead")
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with engine.begin() as con:
        con.execute(sqlalchemy.text(f'drop schema "{schema}" cascade'))
    engine.dispose()


def _marts(pipeline):
    return {m: pipeline.frame(f"select * exclude (as_of) from {m} order by all" if m == "mart_stage_conversion"
                              else f"select * from {m} order by all") for m in MARTS}


@pytest.mark.postgres
def test_postgres_identity_store_gives_the_same_marts_as_sqlite(tmp_path, definitions, postgres_url):
    on_sqlite = Pipeline(definitions, tmp_path / "sqlite")
    on_postgres = Pipeline(definitions, tmp_path / "postgres", identity_db_url=postgres_url)
    for pipeline in (on_sqlite, on_postgres):
        write_landing(pipeline.data_dir, _records())
        pipeline.run()
    stored = sqlalchemy.create_engine(postgres_url)
    with stored.connect() as con:
        assert con.execute(sqlalchemy.text("select count(*) from identity_users")).scalar() == 3
        assert con.execute(sqlalchemy.text("select count(*) from identity_key_owners")).scalar() == 3
    stored.dispose()
    sqlite_marts, postgres_marts = _marts(on_sqlite), _marts(on_postgres)
    for name in MARTS:
        assert len(sqlite_marts[name]) > 0, name
        assert sqlite_marts[name].equals(postgres_marts[name]), name


def test_rows_written_by_the_platform_survive_a_sync(tmp_path, definitions):
    pipeline = Pipeline(definitions, tmp_path)
    write_landing(pipeline.data_dir, _records())
    store = IdentityStore(pipeline.resource.identity_url)
    # the platform's key-creation code records a key the landing files do not know yet
    store.add(
        IdentityKeyOwner(
            key_pid=pipeline.pid("k_direct"),
            valid_from=datetime(2025, 3, 3, tzinfo=timezone.utc),
            user_pid=pipeline.pid("u3"),
            mode="test",
            source="platform",
        )
    )
    store.close()
    write_landing(pipeline.data_dir, {"gateway_requests": [call("k_direct", at(days=2, hours=1))]})
    pipeline.run()
    owners = pipeline.frame("select source, count(*) as n from identity_key_owners group by 1 order by 1")
    assert owners.to_dict("records") == [{"source": "landing", "n": 3}, {"source": "platform", "n": 1}]
    u3 = pipeline.frame("select first_api_call_at from developer_stages where user_pid = $u", {"u": pipeline.pid("u3")})
    assert u3.first_api_call_at[0].isoformat() == "2025-03-05T10:00:00+00:00"


def test_materialising_twice_gives_the_same_rows(tmp_path, definitions):
    pipeline = Pipeline(definitions, tmp_path)
    write_landing(pipeline.data_dir, _records())
    pipeline.run()
    first = {t: pipeline.frame(f"select * from {t} order by all") for t in MARTS + ["developer_stages", "developer_events"]}
    pipeline.run()
    second = {t: pipeline.frame(f"select * from {t} order by all") for t in first}
    for table in first:
        assert len(first[table]) > 0
        assert first[table].equals(second[table]), table


def test_a_key_issued_again_without_revocation_passes_to_the_new_owner(tmp_path, definitions):
    pipeline = Pipeline(definitions, tmp_path)
    write_landing(
        pipeline.data_dir,
        {
            "auth_users": [user("frank", 0), user("gina", 0)],
            "api_keys": [key("k_again", "frank", 1), key("k_again", "gina", 3)],
            "gateway_requests": [call("k_again", at(days=2)), call("k_again", at(days=4)), call("k_again", at(days=5))],
        },
    )
    pipeline.run()
    owners = pipeline.frame(
        "select count(*) as requests, count(distinct user_pid) as owners from developer_events where event_type = 'api_request'"
    ).iloc[0]
    assert (owners.requests, owners.owners) == (3, 2)  # each request once, never twice
    stages = pipeline.frame("select user_pid, first_api_call_at from developer_stages").set_index("user_pid")
    assert stages.first_api_call_at[pipeline.pid("frank")].isoformat() == "2025-03-05T09:00:00+00:00"
    assert stages.first_api_call_at[pipeline.pid("gina")].isoformat() == "2025-03-07T09:00:00+00:00"
