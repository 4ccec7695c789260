"""Configuration of the whole pipeline: one typed resource, in two parts by concern.

- `FunnelResource` itself: where the data lives and what runs it (the data
  folder, the warehouse, the identity store, the pseudonym key, the engine's
  memory and threads, the vendor sources to convert);
- `FunnelRules` (its `rules`): how the funnel is defined (stages, windows,
  events, client patterns, benchmark bands), the same wherever it runs.

Defaults suit the embedded set-up (`funnel demo`, `dagster dev` from the
repository root); every value can be changed in the launchpad, in
`funnel run --config FILE`, or by environment (FUNNEL_* variables, read when
a run starts, never at import).
"""

from __future__ import annotations

import difflib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import dagster as dg
import pydantic
from pydantic import PrivateAttr

from funnel_assets.lib.adapters.sync import VendorInput
from funnel_assets.lib.clients import DEFAULT_RULES, ClientRule
from funnel_assets.lib.engines import DEFAULT_MEMORY_LIMIT, ENGINES, Engine, SparkSettings, connect, hold, release
from funnel_assets.lib.identity_store import IdentityStore
from funnel_assets.orchestration.dead_runs import fail_dead_run
from funnel_assets.orchestration.writer_lock import WAREHOUSE_TAG, Writer, acquire


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


class DiagnosticRules(dg.Config):
    """How the drop-off diagnostics look: paths, leading-indicator anomalies, conversion drivers, docs friction."""

    # mart_paths: the stage pairs whose paths are shown, each within its window when not converted
    path_transitions: list[Transition] = [
        {"from_stage": "account_created", "to_stage": "first_api_call", "window_days": 7},
        {"from_stage": "first_api_call", "to_stage": "active_integration", "window_days": 14},
    ]
    path_max_steps: int = 8  # steps of a path shown (repeats collapsed), then "..."
    paths_kept: int = 10  # most common paths kept per cohort, transition and outcome
    # mart_leading_indicators: baseline = median of up to baseline_weeks trailing complete weeks, band = the
    # larger of anomaly_mads robust standard deviations (1.4826 MAD) and anomaly_min_relative_change of it
    baseline_weeks: int = 8
    min_baseline_weeks: int = 6
    anomaly_mads: float = 3.5
    anomaly_min_relative_change: float = 0.25
    # mart_conversion_drivers / mart_developer_propensity: the outcome, and the complete cohorts pooled
    outcome_stage: str = "production_deployment"
    outcome_days: int = 90
    driver_pool_weeks: int = 26
    # factor -> the value the others are compared with (default: the factor's most common value)
    driver_references: dict[str, str] = {
        "client_kind": "raw_http", "first_session_depth": "1", "401_before_first_success": "no",
        "400_before_first_success": "no", "429_before_first_success": "no", "email_engagement": "none",
        "account_type": "individual", "docs_reread": "no", "signup_day": "weekday",
    }
    # mart_docs_friction: docs pages, a re-read (the same page this often in one sitting), a skim (left this fast)
    docs_path_prefix: str = "/docs"
    reread_min_views: int = 3
    skim_seconds: int = 10

    @property
    def path_transition_rules(self) -> list[Transition]:
        return [Transition.model_validate(t) if isinstance(t, dict) else t for t in self.path_transitions]

    def params(self) -> dict:
        return {
            "path_max_steps": self.path_max_steps,
            "paths_kept": self.paths_kept,
            "baseline_weeks": self.baseline_weeks,
            "min_baseline_weeks": self.min_baseline_weeks,
            "anomaly_mads": self.anomaly_mads,
            "anomaly_min_relative_change": self.anomaly_min_relative_change,
            "outcome_stage": self.outcome_stage,
            "outcome_days": self.outcome_days,
            "driver_pool_weeks": self.driver_pool_weeks,
            "docs_path_prefix": self.docs_path_prefix,
            "reread_min_views": self.reread_min_views,
            "skim_seconds": self.skim_seconds,
        }


# Published with the code, so pseudonyms made with it can be recomputed by anyone: for demo data only.
DEMO_PSEUDONYM_KEY = "funnel-assets-demo-key"


