"""Landing files -> raw tables: contract-checked, deduplicated, with lineage.

Each input line ends in exactly one place: the raw table (accepted), or the
quarantine table (rejected with the field and reason, or a duplicate of an
earlier line), so for every partition input = accepted + quarantined + duplicates.
The SQL is derived from the contract: column names come from the contract
file, values are always bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from funnel_assets.lib.contracts import Contract, Field
from funnel_assets.lib.engine import Engine
from funnel_assets.lib.landing import DayFile

QUARANTINE_TABLE = "quarantine"

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
    quarantined: int
    duplicates: int
    files: int


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL string literal of contract text (names, allowed values, reasons)."""
    return "'" + text.replace("'", "''") + "'"


def _check(field: Field) -> str:
    """A SQL expression giving the reason `field` fails, or null."""
    value = f"p.j.{_q(field.name)}"
    jtype = f"json_type({value})"
    kinds = ", ".join(f"'{t}'" for t in _JSON_TYPES[field.type])
    missing = f"{value} is null or {jtype} = 'NULL'"
    rules = []
    if field.required:
        rules.append((missing, f"missing required field {field.name}"))
        present = "true"
    else:
        present = f"not ({missing})"
    rules.append((f"{present} and {jtype} not in ({kinds})", f"{field.name} must be {field.type}"))
    if field.type == "timestamp":
        text = f"({value} ->> '$')"
        rules.append(
            (
                f"{present} and (try_cast({text} as timestamptz) is null or not regexp_matches({text}, '{_OFFSET}'))",
                f"{field.name} must be an ISO-8601 timestamp with an offset",
            )
        )
    if field.allowed:
        options = ", ".join(_lit(a) for a in field.allowed)
        rules.append(
            (f"{present} and ({value} ->> '$') not in ({options})", f"{field.name} must be one of {list(field.allowed)}")
        )
    cases = " ".join(f"when {cond} then {_lit(reason)}" for cond, reason in rules)
    return f"case {cases} end"


def _typed(field: Field) -> str:
    value = f"p.j.{_q(field.name)}"
    if field.type in ("object", "array"):
        return f"{value} as {_q(field.name)}"
    if field.type == "timestamp":
        return f"cast({value} ->> '$' as timestamptz) as {_q(field.name)}"
    return f"cast({value} ->> '$' as {field.sql_type}) as {_q(field.name)}"


def _parse_sql(contract: Contract) -> str:
    structure = "{" + ", ".join(f'"{f.name}": "JSON"' for f in contract.fields) + "}"
    known = ", ".join(_lit(f) for f in contract.field_names)
    reasons = ", ".join(_check(f) for f in contract.fields)
    return f"""
        with parsed as (
            select file, line_no, event_week, line,
                   json_valid(line) as is_json,
                   json_valid(line) and starts_with(ltrim(line), '{{') as is_object
            from _landing_lines
        ),
        transformed as (
            select *, case when is_object then json_transform(line, '{structure}') end as j
            from parsed
        ),
        judged as (
            select p.*,
                   case when not p.is_json then 'malformed JSON'
                        when not p.is_object then 'not a JSON object'
                        else coalesce({reasons}) end as reason
            from transformed p
        )
        select file, line_no, event_week, line, reason,
               case when reason is null
                    then list_filter(json_keys(line), lambda k: k not in ({known})) end as extra_fields,
               j
        from judged
    """


def load_lines(engine: Engine, files: list[DayFile], data_dir: Path) -> int:
    """Read every line of `files` into the temp table _landing_lines, keeping file and line number."""
    # One line per row: a delimiter and quote that never occur in JSON text.
    # (A trailing carriage return is JSON whitespace, so it needs no trimming.)
    reads = [
        f"select {_lit(_relative(f.path, data_dir))} as file, row_number() over () as line_no, "
        f"cast({_lit(f.week.isoformat())} as date) as event_week, line "
        f"from read_csv({_lit(str(f.path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(30), "
        f"quote = '', escape = '', auto_detect = false)"
        for f in files
    ] or ["select null::varchar as file, null::bigint as line_no, null::date as event_week, null::varchar as line limit 0"]
    engine.con.execute("create or replace temp table _landing_lines as " + " union all ".join(reads))
    return int(engine.scalar("select count(*) from _landing_lines"))


def _relative(path: Path, data_dir: Path) -> str:
    return str(path.relative_to(data_dir)) if path.is_relative_to(data_dir) else str(path)


def ingest(
    engine: Engine,
    contract: Contract,
    files: list[DayFile],
    data_dir: Path,
    table: str,
    week_start: date,
    week_end: date,
) -> IngestCounts:
    """Replace the weeks [week_start, week_end) of `table` with the contents of `files`."""
    input_lines = load_lines(engine, files, data_dir)
    engine.con.execute(f"create or replace temp table _judged as {_parse_sql(contract)}")
    key = "(" + ", ".join(f"j.{_q(k)} ->> '$'" for k in contract.unique_key) + ")"
    # Only keys seen more than once need ranking: a hash aggregate finds them cheaply.
    engine.con.execute(
        f"""
        create or replace temp table _ranked as
        with repeated as (
            select {key} as unique_key, min({{'file': file, 'line_no': line_no}}) as first_seen
            from _judged
            where reason is null
            group by all
            having count(*) > 1
        )
        select p.*,
               case when p.reason is null and r.first_seen is not null and {{'file': p.file, 'line_no': p.line_no}} <> r.first_seen
                    then 2 else 1 end as copy_no,
               r.first_seen.file || ':' || r.first_seen.line_no as first_seen
        from _judged as p
        left join repeated as r on p.reason is null and r.unique_key = {key.replace("j.", "p.j.")}
        """
    )
    typed = ", ".join(_typed(f) for f in contract.fields)
    week_range = {"week_start": week_start, "week_end": week_end}
    accepted = engine.replace_rows(
        table,
        f"""
        select {typed},
               p.event_week as _event_week,
               p.file as _source_file,
               p.line_no as _source_line,
               $contract_version as _contract_version,
               p.extra_fields as _extra_fields
        from _ranked p
        where reason is null and copy_no = 1
        """,
        {"contract_version": contract.version},
        "_event_week >= $week_start and _event_week < $week_end",
        week_range,
    )
    rejected = engine.replace_rows(
        QUARANTINE_TABLE,
        f"""
        select $source as source,
               event_week as _event_week,
               file as _source_file,
               line_no as _source_line,
               $contract_version as _contract_version,
               case when reason is null then 'duplicate' else 'rejected' end as kind,
               coalesce(reason, 'duplicate of ' || first_seen) as reason,
               line as raw_line
        from _ranked
        where reason is not null or copy_no > 1
        """,
        {"source": contract.source, "contract_version": contract.version},
        "source = $source and _event_week >= $week_start and _event_week < $week_end",
        {"source": contract.source, **week_range},
    )
    duplicates = int(engine.scalar("select count(*) from _ranked where reason is null and copy_no > 1"))
    for temp in ("_landing_lines", "_judged", "_ranked"):
        engine.con.execute(f"drop table if exists {temp}")
    return IngestCounts(
        input_lines=input_lines,
        accepted=accepted,
        quarantined=rejected - duplicates,
        duplicates=duplicates,
        files=len(files),
    )
