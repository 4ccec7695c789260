"""Landing files on Spark give the rows DuckDB's reader gives, and the same verdict on every line.

Each test reads the same files through both paths: DuckDB (`ingest.load_lines` and `ingest._parse_sql`, as
`ingest.ingest` runs them) and Spark (`engines.spark_landing`), and compares row by row, keyed by (file, line)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from funnel_assets.lib.contracts import SOURCES, load_contracts
from funnel_assets.lib.engines import connect
from funnel_assets.lib.ingest import _parse_sql, _typed, field_rules, ingest, load_lines
from funnel_assets.lib.landing import DayFile, day_files, week_of
from funnel_assets.lib.simulator import DEFAULT_PARAMETERS, generate
from funnel_assets.lib.simulator.faults import FAULTS

SMALL = {"developers": 120, "weeks": 3, "seed": 5, "requests": 3000,
         "params": replace(DEFAULT_PARAMETERS, follow_up_days=49)}
VERDICT = "file, line_no, version, kind, reason, extra_fields"


def _micros(contracts, row: str) -> str:
    """The typed columns, timestamps as UTC microseconds (so both engines' values compare as integers)."""
    return ", ".join(f"epoch_us({row}.{f.name})" if f.type == "timestamp" else f"{row}.{f.name}"
                     for f in contracts.columns)


class DuckDBPath:
    """What ingest.py's DuckDB path gives for some landing files."""

    def __init__(self, warehouse: Path, files: list[DayFile], data_dir: Path, contracts):
        typed = ", ".join(_typed(f, contracts) for f in contracts.columns)
        with connect(warehouse, "test-key") as engine:
            self.lenient = set(load_lines(engine, files, data_dir))
            self.lines = engine.rows("select * from _landing_lines")[1]
            engine.execute(f"create temp table _parsed as {_parse_sql(contracts)}")
            self.verdicts = engine.rows(f"select {VERDICT} from _parsed")[1]
            self.values = engine.rows(
                f"select file, line_no, {_micros(contracts, 't')} from "
                f"(select file, line_no, {typed} from _parsed as p where kind is null) as t"
            )[1]


class SparkPath:
    def __init__(self, spark, files: list[DayFile], data_dir: Path, contracts):
        from funnel_assets.lib.engines.spark_landing import landing_lines, parse

        lines, fallbacks = landing_lines(spark, files, data_dir)
        self.lenient = set(fallbacks)
        self.columns = lines.columns
        self.lines = [tuple(r) for r in lines.collect()]
        parsed = parse(lines, contracts)
        parsed.createOrReplaceTempView("_parsed")
        self.verdicts = [tuple(r) for r in spark.sql(f"select {VERDICT} from _parsed").collect()]
        micros = _micros(contracts, "fields").replace("epoch_us(", "unix_micros(")
        self.values = [tuple(r) for r in spark.sql(
            f"select file, line_no, {micros} from _parsed where kind is null").collect()]


def by_line(rows: list[tuple]) -> dict:
    keyed = {(r[0], r[1]): r for r in rows}
    assert len(keyed) == len(rows), "one row per (file, line)"
    return keyed


def assert_same(duck: DuckDBPath, spark: SparkPath) -> None:
    assert spark.columns == ["file", "line_no", "event_week", "line", "read_error"]
    assert by_line(spark.lines) == by_line(duck.lines)
    assert by_line([(*r[:5], list(r[5]) if r[5] is not None else None) for r in spark.verdicts]) == \
        by_line([(*r[:5], list(r[5]) if r[5] is not None else None) for r in duck.verdicts])
    assert by_line(spark.values) == by_line(duck.values)
    assert spark.lenient == duck.lenient


@pytest.fixture(scope="module")
def injected(tmp_path_factory) -> Path:
    """A small generated data folder with every fault of `funnel generate --inject`."""
    data = tmp_path_factory.mktemp("injected") / "data"
    generate(data, inject=list(FAULTS), **SMALL)
    return data


@pytest.mark.parametrize("source", SOURCES)
def test_every_line_of_injected_data_reads_and_parses_as_on_duckdb(spark, injected, tmp_path, source):
    contracts = load_contracts(source)
    files = day_files(injected, source)
    duck = DuckDBPath(tmp_path / "w.duckdb", files, injected, contracts)
    on_spark = SparkPath(spark, files, injected, contracts)
    assert_same(duck, on_spark)
    kinds = Counter(r[3] for r in duck.verdicts)
    if source == "gateway_requests":
        # the faults are there: a truncated gzip read leniently, unreadable and rejected lines, contract v2
        assert any(f.endswith(".gz") for f in duck.lenient)
        assert kinds["unreadable"] > 0 and kinds["rejected"] > 0
        assert {r[2] for r in duck.verdicts if r[3] is None} == {1, 2}


@pytest.mark.parametrize("source", ["gateway_requests", "analytics_events", "auth_users"])
def test_injected_counts_reconcile_with_duckdb_ingest(spark, injected, tmp_path, source):
    """Input = accepted + quarantined (by reason) + duplicates, the same on Spark as DuckDB's ingest counts."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from funnel_assets.lib.engines.spark_landing import landing_lines, parse

    contracts = load_contracts(source)
    files = day_files(injected, source)
    start, end = week_of(files[0].day), week_of(files[-1].day) + (files[1].day - files[0].day) * 7
    with connect(tmp_path / "w.duckdb", "test-key") as engine:
        counts = ingest(engine, contracts, files, injected, f"raw_{source}", start, end)
        duck_reasons = dict(engine.rows(
            "select reason, count(*) from quarantine where kind <> 'duplicate' group by reason")[1])

    lines, _ = landing_lines(spark, files, injected)
    parsed = parse(lines, contracts)
    passed = parsed.where("kind is null")
    if contracts.latest.is_state:
        duplicates = 0  # a later line of an entity is a newer version, accepted
    else:
        key = [F.col("fields")[k] for k in contracts.unique_key]
        first = Window.partitionBy(*key).orderBy("file", "line_no")
        duplicates = passed.withColumn("n", F.row_number().over(first)).where("n > 1").count()
    spark_reasons = {r.reason: r["count"] for r in parsed.where("kind is not null").groupBy("reason").count().collect()}
    unreadable = parsed.where("kind = 'unreadable'").count()
    input_lines, accepted = lines.count(), passed.count() - duplicates

    assert spark_reasons == duck_reasons
    assert (input_lines, accepted, sum(spark_reasons.values()), duplicates, unreadable) == \
        (counts.input_lines, counts.accepted, counts.quarantined, counts.duplicates, counts.unreadable)
    assert input_lines == accepted + sum(spark_reasons.values()) + duplicates
    if source == "gateway_requests":
        assert duplicates > 0 and unreadable > 0


def request(i: int, **extra) -> dict:
    return {"request_id": f"req_{i}", "timestamp": f"2025-03-03T10:00:{i % 60:02d}+00:00", "key_id": "key_1",
            "method": "GET", "path": "/v1/customers", "status": 200, **extra}


def jsonl(*records, end: bytes = b"\n") -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + end for r in records)


EDGE_FILES = {
    # (DuckDB reads these whole)
    "2025-03-03.jsonl": jsonl(request(1), b"", request(2), b"   ", b'\t{"a": 1}', end=b"\r\n"),  # CRLF, empty lines
    "2025-03-04.jsonl": jsonl(request(3), request(4), end=b"\r"),  # old Mac line endings
    "2025-03-05.jsonl": b"\xef\xbb\xbf" + jsonl(request(5), request(6))[:-1],  # a byte order mark, no final newline
    "2025-03-06.jsonl.gz": gzip.compress(jsonl(request(7))) + gzip.compress(jsonl(request(8), b"")),  # two members
    "2025-03-07.jsonl": b"",
    "2025-03-08.jsonl": jsonl(
        request(9, status="200"), request(10, method="BREW"), request(11, timestamp="2025-03-03T10:00:00"),
        request(12, timestamp="yesterday"), request(13, latency_ms=1.5, region="eu", color="red"),
        request(14, schema_version=2, region="eu", api_version="2024-01"), request(15, schema_version=9),
        request(16, schema_version="2"), request(17, status=None), request(18, latency_ms="fast"),
        request(19, user_agent=None), request(20, status=2.0), request(21, timestamp="2025-03-03 10:00:00.1234567-05:30"),
        {k: v for k, v in request(22).items() if k != "key_id"}, b"[1, 2]", b'"text"', b"null", b"12",
        b'{"request_id": "req_23"} trailing', b'{"request_id": "req_24"}{"b": 2}', b'{"request_id": "req_25",',
    ),
    # (DuckDB refuses these; ingest reads them leniently)
    "2025-03-09.jsonl": jsonl(request(26), b'{"request_id": "req_27", "path": "/v1/caf\xe9"}', request(28)),
    "2025-03-10.jsonl.gz": gzip.compress(jsonl(*[request(i) for i in range(30, 90)]))[:400],  # truncated
    "2025-03-11.jsonl": jsonl(request(90)) + jsonl(request(91), end=b"\r\n"),  # mixed line endings
    "2025-03-12.jsonl": jsonl(request(92), b'{"request_id": "req_93", "path": "/v1/\x1e"}'),  # DuckDB's delimiter
    "2025-03-13.jsonl.gz": gzip.compress(jsonl(request(93))) + b"\0" * 8,  # padded with zero bytes
    "2025-03-14.jsonl.gz": b"",
    "2025-03-15.jsonl.gz": jsonl(request(94)),  # not gzip
}


def test_edge_cases_of_reading_and_parsing_match_duckdb(spark, tmp_path):
    data = tmp_path / "data"
    folder = data / "landing" / "gateway_requests"
    folder.mkdir(parents=True)
    for name, content in EDGE_FILES.items():
        (folder / name).write_bytes(content)
    contracts = load_contracts("gateway_requests")
    files = day_files(data, "gateway_requests")
    duck = DuckDBPath(tmp_path / "w.duckdb", files, data, contracts)
    on_spark = SparkPath(spark, files, data, contracts)
    assert_same(duck, on_spark)
    # what the cases are meant to show is there
    assert duck.lenient == {f"landing/gateway_requests/2025-03-{d:02}.jsonl{gz}"
                            for d, gz in [(9, ""), (10, ".gz"), (11, ""), (12, ""), (13, ".gz"), (14, ".gz"), (15, ".gz")]}
    reasons = Counter(r[4] for r in duck.verdicts)
    for reason in ["empty line", "malformed JSON", "not a JSON object", "status must be integer",
                   *(r.reason for r in field_rules(contracts.latest.field("method")) if r.test == "allowed"),
                   "timestamp must be an ISO-8601 timestamp with an offset", "no contract v9 for gateway_requests",
                   "schema_version must be an integer", "missing required field key_id"]:
        assert reasons[reason] > 0, reason
    assert any(r and r.startswith("truncated gzip") for r in reasons)
    assert any(r and r.startswith("invalid UTF-8") for r in reasons)
    assert [r[5] for r in duck.verdicts if r[0].endswith("03-08.jsonl") and r[1] == 5] == [["region", "color"]]  # region is v2's


def test_no_files_is_no_lines(spark, tmp_path):
    from funnel_assets.lib.engines.spark_landing import LINES_SCHEMA, landing_lines

    lines, fallbacks = landing_lines(spark, [], tmp_path)
    assert lines.schema == LINES_SCHEMA and lines.count() == 0 and fallbacks == {}
    assert date(2025, 3, 3) == week_of(date(2025, 3, 9))
