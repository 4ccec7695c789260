"""Landing files -> raw tables: contract-checked, deduplicated, with lineage.

Each input line ends in exactly one place: the raw table (accepted), or the
quarantine table with its file, line and reason, of one of three kinds:

- `unreadable`: not a JSON object line (invalid UTF-8, malformed JSON, an
  empty line, or the remainder of a truncated or corrupt gzip file);
- `rejected`: a JSON object that breaks the contract version it declares
  (a missing required field, a wrong type, a value outside the allowed set);
- `duplicate`: a line of an event source whose unique key was seen before,
  earlier in the files of this run or in an earlier week already in the raw
  table (a re-sent file); the first occurrence is kept.

State sources (contract `kind: state`: users, API keys, tickets) have no duplicates: a
later line with the same unique key is a newer version of the entity and is
accepted. Its row carries `_first_version` (file:line of the entity's first
landed version; null on that first version) and every row of a state source
carries `_version_time`, the first present of the contract's `versioned_by`
fields, else its time field. The current version of an entity is its row with
the latest `_version_time`, then the latest landing file day and line
(`is_history`, and the identity SQL); the others are its history, kept and
counted.

So for every partition, input lines = accepted (current + history) +
quarantined + duplicates.
The table `ingested_files` keeps those counts per landing file (one row per
file, empty files included), which the quality checks read.

Contract versions: a line declares its version with a top-level integer
field `schema_version`; a line without it is version 1. Every line is judged
by the contract version it declares (`data_contracts/<source>/v<N>.yaml`),
so a producer can move to v2 while others still send v1, even within one day
file. `schema_version` is an envelope field, never reported as an extra field.
The raw table holds the union of every version's fields (a field keeps one
type across versions), plus `_contract_version` per row.

Reading: the engine reads the lines (`Engine.load_landing_lines`): DuckDB reads
every file in one statement; when that fails (a truncated gzip, invalid
UTF-8), each file on its own, and a file it cannot read is read by Python,
line by line (`read_leniently`), so a bad line or a truncated file is
quarantined instead of failing the run.

The SQL is derived from the contracts: column names come from the contract
files, values are always bound parameters.
"""

from __future__ import annotations

import codecs
import hashlib
import zlib
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import pandas as pd

from funnel_assets.lib.contracts import CORRECTED_TIMESTAMP, FIRST_VERSION, VERSION_TIME, Contract, Field, SourceContracts
from funnel_assets.lib.engines import Engine
from funnel_assets.lib.landing import DayFile, cut_weeks

QUARANTINE_TABLE = "quarantine"
FILES_TABLE = "ingested_files"
VERSION_FIELD = "schema_version"

# json_type() names per contract type.
_JSON_TYPES = {
    "string": ("VARCHAR",),
    "integer": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "timestamp": ("VARCHAR",),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
}
_OFFSET = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"


@dataclass(frozen=True)
class IngestCounts:
    input_lines: int
    accepted: int
    quarantined: int  # unreadable + rejected
    duplicates: int
    files: int
    unreadable: int = 0
    later_versions: int = 0  # accepted lines of a state source that are newer versions of an entity seen before


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL string literal of contract text (names, allowed values, reasons)."""
    return "'" + text.replace("'", "''") + "'"


# Why a line is quarantined, where the reason is not one of a field's rules: shared by every engine's parser.
EMPTY_LINE = "empty line"
MALFORMED_JSON = "malformed JSON"
NOT_AN_OBJECT = "not a JSON object"
BAD_VERSION = f"{VERSION_FIELD} must be an integer"
OFFSET_PATTERN = _OFFSET


def no_contract(source: str) -> tuple[str, str]:
    """The reason for a version without a contract, as the text before and after the version number."""
    return "no contract v", f" for {source}"


@dataclass(frozen=True)
class FieldRule:
    """One rule of a contract field; a line's reason is the first rule it breaks (fields in contract order)."""
    test: str  # "missing", "type", "timestamp" (ISO-8601 with an offset: OFFSET_PATTERN) or "allowed"
    reason: str
    when_present: bool  # the rule applies only when the field is present (not missing, not JSON null)


