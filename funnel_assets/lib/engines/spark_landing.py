"""Landing files on Spark: the lines DuckDB's reader gives (`_landing_lines`), and the contract's verdict on each.

`landing_lines(spark, files, data_dir)` reads the day files on the executors
(Spark's `binaryFile` source, one file per row, and a per-file function in
`mapInArrow`: nothing is collected to the driver) into the rows of
`ingest._LINES_SCHEMA`: file (relative to the data folder), line number
(1-based), event week, line text (null for an empty line), read error.
A file is read as DuckDB's strict reader reads it (lines ending in `\\n`,
`\\r\\n` or `\\r`, a byte order mark dropped, an empty line null) where DuckDB
would read it, and otherwise by the project's lenient reader
(`ingest.lenient_lines`: a truncated gzip keeps the lines before the break
and quarantines the remainder, invalid UTF-8 is escaped and quarantined),
exactly as the DuckDB engine falls back file by file; like
`Engine.load_landing_lines` it also returns those files, with the reason.

`parse(lines, contracts)` is `ingest._parse_sql` on Spark: the same rules,
derived from the same contracts (`ingest.field_rules`, the shared reasons),
rendered with Spark's VARIANT functions (`try_parse_json`,
`schema_of_variant`, `variant_get`) where DuckDB uses `json_type` and
`json_extract`. It returns DuckDB's columns, except that `j` (the line's
fields as JSON values) is `fields`: a struct of the contract's columns,
typed (as `ingest._typed`: null for a version without the field), set on
lines that pass (kind null).

Known differences from DuckDB's JSON reader (none occurs in generated data):
a line with a duplicate key or a trailing comma inside an object, or a NaN
number, is valid JSON to DuckDB and malformed to Spark; an integer above
2^63 - 1 is rejected by Spark (DuckDB fails the cast); a timestamp without
seconds (`10:00Z`) is accepted only by DuckDB, one with a space before the
offset or a five-digit year only by Spark.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from funnel_assets.lib.contracts import Field, SourceContracts
from funnel_assets.lib.ingest import (
    _LINES_SCHEMA,
    BAD_VERSION,
    EMPTY_LINE,
    MALFORMED_JSON,
    NOT_AN_OBJECT,
    OFFSET_PATTERN,
    VERSION_FIELD,
    field_rules,
    lenient_lines,
    relative,
    no_contract,
)
from funnel_assets.lib.landing import DayFile

_SPARK_TYPES = {"varchar": T.StringType(), "bigint": T.LongType(), "date": T.DateType()}
# the columns of _landing_lines, from the one definition DuckDB's reader uses
LINES_SCHEMA = T.StructType([
    T.StructField(name, _SPARK_TYPES[kind]) for name, kind in (c.split() for c in _LINES_SCHEMA.split(", "))
])
_WITH_FALLBACK = T.StructType([*LINES_SCHEMA.fields, T.StructField("fallback", T.StringType())])

# DuckDB's CSV reader refuses a line of 2,000,000 bytes or more (measured with duckdb 2.0); the file is then read leniently
_MAX_LINE_BYTES = 1_999_999
_BATCH_ROWS = 65_536


# --- reading ---------------------------------------------------------------------------------


def _strict_lines(raw: bytes, gzipped: bool) -> tuple[list[str | None] | None, str | None]:
    """The lines DuckDB's reader (`duckdb_engine._duckdb_read`) gives for a file, or None and why it refuses the file.

    DuckDB reads every gzip member, needs valid UTF-8 and no record separator (chr(30), its delimiter), and one
    line ending throughout the file (`\\n`, `\\r\\n` or `\\r`); it drops a leading byte order mark, gives an
    empty line as null and no line after the last line ending."""
    if gzipped:
        parts, position = [], 0
        if not raw:
            return None, "an empty file is not a gzip stream"
        while position < len(raw):
            stream = zlib.decompressobj(wbits=31)
            try:
                parts.append(stream.decompress(raw[position:]))
            except zlib.error as error:
                return None, f"corrupt gzip data after byte {position} ({error})"
            if not stream.eof:
                return None, "truncated gzip"
            position = len(raw) - len(stream.unused_data)
        raw = b"".join(parts)
    try:
        text = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"invalid UTF-8 at byte {error.start}"
    if "\x1e" in text:
        return None, "a record separator (chr(30), the reader's delimiter) in a line"
    if "\r" not in text:
        ending = "\n"
    elif "\n" not in text:
        ending = "\r"
    elif text.count("\r\n") == text.count("\r") == text.count("\n"):
        ending = "\r\n"
    else:
        return None, "mixed line endings, or a carriage return inside a line"
    lines = text.split(ending)
    if lines[-1] == "":
        lines.pop()
    if len(raw) >= _MAX_LINE_BYTES and any(len(line) * 4 > _MAX_LINE_BYTES and len(line.encode()) > _MAX_LINE_BYTES
                                           for line in lines):
        return None, f"a line of more than {_MAX_LINE_BYTES:,} bytes"
    return [line or None for line in lines], None


def file_lines(raw: bytes, gzipped: bool) -> tuple[list[str | None], list[str | None], str | None]:
    """A landing file's lines, the read error of each, and why DuckDB's reader would refuse the file (None: it
    reads it), in which case the lines are the lenient reader's (`ingest.lenient_lines`)."""
    lines, refused = _strict_lines(raw, gzipped)
    if refused is None:
        return lines, [None] * len(lines), None
    lines, reasons = lenient_lines(raw, gzipped)
    return lines, reasons, refused


