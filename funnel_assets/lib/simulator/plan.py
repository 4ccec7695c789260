"""How much each developer does, planned before any request is written.

The stage model fixes when things happen; the plan fixes how many requests
each group of a developer's activity has (errors, first-day sessions, usage
sessions), their keys (live key, rotation, revocation) and how long they
stay. Knowing the counts up front gives the exact expected gateway volume,
so `requests=` can scale usage intensity to hit a target, and batches can be
cut by volume.
"""

from __future__ import annotations

import numpy as np

from .model import DAY, HOUR, MINUTE, last_event_ms
from .parameters import MAX_DEPTH, Parameters

# Inclusive ranges of request counts (uniform integers, so their means are plain).
COUNTS = {
    "unauthorized_before_first_call": (1, 4),
    "failed_attempts": (1, 6),
    "first_session_repeats": (0, 4),  # more calls of the first endpoint before the second
    "first_day_extras": (0, 8),  # more calls within the first day, after becoming active
    "first_day_session_requests": (1, 4),  # per single-endpoint session on the first day
    "bad_requests": (1, 3),
    "rate_limited_burst": (5, 25),
    "activation_repeats": (0, 2),
    "activation_extras": (0, 4),
    "forbidden_before_live": (1, 2),
}
USAGE_SLOT = 9 * HOUR  # longest usage session (8 h) plus an hour apart from the next
USAGE_START_AFTER_FIRST_CALL = 25 * HOUR  # after the first-session window (24 h) closes
NEVER = np.inf


def _counts(rng, name: str, selected: np.ndarray) -> np.ndarray:
    low, high = COUNTS[name]
    return np.where(selected, rng.integers(low, high + 1, len(selected)), 0)


def _uniform(rng, n, low, high) -> np.ndarray:
    return low + rng.random(n) * (high - low)


def _life_end(rng, devs, end) -> np.ndarray:
    """When a developer's API use stops: producers stay to the end, others churn."""
    n = len(end)
    first_call, active, production = devs["first_call_at"], devs["active_at"], devs["production_at"]
    life_end = np.select(
        [~np.isnan(production), ~np.isnan(active), ~np.isnan(first_call)],
        [end, active + _uniform(rng, n, 7, 90) * DAY, first_call + _uniform(rng, n, 2, 30) * DAY],
        np.nan,
    )
    return np.round(np.minimum(life_end, end))


def _usage_sessions(rng, devs, life_end, p: Parameters) -> tuple[np.ndarray, np.ndarray]:
    usage_start = devs["first_call_at"] + USAGE_START_AFTER_FIRST_CALL
    span = np.nan_to_num(np.maximum(life_end - usage_start, 0))
    stage = np.select([~np.isnan(devs["production_at"]), ~np.isnan(devs["active_at"])], [2, 1], 0)
    per_day = np.array(p.usage_sessions_per_day)[stage]
    sessions = np.minimum(rng.poisson(per_day * span / DAY), np.floor(span / USAGE_SLOT)).astype(np.int64)
    return np.where(sessions > 0, usage_start, np.nan), sessions


def _live_key(rng, devs, end, p: Parameters) -> dict[str, np.ndarray]:
    """Live-call producers create a live key shortly before their first live call;
    most webhook producers create one after registering the webhook."""
    n = len(end)
    production, key = devs["production_at"], devs["key_at"]
    live_call = devs["production_signal"] == 1
    webhook_then_live = (devs["production_signal"] == 2) & (rng.random(n) < 0.7)
    before_call = np.round(_uniform(rng, n, 0.01, 1.0) * np.minimum(3 * DAY, 0.5 * (production - key)))
    after_webhook = np.round(_uniform(rng, n, HOUR, 5 * DAY))
    live_key_at = np.select([live_call, webhook_then_live], [production - before_call, production + after_webhook], np.nan)
    live_key_at = np.where(live_key_at <= end, live_key_at, np.nan)
    return {
        "live_key_at": live_key_at,
        # requests may use the live key after this: the first live call, or the key's creation
        "live_from": np.where(live_call, production, live_key_at),
        "forbidden_before_live": _counts(rng, "forbidden_before_live", live_call & (rng.random(n) < 0.3)),
    }


def _rotation(rng, usage_start, life_end, sessions, p: Parameters) -> np.ndarray:
    """Rotation time: half an hour before a usage slot starts, when no request is in flight."""
    n = len(sessions)
    rotated = (sessions >= 2) & (rng.random(n) < p.key_rotation_share)
    slot = (life_end - usage_start) / np.maximum(sessions, 1)
    boundary = rng.integers(1, np.maximum(sessions, 2))
    return np.where(rotated, np.round(usage_start + boundary * slot - 30 * MINUTE), np.nan)


def _revocation(rng, devs, life_end, end, p: Parameters) -> np.ndarray:
    """Churned developers' current test key is revoked some days after their last use."""
    n = len(end)
    key, production = devs["key_at"], devs["production_at"]
    after_life = life_end + _uniform(rng, n, 1, 20) * DAY
    noncaller = key + _uniform(rng, n, 10, 60) * DAY
    revoked_at = np.where(np.isnan(devs["first_call_at"]), noncaller, after_life)
    revoke = ~np.isnan(key) & np.isnan(production) & (rng.random(n) < p.churned_key_revocation_share)
    return np.where(revoke & (revoked_at <= end), np.round(revoked_at), np.nan)


