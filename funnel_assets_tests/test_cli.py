"""The `funnel` command line, driven as a user would."""

import json
import re

import pytest

from funnel_assets.cli import main
from funnel_assets_tests.landing import at, write_landing
from funnel_assets_tests.test_known_answers import call, key, user


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("FUNNEL_PSEUDONYM_KEY", "a-key-of-the-cli-tests")
    data = tmp_path / "data"
    write_landing(
        data,
        {
            "auth_users": [user("u1", 0), user("u2", 8)],
            "api_keys": [key("k1", "u1", 0, minutes=1), key("k2", "u2", 8, minutes=1)],
            "gateway_requests": [call("k1", at(minutes=4)), call("k2", at(days=8, hours=1)), call("k2", at(days=8, hours=2))],
        },
    )
    return tmp_path, data, str(tmp_path / "w.duckdb")


def test_run_then_show_in_every_format(workspace, capsys):
    _, data, warehouse = workspace
    assert main(["run", "--data", str(data), "--warehouse", warehouse]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\[(\d+)/\1\] \w+ succeeded", out) and "done in" in out  # every step reported

    assert main(["show", "mart_ttfac_by_cohort", "--warehouse", warehouse, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["cohort_week"], r["called"], r["p50_s"]) for r in rows] == [("2025-03-03", 1, 240.0), ("2025-03-10", 1, 3600.0)]

    assert main(["show", "mart_ttfac_by_cohort", "--warehouse", warehouse, "--format", "csv", "--cohort", "2025-03-10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cohort_week,developers,called")
    assert len(lines) == 2 and lines[1].startswith("2025-03-10,1,1,0")

    assert main(["show", "mart_production_rate", "--warehouse", warehouse]) == 0
    assert "rate_30d" in capsys.readouterr().out


def test_checks_lists_the_latest_result_of_each_check(workspace, capsys):
    _, data, warehouse = workspace
    main(["run", "--data", str(data), "--warehouse", warehouse])
    capsys.readouterr()
    assert main(["checks", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    gateway = [r for r in rows if r["check"] == "raw_gateway_requests_reconciles_input_lines"]
    assert gateway and all(r["passed"] and r["severity"] == "ERROR" for r in gateway)
    # one evaluation per week, and one for the run's whole range
    assert {(r["partition"], r["observed"]) for r in gateway} == {("2025-03-03", 1), ("2025-03-10", 2), (None, 3)}


def test_run_fails_naming_the_file_it_cannot_read(workspace, capsys):
    _, data, warehouse = workspace
    (data / "landing" / "gateway_requests" / "requests-march.jsonl").write_text("{}\n")
    assert main(["run", "--data", str(data), "--warehouse", warehouse]) == 1
    err = capsys.readouterr().err
    assert "requests-march.jsonl" in err and "not a landing file name" in err


def test_show_unknown_table_says_which_exist(workspace, capsys):
    _, data, warehouse = workspace
    main(["run", "--data", str(data), "--warehouse", warehouse])
    capsys.readouterr()
    assert main(["show", "mart_nonsense", "--warehouse", warehouse]) == 2
    assert "mart_stage_conversion" in capsys.readouterr().err