def field_rules(field: Field) -> list[FieldRule]:
    """The contract's rules on `field`, in the order they are checked (every engine's parser renders these)."""
    optional = not field.required
    rules = [FieldRule("missing", f"missing required field {field.name}", False)] if field.required else []
    rules.append(FieldRule("type", f"{field.name} must be {field.type}", optional))
    if field.type == "timestamp":
        rules.append(FieldRule("timestamp", f"{field.name} must be an ISO-8601 timestamp with an offset", optional))
    if field.allowed:
        rules.append(FieldRule("allowed", f"{field.name} must be one of {list(field.allowed)}", optional))
    return rules


def _check(field: Field) -> str:
    """A SQL expression giving the reason `field` fails, or null."""
    value = f"p.j.{_q(field.name)}"
    jtype = f"json_type({value})"
    text = f"({value} ->> '$')"
    kinds = ", ".join(f"'{t}'" for t in _JSON_TYPES[field.type])
    missing = f"{value} is null or {jtype} = 'NULL'"
    tests = {
        "missing": missing,
        "type": f"{jtype} not in ({kinds})",
        "timestamp": f"try_cast({text} as timestamptz) is null or not regexp_matches({text}, '{_OFFSET}')",
        "allowed": f"{text} not in ({', '.join(_lit(a) for a in field.allowed)})",
    }
    rules = [(f"not ({missing}) and ({tests[r.test]})" if r.when_present else f"true and ({tests[r.test]})", r.reason)
             for r in field_rules(field)]
    cases = " ".join(f"when {cond} then {_lit(reason)}" for cond, reason in rules)
    return f"case {cases} end"


def _value(field: Field, row: str = "p", judged_fields: str = "json") -> str:
    """The typed value of `field` from a judged line (`Engine.judged_fields`: from its JSON value, or as typed)."""
    if judged_fields == "typed":
        return f"{row}.fields.{_q(field.name)}"
    value = f"{row}.j.{_q(field.name)}"
    if field.type in ("object", "array"):
        return value
    if field.type == "timestamp":
        return f"cast({value} ->> '$' as timestamptz)"
    return f"cast({value} ->> '$' as {field.sql_type})"


def _typed(field: Field, contracts: SourceContracts, judged_fields: str = "json") -> str:
    if judged_fields == "typed":  # typed by the engine's parser, null for a version without the field
        return f"{_value(field, 'p', judged_fields)} as {_q(field.name)}"
    versions = contracts.versions_with(field.name)
    if versions == contracts.version_numbers:
        return f"{_value(field)} as {_q(field.name)}"
    listed = ", ".join(str(v) for v in versions)
    return f"case when p.version in ({listed}) then {_value(field)} end as {_q(field.name)}"


def _parse_sql(contracts: SourceContracts, lines_table: str = "_landing_lines") -> str:
    names = [f.name for f in contracts.columns] + [VERSION_FIELD]
    structure = "{" + ", ".join(f'"{name}": "JSON"' for name in names) + "}"
    version_json = f"j.{_q(VERSION_FIELD)}"
    violations = " ".join(
        f"when p.version = {c.version} then coalesce({', '.join(_check(f) for f in c.fields)})" for c in contracts.versions
    )
    extras = " ".join(
        f"when {c.version} then list_filter(json_keys(line), lambda k: k not in "
        f"({', '.join(_lit(n) for n in c.field_names + [VERSION_FIELD])}))"
        for c in contracts.versions
    )
    before, after = no_contract(contracts.source)
    return f"""
        with parsed as (
            select file, line_no, event_week, line, read_error,
                   json_valid(line) as is_json,
                   json_valid(line) and starts_with(ltrim(line), '{{') as is_object
            from {_q(lines_table)}
        ),
        transformed as (
            select *, case when read_error is null and is_object then json_transform(line, '{structure}') end as j
            from parsed
        ),
        versioned as (
            select *,
                   case when j is null then null
                        when {version_json} is null or json_type({version_json}) = 'NULL' then 1
                        when json_type({version_json}) in ('BIGINT', 'UBIGINT') then cast({version_json} ->> '$' as bigint)
                   end as version
            from transformed
        ),
        judged as (
            select p.*,
                   case when p.read_error is not null then p.read_error
                        when p.line is null then {_lit(EMPTY_LINE)}
                        when not p.is_json then {_lit(MALFORMED_JSON)}
                        when not p.is_object then {_lit(NOT_AN_OBJECT)}
                   end as unreadable,
                   case when p.j is null then null
                        when p.version is null then {_lit(BAD_VERSION)}
                        {violations}
                        else {_lit(before)} || p.version || {_lit(after)}
                   end as violation
            from versioned p
        )
        select file, line_no, event_week, line, version,
               case when unreadable is not null then 'unreadable' when violation is not null then 'rejected' end as kind,
               coalesce(unreadable, violation) as reason,
               case when unreadable is null and violation is null then case version {extras} end end as extra_fields,
               j
        from judged
    """


