"""Alert delivery: a Slack-compatible webhook and a local JSONL alert log.

Every alert carries an idempotency key. Alerts are first written to an outbox
file (per sensor), then sent to each sink with retries and backoff; a sink
that is still down keeps them in the outbox for the next call. A ledger of
delivered (key, sink) pairs makes a repeated alert a no-op, so an alert is
neither lost nor sent twice to the same sink (short of a crash between a sink
accepting it and the ledger line being written; the webhook also gets the key
in an `Idempotency-Key` header for that case).

No Dagster objects here: the sensors in `defs/automation` build the alerts
from the event log and call `deliver`.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

KINDS = {
    "check_failed": "Data-quality check failed",
    "check_warning": "Data-quality check warning",
    "run_failed": "Run failed",
    "indicator_anomaly": "Leading indicator anomaly",
}


@dataclass(frozen=True)
class Alert:
    """One thing a person should look at, with everything needed to find it."""

    key: str  # idempotency key: the same alert always has the same key
    kind: str  # one of KINDS
    run_id: str
    url: str  # the run in the UI
    asset: str | None = None
    partition: str | None = None
    check: str | None = None
    observed: Any = None
    threshold: Any = None
    job: str | None = None
    details: str | None = None
    occurred_at: float | None = None  # Unix time of the event

    @property
    def title(self) -> str:
        subject = self.check or self.job or self.run_id
        return f"{KINDS.get(self.kind, self.kind)}: {subject}"

    def facts(self) -> list[tuple[str, str]]:
        """(label, value) pairs that are known for this alert, in reading order."""
        pairs = [
            ("Asset", self.asset),
            ("Partition", self.partition),
            ("Check", self.check),
            ("Observed", self.observed),
            ("Threshold", self.threshold),
            ("Job", self.job),
            ("Run", self.run_id),
        ]
        return [(label, str(value)) for label, value in pairs if value is not None]

    def text(self) -> str:
        """The alert as one plain-text message (Slack's notification fallback)."""
        facts = ", ".join(f"{label.lower()} {value}" for label, value in self.facts() if label != "Run")
        details = f" {self.details}" if self.details else ""
        return f"{self.title} ({facts}).{details} {self.url}"

    def slack_message(self) -> dict:
        """Slack incoming-webhook JSON: `text` plus Block Kit `blocks`."""
        blocks: list[dict] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {
                "type": "section",
                # Slack shows at most 10 fields per section, 2000 characters each
                "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value[:1900]}"} for label, value in self.facts()[:10]],
            },
        ]
        if self.details:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": self.details[:2900]}})
        blocks.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the run"}, "url": self.url}],
            }
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"alert key `{self.key}`"}]})
        return {"text": self.text(), "blocks": blocks}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Alert:
        return cls(**data)


class SinkError(Exception):
    """A sink did not take an alert. `transient` says whether to stop trying the sink for now."""

    def __init__(self, message: str, transient: bool = True):
        super().__init__(message)
        self.transient = transient