def _local_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("", "file") else uri


def _reader(names: dict[str, tuple[str, object]]):
    """The function mapInArrow runs on the executors: binaryFile rows (path, content) -> lines, with the fallback."""

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths, contents = batch.column("path"), batch.column("content")
            for k in range(batch.num_rows):
                path = _local_path(paths[k].as_py())
                file, week = names[path]
                lines, reasons, refused = file_lines(contents[k].as_py(), path.endswith(".gz"))
                for start in range(0, len(lines), _BATCH_ROWS):
                    n = len(lines[start:start + _BATCH_ROWS])
                    yield pa.RecordBatch.from_arrays(
                        [
                            pa.array([file] * n, pa.string()),
                            pa.array(range(start + 1, start + n + 1), pa.int64()),
                            pa.array([week] * n, pa.date32()),
                            pa.array(lines[start:start + n], pa.string()),
                            pa.array(reasons[start:start + n], pa.string()),
                            pa.array([refused] * n, pa.string()),
                        ],
                        schema=_ARROW_WITH_FALLBACK,
                    )

    return read


_ARROW_WITH_FALLBACK = pa.schema([
    ("file", pa.string()), ("line_no", pa.int64()), ("event_week", pa.date32()), ("line", pa.string()),
    ("read_error", pa.string()), ("fallback", pa.string()),
])


def landing_lines(spark: SparkSession, files: list[DayFile], data_dir: Path) -> tuple[DataFrame, dict[str, str]]:
    """Every line of `files` as the rows DuckDB's reader puts in `_landing_lines` (LINES_SCHEMA), read on the
    executors, and the files DuckDB's reader would refuse (read leniently, `read_by` "python"), with the reason.

    The lines are checkpointed on the executors (`localCheckpoint`), so the files are read once; only the names of
    the files read leniently come to the driver (and a file without lines, which is read there: it is empty)."""
    if not files:
        return spark.createDataFrame([], LINES_SCHEMA), {}
    names = {str(f.path.absolute()): (relative(f.path, data_dir), f.week) for f in files}
    if len(names) != len(files):
        raise ValueError("landing_lines: a landing file is listed twice")
    contents = spark.read.format("binaryFile").load([f.path.absolute().as_uri() for f in files]).select("path", "content")
    read = contents.mapInArrow(_reader(names), _WITH_FALLBACK).localCheckpoint(eager=True)
    fallbacks = {r["file"]: r["fallback"] for r in read.select("file", "fallback").distinct().collect()}
    for f in files:
        name = relative(f.path, data_dir)
        if name not in fallbacks:
            fallbacks[name] = file_lines(f.path.read_bytes(), f.path.name.endswith(".gz"))[2]
    return read.drop("fallback"), {name: why for name, why in fallbacks.items() if why is not None}


