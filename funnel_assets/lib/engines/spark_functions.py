"""The project's SQL functions on Spark, with the same results as DuckDB's macros.

`install(spark, pseudonym_key)` defines them once per session as temporary SQL functions
(`CREATE TEMPORARY FUNCTION ... RETURN <expression>`: Spark runs them as expressions, no Python UDF):

- `pseudo(v)`: the keyed pseudonym, byte for byte the DuckDB macro of lib/engine.py
  (`left(sha256(key || ':' || sha256(key || ':' || v)), 20)`; Spark's `sha2(..., 256)` is the same lowercase hex);
- `scrub(v)` and `scrub_id(v)`: lib/scrub.py's rules, in order, every match replaced.

Exact linear-interpolated percentiles, durations, the route templates and the intent-path test need no function
of their own: dialect.py writes them as Spark expressions (`percentile`, intervals, `filter` over the bound list).
"""

from __future__ import annotations

import re

from funnel_assets.lib.scrub import SCRUB_RULES


def _literal(text: str) -> str:
    """A Spark SQL string literal (Spark reads backslash escapes in literals, so they are doubled)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _java_replacement(replacement: str) -> str:
    """An RE2 replacement (`\\1`) as Java's (`$1`), with a literal `$` escaped."""
    return re.sub(r"\\(\d)", r"$\1", replacement.replace("$", "\\$"))


def pseudo_expression(key: str, value: str = "v") -> str:
    key_literal = _literal(key)
    return (
        f"case when {value} is null then null else left(sha2(concat({key_literal}, ':', "
        f"sha2(concat({key_literal}, ':', cast({value} as string)), 256)), 256), 20) end"
    )


def scrub_expression(value: str = "v") -> str:
    expression = value
    for pattern, replacement in SCRUB_RULES:
        expression = f"regexp_replace({expression}, {_literal(pattern)}, {_literal(_java_replacement(replacement))})"
    return expression


def function_statements(pseudonym_key: str) -> list[str]:
    """The CREATE TEMPORARY FUNCTION statements, in dependency order."""
    return [
        f"create or replace temporary function pseudo(v string) returns string return {pseudo_expression(pseudonym_key)}",
        f"create or replace temporary function scrub(v string) returns string return {scrub_expression()}",
        "create or replace temporary function scrub_id(v string) returns string "
        "return case when scrub(v) = v then v else pseudo(v) end",
    ]


def install(spark, pseudonym_key: str) -> None:
    """Define `pseudo`, `scrub` and `scrub_id` in this Spark session (temporary: the key is never stored)."""
    for statement in function_statements(pseudonym_key):
        spark.sql(statement)
