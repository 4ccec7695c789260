"""Gateway requests that realise the planted stage times exactly.

The layout, per developer who calls (F = first call, A = active, P = production):

- before F: only non-2xx requests (401s while setting up), so F is the first 2xx;
- [F, F + 24 h]: exactly `depth` distinct endpoints among 2xx requests. If
  active in the first session, the first endpoint is called from F and the
  second at A (minutes later); otherwise each endpoint gets its own session,
  1.5-3.5 h apart, so no session has two endpoints;
- after the first day and before A: every 2xx request uses the developer's
  main endpoint, so sessions merging can never bring a second endpoint early;
  at A a call of the main endpoint minutes before and a call of another at A;
- the live key has no 2xx request before P (403s at most); P is a 2xx call on
  it (live-call producers) or a production webhook (analytics);
- non-2xx requests (401, 400, 429, 403, 404, 500) may fall anywhere: they
  never set a stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .encoding import JsonValues, base62_ids, concat, integers_text, json_raw, json_text, json_timestamps, lookup, uuids
from .model import DAY, HOUR, MINUTE, SECOND
from .parameters import BAD_REQUEST_ENDPOINTS, CLIENTS, ENDPOINTS, Parameters
from .plan import USAGE_SLOT

TEST, LIVE, REVOKED = 0, 1, 2  # key role: current test key, live key, the test key rotated out
SUCCESS_STATUS = np.array([status for _, _, status, _ in ENDPOINTS])
HAS_ID = np.array([id_kind is not None for *_, id_kind in ENDPOINTS])
FIRST_DAY_END = 20 * HOUR  # first-day calls end well before the 24 h window closes
SESSION_MAX_DURATION = (2 * HOUR, 4 * HOUR, 8 * HOUR)  # before active, active, in production
LIST_QUERIES = ("?limit=10", "?limit=25", "?limit=100", "?page=2&limit=50")
CALLING_CLIENTS = np.array([i for i, (_, kind, _) in enumerate(CLIENTS) if kind != "unknown"])


@dataclass
class Developers:
    """Per-developer arrays of one batch that every request group needs."""

    first_call: np.ndarray
    key: np.ndarray
    active: np.ndarray
    production: np.ndarray
    depth: np.ndarray
    endpoints: np.ndarray  # (n, len(ENDPOINTS)) endpoint order: [:, 0] is the main endpoint, [:, :depth] the first day's
    first_client: np.ndarray
    later_client: np.ndarray
    attempt_client: np.ndarray

    @property
    def main(self) -> np.ndarray:
        return self.endpoints[:, 0]


class Requests:
    """Request columns collected group by group."""

    def __init__(self):
        self._parts: list[tuple[np.ndarray, ...]] = []

    def add(self, dev, time, endpoint, status, role, client) -> None:
        size = len(dev)
        self._parts.append(tuple(np.broadcast_to(np.asarray(v), size) for v in (dev, time, endpoint, status, role, client)))

    def columns(self) -> dict[str, np.ndarray]:
        names = ("dev", "time", "endpoint", "status", "role", "client")
        columns = {name: np.concatenate([part[i] for part in self._parts]) for i, name in enumerate(names)}
        columns["time"] = columns["time"].astype(np.int64)
        order = np.argsort(columns["time"], kind="stable")
        return {name: values[order] for name, values in columns.items()}


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row owner and position within its owner for counts[i] rows per owner i."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    first_row = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - first_row[owner]


def _offsets_within(position: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Cumulative gaps within each owner's rows (rows grouped by owner, as `_expand` makes them), 0 at its first row."""
    total = np.cumsum(np.where(position == 0, 0, gaps))
    return total - total[np.arange(len(position)) - position]


def _weighted(rng, size: int, weights) -> np.ndarray:
    cumulative = np.cumsum(weights) / np.sum(weights)
    return np.minimum(np.searchsorted(cumulative, rng.random(size), "right"), len(cumulative) - 1)


def _uniform(rng, size, low, high) -> np.ndarray:
    return low + rng.random(size) * (np.asarray(high) - np.asarray(low))


def _developers(rng, devs: dict[str, np.ndarray], p: Parameters) -> Developers:
    n = len(devs["signup_at"])
    gumbel = -np.log(-np.log(rng.random((n, len(ENDPOINTS)))))
    endpoints = np.argsort(-(np.log(p.first_endpoint_weights) + gumbel), axis=1)
    first_client = devs["client"]
    other = CALLING_CLIENTS[rng.integers(0, len(CALLING_CLIENTS), n)]
    switched = devs["client_switches"] & (other != first_client)
    return Developers(
        first_call=devs["first_call_at"],
        key=devs["key_at"],
        active=devs["active_at"],
        production=devs["production_at"],
        depth=devs["first_session_depth"],
        endpoints=endpoints,
        first_client=first_client,
        later_client=np.where(switched, other, first_client),
        attempt_client=CALLING_CLIENTS[rng.integers(0, len(CALLING_CLIENTS), n)],
    )


