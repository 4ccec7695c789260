"""Why developers drop off: paths, leading-indicator anomalies, conversion drivers, docs friction.

Beside the metric marts and partitioned like them, by signup week. Sequences, counts and per-cohort
aggregates are SQL files in `sql/`; only small aggregated frames (the drivers' counts) and the
per-developer feature frame of the propensity model are pandas (lib/drivers.py).
"""


from datetime import timedelta

import dagster as dg
import pandas as pd

from funnel_assets.defs.marts.assets import COLUMNS, LATER_EVENTS, SQL, STAGES_DEP, _mart
from funnel_assets.defs.partitions import COHORT_HISTORY, COHORT_WINDOW
from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib import drivers
from funnel_assets.lib.cells import stage_members, stage_path_transitions
from funnel_assets.lib.engines import read_sql
from funnel_assets.lib.materialize import materialize_sql, partition_bounds

DIAGNOSTIC_COLUMNS = COLUMNS | {
    "converted": "The developer reached the to stage within the window (mart_paths); developers who reached the "
                 "outcome within its window (mart_conversion_drivers)",
    "path_rank": "1 = the most common path of this cohort, transition and outcome",
    "path": "Steps in order: a page by path, a request by endpoint and status (2xx as a class), a track event; "
            "a step repeated in a row is one step 'xN'",
    "steps": "Steps of the path, repeats collapsed (beyond path_max_steps the path ends in '...')",
    "share": "Share of the cohort's developers with this outcome of the transition who took this path",
    "median_seconds_to_convert": "Median time from the from stage to the to stage, converted paths only",
    "detour": "The first detour: an error, then a docs page, then a retry of the same endpoint",
    "indicator": "The leading indicator",
    "value": "Its value for the cohort",
    "baseline": "Median of the trailing complete weeks (at most baseline_weeks)",
    "lower": "Lower end of the band: baseline minus the larger of anomaly_mads x 1.4826 MAD and the relative floor",
    "upper": "Upper end of the band",
    "baseline_weeks_used": "Complete trailing weeks in the baseline",
    "relative_change": "value / baseline - 1",
    "is_anomaly": "Complete, at least min_baseline_weeks of baseline, and outside the band",
    "direction": "up or down for an anomaly; null when not judged (window open, too little baseline) or inside",
    "is_complete": "Every developer's window of the indicator (or outcome) has closed",
    "outcome": "The outcome stage and window, e.g. production_deployment within 90 days",
    "factor": "What the developers are split by",
    "reference": "The factor's value the others are compared with",
    "rate": "converted / developers",
    "odds_ratio": "Odds of the outcome with this value over the reference's (0.5 added to every cell when one is 0)",
    "ci_low": "Lower end of the 95 % confidence interval of the odds ratio (Woolf)",
    "ci_high": "Upper end of the 95 % confidence interval",
    "p_value": "Two-sided Wald test of odds ratio = 1",
    "pooled_from": "First complete cohort pooled into the estimate",
    "pooled_to": "Last complete cohort pooled",
    "cohorts_pooled": "Complete cohorts pooled (up to driver_pool_weeks ending at cohort_week)",
    "propensity": "Modelled probability of the outcome within its window",
    "depth_band": "First-session depth: no call, 1, 2 or 3+ distinct endpoints",
    "page_path": "The docs page",
    "visitors": "Developers of the cohort who viewed it",
    "views": "Their views of it",
    "rereaders": "Visitors who read it reread_min_views or more times in one sitting",
    "skimmers": "Visitors who left it within skim_seconds at least once",
    "visitor_call_rate": "Share of the visitors with a first successful call",
    "rereader_call_rate": "Share of the re-readers with a first successful call",
    "skimmer_call_rate": "Share of the skimmers with a first successful call",
    "rereader_no_call_rate": "Share of the re-readers without a first successful call",
    "cohort_call_rate": "Share of the cohort's developers with a first successful call",
    "rereader_no_call_excess": "rereader_no_call_rate minus the cohort's no-call rate",
    "friction_rank": "1 = the page with the most re-readers who never called",
}
EVENTS_DEP = dg.AssetDep("developer_events", partition_mapping=COHORT_WINDOW)
HISTORY_DEP = dg.AssetDep("developer_stages", partition_mapping=COHORT_HISTORY)
# Marts that pool complete cohorts (a 90-day outcome by default): empty until a cohort is complete.
POOLS_COMPLETE_COHORTS = frozenset({"mart_conversion_drivers", "mart_developer_propensity"})


