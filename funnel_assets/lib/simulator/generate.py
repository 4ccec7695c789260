"""`generate`: simulated landing files plus the planted truth.

Order of work: draw every developer's stage times (the model), plan their
request volume, scale usage intensity to the requested volume, then expand
developers batch by batch into day files, so memory is bounded by the batch
and not by the data set.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .encoding import iso_timestamps
from .events import draw_identities, write_batch
from .faults import FaultInjector
from .gateway import REVOKED
from .model import STAGE_TIME_COLUMNS, draw_developers, labels, last_event_ms, observation_end_ms, take
from .orgs import form_orgs, summarize_orgs
from .parameters import CLIENTS, DEFAULT_PARAMETERS, Parameters
from .plantings import Plantings, plant
from .plan import expected_requests, plan_activity, request_scale
from .summary import DEFINITIONS, summarize
from .writer import TIME_FIELDS, LandingWriter

STREAMS = ("developers", "plan", "identities", "batch", "plantings", "orgs")
EXPECTED_DEVELOPERS = 400_000
EXPECTED_SEED = 20_250_106  # fixed, so "expected" is the model's, the same for every run seed
MAX_BATCH_DEVELOPERS = 5_000
MAX_BATCH_REQUESTS = 500_000


def _rng(seed: int, stream: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, STREAMS.index(stream), *more])


def _batches(expected: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive developer ranges of at most MAX_BATCH_DEVELOPERS and about MAX_BATCH_REQUESTS requests."""
    bounds, start, volume = [], 0, 0.0
    for i, requests in enumerate(expected):
        if i > start and (i - start >= MAX_BATCH_DEVELOPERS or volume + requests > MAX_BATCH_REQUESTS):
            bounds.append((start, i))
            start, volume = i, 0.0
        volume += requests
    return bounds + [(start, len(expected))] if len(expected) else bounds


def _rows(arrays: dict, lo: int, hi: int, visitors: bool = False) -> dict:
    """Rows lo:hi of the developer arrays, or of the visitor arrays (keys `visitor_*`)."""
    return {k: v[lo:hi] for k, v in arrays.items() if k.startswith("visitor_") == visitors}


class RequestCounts:
    """Tallies of the written requests for truth.json."""

    def __init__(self):
        self.by_status: Counter = Counter()
        self.by_client: Counter = Counter()
        self.unattributed = 0

    def add(self, requests: dict[str, np.ndarray]) -> None:
        self.by_status.update(dict(zip(*np.unique(requests["status"], return_counts=True))))
        attributed = requests["role"] != REVOKED  # a rotated-out key no longer belongs to anyone
        self.unattributed += int((~attributed).sum())
        per_client = np.bincount(requests["client"][attributed], minlength=len(CLIENTS))
        for (name, _, _), count in zip(CLIENTS, per_client):
            self.by_client[name] += int(count)


def _developers_table(devs, plan, ids) -> pd.DataFrame:
    names = labels()
    stage_times = {
        f"{stage}_at": iso_timestamps(devs[column]).to_pylist() for stage, column in STAGE_TIME_COLUMNS.items()
    }
    client = devs["client"]
    return pd.DataFrame({
        "user_id": ids["user_id"].to_pylist(),
        "email": ids["email"].to_pylist(),
        "org_id": ids["org_id"].to_pylist(),
        "account_type": np.array(names["account_type"])[devs["account_type"]],
        "channel": np.array(names["channel"])[devs["channel"]],
        "intent_observed": devs["intent_observed"],
        **stage_times,
        "production_signal": np.array(names["production_signal"])[devs["production_signal"]],
        "first_session_depth": devs["first_session_depth"],
        "active_in_first_session": devs["active_in_first_session"],
        "client_kind": np.where(client >= 0, np.array(names["client_kind"] + ("",))[devs["client_kind"]], ""),
        "client_name": np.where(client >= 0, np.array([c[0] for c in CLIENTS])[client], ""),
        "email_segment": np.array(names["email_segment"])[devs["email_segment"]],
        "email_bounced": devs["email_bounced"],
        "second_device": devs["second_device"],
        "key_rotated": ~np.isnan(plan["rotation_at"]),
        "unauthorized_before_first_call": devs["unauthorized_before_first_call"],
        "bad_request_first_day": devs["bad_request_first_day"],
        "rate_limited_first_day": devs["rate_limited_first_day"],
        "failed_attempts_only": devs["failed_attempts_only"],
        **({"friction_reads": devs["friction_reads"]} if "friction_reads" in devs else {}),
    })


