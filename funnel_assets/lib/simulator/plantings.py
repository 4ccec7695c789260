"""Diagnostic plantings: what the drop-off diagnostics (paths, leading indicators, drivers, docs friction) must find.

Off unless asked for (`generate(..., plantings=Plantings(...))`), and drawn from their own random stream after
the stage model, so the developers and every other planted number are the same with or without them:

- a broken-quickstart week: in one signup week, a share of the developers who would have called never get a
  successful call (their attempts fail, mostly 401s), and every remaining caller hits 401s before the first
  success: the first-day 401 rate jumps, the first-call share drops;
- a client-kind effect: developers whose first call used raw HTTP reach production `1 / sdk_production_factor`
  as often as they would have (SDK users that many times as likely);
- a docs page re-read before giving up: most developers who never call read `friction_page` three or more
  times in one sitting; few of those who do.

`truth.json` records each under "planted", with the developers it touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .events import FRICTION_READ_GAP_MS, PAGE_PATHS
from .model import DAY, HOUR, MINUTE, epoch_ms
from .parameters import CLIENT_KINDS, Parameters


@dataclass(frozen=True)
class Plantings:
    broken_quickstart_week: int | None = None  # index of the signup week (0 = the first)
    broken_quickstart_call_loss: float = 0.7  # share of that week's would-be callers who never succeed
    sdk_production_factor: float = 1.0  # P(production | sdk) / P(production | raw HTTP)
    friction_page: str | None = None  # one of events.PAGE_PATHS, e.g. "/docs/authentication"
    friction_share_of_noncallers: float = 0.6
    friction_share_of_callers: float = 0.04
    friction_reads: tuple = (3, 6)  # reads in the sitting, inclusive

    def to_json(self) -> dict:
        return asdict(self)


def diagnostic_plantings(weeks: int) -> Plantings:
    """All three, as `funnel generate --plant-diagnostics` plants them: the broken week three quarters in."""
    return Plantings(broken_quickstart_week=(3 * weeks) // 4, sdk_production_factor=2.0,
                     friction_page="/docs/authentication")


def _never_calls(devs: dict[str, np.ndarray], who: np.ndarray) -> None:
    """The developers `who` never get a successful call: every later stage goes, their attempts fail."""
    for column in ("first_call_at", "milestone_at", "active_at", "production_at"):
        devs[column] = np.where(who, np.nan, devs[column])
    for column, empty in (("first_session_depth", 0), ("client_kind", -1), ("client", -1), ("production_signal", 0)):
        devs[column] = np.where(who, empty, devs[column])
    for column in ("client_switches", "active_in_first_session", "unauthorized_before_first_call",
                   "bad_request_first_day", "rate_limited_first_day"):
        devs[column] = devs[column] & ~who
    devs["failed_attempts_only"] = devs["failed_attempts_only"] | (who & ~np.isnan(devs["key_at"]))


def _broken_quickstart(rng, devs, p: Parameters, plant: Plantings) -> dict:
    week_start = epoch_ms(p.start) + plant.broken_quickstart_week * 7 * DAY
    in_week = (devs["signup_at"] >= week_start) & (devs["signup_at"] < week_start + 7 * DAY)
    callers = in_week & ~np.isnan(devs["first_call_at"])
    lost = callers & (rng.random(len(callers)) < plant.broken_quickstart_call_loss)
    _never_calls(devs, lost)
    devs["unauthorized_before_first_call"] = devs["unauthorized_before_first_call"] | (callers & ~lost)
    return {
        "cohort_week": str(np.datetime64(int(week_start), "ms").astype("datetime64[D]")),
        "developers": int(in_week.sum()),
        "would_have_called": int(callers.sum()),
        "never_called": int(lost.sum()),
        "call_loss": plant.broken_quickstart_call_loss,
    }


def _client_kind_effect(rng, devs, plant: Plantings) -> dict:
    raw = devs["client_kind"] == CLIENT_KINDS.index("raw_http")
    producers = raw & ~np.isnan(devs["production_at"])
    removed = producers & (rng.random(len(raw)) >= 1.0 / plant.sdk_production_factor)
    devs["production_at"] = np.where(removed, np.nan, devs["production_at"])
    devs["production_signal"] = np.where(removed, 0, devs["production_signal"])
    return {"sdk_production_factor": plant.sdk_production_factor, "raw_http_producers_removed": int(removed.sum())}


def _friction_reads(rng, devs, plant: Plantings) -> dict:
    n = len(devs["signup_at"])
    calls = ~np.isnan(devs["first_call_at"])
    share = np.where(calls, plant.friction_share_of_callers, plant.friction_share_of_noncallers)
    reads = np.where(rng.random(n) < share, rng.integers(plant.friction_reads[0], plant.friction_reads[1] + 1, n), 0)
    # callers read it shortly before their first success; the others some hours after signing up
    before_call = devs["first_call_at"] - (30 * MINUTE + rng.random(n) * 2 * HOUR)
    after_signup = devs["signup_at"] + HOUR + np.round(rng.random(n) * 2 * DAY)
    start = np.round(np.where(calls, np.maximum(before_call, devs["signup_at"] + MINUTE), after_signup))
    devs["friction_reads"] = reads
    devs["friction_page"] = np.full(n, PAGE_PATHS.index(plant.friction_page))
    devs["friction_at"] = np.where(reads > 0, start, np.nan)
    return {
        "page": plant.friction_page,
        "readers": int((reads > 0).sum()),
        "readers_who_never_called": int(((reads > 0) & ~calls).sum()),
        "readers_who_called": int(((reads > 0) & calls).sum()),
        "reads": list(plant.friction_reads),
        "read_gap_seconds": FRICTION_READ_GAP_MS / 1000,
    }


def plant(rng: np.random.Generator, devs: dict[str, np.ndarray], p: Parameters, plant: Plantings) -> dict:
    """Apply the plantings to the drawn developers in place (before their activity is planned); return the truth."""
    truth: dict = {"settings": plant.to_json()}
    if plant.broken_quickstart_week is not None:
        truth["broken_quickstart"] = _broken_quickstart(rng, devs, p, plant)
    if plant.sdk_production_factor != 1.0:
        truth["client_kind_production"] = _client_kind_effect(rng, devs, plant)
    if plant.friction_page is not None:
        truth["friction_page"] = _friction_reads(rng, devs, plant)
    return truth
