"""Checks past the raw layer: `developer_stages`, every mart and the identity map, judged row by row.

These tables are small (a row per developer, a few rows per cohort), so here
Great Expectations validates the rows themselves, not per-week figures as
the raw checks do: DuckDB selects the asset's rows for the weeks of the run
(beside the rows that must exist: every developer of those weeks, every
cohort week that must be reported), GX runs one suite over that frame, and
each failing row is evidence (pseudonymous ids only: these tables hold no
other kind). Every one of these checks blocks (ERROR): a wrong row here is a
wrong number on a dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from funnel_assets.lib.engines import Engine, read_sql
from funnel_assets.lib.quality.catalogue import DOWNSTREAM, Check
from funnel_assets.lib.quality.figures import records
from funnel_assets.lib.quality.outcome import SAMPLE_SIZE, Outcome, WeekFigure
from funnel_assets.lib.quality.suites import MAX
from funnel_assets.lib.quality.thresholds import RawThresholds

SQL = Path(__file__).parent / "sql"

STAGES = "developer_stages"
KEY_OWNERS = "identity_key_owners"
STAGE_TIMES = [
    "intent_at", "account_created_at", "credential_provisioned_at", "first_api_call_at",
    "first_integration_milestone_at", "active_integration_at", "production_deployment_at",
]
# the data's span reaches as far past its landing days as the raw layer lets a record's time go
SPAN_TOLERANCE_MINUTES = RawThresholds().future_tolerance_minutes


@dataclass(frozen=True)
class MartShape:
    """What a mart's rows must satisfy; each non-empty field is one check."""

    table: str
    grain: tuple[str, ...]  # the columns that, with cohort_week, identify a row
    grain_name: str  # in the check's name: has_one_row_per_<grain_name>
    required_weeks: str  # which cohort weeks must have rows: every (week of the run), developers, callers
    rates: tuple[str, ...] = ()  # shares, each within [0, 1]
    at_most: tuple[tuple[str, str], ...] = ()  # (count, its bound): converted <= entered
    at_most_name: str = ""  # in the check's name: has_<at_most_name>
    ordered: tuple[str, ...] = ()  # never decreasing from left to right (percentiles)
    final: tuple[str, ...] = ()  # final rates: null while the row is not complete


MART_SHAPES = [
    MartShape("mart_stage_conversion", ("from_stage", "to_stage", "window_days"), "cohort_week_and_transition",
              "every", rates=("rate", "rate_so_far"), at_most=(("converted", "entered"),),
              at_most_name="no_more_converted_than_entered", final=("rate",)),
    MartShape("mart_ttfac_by_cohort", (), "cohort_week", "developers",
              at_most=(("called", "developers"), ("never_called", "developers")),
              at_most_name="no_more_callers_than_developers", ordered=("p25_s", "p50_s", "p75_s", "p90_s")),
    MartShape("mart_sdk_usage", ("client_kind", "client_name"), "cohort_week_and_client", "callers",
              rates=("developer_share", "request_share")),
    MartShape("mart_first_session_depth", ("depth",), "cohort_week_and_depth", "callers",
              rates=("share", "share_at_least", "production_rate")),
    MartShape("mart_production_rate", (), "cohort_week", "developers", rates=("rate_30d", "rate_60d", "rate_90d"),
              at_most=(("production_30d", "production_60d"), ("production_60d", "production_90d"),
                       ("production_90d", "developers")),
              at_most_name="no_more_in_production_than_developers"),
    MartShape("mart_first_day_errors", ("endpoint", "status"), "cohort_week_endpoint_and_status", "callers",
              rates=("share_of_first_day_requests", "endpoint_error_rate"), at_most=(("developers", "requests"),),
              at_most_name="no_more_developers_than_requests"),
    MartShape("mart_segment_conversion", ("segment", "segment_value"), "cohort_week_and_segment", "developers",
              rates=("first_call_7d_rate", "active_14d_rate_of_callers", "production_90d_rate")),
    MartShape("mart_bottleneck", (), "cohort_week", "every", rates=("rate",), final=("rate",)),
]
_WEEKS_DESCRIBED = {
    "every": "every week of the run",
    "developers": "every week with developers",
    "callers": "every week with developers who called",
}


def _check(name: str, asset: str, kind: str, unit: str, description: str) -> Check:
    return Check(name, asset, kind, True, unit, description, DOWNSTREAM, (STAGES,) if asset.startswith("mart_") else ())


