"""The stage model: every developer's planted stage times, drawn vectorised.

`draw_developers` is used twice: for the developers written to the landing
files, and with a large n for the model-implied expected statistics. Times
are float64 epoch milliseconds holding whole numbers (exact in float64),
NaN when a stage is never reached. Delays are drawn from two separated
ranges ("within the window" or "clearly after it"), so a developer's side of
a window never hinges on a boundary.
"""

from __future__ import annotations

from datetime import datetime, time, timezone

import numpy as np

from .parameters import (
    ACCOUNT_TYPES,
    CHANNELS,
    CLIENT_KINDS,
    CLIENTS,
    EMAIL_SEGMENTS,
    PRODUCTION_SIGNALS,
    UNKNOWN_CHANNEL,
    Parameters,
)

SECOND = 1_000.0
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

STAGE_TIME_COLUMNS = {
    "intent": "intent_at",
    "account_created": "signup_at",
    "credential_provisioned": "key_at",
    "first_api_call": "first_call_at",
    "first_integration_milestone": "milestone_at",
    "active_integration": "active_at",
    "production_deployment": "production_at",
}


def epoch_ms(day) -> float:
    return datetime.combine(day, time(), tzinfo=timezone.utc).timestamp() * SECOND


def observation_end_ms(params: Parameters) -> float:
    """Every developer is followed until this common end (start + weeks + follow-up)."""
    return epoch_ms(params.start) + (params.weeks * 7 + params.follow_up_days) * DAY


def last_event_ms(params: Parameters) -> float:
    """Every record's time (and a stage's follow-up events) fits before this, an hour before the end."""
    return observation_end_ms(params) - HOUR


def _by_channel(table: dict, channel: np.ndarray) -> np.ndarray:
    """Each developer's value (or row of values) of a table keyed by channel name."""
    return np.array([table[name] for name in CHANNELS], dtype=float)[channel]


def _uniform(rng, n, low, high) -> np.ndarray:
    return low + rng.random(n) * (np.asarray(high) - np.asarray(low))


def _loguniform(rng, n, low, high) -> np.ndarray:
    log_low, log_high = np.log(low), np.log(high)
    return np.exp(log_low + rng.random(n) * (log_high - log_low))


def _categorical(rng, n, probabilities: np.ndarray) -> np.ndarray:
    """One draw per row from per-row (n, k) or shared (k,) probabilities."""
    cumulative = np.cumsum(np.broadcast_to(probabilities, (n, probabilities.shape[-1])), axis=1)
    cumulative /= cumulative[:, -1:]
    return (rng.random(n)[:, None] > cumulative).sum(axis=1).astype(np.int64)


def _signup_times(rng, n, p: Parameters) -> np.ndarray:
    days = p.weeks * 7
    weekday = (np.arange(days) + p.start.weekday()) % 7
    weights = np.where(weekday >= 5, p.weekend_signup_weight, 1.0)
    day = rng.choice(days, size=n, p=weights / weights.sum())
    hour = np.mod(rng.normal(p.signup_hour_utc_mean, p.signup_hour_utc_sd, n), 24.0)
    return epoch_ms(p.start) + day * DAY + hour * HOUR


def _clients(rng, n, channel, p: Parameters) -> tuple[np.ndarray, np.ndarray]:
    """Client kind and index into CLIENTS of each developer's first successful call."""
    unknown_share = p.unknown_client_share
    sdk = _by_channel(p.sdk_share, channel) * (1 - unknown_share)
    kind = _categorical(rng, n, np.column_stack([sdk, 1 - unknown_share - sdk, np.full(n, unknown_share)]))
    sdk_client = _categorical(rng, n, np.array(list(p.sdk_language_share.values())))
    raw_client = _categorical(rng, n, np.array(list(p.raw_client_share.values())))
    browser = rng.random(n) < p.browser_share_of_unknown_client
    sdk_index = np.array([_client_index(name) for name in p.sdk_language_share])
    raw_index = np.array([_client_index(name) for name in p.raw_client_share])
    unknown_browser, unknown_none = (i for i, c in enumerate(CLIENTS) if c[0] == "unknown")
    client = np.select(
        [kind == 0, kind == 1], [sdk_index[sdk_client], raw_index[raw_client]],
        np.where(browser, unknown_browser, unknown_none),
    )
    return kind, client


def _client_index(name: str) -> int:
    return next(i for i, c in enumerate(CLIENTS) if c[0] == name)


