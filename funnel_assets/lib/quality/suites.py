"""Expectation suites: which Great Expectations expectation judges each check, with its threshold.

Every check's figures sit in one frame: a row per week, a column per check
(observed values; None where the check does not apply that week), and a
threshold column for checks compared with a per-week figure. Each check gets
one expectation on its column. The raw
table's shape gets an expectation derived from the contract: its columns, in
order, are the contract's (every version's fields), the derived columns and
the lineage columns.
"""

from __future__ import annotations

MAX, MIN, EQUAL = "max", "min", "equal"


def figure_expectation(check: str, comparison: str, threshold: float | int | None):
    """The check's column against its threshold: <= (MAX), >= (MIN), or == its threshold column (EQUAL)."""
    import great_expectations as gx

    meta = {"check": check}
    if comparison == EQUAL:
        return gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A=check, column_B=f"{check}__threshold", ignore_row_if="either_value_is_missing", meta=meta
        )
    bound = {"max_value": threshold} if comparison == MAX else {"min_value": threshold}
    return gx.expectations.ExpectColumnValuesToBeBetween(column=check, **bound, meta=meta)


def table_shape_expectation(check: str, columns: list[str]):
    """The raw table has exactly these columns, in this order (contract fields, derived, lineage)."""
    import great_expectations as gx

    return gx.expectations.ExpectTableColumnsToMatchOrderedList(column_list=columns, meta={"check": check})
