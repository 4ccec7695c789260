"""Where alerts go, as one typed resource, and the executor every job of this project uses."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from funnel_assets.lib.alerts import Alert, AlertLogSink, DeliveryReport, Outbox, Sink, WebhookSink, deliver


class AlertSinksResource(dg.ConfigurableResource):
    """Alert sinks: a Slack-compatible webhook (when a URL is set) and a local JSONL alert log.

    FUNNEL_ALERT_WEBHOOK_URL, FUNNEL_ALERT_LOG and FUNNEL_UI_BASE_URL override
    the settings when a sensor evaluates (never at import).
    """

    webhook_url: str = ""  # empty: no webhook, the alert log only
    alert_log_path: str = ".funnel/alerts/alerts.jsonl"
    ui_base_url: str = "http://127.0.0.1:3000"
    state_dir: str = ""  # outboxes and delivery ledgers; empty: the alert log's folder
    retries: int = 3
    backoff_seconds: float = 0.5
    timeout_seconds: float = 5.0

    @property
    def webhook(self) -> str:
        return os.environ.get("FUNNEL_ALERT_WEBHOOK_URL", self.webhook_url)

    @property
    def alert_log(self) -> Path:
        return Path(os.environ.get("FUNNEL_ALERT_LOG", self.alert_log_path))

    @property
    def ui_base(self) -> str:
        return os.environ.get("FUNNEL_UI_BASE_URL", self.ui_base_url).rstrip("/")

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_base}/runs/{run_id}"

    def sinks(self) -> list[Sink]:
        sinks: list[Sink] = [AlertLogSink(self.alert_log)]
        if self.webhook:
            sinks.append(WebhookSink(self.webhook, self.timeout_seconds))
        return sinks

    def outbox(self, name: str) -> Outbox:
        return Outbox(Path(self.state_dir) if self.state_dir else self.alert_log.parent, name)

    def deliver(self, outbox_name: str, alerts: list[Alert]) -> DeliveryReport:
        """Queue the alerts in the named outbox and send everything it owes."""
        return deliver(self.outbox(outbox_name), alerts, self.sinks(), self.retries, self.backoff_seconds)


defs = dg.Definitions(resources={"alert_sinks": AlertSinksResource()})
