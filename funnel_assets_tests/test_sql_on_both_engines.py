"""Every SQL file of the package runs on Spark (dialect.to_engine, spark_functions.install) and gives DuckDB's
rows, cell by cell: integers equal, floats to 1e-9, strings equal.

The inputs are real: the DuckDB pipeline runs on a small generated dataset (with duplicates and malformed
lines), then the trace commands and the retention deletes; each SQL file it runs is recorded with its bound
parameters, its input tables as they were (temp tables too) and DuckDB's answer (sql_capture.py). Spark reads
the same tables and runs the same file with the same parameters. A new SQL file that nothing here runs fails.
"""

from datetime import date
from pathlib import Path

import pytest

from funnel_assets.lib.engines import connect
from funnel_assets.lib.engines.dialect import keep_rows, spark_args, temp_table, to_engine
from funnel_assets.lib.engines.spark_functions import install
from funnel_assets.lib.simulator import generate
from funnel_assets_tests.sql_capture import SQL_FILES, capturing, differences, run_on_spark, sql_id
from funnel_assets_tests.test_privacy import AWS_KEY, BEARER, EMAIL, JWT, PARAM_SECRET, RANDOM_TOKEN, STRIPE_KEY

KEY = "a key: with 'quotes' and \\ backslashes"

# row_number() over an order with ties (a mart's rows by week): the numbers are a permutation of 1..n on either
# engine, so the rows are compared without them
TIE_NUMBERED = {"lib/quality/sql/mart_rows": "_row"}

RETENTION_TABLES = ["developer_events", "quarantine", "raw_analytics_events", "raw_email_events",
                    "raw_gateway_requests", "raw_support_tickets"]


@pytest.fixture(scope="module")
def captured(tmp_path_factory, definitions):
    from funnel_assets.cli import main
    from funnel_assets.defs.automation import jobs
    from funnel_assets.lib.retention import expire_rows
    from funnel_assets_tests.conftest import Pipeline

    root = tmp_path_factory.mktemp("both_engines")
    pipeline = Pipeline(definitions, root)
    generate(pipeline.data_dir, developers=80, weeks=3, seed=11, requests=3000, inject=["duplicates", "malformed_lines"])
    warehouse = pipeline.resource.warehouse_path
    with capturing(root / "cases") as capture:
        pipeline.run()
        week = ["--cohort", "2025-01-06", "--warehouse", warehouse, "--format", "json"]
        assert main(["trace", "mart_stage_conversion", "--from", "account_created", "--to", "first_api_call",
                     *week, "--reidentify"]) == 0
        assert main(["trace", "mart_org_developers_by_stage", "--stage", "first_api_call", *week]) == 0
        caller = pipeline.frame("select min(user_pid) as p from developer_stages where first_api_call_at is not null")
        assert main(["trace", "--developer", caller.p[0], "--warehouse", warehouse, "--format", "json"]) == 0
        with connect(Path(warehouse), pipeline.resource.pseudonym_key) as engine:
            expire_rows(engine, jobs.SQL, {table: date(2025, 1, 13) for table in RETENTION_TABLES})
    return capture, pipeline.resource.pseudonym_key


@pytest.fixture(scope="module")
def spark_engine(spark, captured):
    install(spark, captured[1])
    return spark


def test_the_package_sql_files_are_all_listed():
    assert len(SQL_FILES) >= 65
    assert {p.suffix for p in SQL_FILES} == {".sql"}


@pytest.mark.parametrize("path", SQL_FILES, ids=sql_id)
def test_the_sql_file_gives_the_same_rows_on_spark_as_on_duckdb(path, captured, spark_engine):
    cases = captured[0].cases.get(sql_id(path))
    assert cases, f"{sql_id(path)}.sql: nothing in this test ran it on DuckDB; make the `captured` fixture run it"
    for case in cases:
        columns, rows = run_on_spark(spark_engine, case)
        expected = case.expected
        numbered = TIE_NUMBERED.get(sql_id(path))
        if numbered:
            index = columns.index(numbered)
            assert sorted(r[index] for r in rows) == list(range(1, len(rows) + 1))
            assert sorted(expected[numbered]) == list(range(1, len(expected) + 1))
            rows = [r[:index] + r[index + 1:] for r in rows]
            columns = [c for c in columns if c != numbered]
            expected = expected.drop(columns=numbered)
        assert not differences(expected, columns, rows), (case.params, differences(expected, columns, rows))


def test_a_file_with_rows_is_compared_on_rows(captured):
    """The comparison is not vacuous: most files give rows on the test data."""
    with_rows = [name for name, cases in captured[0].cases.items() if any(len(c.expected) for c in cases)]
    assert len(with_rows) >= 50, sorted(set(captured[0].cases) - set(with_rows))