# --- parsing ---------------------------------------------------------------------------------

# schema_of_variant() names per contract type (DuckDB's are ingest._JSON_TYPES); a JSON number with a fraction is a
# DECIMAL in a VARIANT, and an integer above 2^63 - 1 a DECIMAL(n,0)
_VARIANT_TYPES = {
    "string": ("STRING",),
    "integer": ("BIGINT",),
    "number": ("BIGINT", "DOUBLE", "DECIMAL"),
    "timestamp": ("STRING",),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
}
_TYPED = {"string": "string", "integer": "bigint", "number": "double", "timestamp": "string"}
# A VARIANT parse reads the first JSON value of a line and ignores what follows: the line is wrapped in an array with
# an end marker, and is one JSON value only when the array holds exactly it and the marker.
_END = "\x00end of line"
_END_JSON = '"\\u0000end of line"'


def _path(name: str) -> str:
    return "$['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


_ABSENT = "ABSENT"  # the kind of a field the line does not have (a JSON null's kind is VOID)


def _kind(value: Column) -> Column:
    """The JSON kind of a field's value (a VARIANT, null when absent): schema_of_variant's name, or _ABSENT."""
    return F.when(value.isNull(), F.lit(_ABSENT)).otherwise(F.schema_of_variant(value))


def _kind_is(kind: Column, contract_type: str) -> Column:
    tests = [kind.startswith(t) if t in ("OBJECT", "ARRAY", "DECIMAL") else kind == F.lit(t)
             for t in _VARIANT_TYPES[contract_type]]
    result = tests[0]
    for test in tests[1:]:
        result = result | test
    return result


def _missing(kind: Column) -> Column:
    return kind.isin(_ABSENT, "VOID")


def _check(field: Field, kind: Column, text: Column) -> Column:
    """The reason `field` fails, or null: ingest.field_rules on Spark, over the value's kind (_kind) and its text."""
    tests = {
        "missing": lambda: _missing(kind),
        "type": lambda: ~_kind_is(kind, field.type),
        "timestamp": lambda: text.try_cast("timestamp").isNull() | ~text.rlike(OFFSET_PATTERN),
        "allowed": lambda: ~text.isin(list(field.allowed)),
    }
    result = None
    for rule in reversed(field_rules(field)):  # built inside out: the first rule broken wins
        test = tests[rule.test]()
        if rule.when_present:
            test = ~_missing(kind) & test
        test = F.coalesce(test, F.lit(False))
        result = F.when(test, F.lit(rule.reason)) if result is None else F.when(test, F.lit(rule.reason)).otherwise(result)
    return result


def _typed(field: Field, value: Column, line: Column) -> Column:
    """The typed value of `field`, as ingest._value (object and array fields: their JSON text, as DuckDB gives it)."""
    if field.type in ("object", "array"):
        return F.get_json_object(line, _path(field.name))
    typed = F.variant_get(value, "$", _TYPED[field.type])
    return typed.try_cast("timestamp") if field.type == "timestamp" else typed