class Sink(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


class WebhookSink:
    """POSTs the Slack-compatible message to a URL."""

    name = "webhook"

    def __init__(self, url: str, timeout_seconds: float = 5.0):
        self.url = url
        self.timeout_seconds = timeout_seconds

    def send(self, alert: Alert) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(alert.slack_message()).encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": alert.key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as error:
            # 4xx other than timeout / rate limit: this alert is refused, the sink itself is up
            transient = error.code >= 500 or error.code in (408, 429)
            raise SinkError(f"webhook answered {error.code} {error.reason}", transient) from error
        except (urllib.error.URLError, OSError) as error:
            raise SinkError(f"webhook unreachable: {error}") from error


class AlertLogSink:
    """Appends the alert as one JSON line to a local file."""

    name = "alert_log"

    def __init__(self, path: Path):
        self.path = path

    def send(self, alert: Alert) -> None:
        line = json.dumps({"logged_at": time.time(), "text": alert.text(), **alert.as_dict()}, default=str)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as handle, _locked(handle):
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise SinkError(f"cannot write {self.path}: {error}") from error


@contextmanager
def _locked(handle) -> Iterator[None]:
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass
class Pending:
    alert: Alert
    sinks: list[str]  # sinks that have not taken it yet


class Outbox:
    """Alerts owed to sinks (`<name>.outbox.json`) and what was delivered (`<name>.delivered.jsonl`)."""

    def __init__(self, folder: Path, name: str):
        self.folder = folder
        self.outbox_path = folder / f"{name}.outbox.json"
        self.ledger_path = folder / f"{name}.delivered.jsonl"
        self.lock_path = folder / f"{name}.lock"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One delivery at a time per outbox, across threads and processes."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as handle, _locked(handle):
            yield

    def pending(self) -> list[Pending]:
        if not self.outbox_path.exists():
            return []
        rows = json.loads(self.outbox_path.read_text() or "[]")
        return [Pending(Alert.from_dict(r["alert"]), list(r["sinks"])) for r in rows]

    def save(self, pending: Sequence[Pending]) -> None:
        """Replace the outbox atomically: a crash leaves the old or the new file, never half of one."""
        temporary = self.outbox_path.with_suffix(".tmp")
        temporary.write_text(json.dumps([{"alert": p.alert.as_dict(), "sinks": p.sinks} for p in pending], default=str))
        with open(temporary) as handle:
            os.fsync(handle.fileno())
        temporary.replace(self.outbox_path)

    def delivered(self) -> set[tuple[str, str]]:
        if not self.ledger_path.exists():
            return set()
        pairs = set()
        for line in self.ledger_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                pairs.add((row["key"], row["sink"]))
        return pairs

    def record_delivery(self, key: str, sink: str) -> None:
        with open(self.ledger_path, "a") as handle:
            handle.write(json.dumps({"key": key, "sink": sink, "at": time.time()}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


@dataclass
class DeliveryReport:
    enqueued: int = 0
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (key, sink)
    pending: int = 0  # alerts still owed to at least one sink
    errors: list[str] = field(default_factory=list)


def deliver(
    outbox: Outbox,
    alerts: Sequence[Alert],
    sinks: Sequence[Sink],
    retries: int = 3,
    backoff_seconds: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Queue `alerts` for every sink, then send everything the outbox owes.

    When this returns, every alert is either delivered to each sink or saved in
    the outbox, so the caller may move its cursor past the events behind them.
    """
    report = DeliveryReport()
    names = [s.name for s in sinks]
    with outbox.lock():
        delivered = outbox.delivered()
        pending = outbox.pending()
        queued = {p.alert.key for p in pending}
        for alert in alerts:
            owed = [n for n in names if (alert.key, n) not in delivered]
            if alert.key in queued or not owed:
                continue
            pending.append(Pending(alert, owed))
            queued.add(alert.key)
            report.enqueued += 1
        outbox.save(pending)  # before any send: from here on nothing is lost

        down: set[str] = set()
        by_name = {s.name: s for s in sinks}
        for entry in pending:
            # a sink removed from the configuration is owed nothing any more
            entry.sinks = [n for n in entry.sinks if n in by_name and (entry.alert.key, n) not in delivered]
            for name in list(entry.sinks):
                if name in down:
                    continue
                error = _send(by_name[name], entry.alert, retries, backoff_seconds, sleep)
                if error is None:
                    outbox.record_delivery(entry.alert.key, name)
                    entry.sinks.remove(name)
                    report.delivered.append((entry.alert.key, name))
                else:
                    report.errors.append(f"{name}: {error}")
                    if error.transient:
                        down.add(name)  # later alerts wait in the outbox instead of retrying a dead sink
        remaining = [p for p in pending if p.sinks]
        outbox.save(remaining)
        report.pending = len(remaining)
    return report


def _send(sink: Sink, alert: Alert, retries: int, backoff_seconds: float, sleep: Callable[[float], None]) -> SinkError | None:
    """Try a sink up to `retries` times, doubling the wait each time; the last error, or None."""
    error: SinkError | None = None
    for attempt in range(max(1, retries)):
        if attempt:
            sleep(backoff_seconds * 2 ** (attempt - 1))
        try:
            sink.send(alert)
            return None
        except SinkError as failure:
            error = failure
            if not failure.transient:
                return failure
    return error
