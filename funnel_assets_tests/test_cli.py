"""The `funnel` command line, driven as a user would."""

import json
import re
from pathlib import Path

import pytest

import funnel_assets
from funnel_assets.cli import main
from funnel_assets.lib.engines import STATEMENT_LOG
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
    # the counter counts the assets, not the checks that run as steps of their own: it never passes its total
    counted = [(int(done), int(total)) for done, total in re.findall(r"\[ *(\d+)/(\d+)\] \w+ succeeded", out)]
    assert max(done for done, _ in counted) == counted[0][1] and all(done <= total for done, total in counted)

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


def test_checks_summarise_label_ranges_and_filter_the_failed(workspace, capsys):
    _, data, warehouse = workspace
    assert main(["run", "--data", str(data), "--warehouse", warehouse]) == 0
    capsys.readouterr()
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out and "None" not in out
    assert re.search(r"^(\d+) checks: \1 passed, 0 warned, 0 failed$", out.splitlines()[-1]), out.splitlines()[-1]
    reconciles = [line for line in out.splitlines() if "raw_gateway_requests_reconciles_input_lines" in line]
    assert any("2025-03-03 .. 2025-03-10 (range)" in line for line in reconciles)  # the range's row, labelled
    # a passing blocking check reads as passed (and what it would do on failure), not as an error
    assert all(" passed " in line and " blocks " in line and "ERROR" not in line for line in reconciles)
    assert main(["checks", "--failed"]) == 0
    out = capsys.readouterr().out
    assert "no check failed or warned" in out and " passed, 0 warned, 0 failed" in out

    # a week must be a Monday, a date a date; both errors name the nearest weeks
    assert main(["show", "mart_ttfac_by_cohort", "--warehouse", warehouse, "--cohort", "2025-03-05"]) == 2
    err = capsys.readouterr().err
    assert "Wednesday 2025-03-05, not a Monday" in err and "2025-03-03" in err and "2025-03-10" in err
    assert main(["show", "mart_ttfac_by_cohort", "--warehouse", warehouse, "--cohort", "2025-13-45"]) == 2
    err = capsys.readouterr().err
    assert "not a date" in err and "2025-03-03 .. 2025-03-10" in err
    # an empty result says it is empty, and which weeks have rows
    assert main(["show", "mart_ttfac_by_cohort", "--warehouse", warehouse, "--cohort", "2025-06-02"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "mart_ttfac_by_cohort: no rows for cohort_week 2025-06-02" in captured.err
    assert "nearest weeks with rows: 2025-03-03, 2025-03-10" in captured.err


def test_a_blocked_run_says_why_in_one_line_and_leaves_the_traces_in_the_log(workspace, capsys):
    _, data, warehouse = workspace
    # two requests timed three days after the end of the landing file they sit in
    day_file = data / "landing" / "gateway_requests" / "2025-03-03.jsonl"
    with day_file.open("a") as handle:
        for _ in range(2):
            handle.write(json.dumps(call("k1", at(days=3))) + "\n")
    assert main(["run", "--data", str(data), "--warehouse", warehouse]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith(
        "BLOCKED raw_gateway_requests: check raw_gateway_requests_has_no_events_in_the_future failed for week 2025-03-03"
    )
    assert "(2 failing lines)" in err.splitlines()[0]  # the count, in the check's unit
    assert "Traceback" not in err and "Stack Trace" not in err and len(err.splitlines()) <= 3, err
    log = err.splitlines()[-1].removeprefix("details and stack traces: ")
    assert "DagsterAssetCheckFailedError" in open(log).read()


def test_a_run_that_only_warns_says_so_and_succeeds(workspace, capsys):
    _, data, warehouse = workspace
    write_landing(data, {"gateway_requests": [call("k_unknown", at(minutes=30)), {**call("k1", at(minutes=40)), "edge_pop": "fra"}]})
    assert main(["run", "--data", str(data), "--warehouse", warehouse]) == 0  # only blocking checks fail a run
    out = capsys.readouterr().out
    warned = [line for line in out.splitlines() if line.startswith("WARNED")]
    assert any("raw_gateway_requests_has_known_api_keys warned" in line and "(1 failing lines)" in line for line in warned)
    # schema drift: lines that only add a field apart from lines that break the contract
    assert any("raw_gateway_requests_has_no_schema_drift warned" in line
               and "(1 failing lines: 0 break the contract, 1 only add a field)" in line for line in warned), warned
    assert f"{len(warned)} checks warned (the run went on)" in out
    assert main(["checks", "--failed"]) == 0
    out = capsys.readouterr().out
    assert "raw_gateway_requests_has_known_api_keys" in out and " warned " in out and "0 failed" in out


def test_a_closed_pipe_ends_quietly(tmp_path):
    import subprocess
    import sys

    import duckdb

    warehouse = tmp_path / "big.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create table numbers as select range as n, 'x' || range as label from range(200000)")
    con.close()
    shown = subprocess.run(
        f"'{sys.executable}' -m funnel_assets.cli show numbers --warehouse '{warehouse}' --format csv | head -n 2",
        shell=True, capture_output=True, text=True, timeout=120, executable="/bin/bash",
    )
    assert shown.stdout.splitlines() == ["n,label", "0,x0"]
    assert shown.stderr == ""  # no BrokenPipeError traceback


def test_the_statement_log_records_every_sql_file_the_run_executes(workspace, capsys, monkeypatch):
    """FUNNEL_STATEMENT_LOG (bench/bench_run.py --profile): each statement the engine ran, with its time."""
    root, data, warehouse = workspace
    log = root / "statements.jsonl"
    monkeypatch.setenv(STATEMENT_LOG, str(log))
    assert main(["run", "--data", str(data), "--warehouse", warehouse]) == 0
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries and all(entry["seconds"] >= 0 for entry in entries)
    events_sql = (Path(funnel_assets.__file__).parent / "defs" / "stages" / "sql" / "developer_events.sql").read_text()
    assert sum(events_sql in entry["sql"] for entry in entries) == 2  # its shape, then its rows (replace_rows)
