"""Each warehouse is a world of its own: two in one folder keep their identity stores and check results apart."""

import json
from pathlib import Path

import sqlalchemy

from funnel_assets.cli import main
from funnel_assets_tests.landing import at, write_landing
from funnel_assets_tests.test_known_answers import call, key, user

CHECK = "raw_gateway_requests_reconciles_input_lines"


def _landing(data: Path, developers: int) -> None:
    """`developers` developers in week 2025-03-03, one call each."""
    write_landing(
        data,
        {
            "auth_users": [user(f"u{i}", 0) for i in range(developers)],
            "api_keys": [key(f"k{i}", f"u{i}", 0, minutes=1) for i in range(developers)],
            "gateway_requests": [call(f"k{i}", at(minutes=4 + i)) for i in range(developers)],
        },
    )


def _checks(capsys, *args: str) -> set:
    """The input lines `funnel checks` reports for the gateway's reconciliation (its week, and any range summary)."""
    capsys.readouterr()
    assert main(["checks", "--format", "json", *args]) == 0
    return {r["observed"] for r in json.loads(capsys.readouterr().out) if r["check"] == CHECK}


def _users(identity: Path) -> int:
    engine = sqlalchemy.create_engine(f"sqlite:///{identity}")
    try:
        with engine.connect() as con:
            return con.execute(sqlalchemy.text("select count(*) from identity_users")).scalar()
    finally:
        engine.dispose()


def test_two_warehouses_in_one_folder_share_no_identity_store_and_no_check_results(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    folder = tmp_path / "warehouses"
    for name, developers in (("a", 2), ("b", 3)):
        _landing(tmp_path / name, developers)
        assert main(["run", "--data", str(tmp_path / name), "--warehouse", str(folder / f"{name}.duckdb")]) == 0

    assert _users(folder / "a.identity.sqlite") == 2
    assert _users(folder / "b.identity.sqlite") == 3
    assert (folder / "a.dagster" / "dagster.yaml").exists() and (folder / "b.dagster" / "dagster.yaml").exists()
    assert _checks(capsys, "--warehouse", str(folder / "a.duckdb")) == {2}
    assert _checks(capsys, "--warehouse", str(folder / "b.duckdb")) == {3}


def test_one_dagster_home_for_two_warehouses_still_keeps_their_checks_apart(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for name, developers in (("a", 2), ("b", 3)):
        _landing(tmp_path / name, developers)
        assert main(["run", "--data", str(tmp_path / name), "--warehouse", str(tmp_path / f"{name}.duckdb")]) == 0

    assert _checks(capsys, "--warehouse", str(tmp_path / "a.duckdb")) == {2}
    assert _checks(capsys, "--warehouse", str(tmp_path / "b.duckdb")) == {3}
    assert _checks(capsys) == {3}  # without --warehouse: the latest of the instance
