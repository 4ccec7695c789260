"""Funnel statistics of a set of developers, as the pipeline defines them.

The simulator observes every developer for the whole follow-up, so nothing
here is censored: each statistic is over all developers (or all who reached
the `from` stage), which is what the pipeline reports for complete cohorts.
"""

from __future__ import annotations

import numpy as np

from .model import DAY, SECOND, STAGE_TIME_COLUMNS
from .parameters import ACCOUNT_TYPES, CHANNELS, CLIENT_KINDS, CLIENT_NAMES, CLIENTS, EMAIL_SEGMENTS, MAX_DEPTH, Parameters

TRANSITIONS = (
    ("intent", "account_created", 7),
    ("account_created", "credential_provisioned", 7),
    ("credential_provisioned", "first_api_call", 7),
    ("first_api_call", "first_integration_milestone", 7),
    ("first_integration_milestone", "active_integration", 7),
    ("active_integration", "production_deployment", 7),
    ("account_created", "first_api_call", 7),
    ("first_api_call", "active_integration", 14),
    ("active_integration", "production_deployment", 30),
)
TTFAC_QUANTILES = (0.25, 0.50, 0.75, 0.90)
PRODUCTION_DAYS = (30, 60, 90)

DEFINITIONS = {
    "transitions": (
        "key 'from->to@w'. entered = developers who reached `from` (for a `from` other than account_created "
        "and intent: no later than horizon_days after account_created); converted = those of them whose `to` "
        "time is <= from time + w days (boundary inclusive; a `to` reached earlier counts); rate = converted / entered."
    ),
    "intent->account_created@7": (
        "over visitors, not developers: entered = visitors with an observed intent (a qualifying page view; "
        "signed-up developers whose intent is observed plus anonymous visitors who never signed up), "
        "converted = developers whose account_created <= intent + 7 days."
    ),
    "ttfac": (
        "first_api_call - account_created in seconds over developers who called (no horizon); quantiles "
        "linear-interpolated (numpy method='linear', DuckDB quantile_cont); never_called = developers - called."
    ),
    "clients": (
        "over developers who called: the class (sdk / raw_http / unknown) and client name of the user agent "
        "of their first 2xx request; no or a browser user agent is unknown."
    ),
    "first_session_depth": (
        "over developers who called: distinct endpoints (method + route template) among 2xx requests in "
        "[first call, first call + 24 h]; production_rate_by_depth = share with production_deployment <= "
        "account_created + 90 days."
    ),
    "production_rate": "over all developers: production_deployment <= account_created + d days, d = 30, 60, 90.",
    "shares": "channel, account type and e-mail engagement segment shares over all developers.",
    "orgs": (
        "over organisations (developers sharing an org_id; individuals have none): an organisation signs up when "
        "its first developer does; early_second_developer = its second developer signed up no later than "
        "org_second_developer_days after the first; produced = any of its developers' production_deployment <= "
        "the organisation's signup + horizon_days; lift = the early organisations' rate / the others' rate."
    ),
}


def _rate(converted: int, entered: int) -> float | None:
    return converted / entered if entered else None


def _shares(codes: np.ndarray, names: tuple, denominator: int) -> dict[str, float | None]:
    counts = np.bincount(codes, minlength=len(names))
    totals: dict[str, int] = {}
    for name, count in zip(names, counts):
        totals[name] = totals.get(name, 0) + int(count)
    return {name: _rate(count, denominator) for name, count in totals.items()}


