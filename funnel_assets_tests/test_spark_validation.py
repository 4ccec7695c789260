"""Great Expectations on a Spark DataFrame gives the outcomes it gives on the same rows as a pandas frame.

The expectations are the project's own (the downstream checks' suites, the raw checks' figure and shape
expectations); each frame has planted bad rows, and both engines must name exactly those rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from funnel_assets.lib.quality.downstream import MART_SHAPES, STAGE_CHECKS, STAGE_TIMES, _expectations, _mart_checks
from funnel_assets.lib.quality.gx import validate
from funnel_assets.lib.quality.suites import EQUAL, MAX, MIN, figure_expectation, table_shape_expectation

T0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
W1, W2 = date(2025, 3, 3), date(2025, 3, 10)


def both(spark, columns: dict[str, str], rows: list[tuple], expectations, index_columns=("_row",)):
    """The outcomes on pandas (the frame DuckDB's engine.frame would give: NaN/NaT for nulls) and on Spark."""
    from funnel_assets.lib.engines.spark_validation import validate as validate_on_spark

    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    for name, kind in columns.items():
        if kind == "timestamp":
            frame[name] = pd.to_datetime(frame[name], utc=True)
    schema = ", ".join(f"`{name}` {kind}" for name, kind in columns.items())
    spark_frame = spark.createDataFrame(rows, schema)
    # the expectations are built twice: a suite takes its expectations over
    on_pandas = validate(frame, expectations(), list(index_columns))
    on_spark = validate_on_spark(spark_frame, expectations(), list(index_columns))
    return on_pandas, on_spark


def failing_rows(outcomes) -> dict[str, set[int]]:
    failing: dict[str, set[int]] = {}
    for o in outcomes:
        if not o.success:
            failing.setdefault(o.check, set()).update(int(r["_row"]) for r in o.unexpected)
    return failing


def assert_same(on_pandas, on_spark) -> None:
    assert len(on_spark) == len(on_pandas)
    for p, s in zip(on_pandas, on_spark):
        assert (s.check, s.expectation, s.success) == (p.check, p.expectation, p.success)
        assert s.unexpected == p.unexpected, s.expectation
        assert s.observed == p.observed, s.expectation


STAGE_COLUMNS = {"_row": "bigint", "_week": "date", "cohort_week": "date", "user_pid": "string",
                 "developer_pid": "string", **{t: "timestamp" for t in STAGE_TIMES}}


def stage_row(row: int, user: str | None, developer: str | None, **times) -> tuple:
    stage = {t: None for t in STAGE_TIMES} | {"intent_at": T0, "account_created_at": T0 + timedelta(minutes=5)} | times
    return (row, W1, W1, user, developer, *stage.values())


SPAN = (T0 - timedelta(days=1), T0 + timedelta(days=30))


def stage_expectations():
    return [x for check in STAGE_CHECKS for x in _expectations(check, None, SPAN)]


def test_clean_developer_stages_pass_on_both(spark):
    rows = [stage_row(i, f"u{i}", f"d{i}", credential_provisioned_at=T0 + timedelta(hours=1),
                      first_api_call_at=T0 + timedelta(hours=2)) for i in range(5)]
    on_pandas, on_spark = both(spark, STAGE_COLUMNS, rows, stage_expectations)
    assert all(o.success for o in on_pandas)
    assert_same(on_pandas, on_spark)


def test_planted_bad_developer_stages_fail_with_the_same_rows(spark):
    rows = [stage_row(i, f"u{i}", f"d{i}") for i in range(6)]
    rows[1] = stage_row(1, "u0", "d1")  # a second row for u0
    rows[2] = stage_row(2, "u2", None)  # a row without a developer
    rows[3] = stage_row(3, "u3", "d3", credential_provisioned_at=T0 + timedelta(hours=2),
                        first_api_call_at=T0 + timedelta(hours=1))  # a call before the key
    rows[4] = stage_row(4, "u4", "d4", intent_at=T0 - timedelta(days=9))  # outside the data's span
    on_pandas, on_spark = both(spark, STAGE_COLUMNS, rows, stage_expectations)
    assert_same(on_pandas, on_spark)
    names = [c.name for c in STAGE_CHECKS]
    assert failing_rows(on_spark) == {names[0]: {0, 1, 2}, names[1]: {3}, names[2]: {4}}


CONVERSION = next(s for s in MART_SHAPES if s.table == "mart_stage_conversion")
CONVERSION_COLUMNS = {"_row": "bigint", "_week": "date", "cohort_week": "date", "from_stage": "string",
                      "to_stage": "string", "window_days": "bigint", "entered": "bigint", "converted": "bigint",
                      "rate": "double", "rate_so_far": "double", "is_complete": "boolean"}


def conversion_expectations():
    return [x for check in _mart_checks(CONVERSION) for x in _expectations(check, CONVERSION, None)]


def conversion_row(row: int, window: int, entered=10, converted=4, rate=0.4, so_far=0.4, complete=True, week=W1):
    return (row, week, week, "account", "credential", window, entered, converted, rate if complete else None, so_far,
            complete)


def test_planted_bad_mart_rows_fail_with_the_same_rows(spark):
    rows = [
        conversion_row(0, 7),
        conversion_row(1, 14, rate=1.25, so_far=1.25),  # a rate above 1
        conversion_row(2, 30, entered=3, converted=5, rate=None, so_far=None),  # more converted than entered
        conversion_row(3, 7, week=W2, complete=False),
        (4, W2, W2, "account", "credential", 14, 10, 4, 0.4, 0.4, False),  # a final rate while incomplete
        conversion_row(5, 7, week=W2),  # the same grain as row 3
    ]
    on_pandas, on_spark = both(spark, CONVERSION_COLUMNS, rows, conversion_expectations)
    assert_same(on_pandas, on_spark)
    grain, rates, at_most, final = (c.name for c in _mart_checks(CONVERSION))
    assert failing_rows(on_spark) == {grain: {3, 5}, rates: {1}, at_most: {2}, final: {4}}


def test_figures_against_thresholds_and_the_table_shape(spark):
    columns = {"week": "date", "late_share": "double", "late_share__threshold": "double", "lines": "bigint",
               "reconciled": "bigint", "reconciled__threshold": "bigint"}
    rows = [(W1, 0.01, 0.05, 900, 1000, 1000), (W2, 0.2, 0.05, 10, 990, 1000), (W2 + timedelta(7), None, 0.05, 0, 0, 0)]

    def expectations():
        return [figure_expectation("late_share", MAX, 0.05), figure_expectation("lines", MIN, 100),
                figure_expectation("reconciled", EQUAL, None), table_shape_expectation("shape", list(columns)),
                table_shape_expectation("shape_wrong", ["week", "lines"])]

    on_pandas, on_spark = both(spark, columns, rows, expectations, index_columns=("week",))
    assert_same(on_pandas, on_spark)
    assert [o.success for o in on_spark] == [False, False, False, True, False]
    assert [o.unexpected for o in on_spark[:3]] == [[{"week": W2}], [{"week": W2}, {"week": W2 + timedelta(7)}],
                                                    [{"week": W2}]]


def test_a_pandas_row_condition_becomes_spark_sql():
    from funnel_assets.lib.engines.spark_validation import spark_condition

    assert spark_condition("is_complete == False") == "(`is_complete` = false)"
    assert spark_condition("a >= 1 and not (b != 'x') or c < 2.5") == \
        "(((`a` >= 1) and (not (`b` <> 'x'))) or (`c` < 2.5))"
    with pytest.raises(ValueError, match="no Spark SQL translation"):
        spark_condition("a.isnull()")