def parse(lines: DataFrame, contracts: SourceContracts) -> DataFrame:
    """`ingest._parse_sql` on Spark, over rows of LINES_SCHEMA: file, line_no, event_week, line, version, kind, reason,
    extra_fields, and `fields` (a struct of the contract's typed columns, null unless the line passes)."""
    names = [f.name for f in contracts.columns] + [VERSION_FIELD]
    wrapped = F.try_parse_json(F.concat(F.lit("["), F.col("line"), F.lit("," + _END_JSON + "]")))
    one_value = (F.variant_get("_wrapped", "$[1]", "string") == F.lit(_END)) & F.variant_get("_wrapped", "$[2]", "variant").isNull()
    parsed = (
        lines.withColumn("_wrapped", wrapped)
        .withColumn("_is_json", F.coalesce(F.col("_wrapped").isNotNull() & one_value, F.lit(False)))
        .withColumn("_is_object", F.col("_is_json") & F.ltrim(F.col("line")).startswith("{"))
        .withColumn("_readable", F.col("read_error").isNull() & F.col("_is_object"))
        .withColumn("_j", F.when(F.col("_readable"), F.variant_get("_wrapped", "$[0]", "variant")))
        .select("file", "line_no", "event_week", "line", "read_error", "_readable",
                *(F.variant_get("_j", _path(name), "variant").alias(f"_v{i}") for i, name in enumerate(names)),
                "_is_json", "_is_object")
    )
    # each field's kind and text once per line, so the rules below compare strings
    fields = {f.name: f for f in contracts.columns}
    parsed = parsed.select(
        *parsed.columns,
        *(_kind(F.col(f"_v{i}")).alias(f"_k{i}") for i, name in enumerate(names)),
        *(F.variant_get(f"_v{i}", "$", "string").alias(f"_s{i}") for i, name in enumerate(names)
          if name in fields and any(r.test in ("timestamp", "allowed") for r in field_rules(fields[name]))),
    )
    value = {name: F.col(f"_v{i}") for i, name in enumerate(names)}
    kind = {name: F.col(f"_k{i}") for i, name in enumerate(names)}
    text = {name: F.col(f"_s{i}") if f"_s{i}" in parsed.columns else None for i, name in enumerate(names)}
    version = (
        F.when(~F.col("_readable"), F.lit(None).cast("bigint"))
        .when(_missing(kind[VERSION_FIELD]), F.lit(1).cast("bigint"))
        .when(_kind_is(kind[VERSION_FIELD], "integer"), F.variant_get(value[VERSION_FIELD], "$", "bigint"))
    )
    parsed = parsed.withColumn("version", version)
    unreadable = (
        F.when(F.col("read_error").isNotNull(), F.col("read_error"))
        .when(F.col("line").isNull(), F.lit(EMPTY_LINE))
        .when(~F.col("_is_json"), F.lit(MALFORMED_JSON))
        .when(~F.col("_is_object"), F.lit(NOT_AN_OBJECT))
    )
    before, after = no_contract(contracts.source)
    violation = F.when(~F.col("_readable"), F.lit(None).cast("string")).when(F.col("version").isNull(), F.lit(BAD_VERSION))
    for c in contracts.versions:
        violation = violation.when(F.col("version") == c.version, F.coalesce(*(_check(f, kind[f.name], text[f.name]) for f in c.fields)))
    violation = violation.otherwise(F.concat(F.lit(before), F.col("version").cast("string"), F.lit(after)))
    judged = parsed.withColumn("_unreadable", unreadable).withColumn("_violation", violation)
    passes = F.col("_unreadable").isNull() & F.col("_violation").isNull()
    extras = F.lit(None).cast("array<string>")
    for c in reversed(contracts.versions):
        known = F.array(*(F.lit(n) for n in c.field_names + [VERSION_FIELD]))
        extras = F.when(F.col("version") == c.version,
                        F.filter(F.json_object_keys("line"), lambda k: ~F.array_contains(known, k))).otherwise(extras)
    typed = []
    for f in contracts.columns:
        versions = contracts.versions_with(f.name)
        column = _typed(f, value[f.name], F.col("line"))
        if versions != contracts.version_numbers:
            column = F.when(F.col("version").isin(versions), column)
        typed.append(column.alias(f.name))
    return judged.select(
        "file", "line_no", "event_week", "line", "version",
        F.when(F.col("_unreadable").isNotNull(), F.lit("unreadable"))
        .when(F.col("_violation").isNotNull(), F.lit("rejected")).alias("kind"),
        F.coalesce("_unreadable", "_violation").alias("reason"),
        F.when(passes, extras).alias("extra_fields"),
        F.when(passes, F.struct(*typed)).alias("fields"),
    )