# --- reading landing files -------------------------------------------------------------------

LINES_TABLE = "_landing_lines"
_LINES_SCHEMA = "file varchar, line_no bigint, event_week date, line varchar, read_error varchar"


def _decompressed(raw: bytes, gzipped: bool) -> tuple[bytes, str | None]:
    """The bytes of a landing file (gunzipped), and why they end early when they do."""
    if not gzipped:
        return raw, None
    parts, position = [], 0
    while position < len(raw):
        stream = zlib.decompressobj(wbits=31)
        try:
            parts.append(stream.decompress(raw[position:]))
        except zlib.error as error:
            return b"".join(parts), f"corrupt gzip data after byte {position} ({error}); the rest of the file is lost"
        if not stream.eof:
            return b"".join(parts), f"truncated gzip: the compressed stream ends at byte {len(raw)}; the rest of the file is lost"
        position = len(raw) - len(stream.unused_data)
        if not raw[position:].strip(b"\0"):
            break
    return b"".join(parts), None


def read_leniently(path: Path) -> tuple[list[str | None], list[str | None]]:
    """Every line of a file DuckDB cannot read, and for each the reason it is unreadable (or None)."""
    return lenient_lines(path.read_bytes(), path.name.endswith(".gz"))


def lenient_lines(raw: bytes, gzipped: bool) -> tuple[list[str | None], list[str | None]]:
    """The lines of a landing file's bytes (`gzipped`: a .gz file), and for each the reason it is unreadable (or None).

    A UTF-8 byte order mark at the start is dropped. Invalid UTF-8 keeps the line's text with the bad bytes escaped. A gzip
    stream that ends early gives the lines before the break, then one line
    for the remainder (the partial text, perhaps empty) carrying the reason,
    so the truncation is counted and quarantined like any bad line.
    """
    data, broken = _decompressed(raw, gzipped)
    # a UTF-8 byte order mark is no part of the first line (DuckDB's reader drops it too)
    pieces = data.removeprefix(codecs.BOM_UTF8).split(b"\n")
    if not broken and pieces and pieces[-1] == b"":
        pieces.pop()  # the newline that ends the last line
    lines: list[str | None] = []
    reasons: list[str | None] = []
    for piece in pieces:
        piece = piece.removesuffix(b"\r")
        try:
            text = piece.decode("utf-8")
            reasons.append(None)
        except UnicodeDecodeError as error:
            text = piece.decode("utf-8", errors="backslashreplace")
            reasons.append(f"invalid UTF-8: byte 0x{piece[error.start]:02x} at column {error.start + 1}")
        lines.append(text or None)
    if broken:
        if not pieces:
            lines, reasons = [None], [None]
        reasons[-1] = broken
    return lines, reasons


def load_lines(engine: Engine, files: list[DayFile], data_dir: Path) -> dict[str, str]:
    """Read every line of `files` into the temp table _landing_lines, keeping file and line number.

    Returns the files that had to be read by Python, with the reason the engine's reader gave."""
    return engine.load_landing_lines(LINES_TABLE, files, data_dir)


def relative(path: Path, data_dir: Path) -> str:
    """A landing file's name as the tables keep it: relative to the data folder."""
    return str(path.relative_to(data_dir)) if path.is_relative_to(data_dir) else str(path)



# --- ingest ----------------------------------------------------------------------------------


def _key_columns(contracts: SourceContracts, row: str, judged_fields: str = "json") -> list[str]:
    """The unique key's values as columns `_k0, _k1, ...`: typed from a judged line (`row`), or read from the raw
    table. Grouped and joined as plain columns: a struct of them groups several times slower."""
    fields = [next(f for f in contracts.columns if f.name == k) for k in contracts.unique_key]
    if row == "raw":
        return [f"raw.{_q(f.name)} as _k{i}" for i, f in enumerate(fields)]
    return [f"{_value(f, row, judged_fields)} as _k{i}" for i, f in enumerate(fields)]


