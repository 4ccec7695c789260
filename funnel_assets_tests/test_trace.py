"""`funnel trace`: a mart cell's developers are exactly whom an independent computation counts, each stage's
evidence is the landing line of its event, and personal data appears only when asked for (warned, audited).

Data from the second generator of test_independent_data (gzip, CRLF, shuffled lines, other offsets), and
its plain-Python oracle of DESIGN.md's stage definitions.
"""

import gzip
import json
import random
import re
from datetime import timedelta

import pytest

from funnel_assets.cli import main
from funnel_assets.lib.stage_names import STAGES
from funnel_assets.lib.tables import human_duration
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.test_independent_data import oracle, other_generator, write_odd_landing

SEED = 13
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def traced(tmp_path_factory, definitions):
    records, people = other_generator(SEED, developers=300)
    pipeline = Pipeline(definitions, tmp_path_factory.mktemp("trace"))
    write_odd_landing(pipeline.data_dir, records, random.Random(SEED))
    pipeline.run()
    account_type = {r["user_id"]: r["account_type"] for r in records["auth_users"]}
    for person in people:
        person.update(oracle(person))
        person["week"] = (person["signup"] - timedelta(days=person["signup"].weekday())).date()
        person["account_type"] = account_type[person["user_id"]]
    return pipeline, people


def trace(pipeline, capsys, *args, reidentify=True):
    argv = ["trace", *args, "--warehouse", pipeline.resource.warehouse_path, "--format", "json"]
    assert main(argv + (["--reidentify"] if reidentify else [])) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def within(later, earlier, days):
    return later is not None and later <= earlier + days * DAY


# (trace arguments, who, the oracle's test for a developer of the cohort to be counted, and to be converted)
CELLS = [
    (["mart_stage_conversion", "--from", "account_created", "--to", "first_api_call"],
     lambda p: True, lambda p: within(p["first_api_call_at"], p["signup"], 7)),
    (["mart_stage_conversion", "--from", "credential_provisioned", "--to", "first_api_call"],
     lambda p: within(p["credential_provisioned_at"], p["signup"], 90),
     lambda p: within(p["first_api_call_at"], p["credential_provisioned_at"], 7)),
    (["mart_stage_conversion", "--from", "first_api_call", "--to", "active_integration", "--window", "14"],
     lambda p: within(p["first_api_call_at"], p["signup"], 90),
     lambda p: within(p["active_integration_at"], p["first_api_call_at"], 14)),
    (["mart_production_rate", "--days", "30"], lambda p: True,
     lambda p: within(p["production_deployment_at"], p["signup"], 30)),
    (["mart_production_rate", "--days", "90"], lambda p: True,
     lambda p: within(p["production_deployment_at"], p["signup"], 90)),
    (["mart_first_session_depth", "--depth", "2"], lambda p: p["first_session_depth"] == 2,
     lambda p: within(p["production_deployment_at"], p["signup"], 90)),
    (["mart_segment_conversion", "--segment", "account_type", "--value", "organization", "--metric", "first_call_7d"],
     lambda p: p["account_type"] == "organization", lambda p: within(p["first_api_call_at"], p["signup"], 7)),
]


@pytest.mark.parametrize("cell, counted, converted", CELLS, ids=[" ".join(c[0]) for c in CELLS])
def test_trace_lists_exactly_the_developers_an_independent_computation_counts(traced, capsys, cell, counted, converted):
    pipeline, people = traced
    weeks = sorted({p["week"] for p in people})
    for week in weeks[:2]:
        cohort = [p for p in people if p["week"] == week and counted(p)]
        for who, expected in [
            ("converted", {p["user_id"] for p in cohort if converted(p)}),
            ("dropped", {p["user_id"] for p in cohort if not converted(p)}),
        ]:
            rows, _ = trace(pipeline, capsys, *cell, "--cohort", str(week), "--who", who)
            assert {r["user_id"] for r in rows} == expected, (week, who)
            assert len(rows) == len(expected)
        assert expected or cohort, "a cell with nobody in it proves nothing"