class FunnelRules(dg.Config):
    """How the funnel is defined: stage events, windows, sessions, client patterns, benchmark bands."""

    intent_path_prefixes: list[str] = ["/docs", "/pricing", "/signup"]
    milestone_event: str = "quickstart_completed"
    production_webhook_event: str = "webhook_endpoint_registered"
    production_environment: str = "production"
    paid_utm_mediums: list[str] = ["cpc", "ppc", "paid"]
    search_engines: list[str] = ["google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia."]
    product_listings: list[str] = ["producthunt.com", "github.com", "npmjs.com"]
    session_gap_minutes: int = 30
    # route templates: the paths of your API's OpenAPI document (YAML or JSON), when given
    openapi_path: str = ""
    # without one (or for paths it lacks): a position with more distinct literal-looking values than this
    # under one parent is a parameter
    route_literal_limit: int = 50
    first_session_hours: int = 24
    horizon_days: int = 90
    # an organisation's second developer joining within this many days of its first counts as early
    org_second_developer_days: int = 7
    transitions: list[Transition] = DEFAULT_TRANSITIONS
    diagnostics: DiagnosticRules = DiagnosticRules()
    client_patterns: list[ClientPattern] = [
        {"pattern": r.pattern, "kind": r.kind, "name": r.name} for r in DEFAULT_RULES
    ]
    # tried before client_patterns: your own SDKs without repeating the default rules
    extra_client_patterns: list[ClientPattern] = []

    @property
    def client_rules(self) -> tuple[ClientRule, ...]:
        patterns = [
            ClientPattern.model_validate(p) if isinstance(p, dict) else p
            for p in [*self.extra_client_patterns, *self.client_patterns]
        ]
        return tuple(ClientRule(p.pattern, p.kind, p.name) for p in patterns)

    @property
    def transition_rules(self) -> list[Transition]:
        return [Transition.model_validate(t) if isinstance(t, dict) else t for t in self.transitions]

    def params(self) -> dict:
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
            "route_literal_limit": self.route_literal_limit,
            "first_session_hours": self.first_session_hours,
            "horizon_days": self.horizon_days,
            "org_second_developer_days": self.org_second_developer_days,
        } | self.diagnostics.params()


