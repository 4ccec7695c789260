"""Data faults injected into the simulated landing files, in known amounts.

`generate(..., inject=["duplicates", ...])` (CLI: `funnel generate --inject
duplicates,...`) passes a `FaultInjector` to the `LandingWriter`: record
faults change records as they are written (`records`), file faults change
the day files once everything is written (`finish`). What was injected goes
to truth.json under "injected": `{fault: {"count": n, ...details}}`, where
`count` is in the unit the check meant to catch the fault reports
(`failing_rows`): lines, days or weeks.

Every fault is drawn from its own random stream of the run's seed, so the
same seed injects the same faults. truth["counts"] counts the records as
written; file faults change the files after that (their details say how).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .encoding import DAY_MS, JsonValues, base62_ids, iso_timestamps

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS

FAULTS = {
    # clock skew
    "future_events": "gateway requests whose timestamp is 2 to 30 days past their landing file's day",
    "past_events": "sign-ups whose created_at is a day between 1900 and 1970, in the landing file of their true day",
    "client_clock_skew": "analytics events from a client clock 1 to 6 hours slow (timestamp and sent_at), "
                         "received_at true",
    "call_before_key": "gateway requests moved to minutes before their key was created",
    "key_before_user": "API keys created minutes before their user's account",
    # duplicates
    "duplicates": "repeated request, message and e-mail event lines within a day file, and one gateway day file "
                  "re-sent in the next week",
    # missing keys
    "unknown_api_keys": "gateway requests with a key id no key record has",
    "unresolved_users": "analytics track events with a user id no user has",
    "unknown_email_recipients": "e-mail events to an address no user has",
    # schema drift
    "schema_drift": "gateway lines with a field added, a required field removed, a field renamed or retyped",
    "contract_v2": "not a fault: gateway lines that declare contract v2 (schema_version 2, region, api_version)",
    # unreadable lines
    "malformed_lines": "truncated JSON and invalid UTF-8 lines in gateway and analytics files, and one gateway day "
                       "file gzipped and truncated",
    # completeness and freshness
    "missing_day_file": "one gateway day file deleted",
    "empty_partition": "every gateway day file of one week emptied",
    "volume_drop": "one gateway day file keeping a tenth of its lines",
    "stale_source": "the last gateway day files deleted, so gateway lags the other sources by 3 days",
}

RATES = {
    "future_events": 0.005,
    "past_events": 0.01,
    "client_clock_skew": 0.03,
    "call_before_key": 0.01,
    "key_before_user": 0.05,
    "duplicates": 0.01,
    "unknown_api_keys": 0.03,
    "unresolved_users": 0.1,
    "unknown_email_recipients": 0.03,
    "schema_drift": 0.01,
    "contract_v2": 0.05,
}
MALFORMED_LINES_PER_SOURCE = 10
STALE_LAG_DAYS = 3
DRIFT_MODES = ("added", "removed", "renamed", "retyped")


def _ms(text: str) -> float:
    return datetime.fromisoformat(text).timestamp() * 1000


class FaultInjector:
    def __init__(self, names: Iterable[str], seed: int):
        self.names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
        unknown = [n for n in self.names if n not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; choose from {', '.join(FAULTS)}")
        self.seed = seed
        self.injected: dict[str, dict] = {name: {"count": 0} for name in self.names}
        self._signup_ms: dict[str, float] = {}
        self._key_ms: dict[str, float] = {}
        self._rngs = {name: np.random.default_rng([seed, 4242, i]) for i, name in enumerate(FAULTS)}

    def _rng(self, fault: str) -> np.random.Generator:
        return self._rngs[fault]

    def _pick(self, fault: str, n: int, eligible: np.ndarray | None = None) -> np.ndarray:
        chosen = self._rng(fault).random(n) < RATES[fault]
        if eligible is not None:
            chosen &= eligible
        return np.flatnonzero(chosen)

    def _count(self, fault: str, source: str, n: int, key: str = "count") -> None:
        self.injected[fault]["count"] += n
        if n:
            by_source = self.injected[fault].setdefault("by_source", {})
            by_source[source] = by_source.get(source, 0) + n
            if key != "count":
                self.injected[fault][key] = self.injected[fault].get(key, 0) + n

    # --- record faults: called by LandingWriter.write before it orders and encodes a batch --------------------

    def records(self, source: str, time_ms: np.ndarray, fields: dict[str, JsonValues]):
        time_ms = np.array(time_ms, dtype=float)
        fields = dict(fields)
        active = set(self.names)
        if source == "auth_users":
            self._signup_ms.update(zip(fields["user_id"].text.to_pylist(), time_ms.tolist()))
            if "past_events" in active:
                rows = self._pick("past_events", len(time_ms))
                # a day from 1900-01-01 up to 1970-01-01 (epoch 0), the time of day kept
                back = self._rng("past_events").integers(1, 70 * 365, len(rows)) * DAY_MS
                fields["created_at"] = _replace(fields["created_at"], rows, iso_timestamps(time_ms[rows] % DAY_MS - back))
                self._count("past_events", source, len(rows))
        if source == "api_keys":
            if "key_before_user" in active:
                self._key_before_user(time_ms, fields)
            self._key_ms.update(zip(fields["key_id"].text.to_pylist(), time_ms.tolist()))
        if source == "gateway_requests":
            if "call_before_key" in active:
                self._call_before_key(time_ms, fields)
            if "future_events" in active:
                rows = self._pick("future_events", len(time_ms))
                shift = self._rng("future_events").uniform(2 * DAY_MS, 30 * DAY_MS, len(rows)).round()
                fields["timestamp"] = _replace(fields["timestamp"], rows, iso_timestamps(time_ms[rows] + shift))
                self._count("future_events", source, len(rows))
            if "unknown_api_keys" in active:
                rows = self._pick("unknown_api_keys", len(time_ms))
                keys = base62_ids(self._rng("unknown_api_keys"), len(rows), 20, "key_")
                fields["key_id"] = _replace(fields["key_id"], rows, keys)
                self._count("unknown_api_keys", source, len(rows))
            if "schema_drift" in active:
                self._schema_drift(len(time_ms), fields)
            if "contract_v2" in active:
                rows = self._pick("contract_v2", len(time_ms))
                rng = self._rng("contract_v2")
                regions = pa.array(np.array(["eu-west-1", "us-east-1", "ap-south-1"])[rng.integers(0, 3, len(rows))])
                fields["schema_version"] = JsonValues(_sparse(len(time_ms), rows, pa.array(["2"] * len(rows))), False)
                fields["region"] = JsonValues(_sparse(len(time_ms), rows, regions), True)
                fields["api_version"] = JsonValues(_sparse(len(time_ms), rows, pa.array(["2025-01-01"] * len(rows))), True)
                self._count("contract_v2", source, len(rows))
        if source == "analytics_events":
            if "client_clock_skew" in active:
                self._client_clock_skew(time_ms, fields)
            if "unresolved_users" in active:
                eligible = np.asarray(pc.fill_null(pc.equal(fields["type"].text, "track"), False)) & \
                    np.asarray(pc.is_valid(fields["user_id"].text))
                rows = self._pick("unresolved_users", len(time_ms), eligible)
                users = base62_ids(self._rng("unresolved_users"), len(rows), 16, "usr_")
                fields["user_id"] = _replace(fields["user_id"], rows, users)
                self._count("unresolved_users", source, len(rows))
        if source == "email_events" and "unknown_email_recipients" in active:
            rows = self._pick("unknown_email_recipients", len(time_ms))
            start = self.injected["unknown_email_recipients"]["count"]
            addresses = pa.array([f"nobody.{start + i}@unknown-domain.example" for i in range(len(rows))])
            fields["email"] = _replace(fields["email"], rows, addresses)
            self._count("unknown_email_recipients", source, len(rows))
        if "duplicates" in active and source in ("gateway_requests", "analytics_events", "email_events"):
            rows = self._pick("duplicates", len(time_ms))
            order = pa.array(np.concatenate([np.arange(len(time_ms)), rows]))
            time_ms = time_ms[order.to_numpy()]
            fields = {name: JsonValues(values.text.take(order), values.quoted) for name, values in fields.items()}
            self._count("duplicates", source, len(rows), "within_partition")
        return time_ms, fields

    def _key_before_user(self, time_ms: np.ndarray, fields: dict[str, JsonValues]) -> None:
        signup = _lookup(fields["user_id"].text, self._signup_ms)
        room = signup - np.floor(signup / DAY_MS) * DAY_MS > 31 * MINUTE_MS  # the day's start leaves room before it
        rows = self._pick("key_before_user", len(time_ms), ~np.isnan(signup) & room & (time_ms >= signup))
        earlier = signup[rows] - self._rng("key_before_user").uniform(MINUTE_MS, 30 * MINUTE_MS, len(rows)).round()
        time_ms[rows] = earlier
        fields["created_at"] = _replace(fields["created_at"], rows, iso_timestamps(earlier))
        self._count("key_before_user", "api_keys", len(rows))

    def _call_before_key(self, time_ms: np.ndarray, fields: dict[str, JsonValues]) -> None:
        created = _lookup(fields["key_id"].text, self._key_ms)
        room = created - np.floor(created / DAY_MS) * DAY_MS > 31 * MINUTE_MS
        rows = self._pick("call_before_key", len(time_ms), ~np.isnan(created) & room & (time_ms >= created))
        earlier = created[rows] - self._rng("call_before_key").uniform(MINUTE_MS, 30 * MINUTE_MS, len(rows)).round()
        time_ms[rows] = earlier
        fields["timestamp"] = _replace(fields["timestamp"], rows, iso_timestamps(earlier))
        self._count("call_before_key", "gateway_requests", len(rows))

    def _client_clock_skew(self, time_ms: np.ndarray, fields: dict[str, JsonValues]) -> None:
        eligible = np.asarray(pc.is_valid(fields["sent_at"].text)) & np.asarray(pc.is_valid(fields["received_at"].text))
        rows = self._pick("client_clock_skew", len(time_ms), eligible)
        offset = -self._rng("client_clock_skew").uniform(HOUR_MS, 6 * HOUR_MS, len(rows)).round()
        sent = np.array([_ms(t) for t in fields["sent_at"].text.take(pa.array(rows)).to_pylist()])
        fields["timestamp"] = _replace(fields["timestamp"], rows, iso_timestamps(time_ms[rows] + offset))
        fields["sent_at"] = _replace(fields["sent_at"], rows, iso_timestamps(sent + offset))
        self._count("client_clock_skew", "analytics_events", len(rows))

    def _schema_drift(self, n: int, fields: dict[str, JsonValues]) -> None:
        rows = self._pick("schema_drift", n)
        mode = self._rng("schema_drift").integers(0, len(DRIFT_MODES), len(rows))
        added, removed, renamed, retyped = (rows[mode == i] for i in range(len(DRIFT_MODES)))
        status = fields["status"].text
        fields["method"] = _replace(fields["method"], removed, pa.nulls(len(removed), pa.string()), raw=True)
        retyped_text = pc.binary_join_element_wise('"', status.take(pa.array(retyped)), '"', "")
        renamed_text = status.take(pa.array(renamed))
        fields["status"] = _replace(
            _replace(fields["status"], retyped, retyped_text, raw=True), renamed, pa.nulls(len(renamed), pa.string()),
            raw=True,
        )
        fields["edge_pop"] = JsonValues(_sparse(n, added, pa.array(["fra1"] * len(added))), True)
        fields["status_code"] = JsonValues(_sparse(n, renamed, renamed_text), False)
        for name, picked in zip(DRIFT_MODES, (added, removed, renamed, retyped)):
            self.injected["schema_drift"][name] = self.injected["schema_drift"].get(name, 0) + len(picked)
        self._count("schema_drift", "gateway_requests", len(rows))

    # --- file faults: called once every record is written ------------------------------------------------------

    def finish(self, landing_dir: Path) -> None:
        gateway = landing_dir / "gateway_requests"
        days = sorted(date.fromisoformat(p.name[:10]) for p in gateway.glob("*.jsonl"))
        rng = np.random.default_rng([self.seed, 4343])
        weeks = _middle_weeks(days)
        rng.shuffle(weeks)
        free = list(weeks)

        def reserve(need_next: bool = False) -> date:
            for week in free:
                if not need_next or week + timedelta(weeks=1) in free:
                    free.remove(week)
                    if need_next:
                        free.remove(week + timedelta(weeks=1))
                    return week
            raise ValueError("too few weeks of gateway data to place every file fault; generate more weeks")

        def day_file(day: date) -> Path:
            return gateway / f"{day.isoformat()}.jsonl"

        reserved_days: set[date] = set()
        if "duplicates" in self.names:
            week = reserve(need_next=True)
            source_day = week + timedelta(days=2)
            lines = day_file(source_day).read_bytes()
            with open(day_file(source_day + timedelta(weeks=1)), "ab") as target:
                target.write(lines)
            copied = lines.count(b"\n")
            self._count("duplicates", "gateway_requests", copied, "across_partitions")
            self.injected["duplicates"]["resent_file"] = {
                "file": f"gateway_requests/{source_day}.jsonl", "into": f"gateway_requests/{source_day + timedelta(weeks=1)}.jsonl",
            }
            reserved_days |= {source_day, source_day + timedelta(weeks=1)}
        if "missing_day_file" in self.names:
            day = reserve() + timedelta(days=2)
            day_file(day).unlink()
            self.injected["missing_day_file"] = {"count": 1, "days": [day.isoformat()]}
        if "empty_partition" in self.names:
            week = reserve()
            removed = 0
            for i in range(7):
                path = day_file(week + timedelta(days=i))
                if path.exists():
                    removed += path.read_bytes().count(b"\n")
                    path.write_bytes(b"")
            self.injected["empty_partition"] = {"count": 1, "weeks": [week.isoformat()], "lines_removed": removed}
        if "volume_drop" in self.names:
            day = reserve() + timedelta(days=3)
            lines = day_file(day).read_bytes().splitlines(keepends=True)
            day_file(day).write_bytes(b"".join(lines[::10]))
            self.injected["volume_drop"] = {"count": 1, "days": [day.isoformat()], "lines_before": len(lines),
                                            "lines_after": len(lines[::10])}
        if "malformed_lines" in self.names:
            truncated_day = reserve() + timedelta(days=1)
            reserved_days.add(truncated_day)
            self._malformed_lines(landing_dir, rng, reserved_days)
            self._truncate_gzip(day_file(truncated_day))
        if "stale_source" in self.names:
            self._stale(landing_dir, days)

    def _malformed_lines(self, landing_dir: Path, rng: np.random.Generator, avoid: set[date]) -> None:
        """Lines cut in half (malformed JSON) and lines with bytes that are not UTF-8, in place of good lines."""
        details = self.injected["malformed_lines"]
        for source in ("gateway_requests", "analytics_events"):
            files = [p for p in sorted((landing_dir / source).glob("*.jsonl"))
                     if date.fromisoformat(p.name[:10]) not in avoid and p.stat().st_size]
            counts = np.array([p.read_bytes().count(b"\n") for p in files])
            line_ids = rng.choice(int(counts.sum()), size=min(MALFORMED_LINES_PER_SOURCE, int(counts.sum())), replace=False)
            starts = np.concatenate([[0], np.cumsum(counts)])
            for k, line_id in enumerate(sorted(line_ids)):
                index = int(np.searchsorted(starts, line_id, side="right") - 1)
                path, position = files[index], int(line_id - starts[index])
                lines = path.read_bytes().splitlines(keepends=True)
                body = lines[position].rstrip(b"\n")
                if k % 2 == 0:
                    lines[position] = body[: len(body) // 2] + b"\n"
                    details["malformed_json"] = details.get("malformed_json", 0) + 1
                else:
                    middle = len(body) // 2
                    lines[position] = body[:middle] + b"\xff\xfe" + body[middle:] + b"\n"
                    details["invalid_utf8"] = details.get("invalid_utf8", 0) + 1
                path.write_bytes(b"".join(lines))
            self._count("malformed_lines", source, len(line_ids))

    def _truncate_gzip(self, path: Path) -> None:
        """Gzip a day file and cut the compressed bytes short: the lines before the cut remain readable."""
        data = path.read_bytes()
        compressed = _gzip(data)
        cut = compressed[: int(len(compressed) * 0.6)]
        readable = zlib.decompressobj(wbits=31).decompress(cut)
        complete = readable.count(b"\n")
        path.with_name(path.name + ".gz").write_bytes(cut)
        path.unlink()
        details = self.injected["malformed_lines"]
        details["truncated_gzip"] = {
            "file": f"{path.parent.name}/{path.name}.gz", "lines_before": data.count(b"\n"), "lines_readable": complete,
        }
        # the remainder after the last complete line is quarantined as one unreadable line
        self._count("malformed_lines", "gateway_requests", 1)

    def _stale(self, landing_dir: Path, days: list[date]) -> None:
        others = [date.fromisoformat(p.name[:10]) for s in landing_dir.iterdir() if s.name != "gateway_requests"
                  for p in s.glob("*.jsonl*")]
        as_of = max(others + days)
        removed = [d for d in days if d > as_of - timedelta(days=STALE_LAG_DAYS)]
        for day in removed:
            (landing_dir / "gateway_requests" / f"{day.isoformat()}.jsonl").unlink(missing_ok=True)
        latest = max(d for d in days if d not in removed)
        self.injected["stale_source"] = {
            "count": (as_of - latest).days, "as_of_day": as_of.isoformat(), "latest_day": latest.isoformat(),
            "days_removed": [d.isoformat() for d in removed],
        }

    def truth(self) -> dict:
        return {name: dict(values) for name, values in self.injected.items()}


def _middle_weeks(days: list[date]) -> list[date]:
    """Mondays of the weeks wholly inside the data, leaving two weeks at either end."""
    if not days:
        return []
    first = days[0] - timedelta(days=days[0].weekday()) + timedelta(weeks=2)
    last = days[-1] - timedelta(days=days[-1].weekday()) - timedelta(weeks=2)
    return [first + timedelta(weeks=i) for i in range(max((last - first).days // 7 + 1, 0))]


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=31)
    return compressor.compress(data) + compressor.flush()


def _lookup(keys: pa.Array, known: dict[str, float]) -> np.ndarray:
    """known[key] for each key, NaN where unknown."""
    if not known:
        return np.full(len(keys), np.nan)
    names = list(known)
    position = pc.index_in(keys, value_set=pa.array(names, pa.string())).fill_null(-1).to_numpy(zero_copy_only=False)
    values = np.append(np.array([known[k] for k in names], dtype=float), np.nan)
    return values[position]


def _replace(values: JsonValues, rows: np.ndarray, replacements: pa.Array, raw: bool = False) -> JsonValues:
    """The column with `rows` set to `replacements`: plain strings, JSON-encoded here when the column holds
    JSON text (a string column with escapes); `raw` replacements are JSON text already."""
    if not len(rows):
        return values
    mask = np.zeros(len(values.text), dtype=bool)
    mask[rows] = True
    order = np.argsort(rows, kind="stable")  # replace_with_mask fills the masked rows in row order
    replacements = replacements.take(pa.array(order)).cast(pa.string())
    if not values.quoted and not raw:
        replacements = pa.array([None if v is None else json.dumps(v) for v in replacements.to_pylist()], pa.string())
    return JsonValues(pc.replace_with_mask(values.text, pa.array(mask), replacements), values.quoted)


def _sparse(n: int, rows: np.ndarray, texts: pa.Array) -> pa.Array:
    """A column of n nulls (field left out) with `texts` at `rows`."""
    return _replace(JsonValues(pa.nulls(n, pa.string()), True), rows, texts).text