def test_ttfac_cell_lists_callers_and_those_who_never_called(traced, capsys):
    pipeline, people = traced
    week = min(p["week"] for p in people)
    cohort = [p for p in people if p["week"] == week]
    called, _ = trace(pipeline, capsys, "mart_ttfac_by_cohort", "--cohort", str(week), "--who", "called")
    never, _ = trace(pipeline, capsys, "mart_ttfac_by_cohort", "--cohort", str(week), "--who", "never_called")
    assert {r["user_id"] for r in called} == {p["user_id"] for p in cohort if p["first_api_call_at"] is not None}
    assert {r["user_id"] for r in never} == {p["user_id"] for p in cohort if p["first_api_call_at"] is None}
    mart = pipeline.frame("select * from mart_ttfac_by_cohort where cohort_week = $w", {"w": week}).iloc[0]
    assert (len(called), len(never)) == (mart.called, mart.never_called) and len(called) > 0 and len(never) > 0


def test_every_counted_developer_of_every_sdk_cell_is_listed(traced, capsys):
    pipeline, _ = traced
    cells = pipeline.frame("select * from mart_sdk_usage where developers > 0")
    assert len(cells) >= 4
    for cell in cells.itertuples():
        rows, _ = trace(pipeline, capsys, "mart_sdk_usage", "--cohort", str(cell.cohort_week.date()),
                        "--client-kind", cell.client_kind, "--client-name", cell.client_name, reidentify=False)
        assert len(rows) == cell.developers


def _landing_record(data_dir, source_file, line):
    path = data_dir / source_file
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    return json.loads(lines[line - 1])


def test_each_stage_event_points_at_the_landing_line_of_that_event(traced, capsys):
    pipeline, people = traced
    week = min(p["week"] for p in people)
    rows, _ = trace(pipeline, capsys, "mart_stage_conversion", "--cohort", str(week),
                    "--from", "account_created", "--to", "credential_provisioned", "--who", "entered")
    checked = 0
    for row in rows:
        for stage in STAGES:
            if row[f"{stage}_at"] is None:
                continue
            record = _landing_record(pipeline.data_dir, row[f"{stage}_source_file"], row[f"{stage}_source_line"])
            event_id = row[f"{stage}_event_id"]
            if "/gateway_requests/" in row[f"{stage}_source_file"]:
                assert record["request_id"] == event_id
            elif "/analytics_events/" in row[f"{stage}_source_file"]:
                assert record["message_id"] == event_id
            elif "/api_keys/" in row[f"{stage}_source_file"]:
                assert record["user_id"] == row["user_id"] and event_id.startswith("key:")
            else:
                assert "/auth_users/" in row[f"{stage}_source_file"] and stage in ("intent", "account_created")
                assert record["user_id"] == row["user_id"] and event_id == f"user:{row['user_pid']}"
            checked += 1
    assert checked > 3 * len(rows) > 0


def test_without_reidentify_no_output_or_table_past_raw_holds_personal_data(traced, capsys):
    pipeline, people = traced
    week = min(p["week"] for p in people)
    user_ids = [p["user_id"] for p in people]
    outputs = []
    for cell, _, _ in CELLS:
        rows, err = trace(pipeline, capsys, *cell, "--cohort", str(week), "--who", "entered", reidentify=False)
        assert rows and "user_id" not in rows[0] and "email" not in rows[0] and "warning" not in err
        outputs.append(json.dumps(rows))
    pid = json.loads(outputs[0])[0]["user_pid"]
    assert main(["trace", "--developer", pid, "--warehouse", pipeline.resource.warehouse_path, "--format", "json"]) == 0
    outputs.append(capsys.readouterr().out)
    tables = pipeline.frame(
        "select table_name from information_schema.tables where table_name not like 'raw\\_%' escape '\\' "
        "and table_name <> 'quarantine'"
    ).table_name
    assert {"developer_stages", "mart_dropoffs", "mart_time_to_convert"} <= set(tables)
    for table in tables:
        outputs.append(pipeline.frame(f'select * from "{table}"').astype(str).to_csv())
    text = "\n".join(outputs).lower()
    assert "@corp.example" not in text
    assert not [u for u in user_ids if u.lower() in text]