def _unauthorized_before_first_call(rng, d: Developers, plan, out: Requests, p: Parameters) -> None:
    dev, _ = _expand(plan["unauthorized_before_first_call"])
    first_call, key = d.first_call[dev], d.key[dev]
    # within the last 20 minutes before F, and after the key existed
    time = first_call - SECOND - np.round(rng.random(len(dev)) * np.minimum(20 * MINUTE, 0.9 * (first_call - key)))
    other_client = rng.random(len(dev)) < p.attempt_with_other_client_share
    client = np.where(other_client, d.attempt_client[dev], d.first_client[dev])
    out.add(dev, time, d.main[dev], 401, TEST, client)


def _failed_attempts(rng, d: Developers, plan, out: Requests, p: Parameters, end: float) -> None:
    dev, _ = _expand(plan["failed_attempts"])
    time = np.minimum(d.key[dev] + np.round(_uniform(rng, len(dev), MINUTE, 3 * DAY)), end)
    endpoint = _weighted(rng, len(dev), p.usage_endpoint_weights)
    status = np.array([401, 400, 403])[_weighted(rng, len(dev), (0.5, 0.3, 0.2))]
    out.add(dev, time, endpoint, status, TEST, d.attempt_client[dev])


def _first_session_active(rng, d: Developers, plan, out: Requests, in_first_session: np.ndarray) -> None:
    """F and A in one session: the main endpoint from F, the second endpoint at A, the rest of the depth later that day."""
    devs = np.flatnonzero(in_first_session)
    f, a = d.first_call[devs], d.active[devs]
    out.add(devs, f, d.main[devs], SUCCESS_STATUS[d.main[devs]], TEST, d.first_client[devs])
    out.add(devs, a, d.endpoints[devs, 1], SUCCESS_STATUS[d.endpoints[devs, 1]], TEST, d.first_client[devs])

    dev, _ = _expand(plan["first_session_repeats"])
    time = d.first_call[dev] + np.round(rng.random(len(dev)) * (d.active[dev] - d.first_call[dev]))
    out.add(dev, time, d.main[dev], SUCCESS_STATUS[d.main[dev]], TEST, d.first_client[dev])

    rest_of_depth = np.where(in_first_session, np.maximum(d.depth - 2, 0), 0)
    dev, position = _expand(rest_of_depth)
    endpoint = d.endpoints[dev, 2 + position]
    out.add(dev, _later_that_day(rng, d, dev), endpoint, SUCCESS_STATUS[endpoint], TEST, d.first_client[dev])

    dev, _ = _expand(plan["first_day_extras"])
    endpoint = d.endpoints[dev, rng.integers(0, d.depth[dev])]
    out.add(dev, _later_that_day(rng, d, dev), endpoint, SUCCESS_STATUS[endpoint], TEST, d.first_client[dev])


def _later_that_day(rng, d: Developers, dev: np.ndarray) -> np.ndarray:
    active = d.active[dev]
    return active + np.round(rng.random(len(dev)) * (d.first_call[dev] + FIRST_DAY_END - active))


def _first_day_sessions(rng, d: Developers, plan, out: Requests) -> None:
    """One session per first-day endpoint, 1.5-3.5 h apart, each a few calls at most 5 minutes apart."""
    counts = plan["first_day_session_requests"]
    n, width = counts.shape
    gaps = np.where(np.arange(width) == 0, 0, np.round(_uniform(rng, (n, width), 1.5 * HOUR, 3.5 * HOUR)))
    session_start = d.first_call[:, None] + np.cumsum(gaps, axis=1)
    session, position = _expand(counts.ravel())
    dev, slot = np.divmod(session, width)
    offset = _offsets_within(position, np.round(_uniform(rng, len(session), 2 * SECOND, 5 * MINUTE)))
    endpoint = d.endpoints[dev, slot]
    out.add(dev, session_start[dev, slot] + offset, endpoint, SUCCESS_STATUS[endpoint], TEST, d.first_client[dev])


def _first_day_errors(rng, d: Developers, plan, out: Requests) -> None:
    dev, _ = _expand(plan["bad_requests"])
    endpoint = np.array(BAD_REQUEST_ENDPOINTS)[rng.integers(0, len(BAD_REQUEST_ENDPOINTS), len(dev))]
    time = d.first_call[dev] + np.round(rng.random(len(dev)) * FIRST_DAY_END)
    out.add(dev, time, endpoint, 400, TEST, d.first_client[dev])

    burst_start = d.first_call + np.round(rng.random(len(d.first_call)) * FIRST_DAY_END)
    dev, position = _expand(plan["rate_limited_burst"])
    offset = _offsets_within(position, np.round(_uniform(rng, len(dev), 50, 2 * SECOND)))
    endpoint = d.endpoints[dev, rng.integers(0, np.maximum(d.depth[dev], 1))]
    out.add(dev, burst_start[dev] + offset, endpoint, 429, TEST, d.first_client[dev])