class FunnelResource(dg.ConfigurableResource):
    """Where the data lives and what runs it; how the funnel is defined is in `rules`."""

    data_dir: str = ".funnel/data"
    # duckdb: the warehouse is one file; spark: a folder or URI (a local path, s3a://..., hdfs://...) of Parquet tables
    warehouse_path: str = ".funnel/warehouse.duckdb"
    engine: str = "duckdb"  # duckdb (embedded) or spark (pip install 'funnel_assets[spark]')
    spark_master: str = "local[*]"  # spark://host:7077, yarn, k8s://..., or local[N]
    spark_remote: str = ""  # a Spark Connect URL (sc://host:15002); when given, it is used instead of spark_master
    spark_conf: dict[str, str] = {}  # passed to the Spark session as they are (spark.executor.memory, ...)
    identity_db_url: str = ""  # empty: a SQLite file beside the warehouse
    pseudonym_key: str = DEMO_PSEUDONYM_KEY  # set your own secret (FUNNEL_PSEUDONYM_KEY) for real data
    allow_demo_key: bool = False  # the data is a demo: `funnel run` may use the published demo key
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int = 2
    vendor_sources: list[VendorSource] = []
    rules: FunnelRules = FunnelRules()

    _writer: Writer | None = PrivateAttr(default=None)
    _held: Any = PrivateAttr(default=None)  # the warehouse, open for the run's steps (engines.hold)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run holds the warehouse for its whole length (a sensor, which only reads the landing folder, does not).

        A writer before it that died is marked failed here, so the queue moves on.
        """
        if context.run_id is None:
            return
        self._writer = acquire(self.warehouse, context.run_id)
        try:
            self._held = hold(self.warehouse_location, self.memory_limit, self.threads, self.engine_name)
        except Exception:
            self._writer.release()  # no teardown follows a setup that failed
            self._writer = None
            raise
        if context.instance is not None:  # `funnel checks --warehouse` reads the checks of its own runs
            context.instance.add_run_tags(context.run_id, {WAREHOUSE_TAG: str(self.warehouse.resolve())})
        if self._writer.previous is not None and context.instance is not None:
            dead = fail_dead_run(context.instance, self._writer.previous, context.run_id)
            if dead is not None:
                context.log.warning(f"run {dead.run_id} had died while writing {self.warehouse}: marked failed")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        release(self._held)
        self._held = None
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> FunnelResource:
        """From one flat mapping (a `--config` file): the keys of `FunnelRules` may sit at the top or under `rules`."""
        rules = dict(settings.get("rules") or {})
        rest = {}
        for key, value in settings.items():
            if key in FunnelRules.model_fields:
                rules[key] = value
            elif key != "rules":
                rest[key] = value
        return cls(**rest, rules=FunnelRules(**rules))

    @pydantic.field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if value not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {value!r}")
        return value

    @property
    def engine_name(self) -> str:
        """The engine that runs the SQL: FUNNEL_ENGINE when set, else `engine`."""
        name = os.environ.get("FUNNEL_ENGINE", self.engine)
        if name not in ENGINES:
            raise ValueError(f"FUNNEL_ENGINE must be one of {', '.join(ENGINES)}, not {name!r}")
        return name

    @property
    def warehouse_location(self) -> str:
        """Where the engine keeps the tables: the warehouse path, or a URI (s3a://, hdfs://) as given."""
        location = os.environ.get("FUNNEL_WAREHOUSE", self.warehouse_path)
        return location if is_uri(location) else str(Path(location))

    @property
    def data_path(self) -> Path:
        return Path(os.environ.get("FUNNEL_DATA_DIR", self.data_dir))

    @property
    def warehouse(self) -> Path:
        """The warehouse on this machine, beside which its own files live (identity store, instance, lock);
        for a warehouse at a URI, `.funnel/<its last name>`."""
        location = self.warehouse_location
        return Path(".funnel") / location.rstrip("/").rsplit("/", 1)[-1] if is_uri(location) else Path(location)

    @property
    def identity_url(self) -> str:
        url = os.environ.get("FUNNEL_IDENTITY_DB_URL", self.identity_db_url)
        return url or f"sqlite:///{self.beside_warehouse('identity.sqlite')}"

    def beside_warehouse(self, suffix: str) -> Path:
        """A file or folder of this warehouse's own, beside it: `<warehouse name>.<suffix>`.

        Every warehouse is a world of its own: two in one folder share nothing.
        """
        return self.warehouse.with_name(f"{self.warehouse.stem}.{suffix}")

    @property
    def instance_home(self) -> Path:
        """The DAGSTER_HOME `funnel` uses for this warehouse when none is set."""
        return self.beside_warehouse("dagster")

    @property
    def vendor_inputs(self) -> tuple[VendorInput, ...]:
        sources = [VendorSource.model_validate(s) if isinstance(s, dict) else s for s in self.vendor_sources]
        return tuple(VendorInput(s.format, Path(s.path), dict(s.options)) for s in sources)

    @property
    def pseudonym_secret(self) -> str:
        return os.environ.get("FUNNEL_PSEUDONYM_KEY", self.pseudonym_key)

    def refuse_demo_key(self) -> None:
        """Real data needs a key of its own: with the published one, anyone holding the identity store
        recomputes a pseudonym from a guessed e-mail address."""
        if self.pseudonym_secret == DEMO_PSEUDONYM_KEY and not self.allow_demo_key:
            raise ValueError(
                "the pseudonym key is the published demo key: set FUNNEL_PSEUDONYM_KEY (or pseudonym_key in "
                "--config) to a secret of your own, or pass --demo-data (allow_demo_key: true) for demo data"
            )

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Engine]:
        """The configured engine on this warehouse."""
        spark = SparkSettings(self.spark_master, self.spark_remote, dict(self.spark_conf))
        with connect(self.warehouse_location, self.pseudonym_secret, self.memory_limit, self.threads, read_only,
                     engine=self.engine_name, spark=spark, held=None if read_only else self._held) as engine:
            yield engine

    @contextmanager
    def identity_store(self) -> Iterator[IdentityStore]:
        store = IdentityStore(self.identity_url)
        try:
            yield store
        finally:
            store.close()


defs = dg.Definitions(resources={"funnel": FunnelResource()})


def is_uri(location: str) -> bool:
    """`s3a://bucket/warehouse`, `hdfs://...`, `file:///...`: a location only an engine reads, not a local path."""
    return "://" in location


def _refuse_unknown(names, known: list[str], source: str, where: str = "") -> None:
    for name in names:
        if name not in known:
            nearest = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else f"; known settings: {', '.join(known)}"
            raise ValueError(f"{source}: unknown setting {where}{name!r}{hint}")


def settings_from(document: object, source: str) -> dict[str, Any]:
    """The FunnelResource settings of a configuration document (parsed YAML), refusing what it would not read.

    The funnel's rules may sit at the top or under `rules:`. An unknown key is an error naming the
    nearest valid one (`milestone_evnt` -> `milestone_event`)."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ValueError(f"{source}: expected a mapping of settings (name: value), not a YAML {type(document).__name__}")
    rules = sorted(FunnelRules.model_fields)
    _refuse_unknown(document, sorted({*FunnelResource.model_fields, *rules}), source)
    nested = document.get("rules")
    if nested is not None:
        if not isinstance(nested, dict):
            raise ValueError(f"{source}: `rules` must be a mapping of funnel rules, not a YAML {type(nested).__name__}")
        _refuse_unknown(nested, rules, source, "rules.")
    return dict(document)
