"""One set of SQL files, two engines: the project's SQL is written in DuckDB's dialect and this module gives
each engine its own text.

DuckDB runs the files as they are. Spark gets sqlglot's translation (read duckdb, write spark) plus the
rewrites below, where sqlglot is wrong for Spark or leaves a DuckDB-only call as it is:

- `to_days(n)` / `to_hours` / `to_minutes` / `to_seconds`: `n * interval '1' day` (...);
- `epoch(a - b)`: seconds between two timestamps, `epoch(t)`: seconds since 1970 (both double, as DuckDB),
  `epoch_ms(t)`: `unix_millis(t)`;
- `len(list)`: `size(list)`; `list[i]` (1-based, null past the end): `try_element_at(list, i)`;
- `list(distinct x order by x)`: `array_sort(collect_set(x))`;
- `quantile_cont(x, q)` / `median(x)` / `percentile_cont(q) within group (order by x)`: `percentile(x, q)`,
  Spark's exact linear interpolation
  (never `percentile_approx`, which sqlglot maps `median` to on some targets);
- `date_diff('second' | 'minute' | 'hour' | 'day', a, b)`: Spark's datediff of `date_trunc(unit, ...)` of both
  (DuckDB counts the boundaries crossed, Spark whole units elapsed);
- `regexp_full_match(s, p)`: `s rlike '^(?:p)$'`;
- `cast(unnest(list) as t)`: `explode(cast(list as array<t>))` (Spark cannot cast a generator);
- `query_table($table)`: `identifier(:table)`;
- `with x as materialized (...)`: a plain CTE (a DuckDB planner hint);
- `create [or replace] temp table t as ...`: `create or replace temporary view t as ...`; `temp_table` gives
  (t, the select) for an engine that materialises it, as DuckDB's temp table is a snapshot;
- `delete from t where c`: `keep_rows` gives the select of the rows `t` keeps, for the engine to overwrite
  (Spark's Parquet tables have no DELETE).

The project's own functions (`pseudo`, `scrub`, `scrub_id`) are SQL functions of the same name on both
engines: DuckDB macros (lib/engine.py, lib/scrub.py), Spark temporary functions (spark_functions.py).

Bound parameters stay named: DuckDB's `$name` becomes Spark's `:name`, and `spark_args` gives the values
`spark.sql(text, args=...)` takes (timestamps in UTC, lists as Python lists, which Spark binds as array literals; no nulls in them).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

import sqlglot
from sqlglot import exp

DUCKDB = "duckdb"
SPARK = "spark"
ENGINES = (DUCKDB, SPARK)

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_DURATION_UNITS = {"to_days": "DAY", "to_hours": "HOUR", "to_minutes": "MINUTE", "to_seconds": "SECOND"}
_BOUNDARY_UNITS = ("SECOND", "MINUTE", "HOUR", "DAY")
_DELETE = re.compile(r"^\s*(?:--[^\n]*\n\s*)*delete\s+from\s+(\w+)\s*(?:where\s+(.*))?$", re.I | re.S)


def to_engine(sql: str, engine: str) -> str:
    """The text of `sql` (DuckDB dialect, `$name` parameters) that `engine` runs, statements joined by ';'."""
    if engine == DUCKDB:
        return sql
    if engine != SPARK:
        raise ValueError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    statements = [_spark_tree(statement) for statement in sqlglot.parse(sql, read=DUCKDB) if statement]
    return ";\n".join(s.sql(dialect=SPARK, pretty=True) for s in statements)


def spark_statements(sql: str) -> list[str]:
    """The Spark statements of `sql`, one string each (`spark.sql` runs one statement at a time)."""
    return [s.strip() for s in to_engine(sql, SPARK).split(";\n") if s.strip()]


def parameter_names(sql: str) -> set[str]:
    """The bound parameters `sql` names (`$name` in the DuckDB text)."""
    return set(_PARAM.findall(sql))


def spark_args(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The named arguments for `spark.sql(to_engine(sql, "spark"), args=...)`: only those `sql` names (Spark,
    like DuckDB, rejects unused ones), timestamps in UTC (the session's time zone), lists as lists."""
    wanted = parameter_names(sql)
    missing = wanted - params.keys()
    if missing:
        raise KeyError(f"SQL needs parameters {sorted(missing)} that were not given")
    return {name: _spark_value(params[name]) for name in sorted(wanted)}


