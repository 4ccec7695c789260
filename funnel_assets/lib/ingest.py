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
                   case when json_valid(line) and json_type(line) = 'OBJECT'
                        then json_transform(line, '{structure}') end as j
            from _landing_lines
        ),
        judged as (
            select p.*,
                   case when not p.is_json then 'malformed JSON'
                        when p.j is null then 'not a JSON object'
                        else coalesce({reasons}) end as reason
            from parsed p
        )
        select file, line_no, event_week, line, reason,
               case when reason is null
                    then list_filter(json_keys(line), lambda k: k not in ({known})) end as extra_fields,
               j
        from judged
    """


def load_lines(engine: Engine, files: list[DayFile], data_dir: Path) -> int:
    """Read every line of `files` into the temp table _landing_lines, keeping file and line number."""
    engine.con.execute(
        "create or replace temp table _landing_lines "
        "(file varchar, line_no bigint, event_week date, line varchar)"
    )
    for day_file in files:
        relative = str(day_file.path.relative_to(data_dir)) if day_file.path.is_relative_to(data_dir) else str(day_file.path)
        engine.execute(
            """
            insert into _landing_lines
            select $file, row_number() over (), $week, rtrim(line, chr(13))
            from read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = chr(30),
                          quote = '', escape = '', auto_detect = false, new_line = '\\n')
            """,
            {"file": relative, "week": day_file.week, "path": str(day_file.path)},
        )
    return int(engine.scalar("select count(*) from _landing_lines"))


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
    key = ", ".join(f"p.j.{_q(k)} ->> '$'" for k in contract.unique_key)
    engine.con.execute(
        f"""
        create or replace temp table _ranked as
        select p.*, case when reason is null
                         then row_number() over (partition by {key} order by file, line_no) end as copy_no,
               case when reason is null
                    then first_value(file || ':' || line_no) over (partition by {key} order by file, line_no) end as first_seen
        from _judged p
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
        order by p.file, p.line_no
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
        order by file, line_no
        """,
        {"source": contract.source, "contract_version": contract.version},
        "source = $source and _event_week >= $week_start and _event_week < $week_end",
        {"source": contract.source, **week_range},
    )
    duplicates = int(engine.scalar("select count(*) from _ranked where copy_no > 1"))
    for temp in ("_landing_lines", "_judged", "_ranked"):
        engine.con.execute(f"drop table if exists {temp}")
    return IngestCounts(
        input_lines=input_lines,
        accepted=accepted,
        quarantined=rejected - duplicates,
        duplicates=duplicates,
        files=len(files),
    )