def _firsts_sql(contracts: SourceContracts, table: str, earlier_weeks: bool, judged_fields: str = "json") -> str:
    """The valid lines of _judged whose key was seen before, with that first occurrence (`file:line`, and the week
    when it was an earlier week of `table`): few rows, joined back onto _judged as `_ranked`.

    An event's is `duplicate_of`, a state record's `first_version`. Written in DuckDB's dialect; Spark runs
    its translation (`dialect.to_engine`), over the judged lines' typed fields."""
    keys = [f"_k{i}" for i in range(len(contracts.unique_key))]
    same = lambda a, b: " and ".join(f"{a}.{k} is not distinct from {b}.{k}" for k in keys)  # noqa: E731
    key_list = ", ".join(keys)
    in_run = " and ".join(f"k._k{i} is not distinct from raw.{_q(name)}" for i, name in enumerate(contracts.unique_key))
    earlier = (
        f"""
            select {", ".join(_key_columns(contracts, "raw"))},
                   min({{'file': raw._source_file, 'line_no': raw._source_line, 'week': raw._event_week}}) as first_seen
            from {_q(table)} as raw
            where raw._event_week < $week_start
              and exists (select 1 from keyed as k where {in_run})
            group by all
        """
        if earlier_weeks
        else f"select {key_list}, null::struct(file varchar, line_no bigint, week date) as first_seen "
             "from keyed where false"
    )
    return f"""
        with keyed as not materialized (  -- a few columns of _judged: cheaper to read again than to store
            select p.file, p.line_no, {", ".join(_key_columns(contracts, "p", judged_fields))}
            from _judged as p where p.kind is null
        ),
        -- only keys seen more than once need ranking: a hash aggregate finds them cheaply
        repeated as (
            select {key_list}, min({{'file': file, 'line_no': line_no}}) as first_seen
            from keyed
            group by all
            having count(*) > 1
        ),
        earlier as ({earlier})
        select k.file, k.line_no,
               case when e.first_seen is not null
                        then e.first_seen.file || ':' || e.first_seen.line_no || ' (week ' || e.first_seen.week || ')'
                    else r.first_seen.file || ':' || r.first_seen.line_no
               end as first_occurrence
        from keyed as k
        left join repeated as r on {same("r", "k")}
        left join earlier as e on {same("e", "k")}
        where e.first_seen is not null
           or (r.first_seen is not null and {{'file': k.file, 'line_no': k.line_no}} <> r.first_seen)
    """


def _rank(engine: Engine, contracts: SourceContracts, table: str, week_start: date) -> None:
    """_judged with each valid line's first occurrence, as the view `_ranked`: `duplicate_of` on an event seen
    before (in this run's files or an earlier week of `table`), `first_version` on a newer version of a state
    record."""
    earlier_weeks = engine.table_exists(table) and bool(engine.scalar(
        f"select count(*) from (select 1 from {_q(table)} where _event_week < $week_start limit 1)",
        {"week_start": week_start},
    ))
    engine.temp_table("_firsts", _firsts_sql(contracts, table, earlier_weeks, engine.judged_fields),
                      {"week_start": week_start})
    state = contracts.latest.is_state
    engine.temp_view("_ranked", f"""
        select p.*,
               {'null::varchar' if state else 'f.first_occurrence'} as duplicate_of,
               {'f.first_occurrence' if state else 'null::varchar'} as first_version
        from _judged as p
        left join _firsts as f on f.file = p.file and f.line_no = p.line_no
    """)


# landing bytes read and judged at once: every line is held as text, its JSON fields and its verdict until the
# accepted ones are written, so a range of weeks larger than this is ingested a few weeks at a time
CHUNK_BYTES = 2 * 1024**3
GZIP_RATIO = 8  # a gzipped landing file's text, for the budget: about this many times its size


