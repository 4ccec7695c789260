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


def odds_ratio(a: float, b: float, c: float, d: float) -> tuple[float, float, float, float]:
    """Odds ratio of (a converted, b not) against (c converted, d not): estimate, 95 % CI, two-sided p.

    Woolf's log interval; with a zero cell, 0.5 is added to every cell (Haldane-Anscombe)."""
    from scipy.stats import norm

    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    log_or = np.log(a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    p = 2 * norm.sf(abs(log_or) / se)
    return float(np.exp(log_or)), float(np.exp(log_or - Z_95 * se)), float(np.exp(log_or + Z_95 * se)), float(p)


def odds_ratios(counts: pd.DataFrame, references: dict[str, str], outcome: str) -> pd.DataFrame:
    """One row per cohort week, factor and value: the counts with the odds ratio against the reference value."""
    rows = []
    for (week, factor), group in counts.groupby(["cohort_week", "factor"], sort=True):
        by_value = group.set_index("value")
        reference = references.get(factor)
        if reference not in by_value.index:
            reference = by_value.developers.idxmax()  # the most common value
        ref = by_value.loc[reference]
        c, d = float(ref.converted), float(ref.developers - ref.converted)
        for value, row in by_value.sort_index().iterrows():
            a, b = float(row.converted), float(row.developers - row.converted)
            estimate = (1.0, None, None, None) if value == reference else odds_ratio(a, b, c, d)
            rows.append({
                "cohort_week": week, "outcome": outcome, "factor": factor, "value": value, "reference": reference,
                "developers": int(row.developers), "converted": int(row.converted),
                "rate": row.converted / row.developers,
                "odds_ratio": estimate[0], "ci_low": estimate[1], "ci_high": estimate[2], "p_value": estimate[3],
                "pooled_from": row.pooled_from, "pooled_to": row.pooled_to, "cohorts_pooled": int(row.cohorts_pooled),
            })
    columns = ["cohort_week", "outcome", "factor", "value", "reference", "developers", "converted", "rate",
               "odds_ratio", "ci_low", "ci_high", "p_value", "pooled_from", "pooled_to", "cohorts_pooled"]
    return pd.DataFrame(rows, columns=columns)


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