def test_reidentify_warns_and_appends_an_audit_line(traced, capsys):
    pipeline, people = traced
    week = min(p["week"] for p in people)
    log = pipeline.root / "audit.log"
    before = log.read_text().splitlines() if log.exists() else []
    rows, err = trace(pipeline, capsys, "mart_production_rate", "--cohort", str(week), "--days", "60", "--who", "dropped")
    assert "personal data" in err and str(log) in err
    assert rows and all("@" in r["email"] for r in rows)
    lines = log.read_text().splitlines()
    assert len(lines) == len(before) + 1
    entry = json.loads(lines[-1])
    assert entry["rows"] == len(rows) and entry["os_user"] and entry["time"]
    assert entry["cell"] == {"mart": "mart_production_rate", "cohort": str(week), "days": 60, "who": "dropped"}
    assert entry["command"].startswith("funnel trace mart_production_rate") and "--reidentify" in entry["command"]


def test_developer_timeline_lists_events_in_order_with_stage_marks_and_sessions(traced, capsys):
    pipeline, people = traced
    caller = next(p for p in people if p["active_integration_at"] is not None)
    pid = pipeline.pid(caller["user_id"])
    assert main(["trace", "--developer", pid, "--warehouse", pipeline.resource.warehouse_path, "--format", "json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [e["event_time"] for e in events] == sorted(e["event_time"] for e in events)
    marked = {s.strip() for e in events if e["sets_stage"] for s in e["sets_stage"].split(",")}
    assert {"account_created", "first_api_call", "active_integration"} <= marked
    sessions = [e["session"] for e in events if e["session"] is not None]
    assert sessions and sessions[0] == 1 and sessions == sorted(sessions)
    for event in events:
        record = _landing_record(pipeline.data_dir, event["source_file"], event["source_line"])
        assert event["event_id"] in (record.get("request_id"), record.get("message_id"), f"user:{pid}") or \
            event["event_id"].startswith("key:")


def test_trace_refuses_a_cell_it_cannot_name(traced, capsys):
    pipeline, people = traced
    week = str(min(p["week"] for p in people))
    w = ["--warehouse", pipeline.resource.warehouse_path]
    assert main(["trace", "mart_stage_conversion", "--cohort", week, "--from", "active_integration",
                 "--to", "production_deployment", *w]) == 2
    assert "--window" in capsys.readouterr().err  # two windows are configured: 7 and 30 days
    assert main(["trace", "mart_ttfac_by_cohort", "--cohort", week, "--who", "dropped", *w]) == 2
    assert "called, never_called" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["trace", "mart_ttfac_by_cohort", "--cohort", "2025-06-04", *w])
    assert "Monday" in capsys.readouterr().err


@pytest.mark.parametrize("seconds, shown", [(45, "45 s"), (600, "10m"), (2 * 3600 + 13 * 60, "2h 13m"),
                                            (3.4 * 86400, "3.4 d"), (None, "")])
def test_durations_read_in_human_units(seconds, shown):
    assert human_duration(seconds) == shown


def test_show_reads_like_a_funnel(traced, capsys):
    pipeline, people = traced
    w = ["--warehouse", pipeline.resource.warehouse_path]
    week = str(min(p["week"] for p in people))
    assert main(["show", "mart_stage_conversion", "--cohort", week, *w]) == 0
    table = capsys.readouterr().out.splitlines()
    stages = [line.split()[1] for line in table[1:]]
    assert stages == sorted(stages, key=STAGES.index)  # funnel order, not alphabetical
    assert stages[0] == "intent" and all("%" in line for line in table[1:] if " True " in line)
    assert main(["show", "mart_ttfac_by_cohort", "--cohort", week, *w]) == 0
    assert re.search(r"\d+h \d\dm|\d\.\d d", capsys.readouterr().out)  # durations, not seconds

    assert main(["show", "mart_stage_conversion", "--format", "json", "--limit", "4", *w]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    assert main(["show", "mart_stage_conversion", "--format", "json", *w]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert main(["show", "mart_stage_conversion", "--format", "json", "--all-cohorts", *w]) == 0
    everything = json.loads(capsys.readouterr().out)
    counted = {r["cohort_week"] for r in everything if r["entered"] > 0}
    assert {r["cohort_week"] for r in shown} == counted < {r["cohort_week"] for r in everything}
    assert shown[0]["rate"] is None or isinstance(shown[0]["rate"], float)  # json keeps numbers, not "27.3%"