def _transition(arrays, from_stage, to_stage, window_days, horizon_days) -> dict:
    signup = arrays["signup_at"]
    from_at = arrays[STAGE_TIME_COLUMNS[from_stage]]
    to_at = arrays[STAGE_TIME_COLUMNS[to_stage]]
    if from_stage == "intent":
        reached = arrays["intent_observed"]
        entered = int(reached.sum() + arrays["visitor_has_intent"].sum())
    else:
        reached = ~np.isnan(from_at)
        if from_stage != "account_created":
            reached &= from_at <= signup + horizon_days * DAY
        entered = int(reached.sum())
    converted = int((reached & (to_at <= from_at + window_days * DAY)).sum())
    return {
        "from_stage": from_stage,
        "to_stage": to_stage,
        "window_days": window_days,
        "entered": entered,
        "converted": converted,
        "rate": _rate(converted, entered),
    }


def _ttfac(arrays, quantile_grid: bool) -> dict:
    ttfac_s = (arrays["first_call_at"] - arrays["signup_at"]) / SECOND
    called = ttfac_s[~np.isnan(ttfac_s)]
    n = len(ttfac_s)
    stats = {"developers": n, "called": len(called), "never_called": n - len(called)}
    for q in TTFAC_QUANTILES:
        stats[f"p{round(q * 100)}_s"] = float(np.quantile(called, q, method="linear")) if len(called) else None
    if quantile_grid and len(called):
        grid = np.round(np.arange(1, 100) / 100, 2)
        values = np.quantile(called, grid, method="linear")
        stats["quantile_grid_s"] = {f"{q:.2f}": float(v) for q, v in zip(grid, values)}
    return stats


def _clients(arrays) -> dict:
    called = arrays["client"] >= 0
    callers = int(called.sum())
    names = np.array([CLIENT_NAMES.index(name) for name, _, _ in CLIENTS])[arrays["client"][called]]
    return {
        "callers": callers,
        "client_kind_share": _shares(arrays["client_kind"][called], CLIENT_KINDS, callers),
        "client_name_share": _shares(names, CLIENT_NAMES, callers),
    }


def _depth(arrays, horizon_days) -> dict:
    depth = arrays["first_session_depth"]
    called = depth > 0
    callers = int(called.sum())
    produced = arrays["production_at"] <= arrays["signup_at"] + horizon_days * DAY
    by_depth = {str(d): int((depth == d).sum()) for d in range(1, MAX_DEPTH + 1)}
    return {
        "callers": callers,
        "callers_by_depth": by_depth,
        "depth_share": {d: _rate(count, callers) for d, count in by_depth.items()},
        "depth_ge3_share": _rate(int((depth >= 3).sum()), callers),
        "production_rate_by_depth": {
            d: _rate(int((produced & (depth == int(d))).sum()), count) for d, count in by_depth.items()
        },
    }


def _production_rate(arrays) -> dict:
    n = len(arrays["signup_at"])
    delay = arrays["production_at"] - arrays["signup_at"]
    stats: dict = {"developers": n}
    for days in PRODUCTION_DAYS:
        produced = int((delay <= days * DAY).sum())
        stats[f"produced_{days}d"] = produced
        stats[f"rate_{days}d"] = _rate(produced, n)
    return stats


def summarize(arrays: dict[str, np.ndarray], params: Parameters, quantile_grid: bool = False) -> dict:
    """The funnel statistics of `arrays` (from `draw_developers`); DEFINITIONS says how each is defined."""
    n = len(arrays["signup_at"])
    horizon = params.horizon_days
    return {
        "developers": n,
        "visitors_with_intent": int(arrays["intent_observed"].sum() + arrays["visitor_has_intent"].sum()),
        "channel_share": _shares(arrays["channel"], CHANNELS, n),
        "account_type_share": _shares(arrays["account_type"], ACCOUNT_TYPES, n),
        "email_segment_share": _shares(arrays["email_segment"], EMAIL_SEGMENTS, n),
        "transitions": {
            f"{f}->{t}@{w}": _transition(arrays, f, t, w, horizon) for f, t, w in TRANSITIONS
        },
        "ttfac": _ttfac(arrays, quantile_grid),
        "clients": _clients(arrays),
        "first_session_depth": _depth(arrays, horizon),
        "production_rate": _production_rate(arrays),
    }