def _intent(rng, n, signup, channel, p: Parameters) -> dict[str, np.ndarray]:
    observed = channel != UNKNOWN_CHANNEL
    within = rng.random(n) < _by_channel(p.intent_within_week, channel)
    lead = np.where(
        within,
        _loguniform(rng, n, *p.intent_lead_within_week_minutes) * MINUTE,
        _uniform(rng, n, *p.intent_lead_late_days) * DAY,
    )
    nonqualifying_first = observed & (rng.random(n) < p.nonqualifying_first_view_share)
    first_view_lead = np.where(
        nonqualifying_first, _uniform(rng, n, *p.nonqualifying_first_view_lead_seconds) * SECOND, 0.0
    )
    intent = np.where(observed, signup - np.round(lead), signup)
    return {
        "intent_observed": observed,
        "intent_at": intent,
        "first_view_at": np.where(observed, intent - np.round(first_view_lead), np.nan),
        "second_device": observed & (rng.random(n) < p.second_device_share),
    }


def _email(rng, n, channel, p: Parameters) -> tuple[np.ndarray, np.ndarray]:
    bounced = rng.random(n) < p.email_bounce_share
    segment = _categorical(rng, n, _by_channel(p.email_segment_share, channel))
    return np.where(bounced, 0, segment), bounced


def _first_call_and_key(rng, n, signup, channel, p: Parameters) -> tuple[np.ndarray, np.ndarray]:
    calls = rng.random(n) < _by_channel(p.call_share, channel)
    fast = rng.random(n) < _by_channel(p.fast_call_share, channel)
    fast_range = _by_channel(p.fast_ttfac_minutes, channel)
    ttfac = np.round(np.where(
        fast,
        _loguniform(rng, n, fast_range[:, 0], fast_range[:, 1]) * MINUTE,
        _uniform(rng, n, *p.late_ttfac_days) * DAY,
    ))
    early_key = _loguniform(rng, n, *p.early_key_seconds) * SECOND
    key_just_before = ~fast & (rng.random(n) < p.late_caller_key_just_before_share)
    caller_key_delay = np.select(
        [fast, key_just_before],
        [np.minimum(early_key, 0.5 * ttfac), ttfac - _loguniform(rng, n, *p.key_before_late_call_minutes) * MINUTE],
        early_key,
    )
    noncaller_key = rng.random(n) < p.noncaller_key_share
    noncaller_key_delay = np.where(
        rng.random(n) < p.noncaller_late_key_share,
        _uniform(rng, n, *p.noncaller_late_key_days) * DAY,
        _loguniform(rng, n, *p.noncaller_early_key_seconds) * SECOND,
    )
    key_delay = np.select([calls, noncaller_key], [caller_key_delay, noncaller_key_delay], np.nan)
    return signup + np.round(key_delay), np.where(calls, signup + ttfac, np.nan)


def _depth(rng, n, channel, calls, p: Parameters) -> np.ndarray:
    depth = 1 + _categorical(rng, n, _by_channel(p.depth_share, channel))
    return np.where(calls, depth, 0)


def _milestone(rng, n, channel, first_call, p: Parameters) -> np.ndarray:
    reached = rng.random(n) < _by_channel(p.milestone_share, channel)
    delay = np.where(
        rng.random(n) < p.milestone_within_week_share,
        _loguniform(rng, n, *p.milestone_fast_minutes) * MINUTE,
        _uniform(rng, n, *p.milestone_late_days) * DAY,
    )
    return np.where(reached, first_call + np.round(delay), np.nan)


def _active(rng, n, depth, segment, milestone, first_call, p: Parameters) -> tuple[np.ndarray, np.ndarray]:
    calls = ~np.isnan(first_call)
    in_first_session = calls & (depth >= 2) & (rng.random(n) < p.active_in_first_session_share)
    later_share = (
        np.array(p.active_later_share_by_depth)[np.clip(depth, 1, 3) - 1]
        * np.array(p.active_factor_by_email_segment)[segment]
        * np.where(np.isnan(milestone), 1.0, p.active_factor_with_milestone)
    )
    later = calls & ~in_first_session & (rng.random(n) < np.minimum(later_share, 0.95))
    delay = np.select(
        [in_first_session, rng.random(n) < p.active_later_within_14d_share],
        [_uniform(rng, n, *p.active_in_first_session_minutes) * MINUTE, _uniform(rng, n, *p.active_later_fast_days) * DAY],
        _uniform(rng, n, *p.active_later_late_days) * DAY,
    )
    return np.where(in_first_session | later, first_call + np.round(delay), np.nan), in_first_session


def _production(rng, n, channel, organization, depth, first_call, active, p: Parameters):
    active_ever = ~np.isnan(active)
    factor = (
        np.array(p.production_factor_by_account_type)[organization.astype(int)]
        * np.array(p.production_factor_by_depth)[np.clip(depth, 1, 6) - 1]
        * _by_channel(p.production_factor_by_channel, channel)
    )
    share = np.where(active_ever, p.production_share_after_active, p.production_share_without_active) * factor
    reached = ~np.isnan(first_call) & (rng.random(n) < np.minimum(share, 0.95))
    after_active = np.where(
        rng.random(n) < p.production_within_30d_share,
        _uniform(rng, n, *p.production_fast_days),
        _uniform(rng, n, *p.production_late_days),
    ) * DAY
    without_active = _uniform(rng, n, *p.production_without_active_days) * DAY
    production = np.where(
        reached,
        np.where(active_ever, active + np.round(after_active), first_call + np.round(without_active)),
        np.nan,
    )
    webhook = rng.random(n) < p.production_webhook_share
    signal = np.where(reached, np.where(webhook, 2, 1), 0)
    return production, signal