def _activation(rng, d: Developers, plan, out: Requests, p: Parameters, activates_later: np.ndarray) -> None:
    """The main endpoint minutes before A, another endpoint at A: the first session with two endpoints."""
    devs = np.flatnonzero(activates_later)
    lead = np.round(_uniform(rng, len(d.active), MINUTE, 25 * MINUTE))
    out.add(devs, d.active[devs] - lead[devs], d.main[devs], SUCCESS_STATUS[d.main[devs]], TEST, d.later_client[devs])
    second = d.endpoints[devs, 1]
    out.add(devs, d.active[devs], second, SUCCESS_STATUS[second], TEST, d.later_client[devs])

    dev, _ = _expand(plan["activation_repeats"])
    time = d.active[dev] - np.round(rng.random(len(dev)) * lead[dev])
    out.add(dev, time, d.main[dev], SUCCESS_STATUS[d.main[dev]], TEST, d.later_client[dev])

    dev, _ = _expand(plan["activation_extras"])
    endpoint = _weighted(rng, len(dev), p.usage_endpoint_weights)
    time = d.active[dev] + np.round(_uniform(rng, len(dev), SECOND, 20 * MINUTE))
    out.add(dev, time, endpoint, SUCCESS_STATUS[endpoint], TEST, d.later_client[dev])


def _production(rng, d: Developers, devs, plan, out: Requests, p: Parameters) -> None:
    """Live-call producers: 403s on the new live key, then the first live 2xx at P."""
    live_call = np.flatnonzero(devs["production_signal"] == 1)
    after_active = d.active[live_call] <= d.production[live_call]
    endpoint = np.where(after_active, _weighted(rng, len(live_call), p.usage_endpoint_weights), d.main[live_call])
    out.add(live_call, d.production[live_call], endpoint, SUCCESS_STATUS[endpoint], LIVE, d.later_client[live_call])

    dev, _ = _expand(plan["forbidden_before_live"])
    created, production = plan["live_key_at"][dev], d.production[dev]
    time = created + np.round(_uniform(rng, len(dev), 0.05, 0.95) * (production - created))
    out.add(dev, time, d.main[dev], 403, LIVE, d.later_client[dev])


def _usage(rng, d: Developers, plan, out: Requests, p: Parameters, scale: float) -> None:
    """Usage sessions, one per slot of the usage span; before A only the main endpoint."""
    sessions = plan["usage_sessions"]
    session_dev, slot = _expand(sessions)
    start, stop = plan["usage_start"][session_dev], plan["life_end"][session_dev]
    slot_length = (stop - start) / sessions[session_dev]
    session_start = start + slot * slot_length + np.round(rng.random(len(slot)) * (slot_length - USAGE_SLOT))
    session_start = np.round(session_start)
    phase = np.select(
        [session_start >= d.production[session_dev], session_start >= d.active[session_dev]], [2, 1], 0
    )
    size = 1 + rng.poisson(scale * np.array(p.requests_per_session)[phase])
    longest_gap = np.minimum(3 * MINUTE, np.array(SESSION_MAX_DURATION)[phase] / size)

    session, position = _expand(size)
    dev = session_dev[session]
    gaps = 1 + np.floor(rng.random(len(session)) * longest_gap[session])
    time = session_start[session] + _offsets_within(position, gaps)
    before_active = ~(time >= d.active[dev])
    endpoint = np.where(before_active, d.main[dev], _weighted(rng, len(dev), p.usage_endpoint_weights))
    status = _with_usage_errors(rng, endpoint, p)
    live = (time > plan["live_from"][dev]) & (rng.random(len(dev)) < p.live_request_share)
    out.add(dev, time, endpoint, status, np.where(live, LIVE, TEST), d.later_client[dev])


def _with_usage_errors(rng, endpoint: np.ndarray, p: Parameters) -> np.ndarray:
    failed = rng.random(len(endpoint)) < p.usage_error_share
    kind = _weighted(rng, len(endpoint), (0.6, 0.25, 0.15))
    error = np.select([kind == 0, kind == 1], [np.where(HAS_ID[endpoint], 404, 400), 429], 500)
    return np.where(failed, error, SUCCESS_STATUS[endpoint])


