"""Great Expectations 1.x on a Spark DataFrame: the same outcomes `quality.gx.validate` gives on a pandas frame.

`validate(frame, expectations, index_columns)` validates the DataFrame where
it is (GX's Spark data source: `add_spark`, a dataframe asset, a batch of the
whole DataFrame), so the rows never come to the driver; only GX's results
do. GX on Spark reports unexpected rows as on pandas (`unexpected_index_list`
with the index columns, COMPLETE result format), so the outcomes are built
by the same code (`gx.validate_batch`). Two things differ and are handled here:

- a `row_condition` written for pandas (`condition_parser="pandas"`, e.g.
  `is_complete == False`, as the downstream checks write it) is translated
  to Spark SQL (`is_complete = false`, `condition_parser="spark"`);
- Spark gives the unexpected rows in no set order: they are sorted by the
  index columns (pandas gives them in the frame's order, which for the
  project's frames is the index order).
"""

from __future__ import annotations

import ast

from pyspark.sql import DataFrame

from funnel_assets.lib.quality.gx import ExpectationOutcome, ephemeral_context, validate_batch

_COMPARISONS = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def spark_condition(condition: str) -> str:
    """A pandas `query` row condition (names, literals, comparisons, and/or/not) as a Spark SQL expression."""

    def render(node: ast.AST) -> str:
        match node:
            case ast.Expression(body=body):
                return render(body)
            case ast.BoolOp(op=op, values=values):
                return "(" + f" {'and' if isinstance(op, ast.And) else 'or'} ".join(render(v) for v in values) + ")"
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return f"(not {render(operand)})"
            case ast.Compare(left=left, ops=ops, comparators=right) if all(type(o) in _COMPARISONS for o in ops):
                terms = [render(left), *(render(r) for r in right)]
                return "(" + " and ".join(f"{a} {_COMPARISONS[type(o)]} {b}"
                                          for a, o, b in zip(terms, ops, terms[1:])) + ")"
            case ast.Name(id=name):
                return "`" + name.replace("`", "``") + "`"
            case ast.Constant(value=bool() as value):
                return str(value).lower()
            case ast.Constant(value=int() | float() as value):
                return repr(value)
            case ast.Constant(value=str() as value):
                return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        raise ValueError(f"row condition {condition!r}: {ast.dump(node)} has no Spark SQL translation here")

    return render(ast.parse(condition, mode="eval"))


def _for_spark(expectation):
    """A copy of `expectation` that GX can evaluate on Spark (its row condition in Spark SQL)."""
    from great_expectations.expectations.row_conditions import PassThroughCondition

    update = {"id": None}
    condition = getattr(expectation, "row_condition", None)
    if condition is not None and getattr(expectation, "condition_parser", None) == "pandas":
        # GX keeps a pandas condition string as a pass-through filter (given to DataFrame.query)
        text = condition.pass_through_filter if isinstance(condition, PassThroughCondition) else condition
        update |= {"row_condition": PassThroughCondition(pass_through_filter=spark_condition(text)),
                   "condition_parser": "spark"}
    return expectation.copy(update=update, deep=True)  # GX 1.x expectations are pydantic v1 models


def _order(value):
    return (value is None, value if value is not None else 0)


def validate(frame: DataFrame, expectations: list, index_columns: list[str]) -> list[ExpectationOutcome]:
    """Validate the Spark DataFrame `frame` against `expectations` (each carrying meta={"check": name}).

    The outcomes are those `quality.gx.validate` gives for the same rows as a pandas frame; `unexpected` lists the
    index columns of each failing row, sorted by them."""
    batch = (
        ephemeral_context().data_sources.add_spark("quality")
        .add_dataframe_asset("rows")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    outcomes = validate_batch(batch, [_for_spark(e) for e in expectations], index_columns)
    return [
        ExpectationOutcome(
            check=o.check,
            success=o.success,
            expectation=o.expectation,
            unexpected=sorted(o.unexpected, key=lambda row: [_order(row.get(k)) for k in index_columns]),
            observed=o.observed,
        )
        for o in outcomes
    ]