def plan_activity(rng: np.random.Generator, devs: dict[str, np.ndarray], p: Parameters) -> dict[str, np.ndarray]:
    n = len(devs["signup_at"])
    end = np.full(n, last_event_ms(p))
    calls = ~np.isnan(devs["first_call_at"])
    depth = devs["first_session_depth"]
    in_first_session = devs["active_in_first_session"]
    activates_later = ~np.isnan(devs["active_at"]) & ~in_first_session
    life_end = _life_end(rng, devs, end)
    usage_start, sessions = _usage_sessions(rng, devs, life_end, p)
    first_day_sessions = calls[:, None] & ~in_first_session[:, None] & (np.arange(MAX_DEPTH) < depth[:, None])
    low, high = COUNTS["first_day_session_requests"]
    plan = {
        "life_end": life_end,
        "usage_start": usage_start,
        "usage_sessions": sessions,
        "rotation_at": _rotation(rng, usage_start, life_end, sessions, p),
        "revoked_at": _revocation(rng, devs, life_end, end, p),
        **_live_key(rng, devs, end, p),
        "unauthorized_before_first_call": _counts(rng, "unauthorized_before_first_call", devs["unauthorized_before_first_call"]),
        "failed_attempts": _counts(rng, "failed_attempts", devs["failed_attempts_only"]),
        "first_session_repeats": _counts(rng, "first_session_repeats", in_first_session),
        "first_day_extras": _counts(rng, "first_day_extras", in_first_session),
        "first_day_session_requests": np.where(first_day_sessions, rng.integers(low, high + 1, (n, MAX_DEPTH)), 0),
        "bad_requests": _counts(rng, "bad_requests", devs["bad_request_first_day"]),
        "rate_limited_burst": _counts(rng, "rate_limited_burst", devs["rate_limited_first_day"]),
        "activation_repeats": _counts(rng, "activation_repeats", activates_later),
        "activation_extras": _counts(rng, "activation_extras", activates_later),
    }
    low, high = p.revoked_key_401s
    plan["revoked_key_requests"] = np.where(~np.isnan(plan["rotation_at"]), rng.integers(low, high + 1, n), 0)
    return plan


def usage_phase_shares(devs, plan) -> np.ndarray:
    """(n, 3) expected share of a developer's usage sessions before active, active, in production.

    Sessions start uniformly over their slots, so the share of a phase is the
    share of the usage span it covers."""
    start = plan["usage_start"]
    stop = plan["life_end"] - USAGE_SLOT
    length = np.maximum(stop - start, 1.0)
    active = np.nan_to_num(devs["active_at"], nan=NEVER)
    production = np.nan_to_num(devs["production_at"], nan=NEVER)
    cuts = [start, np.clip(np.minimum(active, production), start, stop), np.clip(production, start, stop), stop]
    shares = np.column_stack([(b - a) / length for a, b in zip(cuts[:-1], cuts[1:])])
    return np.nan_to_num(shares)


def structural_requests(devs, plan) -> np.ndarray:
    """Requests per developer that do not scale with usage intensity (first day, errors, stage moments).

    Every count is zero for developers it does not apply to."""
    in_first_session = devs["active_in_first_session"]
    activates_later = ~np.isnan(devs["active_at"]) & ~in_first_session
    return (
        plan["unauthorized_before_first_call"]
        + plan["failed_attempts"]
        + np.where(in_first_session, devs["first_session_depth"], 0)  # one call per endpoint of the depth
        + plan["first_session_repeats"]
        + plan["first_day_extras"]
        + plan["first_day_session_requests"].sum(axis=1)
        + plan["bad_requests"]
        + plan["rate_limited_burst"]
        + 2 * activates_later  # the call before and the call bringing the second endpoint
        + plan["activation_repeats"]
        + plan["activation_extras"]
        + (devs["production_signal"] == 1)  # the first live call
        + plan["forbidden_before_live"]
        + plan["revoked_key_requests"]
    )


def expected_requests(devs, plan, p: Parameters, scale: float) -> np.ndarray:
    """Expected gateway lines per developer when usage sessions carry 1 + Poisson(scale * mean) requests."""
    per_session = 1 + scale * (usage_phase_shares(devs, plan) @ np.array(p.requests_per_session))
    return structural_requests(devs, plan) + plan["usage_sessions"] * per_session


def request_scale(devs, plan, p: Parameters, target: int | None) -> float:
    """Usage intensity that makes the expected total `target` (1 when no target).

    Raises ValueError when even one request per usage session overshoots the target by more than 5%."""
    if target is None:
        return 1.0
    fixed = expected_requests(devs, plan, p, 0.0).sum()
    if target < 0.95 * fixed:
        raise ValueError(f"{len(devs['signup_at'])} developers make at least {int(fixed)} requests; "
                         f"ask for more requests or fewer developers")
    per_unit = expected_requests(devs, plan, p, 1.0).sum() - fixed
    return max((target - fixed) / per_unit, 0.0) if per_unit > 0 else 0.0