def _revoked_key_requests(rng, d: Developers, plan, out: Requests) -> None:
    """A client still using the rotated-out key gets 401s."""
    dev, _ = _expand(plan["revoked_key_requests"])
    time = plan["rotation_at"][dev] + np.round(_uniform(rng, len(dev), MINUTE, 2 * HOUR))
    out.add(dev, time, d.main[dev], 401, REVOKED, d.later_client[dev])


def draw_requests(rng, devs: dict[str, np.ndarray], plan: dict[str, np.ndarray], p: Parameters,
                  scale: float, end: float) -> dict[str, np.ndarray]:
    """Every request of a batch of developers, ordered by time: dev, time, endpoint, status, role, client."""
    d = _developers(rng, devs, p)
    in_first_session = devs["active_in_first_session"]
    activates_later = ~np.isnan(devs["active_at"]) & ~in_first_session
    out = Requests()
    _unauthorized_before_first_call(rng, d, plan, out, p)
    _failed_attempts(rng, d, plan, out, p, end)
    _first_session_active(rng, d, plan, out, in_first_session)
    _first_day_sessions(rng, d, plan, out)
    _first_day_errors(rng, d, plan, out)
    _activation(rng, d, plan, out, p, activates_later)
    _production(rng, d, devs, plan, out, p)
    _usage(rng, d, plan, out, p, scale)
    _revoked_key_requests(rng, d, plan, out)
    return out.columns()


def key_slots(requests: dict[str, np.ndarray], plan: dict[str, np.ndarray]) -> np.ndarray:
    """Which of its developer's keys a request used: 0 first test key, 1 the rotated-in test key, 2 live key."""
    dev, time, role = requests["dev"], requests["time"], requests["role"]
    rotated_in = time >= plan["rotation_at"][dev]
    return np.select([role == LIVE, (role == TEST) & rotated_in], [2, 1], 0)


def _paths(rng, endpoint: np.ndarray) -> pa.Array:
    """Raw paths: ids that always contain a digit (or are UUIDs), sometimes a query string on lists."""
    n = len(endpoint)
    id_kind = np.array([kind or "" for *_, kind in ENDPOINTS])[endpoint]
    ids = np.full(n, -1)
    pieces = []
    for kind in ("cus_", "ch_", "we_", "number", "uuid"):
        rows = np.flatnonzero(id_kind == kind)
        ids[rows] = sum(len(piece) for piece in pieces) + np.arange(len(rows))
        if kind == "number":
            pieces.append(integers_text(rng.integers(10_000, 1_000_000, len(rows))))
        elif kind == "uuid":
            pieces.append(uuids(rng, len(rows)))
        else:
            pieces.append(base62_ids(rng, len(rows), 14, kind, with_digit=True))
    id_text = pa.concat_arrays(pieces).take(pa.array(ids, mask=ids < 0))
    query = np.where(~HAS_ID[endpoint] & (np.array([m for m, *_ in ENDPOINTS])[endpoint] == "GET")
                     & (rng.random(n) < 0.15), rng.integers(0, len(LIST_QUERIES), n), -1)
    prefix = [route.removesuffix("{id}") for _, route, _, _ in ENDPOINTS]
    return pc.binary_join_element_wise(
        lookup(prefix, endpoint), id_text, lookup(LIST_QUERIES, query), "",
        null_handling="replace", null_replacement="",
    )


def _latency_text(rng, status: np.ndarray) -> pa.Array:
    """Milliseconds with one decimal; errors answer faster than successes."""
    median = np.where(status < 300, 80.0, 15.0)
    tenths = np.maximum(np.round(median * np.exp(rng.normal(0, 0.6, len(status))) * 10), 1).astype(np.int64)
    return concat(integers_text(tenths // 10), ".", lookup("0123456789", tenths % 10))


def request_fields(rng, requests: dict[str, np.ndarray], key_ids: pa.Array, n_devs: int,
                   plan: dict[str, np.ndarray]) -> dict[str, JsonValues]:
    """JSON value columns of gateway_requests; key_ids holds each developer's 3 key slots (slot * n_devs + dev)."""
    endpoint, status = requests["endpoint"], requests["status"]
    key_index = key_slots(requests, plan) * n_devs + requests["dev"]
    return {
        "request_id": json_text(base62_ids(rng, len(endpoint), 16, "req_")),
        "timestamp": json_timestamps(requests["time"]),
        "key_id": json_text(key_ids.take(pa.array(key_index))),
        "method": json_text(lookup([m for m, *_ in ENDPOINTS], endpoint)),
        "path": json_text(_paths(rng, endpoint)),
        "status": json_raw(integers_text(status)),
        "user_agent": json_text(lookup([ua for *_, ua in CLIENTS], requests["client"])),
        "latency_ms": json_raw(_latency_text(rng, status)),
    }