def chunks(files: list[DayFile], week_start: date, week_end: date,
           budget: int = CHUNK_BYTES) -> list[tuple[date, date, list[DayFile]]]:
    """[week_start, week_end) cut into ranges of weeks (`landing.cut_weeks`), each with its files, whose landing text
    stays within `budget`."""
    sizes: dict[date, int] = {}
    for f in files:
        sizes[f.week] = sizes.get(f.week, 0) + f.path.stat().st_size * (GZIP_RATIO if f.path.name.endswith(".gz") else 1)
    return [(start, end, [f for f in files if start <= f.week < end])
            for start, end in cut_weeks(sizes, week_start, week_end, budget)]


def ingest(
    engine: Engine,
    contracts: SourceContracts | Contract,
    files: list[DayFile],
    data_dir: Path,
    table: str,
    week_start: date,
    week_end: date,
    clock_tolerance_seconds: float = 60.0,
    chunk_bytes: int = CHUNK_BYTES,
) -> IngestCounts:
    """Replace the weeks [week_start, week_end) of `table` with the contents of `files`.

    More landing text than `chunk_bytes` is ingested a range of weeks at a time (`chunks`), in week order, as
    consecutive runs over those weeks would: a line seen in an earlier range is found in `table`.

    `clock_tolerance_seconds`: for Segment-style sources, a received_at more
    than this away from sent_at is the client's clock being off, and
    `corrected_timestamp` moves the event by that offset.
    """
    if isinstance(contracts, Contract):
        contracts = SourceContracts(contracts.source, (contracts,))
    counts = [_ingest_weeks(engine, contracts, chunk, data_dir, table, start, end, clock_tolerance_seconds)
              for start, end, chunk in chunks(files, week_start, week_end, chunk_bytes)]
    return IngestCounts(**{f.name: sum(getattr(c, f.name) for c in counts) for f in fields(IngestCounts)})


def _ingest_weeks(
    engine: Engine,
    contracts: SourceContracts,
    files: list[DayFile],
    data_dir: Path,
    table: str,
    week_start: date,
    week_end: date,
    clock_tolerance_seconds: float,
) -> IngestCounts:
    """`ingest` of one range of weeks, all its files read at once."""
    fallbacks = load_lines(engine, files, data_dir)
    input_lines = int(engine.scalar(f"select count(*) from {LINES_TABLE}"))
    engine.judge_lines("_judged", LINES_TABLE, contracts)
    judged_fields = engine.judged_fields
    week_range = {"week_start": week_start, "week_end": week_end}
    _rank(engine, contracts, table, week_start)

    typed = ", ".join(_typed(f, contracts, judged_fields) for f in contracts.columns)
    derived = {}
    if contracts.corrects_client_clock:
        # Segment's correction: the client's clock runs off by sent_at - received_at; move the event by as much.
        t = _q(contracts.time_field)
        derived[CORRECTED_TIMESTAMP] = (
            f"case when sent_at is not null and received_at is not null "
            f"and abs(epoch(received_at) - epoch(sent_at)) > $clock_tolerance_seconds "
            f"then received_at - (sent_at - {t}) else {t} end"
        )
    if contracts.latest.is_state:
        ordering = [*contracts.latest.versioned_by, contracts.time_field]
        derived[VERSION_TIME] = f"coalesce({', '.join(_q(name) for name in ordering)})"
    # the raw table's columns, in the order contracts.py declares them
    columns = ", ".join(f"{derived[c.name]} as {_q(c.name)}" if c.name in derived else _q(c.name)
                        for c in contracts.raw_columns)
    accepted = engine.replace_rows(
        table,
        f"""
        select {columns}
        from (
            select {typed},
                   p.event_week as _event_week,
                   p.file as _source_file,
                   p.line_no as _source_line,
                   p.version as _contract_version,
                   p.extra_fields as _extra_fields,
                   p.first_version as {FIRST_VERSION}
            from _ranked p
            where p.kind is null and p.duplicate_of is null
        )
        """,
        {"clock_tolerance_seconds": clock_tolerance_seconds},
        "_event_week >= $week_start and _event_week < $week_end",
        week_range,
        partition_by=("_event_week",),
    )
    quarantined = engine.replace_rows(
        QUARANTINE_TABLE,
        """
        select $source as source,
               event_week as _event_week,
               file as _source_file,
               line_no as _source_line,
               version as _contract_version,
               coalesce(kind, 'duplicate') as kind,
               coalesce(reason, 'duplicate of ' || duplicate_of) as reason,
               line as raw_line
        from _ranked
        where kind is not null or duplicate_of is not null
        """,
        {"source": contracts.source},
        "source = $source and _event_week >= $week_start and _event_week < $week_end",
        {"source": contracts.source, **week_range},
        partition_by=("source", "_event_week"),
    )
    _record_files(engine, contracts.source, files, data_dir, fallbacks, week_range)
    counts = engine.row(
        "select count(*) filter (where kind = 'unreadable'), count(*) filter (where duplicate_of is not null), "
        "count(*) filter (where first_version is not null) from _ranked"
    )
    for temp in ("_ranked", "_firsts", LINES_TABLE, "_judged"):
        engine.drop_temp(temp)
    unreadable, duplicates, later_versions = (int(n) for n in counts)
    return IngestCounts(
        input_lines=input_lines,
        accepted=accepted,
        quarantined=quarantined - duplicates,
        duplicates=duplicates,
        files=len(files),
        unreadable=unreadable,
        later_versions=later_versions,
    )