def _params(funnel: FunnelResource, context: dg.AssetExecutionContext, history_weeks: int = 0) -> dict:
    start, end = partition_bounds(context)
    history_start = start - timedelta(weeks=history_weeks)
    return {**funnel.rules.params(), "week_start": start, "week_end": end, "history_start": history_start}


def _pool_params(funnel: FunnelResource, context: dg.AssetExecutionContext) -> dict:
    """The partition's parameters, with the pool of complete cohorts the drivers and the propensity read."""
    params = _params(funnel, context, history_weeks=funnel.rules.diagnostics.driver_pool_weeks)
    return params | {"pool_start": params["history_start"]}


def _stage_pool(engine, params: dict) -> None:
    """The pooled developers and their factors (docs re-reads among them), as mart_conversion_drivers_members."""
    stage_members(engine, "mart_docs_friction", {**params, "week_start": params["pool_start"]})
    stage_members(engine, "mart_conversion_drivers", params)


@_mart(deps=[STAGES_DEP, EVENTS_DEP])
def mart_paths(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort, path transition, outcome and common path, partitioned by signup week.

    For each of `diagnostics.path_transitions` (default account_created -> first_api_call in 7 days and
    first_api_call -> active_integration in 14): the steps developers took from the from stage to the to
    stage (converted) or to the window's end (not converted), as a path of page views, requests by
    endpoint and status, and track events; a step repeated in a row is one step `xN` (a loop of 401s).
    The `paths_kept` most common paths per outcome, with developers, share and median time to convert,
    and the first detour (an error, a docs page, a retry).
    """
    params = _params(funnel, context)
    with funnel.connect() as engine:
        stage_path_transitions(engine, [t.model_dump() for t in funnel.rules.diagnostics.path_transition_rules])
        stage_members(engine, "mart_paths", params)
        return materialize_sql(context, engine, "mart_paths", SQL / "mart_paths.sql", params, "cohort_week",
                               preview=True, descriptions=DIAGNOSTIC_COLUMNS)


# Rows read the trailing cohorts (HISTORY_DEP): a changed cohort changes the rows of the cohorts after it, which
# an incremental run rebuilds anyway (its cohorts run to the last week of data); no row carries the as-of time,
# no indicator counts events past a cohort's first weeks, and a cohort's completeness flips within the reach of
# the run's cohorts (incremental.cohort_reach).
@_mart(deps=[HISTORY_DEP, EVENTS_DEP])
def mart_leading_indicators(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort and leading indicator, partitioned by signup week.

    Signups, first successful call within 1 and 7 days, TTFAC p50 and p90 (of those within 7 days),
    first-day error rate overall and for 401, 400 and 429, SDK share and share with first-session depth
    >= 3 (of the 7-day callers), share who opened an onboarding e-mail within 7 days. Each against the
    median and MAD of up to `baseline_weeks` trailing complete weeks; flagged when complete, with at least
    `min_baseline_weeks` of baseline, and outside the band. A week still open is not judged. The new
    anomalies go to the alert sensor through this materialisation's metadata.
    """
    rules = funnel.rules.diagnostics
    params = _params(funnel, context, history_weeks=rules.baseline_weeks)
    with funnel.connect() as engine:
        result = materialize_sql(context, engine, "mart_leading_indicators", SQL / "mart_leading_indicators.sql",
                                 params, "cohort_week", preview=False, descriptions=DIAGNOSTIC_COLUMNS)
        anomalies = engine.frame(
            "select cohort_week, indicator, value, baseline, lower, upper, relative_change, direction "
            "from mart_leading_indicators where is_anomaly "
            "and cohort_week >= cast($week_start as date) and cohort_week < cast($week_end as date) "
            "order by cohort_week, indicator",
            params,
        )
    records = [
        {**row, "cohort_week": row["cohort_week"].date().isoformat() if hasattr(row["cohort_week"], "date")
         else str(row["cohort_week"])}
        for row in anomalies.to_dict("records")
    ]
    return dg.MaterializeResult(metadata={
        **result.metadata,
        "anomalies": dg.MetadataValue.json(records),
        "anomaly_count": len(records),
        "preview": dg.MetadataValue.md(anomalies.to_markdown(index=False) if len(anomalies) else "no anomalies"),
    })


# Rows pool the trailing cohorts (HISTORY_DEP), and a developer who never called counts a 401 or a docs page
# re-read of any later week as a factor: an incremental run refreshes these for every cohort.
@_mart(deps=[HISTORY_DEP, EVENTS_DEP], every_cohort=LATER_EVENTS)
def mart_conversion_drivers(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort, factor and value, partitioned by signup week.

    For the outcome (default production deployment within 90 days of signup), over the complete cohorts
    of the `driver_pool_weeks` weeks ending at the cohort: developers, converted, rate and the odds ratio
    against the factor's reference value with its 95 % interval and p-value. Factors: client kind,
    first-session depth band, a 401 / 400 / 429 before the first success, e-mail engagement, channel,
    account type, a docs page re-read before the first success, and signup on a weekday or the weekend.
    """
    rules = funnel.rules.diagnostics
    params = _pool_params(funnel, context)
    with funnel.connect() as engine:
        _stage_pool(engine, params)
        counts = engine.frame(read_sql(SQL / "mart_conversion_drivers_counts.sql"), params)
        table = drivers.odds_ratios(counts, rules.driver_references, f"{rules.outcome_stage} within {rules.outcome_days} d")
        engine.put_frame("_conversion_drivers", table, temporary=True)
        return materialize_sql(context, engine, "mart_conversion_drivers", None, params, "cohort_week",
                               preview=True, descriptions=DIAGNOSTIC_COLUMNS,
                               select_sql=drivers.SELECT_STAGED)


# Rows pool the trailing cohorts (HISTORY_DEP), and a developer who never called counts a 401 or a docs page
# re-read of any later week as a factor: an incremental run refreshes these for every cohort.
@_mart(deps=[HISTORY_DEP, EVENTS_DEP], every_cohort=LATER_EVENTS)
def mart_developer_propensity(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per developer of the cohort still inside the outcome window, partitioned by signup week.

    Pseudonymous. The probability of the outcome (default production within 90 days), from a logistic
    regression over the drivers' factors fitted on the complete cohorts of the `driver_pool_weeks` weeks
    before; its held-out AUC, Brier score and calibration by decile are in the materialisation.
    """
    params = _pool_params(funnel, context)
    with funnel.connect() as engine:
        _stage_pool(engine, params)
        features = engine.frame("select * from mart_conversion_drivers_members")
        scored, quality = drivers.propensity(features, params["week_start"])
        engine.put_frame("_developer_propensity", scored, temporary=True)
        result = materialize_sql(context, engine, "mart_developer_propensity", None, params, "cohort_week",
                                 preview=False, descriptions=DIAGNOSTIC_COLUMNS,
                                 select_sql=drivers.SELECT_PROPENSITY)
    return dg.MaterializeResult(metadata={**result.metadata, **_quality_metadata(quality)})


def _quality_metadata(quality: dict) -> dict:
    metadata = {k: v for k, v in quality.items() if k != "calibration"}
    if "calibration" in quality:
        metadata["calibration"] = dg.MetadataValue.md(pd.DataFrame(quality["calibration"]).to_markdown(index=False))
    return metadata


@_mart(deps=[STAGES_DEP, EVENTS_DEP], every_cohort=LATER_EVENTS)  # page views of any later week
def mart_docs_friction(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    """One row per signup-week cohort and docs page, partitioned by signup week.

    Visitors, views, re-readers (the same page `reread_min_views` or more times in one sitting), skimmers
    (left within `skim_seconds`) and the share of each who reached the first successful call; ranked by
    the re-readers who never called, the pages most associated with not converting first.
    """
    params = _params(funnel, context)
    with funnel.connect() as engine:
        stage_members(engine, "mart_docs_friction", params)
        return materialize_sql(context, engine, "mart_docs_friction", SQL / "mart_docs_friction.sql", params,
                               "cohort_week", preview=True, descriptions=DIAGNOSTIC_COLUMNS)