def _mart_checks(shape: MartShape) -> list[Check]:
    t = shape.table
    grain = ", ".join(("cohort_week", *shape.grain))
    checks = [_check(f"{t}_has_one_row_per_{shape.grain_name}", t, "grain", "rows",
                     f"Every cohort week that must be reported ({_WEEKS_DESCRIBED[shape.required_weeks]}) is "
                     f"present, and no two rows share {grain}.")]
    if shape.rates:
        checks.append(_check(f"{t}_has_rates_between_0_and_1", t, "rates", "rows",
                             f"0 <= {', '.join(shape.rates)} <= 1."))
    if shape.at_most:
        bounds = ", ".join(f"{small} <= {large}" for small, large in shape.at_most)
        checks.append(_check(f"{t}_has_{shape.at_most_name}", t, "at_most", "rows", f"Counts within bounds: {bounds}."))
    if shape.ordered:
        checks.append(_check(f"{t}_has_ordered_percentiles", t, "ordered", "rows", " <= ".join(shape.ordered) + "."))
    if shape.final:
        checks.append(_check(f"{t}_has_no_final_rate_while_incomplete", t, "final", "rows",
                             f"A row not yet complete (right-censored) carries no final {', '.join(shape.final)}: "
                             f"its rate is provisional (rate_so_far), never a low final rate."))
    return checks


STAGE_CHECKS = [
    _check(f"{STAGES}_has_one_row_per_developer", STAGES, "one_row_per_developer", "developers",
           "Every developer (auth user) of the cohort weeks has exactly one row, and every row is such a developer."),
    _check(f"{STAGES}_has_no_first_call_before_the_first_key", STAGES, "call_after_key", "developers",
           "first_api_call_at is never earlier than credential_provisioned_at (when both are reached)."),
    _check(f"{STAGES}_has_stage_times_within_the_data_span", STAGES, "within_span", "developers",
           f"Every stage time lies within the landing data's span: from the start of its first landing day to the "
           f"end of its last, give or take {SPAN_TOLERANCE_MINUTES:g} minutes (the raw layer's future tolerance)."),
]
KEY_OWNER_CHECKS = [
    _check(f"{KEY_OWNERS}_has_one_owner_per_key_at_any_time", KEY_OWNERS, "one_owner", "key issues",
           "The validity windows of one key never overlap (an open window ends never), whoever wrote them "
           "(the pipeline or the platform), so every request has at most one owner."),
]


def downstream_checks() -> list[Check]:
    return STAGE_CHECKS + [c for shape in MART_SHAPES for c in _mart_checks(shape)] + KEY_OWNER_CHECKS


def checks_on(asset: str) -> list[Check]:
    return [c for c in downstream_checks() if c.asset == asset]


def _expectations(check: Check, shape: MartShape | None, span: tuple[datetime, datetime] | None) -> list:
    import great_expectations as gx

    e = gx.expectations
    meta = {"check": check.name}

    def a_at_least_b(a: str, b: str):
        return e.ExpectColumnPairValuesAToBeGreaterThanB(column_A=a, column_B=b, or_equal=True,
                                                         ignore_row_if="either_value_is_missing", meta=meta)

    match check.kind:
        case "one_row_per_developer":
            return [e.ExpectColumnValuesToBeUnique(column="user_pid", meta=meta),
                    e.ExpectColumnValuesToNotBeNull(column="user_pid", meta=meta),  # a developer without a row
                    e.ExpectColumnValuesToNotBeNull(column="developer_pid", meta=meta)]  # a row without a developer
        case "call_after_key":
            return [a_at_least_b("first_api_call_at", "credential_provisioned_at")]
        case "within_span":
            low, high = (pd.Timestamp(t) for t in span)
            return [e.ExpectColumnValuesToBeBetween(column=c, min_value=low, max_value=high, meta=meta)
                    for c in STAGE_TIMES]
        case "one_owner":
            return [a_at_least_b("valid_from", "previous_valid_to")]
        case "grain":
            unique = e.ExpectCompoundColumnsToBeUnique(column_list=["cohort_week", *shape.grain], meta=meta) \
                if shape.grain else e.ExpectColumnValuesToBeUnique(column="cohort_week", meta=meta)
            return [e.ExpectColumnValuesToNotBeNull(column="cohort_week", meta=meta), unique]  # null: a missing week
        case "rates":
            return [e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1, meta=meta) for c in shape.rates]
        case "at_most":
            return [a_at_least_b(large, small) for small, large in shape.at_most]
        case "ordered":
            return [a_at_least_b(high, low) for low, high in zip(shape.ordered, shape.ordered[1:])]
        case "final":
            return [e.ExpectColumnValuesToBeNull(column=c, row_condition="is_complete == False",
                                                 condition_parser="pandas", meta=meta) for c in shape.final]
    raise ValueError(f"{check.name}: no expectations for kind {check.kind!r}")