def _first_session_errors(rng, n, client_kind, calls, has_key, p: Parameters) -> dict[str, np.ndarray]:
    return {
        "unauthorized_before_first_call": calls
        & (rng.random(n) < np.array(p.unauthorized_before_first_call_share)[client_kind]),
        "bad_request_first_day": calls & (rng.random(n) < p.bad_request_first_day_share),
        "rate_limited_first_day": calls & (rng.random(n) < p.rate_limited_first_day_share),
        "failed_attempts_only": ~calls & has_key & (rng.random(n) < p.noncaller_failed_attempts_share),
    }


def _nonsignup_visitors(rng, n, p: Parameters) -> dict[str, np.ndarray]:
    count = int(round(n * p.nonsignup_visitors_per_developer))
    observed_shares = np.array([p.channel_share[c] for c in CHANNELS[:UNKNOWN_CHANNEL]])
    return {
        "visitor_first_view_at": np.round(_signup_times(rng, count, p)),
        "visitor_channel": _categorical(rng, count, observed_shares),
        "visitor_has_intent": rng.random(count) < p.nonsignup_visitor_intent_share,
    }


def _observed(times: np.ndarray, p: Parameters) -> np.ndarray:
    """A stage too close to the observation end is not reached: the data could not show it and
    the calls that follow it (up to a day, e.g. the rest of the first session)."""
    return np.where(times <= observation_end_ms(p) - 2 * DAY, times, np.nan)


def draw_developers(rng: np.random.Generator, n: int, params: Parameters) -> dict[str, np.ndarray]:
    """Draw n developers' attributes and planted stage times (see module docstring).

    Keys starting with `visitor_` describe the visitors who never sign up
    (their own length); every other array has one row per developer.
    Categorical columns are int codes into the tuples of `parameters`;
    `client` indexes `CLIENTS`, and is -1 (like `client_kind`) for
    developers who never call.
    """
    p = params
    signup = np.round(_signup_times(rng, n, p))
    channel = _categorical(rng, n, np.array([p.channel_share[c] for c in CHANNELS]))
    organization = rng.random(n) < _by_channel(p.organization_share, channel)
    segment, bounced = _email(rng, n, channel, p)
    client_kind, client = _clients(rng, n, channel, p)
    arrays = {
        "signup_at": signup,
        "channel": channel,
        "account_type": organization.astype(np.int64),
        "email_segment": segment,
        "email_bounced": bounced,
        "email_verified": rng.random(n) < p.email_verified_share,
        **_intent(rng, n, signup, channel, p),
    }
    key, first_call = (_observed(t, p) for t in _first_call_and_key(rng, n, signup, channel, p))
    calls = ~np.isnan(first_call)
    depth = _depth(rng, n, channel, calls, p)
    milestone = _observed(_milestone(rng, n, channel, first_call, p), p)
    active, in_first_session = _active(rng, n, depth, segment, milestone, first_call, p)
    active = _observed(active, p)
    production, signal = _production(rng, n, channel, organization, depth, first_call, active, p)
    production = _observed(production, p)
    return arrays | {
        "key_at": key,
        "first_call_at": first_call,
        "first_session_depth": depth,
        "milestone_at": milestone,
        "active_at": active,
        "active_in_first_session": in_first_session & ~np.isnan(active),
        "production_at": production,
        "production_signal": np.where(np.isnan(production), 0, signal),
        "client_kind": np.where(calls, client_kind, -1),
        "client": np.where(calls, client, -1),
        "client_switches": calls & (rng.random(n) < p.client_switch_share),
        **_first_session_errors(rng, n, client_kind, calls, ~np.isnan(key), p),
        **_nonsignup_visitors(rng, n, p),
    }


def take(arrays: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    """The developers at `index` (visitor arrays are left as they are)."""
    return {k: (v if k.startswith("visitor_") else v[index]) for k, v in arrays.items()}


def labels() -> dict[str, tuple]:
    """Names of the integer codes used in the arrays (`client` indexes `CLIENTS`)."""
    return {
        "channel": CHANNELS,
        "account_type": ACCOUNT_TYPES,
        "email_segment": EMAIL_SEGMENTS,
        "production_signal": PRODUCTION_SIGNALS,
        "client_kind": CLIENT_KINDS,
    }
