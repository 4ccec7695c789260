"""The statistics of the conversion drivers and the propensity model, over small frames.

The counts (developers and converted per factor value) and the per-developer features come from SQL
(`mart_conversion_drivers_counts.sql`, `mart_conversion_drivers_members.sql`); this module turns counts
into odds ratios with Woolf intervals and Wald p-values, and fits a logistic regression on the complete
cohorts to score the developers whose window is still open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

Z_95 = 1.959963984540054
FACTORS = {  # factor -> its column in the members frame
    "client_kind": "client_kind",
    "first_session_depth": "depth_band",
    "401_before_first_success": "error_401_before_success",
    "400_before_first_success": "error_400_before_success",
    "429_before_first_success": "error_429_before_success",
    "email_engagement": "email_engagement",
    "channel": "channel",
    "account_type": "account_type",
    "docs_reread": "docs_reread",
    "signup_day": "signup_day",
}

# What the staged frames become: explicit types, so an empty partition keeps the table's shape.
SELECT_STAGED = """
select
    cast(cohort_week as date) as cohort_week,
    cast(outcome as varchar) as outcome,
    cast(factor as varchar) as factor,
    cast(value as varchar) as value,
    cast(reference as varchar) as reference,
    cast(developers as bigint) as developers,
    cast(converted as bigint) as converted,
    cast(rate as double) as rate,
    cast(odds_ratio as double) as odds_ratio,
    cast(ci_low as double) as ci_low,
    cast(ci_high as double) as ci_high,
    cast(p_value as double) as p_value,
    cast(pooled_from as date) as pooled_from,
    cast(pooled_to as date) as pooled_to,
    cast(cohorts_pooled as bigint) as cohorts_pooled
from _conversion_drivers
"""
SELECT_PROPENSITY = """
select
    cast(cohort_week as date) as cohort_week,
    cast(user_pid as varchar) as user_pid,
    cast(propensity as double) as propensity,
    cast(client_kind as varchar) as client_kind,
    cast(depth_band as varchar) as depth_band,
    cast(email_engagement as varchar) as email_engagement,
    cast(channel as varchar) as channel
from _developer_propensity
"""


ODDS_RATIO_COLUMNS = ["cohort_week", "outcome", "factor", "value", "reference", "developers", "converted", "rate",
           "odds_ratio", "ci_low", "ci_high", "p_value", "pooled_from", "pooled_to", "cohorts_pooled"]


def odds_ratio(a, b, c, d):
    """Odds ratios of (a converted, b not) against (c converted, d not), element by element: estimates, 95 % CIs
    and two-sided p-values, as arrays.

    Woolf's log interval; with a zero cell, 0.5 is added to every cell (Haldane-Anscombe)."""
    from scipy.stats import norm

    a, b, c, d = (np.asarray(x, dtype=float) for x in (a, b, c, d))
    corrected = 0.5 * (np.minimum(np.minimum(a, b), np.minimum(c, d)) == 0)
    a, b, c, d = a + corrected, b + corrected, c + corrected, d + corrected
    log_or = np.log(a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    p = 2 * norm.sf(np.abs(log_or) / se)
    return np.exp(log_or), np.exp(log_or - Z_95 * se), np.exp(log_or + Z_95 * se), p


def odds_ratios(counts: pd.DataFrame, references: dict[str, str], outcome: str) -> pd.DataFrame:
    """One row per cohort week, factor and value: the counts with the odds ratio against the reference value
    (the configured one where the factor has it, else the most common value), over all rows at once."""
    if counts.empty:
        return pd.DataFrame(columns=ODDS_RATIO_COLUMNS)
    frame = counts.reset_index(drop=True)
    groups = [frame.cohort_week, frame.factor]
    configured = frame.value.eq(frame.factor.map(references))
    most_common = frame.developers.eq(frame.groupby(groups).developers.transform("max"))
    first_most_common = most_common & most_common.astype(int).groupby(groups).cumsum().eq(1)
    is_reference = configured.where(configured.groupby(groups).transform("any"), first_most_common)
    reference = frame.loc[is_reference, ["cohort_week", "factor", "value", "developers", "converted"]].rename(
        columns={"value": "reference", "developers": "reference_developers", "converted": "reference_converted"})
    frame = frame.merge(reference, on=["cohort_week", "factor"], how="left")
    estimate, low, high, p = odds_ratio(frame.converted, frame.developers - frame.converted,
                                        frame.reference_converted,
                                        frame.reference_developers - frame.reference_converted)
    own = frame.value.eq(frame.reference).to_numpy()
    frame = frame.assign(
        outcome=outcome,
        rate=frame.converted / frame.developers,
        odds_ratio=np.where(own, 1.0, estimate),
        ci_low=np.where(own, np.nan, low),
        ci_high=np.where(own, np.nan, high),
        p_value=np.where(own, np.nan, p),
    )
    frame = frame.astype({"developers": int, "converted": int, "cohorts_pooled": int})
    return frame.sort_values(["cohort_week", "factor", "value"], ignore_index=True)[ODDS_RATIO_COLUMNS]


MIN_TRAINING_DEVELOPERS = 50


def propensity(features: pd.DataFrame, week_start: datetime) -> tuple[pd.DataFrame, dict]:
    """Fit on the complete developers (70 % to fit, 30 % held out), score the partition's open ones.

    Returns the scored frame and the model's held-out quality (AUC, Brier score, calibration by decile)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    columns = list(FACTORS.values())
    complete = features[features.is_complete.astype(bool)]
    in_partition = pd.to_datetime(features.cohort_week) >= pd.Timestamp(week_start).tz_localize(None)
    open_ = features[~features.is_complete.astype(bool) & in_partition]
    quality: dict[str, Any] = {"training_developers": len(complete), "scored_developers": len(open_)}
    empty = pd.DataFrame(columns=["cohort_week", "user_pid", "propensity", "client_kind", "depth_band",
                                  "email_engagement", "channel"])
    outcome = complete.converted.astype(bool)
    if len(complete) < MIN_TRAINING_DEVELOPERS or outcome.nunique() < 2:
        quality["note"] = "too few complete developers (or one outcome only) to fit a model"
        return empty, quality

    design = pd.get_dummies(features[columns].astype(str), drop_first=False, dtype=float)
    x, y = design.loc[complete.index], outcome.to_numpy()
    x_fit, x_held, y_fit, y_held = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x_fit, y_fit)
    held = model.predict_proba(x_held)[:, 1]
    quality |= {
        "held_out_developers": len(y_held),
        "held_out_auc": float(roc_auc_score(y_held, held)),
        "held_out_brier": float(brier_score_loss(y_held, held)),
        "held_out_base_rate": float(y_held.mean()),
        "calibration": calibration_table(y_held, held),
    }
    if open_.empty:
        return empty, quality
    scored = open_[["cohort_week", "user_pid", "client_kind", "depth_band", "email_engagement", "channel"]].copy()
    scored["propensity"] = model.predict_proba(design.loc[open_.index])[:, 1]
    return scored[empty.columns], quality


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted against observed rate per decile of the prediction."""
    frame = pd.DataFrame({"y": y.astype(float), "p": p})
    frame["bin"] = pd.qcut(frame.p.rank(method="first"), min(bins, len(frame)), labels=False)
    table = frame.groupby("bin").agg(developers=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    return [{k: (int(v) if k == "developers" else round(float(v), 4)) for k, v in row.items()}
            for row in table.reset_index(drop=True).to_dict("records")]