def content_hash(path: Path) -> str:
    """SHA-256 of a landing file's bytes, as stored (compressed or not)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _record_files(
    engine: Engine, source: str, files: list[DayFile], data_dir: Path, fallbacks: dict[str, str], week_range: dict
) -> None:
    """One row per landing file read: its day and week, where its lines went, and its size, modification time and
    content hash as read (what an incremental run compares, orchestration/incremental.py)."""
    stats = [f.path.stat() for f in files]
    listed = pd.DataFrame(
        {
            "file": pd.Series([relative(f.path, data_dir) for f in files], dtype="string"),
            "size_bytes": pd.Series([s.st_size for s in stats], dtype="int64"),
            "modified_ns": pd.Series([s.st_mtime_ns for s in stats], dtype="int64"),
            "content_sha256": pd.Series([content_hash(f.path) for f in files], dtype="string"),
            "day": pd.Series([f.day for f in files], dtype="object"),
            "week": pd.Series([f.week for f in files], dtype="object"),
            "read_by": pd.Series(["python" if relative(f.path, data_dir) in fallbacks else engine.name
                                  for f in files],
                                 dtype="string"),
        }
    )
    engine.put_frame("_files_read", listed, temporary=True)
    try:
        engine.replace_rows(
            FILES_TABLE,
            """
            with counts as (
                select file,
                       count(*) as input_lines,
                       count(*) filter (where kind is null and duplicate_of is null) as accepted,
                       count(*) filter (where kind = 'unreadable') as unreadable,
                       count(*) filter (where kind = 'rejected') as rejected,
                       count(*) filter (where duplicate_of is not null) as duplicates
                from _ranked
                group by file
            )
            select $source as source,
                   cast(f.week as date) as _event_week,
                   f.file as _source_file,
                   cast(f.day as date) as day,
                   cast(f.read_by as varchar) as read_by,
                   coalesce(c.input_lines, 0) as input_lines,
                   coalesce(c.accepted, 0) as accepted,
                   coalesce(c.unreadable, 0) as unreadable,
                   coalesce(c.rejected, 0) as rejected,
                   coalesce(c.duplicates, 0) as duplicates,
                   f.size_bytes,
                   f.modified_ns,
                   cast(f.content_sha256 as varchar) as content_sha256
            from _files_read as f
            left join counts as c on c.file = f.file
            """,
            {"source": source},
            "source = $source and _event_week >= $week_start and _event_week < $week_end",
            {"source": source, **week_range},
            partition_by=("source", "_event_week"),
        )
    finally:
        engine.drop_temp("_files_read")


# --- versions of state sources ---------------------------------------------------------------


def is_history(contracts: SourceContracts) -> str:
    """A SQL expression over the raw table: true on a row that a later version of its entity supersedes.

    An entity's current version is its row with the latest `_version_time`,
    then the latest landing file (by day) and line. Event rows are never history."""
    if not contracts.latest.is_state:
        return "false"
    key = ", ".join(_q(k) for k in contracts.unique_key)
    return (
        f"row_number() over (partition by {key} "
        f"order by {VERSION_TIME} desc, _source_file desc, _source_line desc) > 1"
    )