def keep_rows(sql: str) -> tuple[str, str]:
    """For `delete from t where c` (DuckDB text): (t, the DuckDB select of the rows t keeps).

    Rows where `c` is null are kept, as DELETE keeps them. The engine translates and runs the select, then
    replaces the table (or the partitions concerned) with its rows."""
    match = _DELETE.match(sql.strip())
    if not match:
        raise ValueError("not a single `delete from <table> [where ...]` statement")
    table, condition = match.group(1), match.group(2)
    if condition is None:
        return table, f"select * from {table} where false"
    return table, f"select * from {table} where not coalesce(({condition.strip()}), false)"


def temp_table(sql: str) -> tuple[str, str] | None:
    """For `create [or replace] temp table t as <select>` (DuckDB text): (t, the select), else None.

    A DuckDB temp table is a snapshot; on Spark the engine materialises the select (for example
    `spark.sql(...).localCheckpoint().createOrReplaceTempView(t)`), since a plain temporary view would be
    recomputed, and see later writes, each time it is read. `to_engine` alone gives a temporary view."""
    statements = [s for s in sqlglot.parse(sql, read=DUCKDB) if s]
    if len(statements) != 1 or not _is_temp_table(statements[0]):
        return None
    create = statements[0]
    return create.this.name, create.expression.sql(dialect=DUCKDB)


def _is_temp_table(node: exp.Expression) -> bool:
    return (
        isinstance(node, exp.Create)
        and str(node.args.get("kind", "")).upper() == "TABLE"
        and isinstance(node.expression, (exp.Select, exp.SetOperation, exp.Subquery))
        and any(isinstance(p, exp.TemporaryProperty) for p in (node.args.get("properties") or exp.Properties()).expressions)
    )


def _spark_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, (list, tuple)):
        if any(v is None for v in value):
            # Spark binds a list as an array literal only without nulls (and no cast is allowed in an argument)
            raise ValueError("a list parameter with a null cannot be bound on Spark")
        return [_spark_value(v) for v in value]
    if isinstance(value, date) or value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        return _spark_value(value.to_pydatetime())
    raise TypeError(f"cannot bind a {type(value).__name__} as a Spark SQL parameter")


def _spark_tree(tree: exp.Expression) -> exp.Expression:
    return tree.transform(_rewrite, copy=True)


def _name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else ""


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _seconds(node: exp.Expression) -> exp.Expression:
    """unix_micros(t) / 1e6: a timestamp's seconds since 1970 as a double (DuckDB's epoch)."""
    return exp.Div(this=_call("unix_micros", node), expression=exp.Literal.number("1000000.0"))


def _unit(node: exp.DateDiff) -> str:
    unit = node.args.get("unit")
    return unit.name.upper() if unit is not None else "DAY"