TEXTS = ["", "alice", "k_shared", "Zoë 東京 🚀", "o'brien\\path", f"ask {EMAIL} now", JWT,
         f"token={PARAM_SECRET}&page=2", f"Authorization: Bearer {BEARER}", f"key {STRIPE_KEY} and {AWS_KEY}",
         f"id {RANDOM_TOKEN}", "/v1/customers/{id}/payment_methods", f"req_{EMAIL}", "req_42"]


def test_pseudo_scrub_and_scrub_id_give_the_same_strings_on_both_engines(spark, tmp_path):
    sql = ("select t, pseudo(t) as p, scrub(t) as s, scrub_id(t) as i "
           "from (select unnest(cast($texts as varchar[])) as t union all select null)")
    with connect(tmp_path / "w.duckdb", KEY) as engine:
        duck = engine.frame(sql, {"texts": TEXTS})
    install(spark, KEY)
    try:
        ours = spark.sql(to_engine(sql, "spark"), args=spark_args(sql, {"texts": TEXTS})).collect()
    finally:
        spark.sql("drop temporary function if exists pseudo")
    assert len(duck) == len(TEXTS) + 1
    assert duck.p.notna().sum() == len(TEXTS)  # null in, null out; every text hashed
    assert "ask [email] now" in duck.s.tolist() and duck.s.isna().sum() == 1
    assert not differences(duck, list(duck.columns), [tuple(r) for r in ours], 0.0)


def test_a_temp_table_becomes_a_replaced_view_and_a_delete_the_rows_kept(spark):
    create = "create or replace temp table _answer as select $a as a"
    assert temp_table(create) == ("_answer", "SELECT $a AS a")
    for a in (1, 2):
        spark.sql(to_engine(create, "spark"), args=spark_args(create, {"a": a}))
    assert spark.sql("select a from _answer").collect()[0].a == 2
    table, kept = keep_rows("-- old rows\ndelete from _answer where a > $limit")
    assert table == "_answer"
    assert spark.sql(to_engine(kept, "spark"), args=spark_args(kept, {"limit": 5})).count() == 1
    assert spark.sql(to_engine(kept, "spark"), args=spark_args(kept, {"limit": 1})).count() == 0


def test_percentile_cont_within_group_is_the_exact_percentile_on_spark(spark, tmp_path):
    """sqlglot gives `percentile_cont(q) within group (order by x)` as a call Spark rejects (or, for other
    targets, the inexact percentile_approx); the rewrite makes it `percentile(x, q)`: 8.2, not a sample value."""
    sql = ("select g, percentile_cont(0.9) within group (order by case when x < 100 then x end) as p "
           "from (values (1, 1), (1, 2), (1, 4), (1, 10), (1, 100), (2, 100)) as t(g, x) group by g order by g")
    assert "percentile(" in to_engine(sql, "spark").lower() and "within group" not in to_engine(sql, "spark").lower()
    with connect(tmp_path / "w.duckdb", KEY) as engine:
        duck = engine.frame(sql)
    assert duck.p[0] == pytest.approx(8.2) and duck.p.isna()[1]  # exact interpolation; all-null group -> null
    ours = [tuple(r) for r in spark.sql(to_engine(sql, "spark")).collect()]
    assert not differences(duck, list(duck.columns), ours), ours


def test_date_diff_counts_the_boundaries_crossed_on_spark_as_on_duckdb(spark, tmp_path):
    """DuckDB's date_diff counts boundaries crossed (0.9 s to 2.1 s: 2 seconds; 23:00 to 01:00: 1 day), Spark's
    datediff whole units elapsed (1 and 0): the rewrite truncates both ends first."""
    sql = ("select date_diff('second', a, b) as s, date_diff('minute', a, b) as m, date_diff('hour', a, b) as h, "
           "date_diff('day', a, b) as d from (values "
           "(timestamp '2025-01-01 00:00:00.900', timestamp '2025-01-01 00:00:02.100'), "
           "(timestamp '2025-01-01 23:59:59.500', timestamp '2025-01-02 01:00:00.250')) as t(a, b) order by s")
    with connect(tmp_path / "w.duckdb", KEY) as engine:
        duck = engine.frame(sql)
    assert duck.values.tolist() == [[2, 0, 0, 0], [3601, 61, 2, 1]]
    ours = [tuple(r) for r in spark.sql(to_engine(sql, "spark")).collect()]
    assert not differences(duck, list(duck.columns), ours), ours