def _evidence_columns(check: Check, shape: MartShape | None) -> list[str]:
    match check.kind:
        case "one_row_per_developer":
            return ["cohort_week", "user_pid", "developer_pid"]
        case "call_after_key":
            return ["cohort_week", "user_pid", "credential_provisioned_at", "first_api_call_at"]
        case "within_span":
            return ["cohort_week", "user_pid", *STAGE_TIMES]
        case "one_owner":
            return ["key_pid", "user_pid", "source", "valid_from", "valid_to", "previous_valid_to"]
    columns = {"grain": [], "rates": list(shape.rates), "at_most": [c for pair in shape.at_most for c in pair],
               "ordered": list(shape.ordered), "final": ["is_complete", *shape.final]}[check.kind]
    # the week, then what identifies the row (a missing week: a null cohort_week), then what was judged
    return ["_week", *(["cohort_week"] if check.kind == "grain" else []), *shape.grain, *dict.fromkeys(columns)]


def evaluate_downstream_checks(engine: Engine, asset: str, week_start: date | None = None,
                               week_end: date | None = None, selected: set[str] | None = None) -> list[Outcome]:
    """The checks on `asset` (or the `selected` names), over the weeks [week_start, week_end) of a weekly asset."""
    checks = [c for c in checks_on(asset) if selected is None or c.name in selected]
    if not checks:
        return []
    params = {"week_start": week_start, "week_end": week_end}
    shape, span = None, None
    if asset == KEY_OWNERS:
        sql, sql_params = read_sql(SQL / "key_owner_issues.sql"), {}
    elif asset == STAGES:
        sql, sql_params = read_sql(SQL / "stage_rows.sql"), params
        span = engine.row(read_sql(SQL / "data_span.sql"), {"tolerance_seconds": int(SPAN_TOLERANCE_MINUTES * 60)})
    else:
        shape = next(s for s in MART_SHAPES if s.table == asset)
        sql, sql_params = read_sql(SQL / "mart_rows.sql"), {
            **params, "table": asset, "every_week": shape.required_weeks == "every",
            "callers_only": shape.required_weeks == "callers",
        }
    expectations = [x for check in checks for x in _expectations(check, shape, span)]
    # GX validates the rows where the engine holds them; the frame gives the failing rows' evidence
    frame = engine.frame(sql, sql_params)
    failing: dict[str, set[int]] = {}
    for result in engine.validate_rows(sql, sql_params, expectations, ["_row"], fetched=frame):
        failing.setdefault(result.check, set()).update(int(row["_row"]) for row in result.unexpected)
    frame = frame.set_index("_row", drop=False)
    weeks = [None] if week_start is None else \
        [d.date() for d in pd.date_range(week_start, week_end, freq="7D", inclusive="left")]
    with_rows = set() if week_start is None else {pd.Timestamp(w).date() for w in frame["_week"].dropna()}
    return [_outcome(check, frame.loc[sorted(failing.get(check.name, ()))], weeks, with_rows, shape)
            for check in checks]


def _outcome(check: Check, bad: pd.DataFrame, weeks: list[date | None], with_rows: set[date],
             shape: MartShape | None) -> Outcome:
    evidence = bad[[c for c in _evidence_columns(check, shape) if c in bad.columns]]
    # an unpartitioned asset (the identity map) is one figure for the whole table; else the failing rows are
    # split by week once (most weeks have none: no frame work for them, whatever the number of weeks)
    if weeks == [None]:
        failing = {None: evidence}
    else:
        failing = dict(list(evidence.groupby(pd.to_datetime(bad["_week"]).dt.date)))
    figures = []
    for week in weeks:
        rows = failing.get(week)
        count = 0 if rows is None else len(rows)
        sample = [] if rows is None else records(rows.head(SAMPLE_SIZE).rename(columns={"_week": "week"}))
        figure = WeekFigure(week or date.min, count, 0, failing_rows=count, sample=sample,
                            has_data=week in with_rows)
        figure.passed = count == 0
        figures.append(figure)
    return Outcome(check, MAX, figures, {"judged": "every row of the asset in the run's weeks, by Great Expectations"})
