"""Alert delivery (lib/alerts.py): Slack-compatible webhook, local alert log, outbox; a real HTTP server on 127.0.0.1."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from funnel_assets.lib.alerts import Alert, AlertLogSink, Outbox, WebhookSink, deliver


class WebhookReceiver:
    """A local HTTP server that records every JSON body POSTed to it; can be stopped and started again on one port."""

    def __init__(self, status: int = 200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.status = status
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/alerts"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status < 300:
                    receiver.received.append(json.loads(body))
                    receiver.headers.append(dict(self.headers))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.stop()


def alert(n: int, **fields) -> Alert:
    return Alert(
        key=f"check:run{n}:{n}",
        kind="check_failed",
        run_id=f"run{n}",
        url=f"http://127.0.0.1:3000/runs/run{n}",
        asset="raw_gateway_requests",
        partition="2025-03-03",
        check="raw_gateway_requests_has_unique_request_ids",
        observed=12,
        threshold=0,
        **fields,
    )


def no_sleep(seconds: float) -> None:
    pass


def test_slack_message_names_asset_partition_check_values_and_links_the_run():
    message = alert(1, details="12 duplicate request ids").slack_message()
    assert set(message) == {"text", "blocks"}
    text = message["text"]
    for part in ("raw_gateway_requests", "2025-03-03", "raw_gateway_requests_has_unique_request_ids", "observed 12", "threshold 0",
                 "http://127.0.0.1:3000/runs/run1"):
        assert part in text
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "section", "section", "actions", "context"]
    fields = [f["text"] for f in message["blocks"][1]["fields"]]
    assert "*Observed*\n12" in fields and "*Threshold*\n0" in fields and "*Partition*\n2025-03-03" in fields
    assert message["blocks"][3]["elements"][0]["url"] == "http://127.0.0.1:3000/runs/run1"


def test_every_sink_gets_each_alert_once(tmp_path, receiver):
    receiver.start()
    log = tmp_path / "alerts.jsonl"
    sinks = [AlertLogSink(log), WebhookSink(receiver.url)]
    outbox = Outbox(tmp_path, "test")
    report = deliver(outbox, [alert(1), alert(2)], sinks, sleep=no_sleep)
    assert report.pending == 0 and len(report.delivered) == 4
    # the same alerts again (a sensor re-reading events after a crash): nothing is sent twice
    report = deliver(outbox, [alert(1), alert(2)], sinks, sleep=no_sleep)
    assert report.enqueued == 0 and report.delivered == []
    assert [m["text"] for m in receiver.received] == [alert(1).text(), alert(2).text()]
    assert [h["Idempotency-Key"] for h in receiver.headers] == ["check:run1:1", "check:run2:2"]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["key"] for line in lines] == ["check:run1:1", "check:run2:2"]
    assert lines[0]["observed"] == 12 and lines[0]["url"] == "http://127.0.0.1:3000/runs/run1"


def test_a_sink_that_is_down_keeps_its_alerts_in_the_outbox_until_it_is_back(tmp_path, receiver):
    log = tmp_path / "alerts.jsonl"
    sinks = [AlertLogSink(log), WebhookSink(receiver.url, timeout_seconds=2)]
    outbox = Outbox(tmp_path, "test")
    waits = []
    report = deliver(outbox, [alert(1), alert(2)], sinks, retries=3, backoff_seconds=0.25, sleep=waits.append)
    # retried with doubling backoff, then given up for this call: the second alert does not retry a dead sink
    assert waits == [0.25, 0.5]
    assert report.pending == 2 and len(report.delivered) == 2  # the log took both
    assert "webhook unreachable" in report.errors[0]
    assert len(log.read_text().splitlines()) == 2
    # still down on the next call, with one more alert
    report = deliver(outbox, [alert(3)], sinks, retries=2, sleep=no_sleep)
    assert report.pending == 3 and len(log.read_text().splitlines()) == 3
    receiver.start()
    report = deliver(outbox, [], sinks, sleep=no_sleep)
    assert report.pending == 0
    assert [m["blocks"][-1]["elements"][0]["text"] for m in receiver.received] == [
        "alert key `check:run1:1`", "alert key `check:run2:2`", "alert key `check:run3:3`"]
    assert len(log.read_text().splitlines()) == 3
    assert deliver(outbox, [alert(1), alert(2), alert(3)], sinks, sleep=no_sleep).delivered == []


def test_a_refused_alert_stays_pending_without_blocking_the_sink(tmp_path):
    refusing = WebhookReceiver(status=400)
    refusing.start()
    try:
        outbox = Outbox(tmp_path, "test")
        report = deliver(outbox, [alert(1), alert(2)], [WebhookSink(refusing.url)], retries=3, sleep=no_sleep)
        # a 400 is about the alert, not the sink: no retries, and the next alert is still tried
        assert report.pending == 2 and len(report.errors) == 2 and "400" in report.errors[0]
    finally:
        refusing.stop()


def test_outbox_survives_a_restart(tmp_path, receiver):
    sinks = [WebhookSink(receiver.url)]
    deliver(Outbox(tmp_path, "test"), [alert(1)], sinks, retries=1, sleep=no_sleep)
    assert [p.alert for p in Outbox(tmp_path, "test").pending()] == [alert(1)]
    receiver.start()
    # a new Outbox object over the same folder: as after a process restart
    report = deliver(Outbox(tmp_path, "test"), [], sinks, sleep=no_sleep)
    assert report.pending == 0 and len(receiver.received) == 1