def _rewrite(node: exp.Expression) -> exp.Expression:
    name = node.this.lower() if isinstance(node, exp.Anonymous) and isinstance(node.this, str) else ""
    args = node.expressions if isinstance(node, exp.Anonymous) else []

    if _is_temp_table(node):
        # Spark has no temporary tables: a temporary view, replaced as DuckDB's `or replace` table would be
        node.set("kind", "VIEW")
        node.set("replace", True)
        return node
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
        return node
    if isinstance(node, exp.ToDays) or (name in _DURATION_UNITS and args):
        amount, unit = (node.this, "DAY") if isinstance(node, exp.ToDays) else (args[0], _DURATION_UNITS[name])
        return exp.Paren(this=exp.Mul(
            this=exp.Paren(this=amount), expression=exp.Interval(this=exp.Literal.string("1"), unit=exp.var(unit))
        ))
    if isinstance(node, exp.TimeToUnix):
        value = node.this.this if isinstance(node.this, exp.Paren) else node.this
        if isinstance(value, exp.Sub):
            return exp.Paren(this=exp.Sub(this=_seconds(value.this), expression=_seconds(value.expression)))
        return _seconds(value)
    if isinstance(node, exp.UnixToTime) and node.args.get("scale") is not None and str(node.args["scale"].this) == "3":
        # sqlglot reads DuckDB's epoch_ms(timestamp) as its inverse; the project only applies it to timestamps
        return _call("unix_millis", node.this)
    if isinstance(node, (exp.Length, exp.ArraySize)):
        # DuckDB's len(list): the project's SQL calls len on lists only
        return _call("size", node.this)
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        # sqlglot holds the index 0-based; try_element_at counts from 1 and gives null past the end, as DuckDB
        index = node.expressions[0]
        one_based = (exp.Literal.number(int(index.this) + 1) if isinstance(index, exp.Literal) and not index.is_string
                     else exp.Add(this=index, expression=exp.Literal.number(1)))
        return _call("try_element_at", node.this, one_based)
    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary") and _unit(node) in _BOUNDARY_UNITS:
        # DuckDB counts the unit's boundaries crossed, Spark whole units elapsed: equal once both are truncated
        unit = exp.Literal.string(_unit(node))
        node.set("this", _call("date_trunc", unit, node.this))
        node.set("expression", _call("date_trunc", unit.copy(), node.expression))
        node.set("date_part_boundary", None)
        return node
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        # percentile_cont(q) within group (order by x): visited before the PercentileCont inside it, which
        # alone holds only q
        ordered = node.expression.expressions
        if len(ordered) != 1 or ordered[0].args.get("desc"):
            raise ValueError("percentile_cont(q) within group needs one ascending order key to run on Spark")
        return _call("percentile", ordered[0].this, node.this.this)
    if isinstance(node, (exp.PercentileCont, exp.Quantile, exp.Median)) or name in ("quantile_cont", "median"):
        value = args[0] if args else node.this
        quantile = exp.Literal.number("0.5") if isinstance(node, exp.Median) or name == "median" else (
            args[1] if args else node.args.get("expression") or node.args.get("quantile"))
        return _call("percentile", value, quantile)
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise ValueError("regexp_full_match needs a literal pattern to run on Spark")
        return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{pattern.this})$"))
    if isinstance(node, exp.Cast) and isinstance(node.this, (exp.Unnest, exp.Explode)):
        inner = node.this.expressions[0] if isinstance(node.this, exp.Unnest) else node.this.this
        return exp.Explode(this=exp.Cast(this=inner, to=exp.DataType.build(f"array<{node.to.sql(SPARK)}>", dialect=SPARK)))
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order) and isinstance(node.this.this, exp.Distinct):
        # list(distinct x order by x): the sorted set
        return _call("array_sort", _call("collect_set", node.this.this.expressions[0]))
    if isinstance(node, exp.Select) and node.args.get("qualify") and any(e.is_star for e in node.expressions):
        # `select * ... qualify c` (or `t.*`): sqlglot's subquery would add its window column to `*`; keep c as a column, drop it
        condition = node.args["qualify"].this
        order = node.args.get("order")
        inner = node.copy()
        inner.set("qualify", None)
        inner.set("order", None)
        inner = inner.select(exp.alias_(condition, "_qualified"), append=True)
        outer = exp.select(exp.Star(except_=[exp.column("_qualified")])).from_(inner.subquery("_qualifying"))
        outer = outer.where(exp.column("_qualified"))
        if order is not None:
            outer.set("order", order)
        return outer
    if name == "query_table" and args:
        return _call("identifier", args[0])
    return node
