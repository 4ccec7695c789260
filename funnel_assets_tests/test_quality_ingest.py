"""Ingestion loses nothing and the raw checks see it: hand-built landing files, ingested week by week
through lib/ingest and judged by lib/quality, without Dagster."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from funnel_assets.lib.contracts import SOURCES
from funnel_assets.lib.engines import connect
from funnel_assets.lib.contracts import load_contracts
from funnel_assets.lib.ingest import chunks, ingest, read_leniently
from funnel_assets.lib.landing import day_files, files_in
from funnel_assets.lib.quality.raw import RawScope, evaluate_raw_checks
from funnel_assets.lib.quality.thresholds import RawThresholds

W1 = date(2025, 3, 3)  # a Monday
W2 = W1 + timedelta(weeks=1)


def request(i: int, day: date, **extra) -> dict:
    return {"request_id": f"req_{i}", "timestamp": f"{day.isoformat()}T10:00:{i % 60:02d}+00:00", "key_id": "key_1",
            "method": "GET", "path": "/v1/customers", "status": 200, **extra}


def lines(*records) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


class Warehouse:
    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.path = root / "warehouse.duckdb"

    def write(self, source: str, name: str, content: bytes) -> None:
        folder = self.data / "landing" / source
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)

    def ingest(self, source: str, start: date, end: date, thresholds: RawThresholds = RawThresholds()):
        contracts = load_contracts(source)
        every_day = {s: [f.day for f in day_files(self.data, s)] for s in SOURCES}
        with connect(self.path, "test-key") as engine:
            counts = ingest(engine, contracts, files_in(self.data, source, start, end), self.data, f"raw_{source}",
                            start, end, thresholds.clock_tolerance_seconds)
            scope = RawScope(contracts, start, end, tuple(every_day[source]),
                             max((max(d) for d in every_day.values() if d), default=None))
            outcomes = {o.check.kind: o for o in evaluate_raw_checks(engine, scope, thresholds)}
        return counts, outcomes

    def frame(self, sql: str, params: dict | None = None):
        with connect(self.path, "test-key") as engine:
            return engine.frame(sql, params)


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(tmp_path)


def test_unreadable_lines_and_a_truncated_gzip_are_quarantined_and_the_week_reconciles(warehouse):
    day = W1 + timedelta(days=1)
    warehouse.write("gateway_requests", f"{W1}.jsonl", lines(
        request(1, W1),
        b'{"request_id": "req_2", "timestamp": ',  # cut short
        b"",  # an empty line
        b'{"request_id": "req_3", "path": "/v1/caf\xe9"}',  # latin-1, not UTF-8
        b"[1, 2]",
    ).replace(b"\n", b"\r\n", 1))
    whole = lines(*[request(i, day) for i in range(10, 60)])
    truncated = gzip.compress(whole)[:300]
    warehouse.write("gateway_requests", f"{day}.jsonl.gz", truncated)

    counts, outcomes = warehouse.ingest("gateway_requests", W1, W2)

    readable = read_leniently(warehouse.data / "landing" / "gateway_requests" / f"{day}.jsonl.gz")[0]
    assert 0 < len(readable) - 1 < 50  # the lines before the cut, and the cut remainder
    assert counts.input_lines == 5 + len(readable)
    assert counts.accepted + counts.quarantined + counts.duplicates == counts.input_lines
    reasons = warehouse.frame("select _source_line, kind, reason from quarantine order by _source_file, _source_line")
    first_file = reasons[reasons._source_line <= 5]
    assert first_file.reason.tolist()[:4] == [
        "malformed JSON", "empty line", "invalid UTF-8: byte 0xe9 at column 41", "not a JSON object"
    ]
    assert reasons.reason.iloc[-1].startswith("truncated gzip")
    assert set(reasons.kind) == {"unreadable"}
    reconciliation = outcomes["reconciliation"].week(W1)
    assert reconciliation.passed and reconciliation.observed == reconciliation.threshold == counts.input_lines
    unreadable = outcomes["unreadable"]
    assert not unreadable.passed and unreadable.failing_rows == 5
    assert unreadable.metadata()["sample"][0] == {"file": f"landing/gateway_requests/{W1}.jsonl", "line": 2,
                                                  "contract_version": None, "reason": "malformed JSON"}
    files = warehouse.frame("select _source_file, read_by, input_lines from ingested_files order by 1")
    assert files.read_by.tolist() == ["python", "python"]


def test_a_resent_file_is_quarantined_as_duplicates_of_the_first_occurrence(warehouse):
    first = lines(*[request(i, W1) for i in range(5)])
    warehouse.write("gateway_requests", f"{W1}.jsonl", first)
    warehouse.write("gateway_requests", f"{W2}.jsonl", first + lines(request(99, W2)))

    warehouse.ingest("gateway_requests", W1, W2)
    counts, outcomes = warehouse.ingest("gateway_requests", W2, W2 + timedelta(weeks=1))

    assert (counts.accepted, counts.duplicates) == (1, 5)
    duplicates = outcomes["duplicates"]
    assert not duplicates.passed and duplicates.failing_rows == 5
    assert duplicates.metadata()["sample"][0]["reason"] == f"duplicate of landing/gateway_requests/{W1}.jsonl:1 (week {W1})"
    assert outcomes["reconciliation"].passed
    # re-materialising the first week keeps its lines: they are the first occurrence
    counts, outcomes = warehouse.ingest("gateway_requests", W1, W2)
    assert (counts.accepted, counts.duplicates) == (5, 0) and outcomes["duplicates"].passed
    # both weeks in one run give the same result
    counts, _ = warehouse.ingest("gateway_requests", W1, W2 + timedelta(weeks=1))
    assert (counts.accepted, counts.duplicates) == (6, 5)
    assert warehouse.frame("select count(*) = count(distinct request_id) as unique from raw_gateway_requests").unique[0]


def test_copies_a_later_week_still_holds_are_reported_on_the_earlier_week(warehouse):
    first = lines(*[request(i, W1) for i in range(3)])
    warehouse.write("gateway_requests", f"{W1}.jsonl", first)
    warehouse.write("gateway_requests", f"{W2}.jsonl", first)
    warehouse.ingest("gateway_requests", W2, W2 + timedelta(weeks=1))  # the later week first
    _, outcomes = warehouse.ingest("gateway_requests", W1, W2)
    duplicates = outcomes["duplicates"]
    assert not duplicates.passed and duplicates.failing_rows == 3
    assert duplicates.metadata()["later_weeks_to_rematerialise"] == [W2.isoformat()]
    counts, outcomes = warehouse.ingest("gateway_requests", W2, W2 + timedelta(weeks=1))
    assert counts.duplicates == 3


def test_lines_are_judged_by_the_contract_version_they_declare(warehouse):
    warehouse.write("gateway_requests", f"{W1}.jsonl", lines(
        request(1, W1),
        request(2, W1, schema_version=2, region="eu-west-1", api_version="2025-01-01"),
        request(3, W1, region="eu-west-1"),  # a v2 field on a v1 line: drift against v1
        request(4, W1, schema_version=3),
        request(5, W1, schema_version="2"),
    ))
    counts, outcomes = warehouse.ingest("gateway_requests", W1, W2)
    rows = warehouse.frame("select request_id, _contract_version, region, _extra_fields from raw_gateway_requests "
                           "order by request_id")
    rows["_extra_fields"] = rows["_extra_fields"].map(list)
    rows["region"] = rows["region"].astype(object).where(rows["region"].notna(), None)
    assert rows.to_dict("list") == {
        "request_id": ["req_1", "req_2", "req_3"],
        "_contract_version": [1, 2, 1],
        "region": [None, "eu-west-1", None],
        "_extra_fields": [[], [], ["region"]],
    }
    rejected = warehouse.frame("select reason from quarantine order by _source_line").reason.tolist()
    assert rejected == ["no contract v3 for gateway_requests", "schema_version must be an integer"]
    drift = outcomes["contract"]
    metadata = drift.metadata()
    assert metadata["contract_versions"] == {"v1": 2, "v2": 1, "v3": 1}
    assert "against v1: added region (1 lines)" in metadata["drift"]
    assert drift.failing_rows == 3 and metadata["severity"] == "ERROR"


def test_fields_only_added_warn_and_lines_breaking_the_contract_block(warehouse):
    warehouse.write("gateway_requests", f"{W1}.jsonl", lines(request(1, W1, edge_pop="fra1")))
    _, outcomes = warehouse.ingest("gateway_requests", W1, W2)
    assert not outcomes["contract"].passed and outcomes["contract"].severity_of() == "WARN"
    warehouse.write("gateway_requests", f"{W1}.jsonl", lines(request(1, W1, status="200")))
    _, outcomes = warehouse.ingest("gateway_requests", W1, W2)
    assert outcomes["contract"].severity_of() == "ERROR"
    assert outcomes["contract"].metadata()["changes"] == [
        {"version": 1, "field": "status", "change": "retyped", "lines": 1}
    ]


def test_client_clock_offsets_are_corrected_beyond_the_tolerance(warehouse):
    def event(mid: str, timestamp: str, sent: str, received: str) -> dict:
        return {"message_id": mid, "type": "track", "event": "quickstart_completed", "user_id": "u1",
                "timestamp": timestamp, "sent_at": sent, "received_at": received}

    warehouse.write("analytics_events", f"{W1}.jsonl", lines(
        # a client clock two hours slow: the event happened at 12:00:05 by the server's clock
        event("m1", f"{W1}T10:00:00+00:00", f"{W1}T10:00:05+00:00", f"{W1}T12:00:10+00:00"),
        # network latency only: left as it is
        event("m2", f"{W1}T10:00:00+00:00", f"{W1}T10:00:05+00:00", f"{W1}T10:00:05.300+00:00"),
    ))
    _, outcomes = warehouse.ingest("analytics_events", W1, W2)
    rows = warehouse.frame("select message_id, strftime(corrected_timestamp, '%H:%M:%S') as t "
                           "from raw_analytics_events order by 1")
    assert rows.t.tolist() == ["12:00:05", "10:00:00"]
    clocks = outcomes["client_clocks"]
    assert not clocks.passed and clocks.failing_rows == 1 and clocks.metadata()["observed_value"] == 0.5


def test_future_events_are_measured_against_their_landing_day(warehouse):
    warehouse.write("gateway_requests", f"{W1}.jsonl", lines(
        request(1, W1),
        {**request(2, W1), "timestamp": f"{W1 + timedelta(days=1)}T00:30:00+00:00"},  # within the hour's tolerance
        {**request(3, W1), "timestamp": f"{W1 + timedelta(days=3)}T10:00:00+00:00"},
    ))
    _, outcomes = warehouse.ingest("gateway_requests", W1, W2)
    future = outcomes["future"]
    assert not future.passed and future.failing_rows == 1
    assert future.metadata()["sample"][0]["line"] == 3


def test_daily_completeness_volume_and_freshness(warehouse):
    days = [W1 + timedelta(days=i) for i in range(14)]
    for i, day in enumerate(days):
        if i == 3:
            continue  # a missing day
        volume = 5 if i == 9 else 50  # a day far below its neighbours
        warehouse.write("gateway_requests", f"{day}.jsonl", lines(*[request(1000 * i + j, day) for j in range(volume)]))
    warehouse.write("auth_users", f"{days[-1] + timedelta(days=3)}.jsonl", lines(
        {"user_id": "u1", "email": "a@example.com", "account_type": "individual",
         "created_at": f"{days[-1] + timedelta(days=3)}T10:00:00+00:00"}))
    _, outcomes = warehouse.ingest("gateway_requests", W1, W2 + timedelta(weeks=1))
    missing, volume, empty = outcomes["missing_days"], outcomes["volume"], outcomes["empty"]
    assert missing.failing_rows == 1 and missing.metadata()["sample"] == [{"day": days[3].isoformat()}]
    assert volume.failing_rows == 1 and volume.metadata()["sample"][0]["day"] == days[9].isoformat()
    assert empty.passed
    # the latest auth_users file is the data's as-of: gateway lags it by three days, judged on its week
    fresh = outcomes["freshness"]
    assert fresh.passed  # that week is not in the run
    _, outcomes = warehouse.ingest("gateway_requests", W1, W2 + timedelta(weeks=2))
    assert not outcomes["freshness"].passed and outcomes["freshness"].failing_rows == 3


def test_a_range_larger_than_the_budget_is_ingested_a_few_weeks_at_a_time_with_the_same_rows(tmp_path):
    """A year of a big source does not fit in memory at once (100 M requests ran DuckDB out of memory): cut at
    week boundaries, it gives the rows of one pass, and a line first seen in an earlier cut is still its copy."""
    W3, W5 = W1 + timedelta(weeks=2), W1 + timedelta(weeks=4)
    first = lines(*[request(i, W1) for i in range(4)])
    gateway = {
        f"{W1}.jsonl": first + lines(request(2, W1)),  # a copy inside the week
        f"{W2}.jsonl": lines(request(10, W2), b"{not json", {"request_id": "req_11"}),  # unreadable, rejected
        f"{W3 + timedelta(days=1)}.jsonl": first + lines(request(20, W3)),  # a file of W1 sent again two weeks on
        # W4 has no file at all
    }
    user = {"user_id": "u1", "email": "a@example.com", "account_type": "individual",
            "created_at": f"{W1}T09:00:00+00:00"}
    later = {**user, "account_type": "organization", "updated_at": f"{W3}T09:00:00+00:00", "schema_version": 2}
    users = {f"{W1}.jsonl": lines(user), f"{W3}.jsonl": lines(later)}  # a newer version of the user, two weeks on
    results = {}
    for name, budget in (("one pass", 10**12), ("a week at a time", 1)):
        world = Warehouse(tmp_path / name.replace(" ", "_"))
        for day, content in gateway.items():
            world.write("gateway_requests", day, content)
        for day, content in users.items():
            world.write("auth_users", day, content)
        with connect(world.path, "test-key") as engine:
            for source in ("gateway_requests", "auth_users"):
                files = files_in(world.data, source, W1, W5)
                counts = ingest(engine, load_contracts(source), files, world.data, f"raw_{source}", W1, W5,
                                chunk_bytes=budget)
                results.setdefault(name, {})[source] = counts
            tables = {
                "requests": engine.frame("select * from raw_gateway_requests order by all"),
                "users": engine.frame("select * exclude (_first_version), split_part(_first_version, ' (week', 1) "
                                      "as first from raw_auth_users order by all"),
                "quarantine": engine.frame("select source, _event_week, _source_file, _source_line, kind, "
                                           "split_part(reason, ' (week', 1) as reason from quarantine order by all"),
                "files": engine.frame("select * exclude (modified_ns) from ingested_files order by all"),
            }
        results[name]["tables"] = tables
    one, cut = results["one pass"], results["a week at a time"]
    assert [(s, e, len(f)) for s, e, f in chunks(files_in(world.data, "gateway_requests", W1, W5), W1, W5, 1)] == [
        (W1, W2, 1), (W2, W3, 1), (W3, W5, 1)]  # cut where a week starts; the empty fourth week rides along
    assert cut["gateway_requests"] == one["gateway_requests"]
    assert (one["gateway_requests"].accepted, one["gateway_requests"].duplicates) == (6, 5)
    assert cut["auth_users"] == one["auth_users"] and one["auth_users"].later_versions == 1
    for table, frame in one["tables"].items():
        assert cut["tables"][table].equals(frame), table
    first_version = one["tables"]["users"].first
    assert first_version.isna().tolist() == [True, False] and first_version[1] == f"landing/auth_users/{W1}.jsonl:1"