def _write_gzip_csv(frame: pd.DataFrame, path: Path) -> None:
    """gzip with a zero mtime, so the same data gives the same bytes."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped:
        with io.TextIOWrapper(zipped, encoding="utf-8", newline="") as text:
            frame.to_csv(text, index=False, lineterminator="\n")


def _write_landing(out_dir: Path, devs, plan, ids, p: Parameters, seed: int, scale: float,
                   progress: Callable[[int, int], None] | None,
                   faults: FaultInjector | None = None) -> tuple[LandingWriter, RequestCounts]:
    """Expand developers batch by batch (each batch with its share of never-signed-up visitors)."""
    batches = _batches(expected_requests(devs, plan, p, scale))
    visitor_bounds = np.linspace(0, len(devs["visitor_channel"]), len(batches) + 1).round().astype(int)
    sink = LandingWriter(out_dir / "landing", faults)
    counts = RequestCounts()
    for i, (lo, hi) in enumerate(batches):
        visitors = _rows(devs, visitor_bounds[i], visitor_bounds[i + 1], visitors=True)
        written = write_batch(sink, _rng(seed, "batch", i), _rows(devs, lo, hi), _rows(plan, lo, hi),
                              _rows(ids, lo, hi), visitors, lo, p, scale, last_event_ms(p))
        counts.add(written)
        if progress:
            progress(hi, len(devs["signup_at"]))
    sink.flush()
    return sink, counts


def _iso(ms: float) -> str:
    return iso_timestamps(np.array([ms])).to_pylist()[0]


def generate(
    out_dir: Path,
    developers: int = 2000,
    weeks: int = 12,
    start: date = date(2025, 1, 6),
    seed: int = 7,
    requests: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    params: Parameters = DEFAULT_PARAMETERS,
    inject: Sequence[str] = (),
    plantings: Plantings | None = None,
) -> dict:
    """Write `out_dir/landing/<source>/<day>.jsonl`, `truth.json` and `truth_developers.csv.gz`; return the truth.

    `inject`: names of data faults to plant (faults.FAULTS); what was planted, and how much, is
    truth["injected"][fault] = {"count": n, ...}. `plantings`: the diagnostic plantings (plantings.py), recorded
    as truth["planted"]."""
    out_dir = Path(out_dir)
    faults = FaultInjector(inject, seed) if inject else None
    p = replace(params, start=start, weeks=weeks)
    devs = draw_developers(_rng(seed, "developers"), developers, p)
    devs = take(devs, np.argsort(devs["signup_at"], kind="stable"))
    planted = plant(_rng(seed, "plantings"), devs, p, plantings) if plantings is not None else None
    plan = plan_activity(_rng(seed, "plan"), devs, p)
    scale = request_scale(devs, plan, p, requests)
    org_of = form_orgs(_rng(seed, "orgs"), devs, p)
    ids = draw_identities(_rng(seed, "identities"), devs, org_of)
    sink, counts = _write_landing(out_dir, devs, plan, ids, p, seed, scale, progress, faults)
    if faults is not None:
        faults.finish(out_dir / "landing")

    drawn = summarize(devs, p) | {"orgs": summarize_orgs(devs, org_of, p)}
    model = draw_developers(np.random.default_rng(EXPECTED_SEED), EXPECTED_DEVELOPERS, p)
    model_orgs = form_orgs(np.random.default_rng([EXPECTED_SEED, STREAMS.index("orgs")]), model, p)
    truth = {
        "parameters": p.to_json() | {
            "seed": seed,
            "observation_end": _iso(observation_end_ms(p)),
            "request_scale": scale,
            "expected_developers": EXPECTED_DEVELOPERS,
            "expected_seed": EXPECTED_SEED,
        },
        "counts": {
            "developers": developers,
            "visitors_with_intent": drawn["visitors_with_intent"],
            "nonsignup_visitors": len(devs["visitor_channel"]),
            "lines": {source: sink.lines[source] for source in TIME_FIELDS},
            "requests": sink.lines["gateway_requests"],
            "requests_by_status": {str(k): int(v) for k, v in sorted(counts.by_status.items())},
            "requests_by_client_name": dict(sorted(counts.by_client.items())),
            "unattributed_requests": counts.unattributed,
            "as_of": _iso(sink.latest_ms) if sink.latest_ms > 0 else None,
        },
        "definitions": DEFINITIONS,
        "expected": summarize(model, p, quantile_grid=True) | {"orgs": summarize_orgs(model, model_orgs, p)},
        "drawn": drawn,
    }
    if faults is not None:
        truth["injected"] = faults.truth()
    if planted is not None:
        truth["planted"] = planted
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    _write_gzip_csv(_developers_table(devs, plan, ids), out_dir / "truth_developers.csv.gz")
    return truth
