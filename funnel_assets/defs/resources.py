"""Configuration of the whole pipeline, as one typed resource.

Defaults suit the embedded set-up (`funnel demo`, `dagster dev` from the
repository root); every value can be changed in the launchpad, in
`funnel run --config FILE`, or by environment (FUNNEL_* variables, read when
a run starts, never at import).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import dagster as dg

from funnel_assets.lib.adapters.sync import VendorInput
from funnel_assets.lib.clients import DEFAULT_RULES, ClientRule
from funnel_assets.lib.engine import Engine, connect
from funnel_assets.lib.identity_store import IdentityStore


class Transition(dg.Config):
    from_stage: str
    to_stage: str
    window_days: int = 7
    # Benchmark bands from the seed (top quartile, median range, warning threshold).
    top_quartile: float | None = None
    median_low: float | None = None
    median_high: float | None = None
    warning: float | None = None


ADJACENT = [
    ("intent", "account_created"),
    ("account_created", "credential_provisioned"),
    ("credential_provisioned", "first_api_call"),
    ("first_api_call", "first_integration_milestone"),
    ("first_integration_milestone", "active_integration"),
    ("active_integration", "production_deployment"),
]
# Dagster wants plain values as config defaults, so these are dicts.
DEFAULT_TRANSITIONS = [{"from_stage": a, "to_stage": b, "window_days": 7} for a, b in ADJACENT] + [
    {"from_stage": "account_created", "to_stage": "first_api_call", "window_days": 7,
     "top_quartile": 0.50, "median_low": 0.25, "median_high": 0.35, "warning": 0.15},
    {"from_stage": "first_api_call", "to_stage": "active_integration", "window_days": 14,
     "top_quartile": 0.65, "median_low": 0.40, "median_high": 0.55, "warning": 0.25},
    {"from_stage": "active_integration", "to_stage": "production_deployment", "window_days": 30,
     "top_quartile": 0.55, "median_low": 0.30, "median_high": 0.45, "warning": 0.15},
]


class ClientPattern(dg.Config):
    pattern: str
    kind: str
    name: str


class VendorSource(dg.Config):
    """Vendor files that `funnel run` converts into landing format v1 before materialising."""

    format: str  # one of funnel_assets.lib.adapters.FORMATS: kong, auth0, segment, sendgrid, ...
    path: str  # a file, or a folder standing for every file under it
    options: dict[str, Any] = {}  # the format's options (key_map, log_format, campaign_field, ...)


class FunnelResource(dg.ConfigurableResource):
    """Where the data lives, where results go, and how the funnel is defined."""

    data_dir: str = ".funnel/data"
    warehouse_path: str = ".funnel/warehouse.duckdb"
    identity_db_url: str = ""  # empty: a SQLite file beside the warehouse
    pseudonym_key: str = "funnel-assets-demo-key"  # set your own secret in production
    memory_limit: str = "1536MB"
    threads: int = 2

    intent_path_prefixes: list[str] = ["/docs", "/pricing", "/signup"]
    milestone_event: str = "quickstart_completed"
    production_webhook_event: str = "webhook_endpoint_registered"
    production_environment: str = "production"
    paid_utm_mediums: list[str] = ["cpc", "ppc", "paid"]
    search_engines: list[str] = ["google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia."]
    product_listings: list[str] = ["producthunt.com", "github.com", "npmjs.com"]
    session_gap_minutes: int = 30
    first_session_hours: int = 24
    horizon_days: int = 90
    # an organisation's second developer joining within this many days of its first counts as early
    org_second_developer_days: int = 7
    transitions: list[Transition] = DEFAULT_TRANSITIONS
    client_patterns: list[ClientPattern] = [
        {"pattern": r.pattern, "kind": r.kind, "name": r.name} for r in DEFAULT_RULES
    ]
    # tried before client_patterns: your own SDKs without repeating the default rules
    extra_client_patterns: list[ClientPattern] = []
    vendor_sources: list[VendorSource] = []

    @property
    def data_path(self) -> Path:
        return Path(os.environ.get("FUNNEL_DATA_DIR", self.data_dir))

    @property
    def warehouse(self) -> Path:
        return Path(os.environ.get("FUNNEL_WAREHOUSE", self.warehouse_path))

    @property
    def identity_url(self) -> str:
        url = os.environ.get("FUNNEL_IDENTITY_DB_URL", self.identity_db_url)
        return url or f"sqlite:///{self.warehouse.parent / 'identity.sqlite'}"

    @property
    def client_rules(self) -> tuple[ClientRule, ...]:
        patterns = [
            ClientPattern.model_validate(p) if isinstance(p, dict) else p
            for p in [*self.extra_client_patterns, *self.client_patterns]
        ]
        return tuple(ClientRule(p.pattern, p.kind, p.name) for p in patterns)

    @property
    def vendor_inputs(self) -> tuple[VendorInput, ...]:
        sources = [VendorSource.model_validate(s) if isinstance(s, dict) else s for s in self.vendor_sources]
        return tuple(VendorInput(s.format, Path(s.path), dict(s.options)) for s in sources)

    @property
    def transition_rules(self) -> list[Transition]:
        return [Transition.model_validate(t) if isinstance(t, dict) else t for t in self.transitions]

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        key = os.environ.get("FUNNEL_PSEUDONYM_KEY", self.pseudonym_key)
        with connect(self.warehouse, key, self.memory_limit, self.threads) as engine:
            yield engine

    @contextmanager
    def identity_store(self) -> Iterator[IdentityStore]:
        store = IdentityStore(self.identity_url)
        try:
            yield store
        finally:
            store.close()

    def rule_params(self) -> dict:
        """The funnel rules as bound SQL parameters."""
        return {
            "intent_path_prefixes": self.intent_path_prefixes,
            "milestone_event": self.milestone_event,
            "production_webhook_event": self.production_webhook_event,
            "production_environment": self.production_environment,
            "paid_utm_mediums": self.paid_utm_mediums,
            "search_engines": self.search_engines,
            "product_listings": self.product_listings,
            "session_gap_minutes": self.session_gap_minutes,
            "first_session_hours": self.first_session_hours,
            "horizon_days": self.horizon_days,
            "org_second_developer_days": self.org_second_developer_days,
        }


defs = dg.Definitions(resources={"funnel": FunnelResource()})
