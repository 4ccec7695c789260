"""Versioned source contracts from `data_contracts/<source>/v<N>.yaml`.

A contract is the one place a source's columns are declared: ingestion casts
and rejects by it, the quality checks read it, and the UI shows its schema.
`SourceContracts.raw_columns` adds the columns every raw table has besides
them (the corrected time, the versions of a state source, lineage), so the raw
table is declared here once.

`kind` says what a record is. `event` (the default): something that happened
once, so a repeated unique key is a duplicate. `state`: a snapshot of an
entity (a user, an API key), so a later record with the same unique key is a
newer version of it; `versioned_by` names the record's own update times, the
first present of which orders the versions (then the time field, then
landing order).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from funnel_assets.lib.bundled import bundled

CONTRACTS_DIR = bundled("data_contracts")

# Contract types -> DuckDB storage types.
SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
    "object": "JSON",
    "array": "JSON",
}


KINDS = ("event", "state")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    description: str
    allowed: tuple[str, ...] = ()
    pii: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Contract:
    source: str
    version: int
    description: str
    grain: str
    time_field: str
    unique_key: tuple[str, ...]
    fields: tuple[Field, ...]
    kind: str = "event"
    versioned_by: tuple[str, ...] = ()

    @property
    def is_state(self) -> bool:
        return self.kind == "state"

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _parse(path: Path) -> Contract:
    doc = yaml.safe_load(path.read_text())
    fields = tuple(
        Field(
            name=f["name"],
            type=f["type"],
            required=bool(f.get("required", False)),
            description=f.get("description", ""),
            allowed=tuple(f.get("allowed", ())),
            pii=bool(f.get("pii", False)),
        )
        for f in doc["fields"]
    )
    unknown = [f.type for f in fields if f.type not in SQL_TYPES]
    if unknown:
        raise ValueError(f"{path}: unknown field types {unknown}")
    kind = doc.get("kind", "event")
    if kind not in KINDS:
        raise ValueError(f"{path}: kind {kind!r} is not one of {list(KINDS)}")
    versioned_by = tuple(doc.get("versioned_by", ()))
    timestamps = {f.name for f in fields if f.type == "timestamp"}
    if kind != "state" and versioned_by or set(versioned_by) - timestamps:
        raise ValueError(f"{path}: versioned_by {list(versioned_by)} must name timestamp fields of a state source")
    return Contract(
        source=doc["source"],
        version=int(doc["version"]),
        description=doc["description"],
        grain=doc["grain"],
        time_field=doc["time_field"],
        unique_key=tuple(doc["unique_key"]),
        fields=fields,
        kind=kind,
        versioned_by=versioned_by,
    )


@cache
def load_contract(source: str, version: int | None = None, contracts_dir: Path = CONTRACTS_DIR) -> Contract:
    """The contract of `source` at `version` (the latest when None)."""
    folder = contracts_dir / source
    versions = sorted(int(p.stem[1:]) for p in folder.glob("v*.yaml"))
    if not versions:
        raise FileNotFoundError(f"no contract for source {source!r} in {folder}")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise FileNotFoundError(f"no contract v{chosen} for source {source!r} in {folder}")
    return _parse(folder / f"v{chosen}.yaml")


CORRECTED_TIMESTAMP = "corrected_timestamp"
VERSION_TIME = "_version_time"
FIRST_VERSION = "_first_version"
# Columns of raw tables besides the contract's fields, each with its description.
DERIVED_COLUMNS = {
    CORRECTED_TIMESTAMP: (
        "The event time corrected for the client's clock: received_at - (sent_at - timestamp) when sent_at and "
        "received_at are further apart than the clock tolerance, else timestamp."
    ),
}
VERSION_COLUMNS = {
    VERSION_TIME: (
        "State sources: the record's own update time (the first present of the contract's versioned_by fields, "
        "else its time field); with the landing file and line it orders an entity's versions, the latest current."
    ),
    FIRST_VERSION: (
        "State sources: on a later version of an entity, the file:line of its first landed version; null on the "
        "first version."
    ),
}
LINEAGE_COLUMNS = {
    "_event_week": "Monday of the week of the landing file's day (the partition).",
    "_source_file": "Landing file the row came from, relative to the data folder.",
    "_source_line": "Line number in that file (1-based).",
    "_contract_version": "Contract version the line declared (schema_version; 1 when absent) and was checked against.",
    "_extra_fields": "Fields present in the line but not in its contract version (schema drift).",
}


@dataclass(frozen=True)
class RawColumn:
    """A column of a raw table; `sql_type` None where the ingestion's SQL decides it (the lineage columns)."""

    name: str
    sql_type: str | None
    description: str


@dataclass(frozen=True)
class SourceContracts:
    """Every contract version of one source, and the raw table they share."""

    source: str
    versions: tuple[Contract, ...]

    @property
    def latest(self) -> Contract:
        return self.versions[-1]

    @property
    def version_numbers(self) -> list[int]:
        return [c.version for c in self.versions]

    @property
    def unique_key(self) -> tuple[str, ...]:
        return self.latest.unique_key

    @property
    def time_field(self) -> str:
        return self.latest.time_field

    @property
    def columns(self) -> list[Field]:
        """The union of every version's fields, in order of first appearance (the latest version's description)."""
        latest = {f.name: f for f in self.latest.fields}
        seen: dict[str, Field] = {}
        for contract in self.versions:
            for f in contract.fields:
                seen.setdefault(f.name, latest.get(f.name, f))
        return list(seen.values())

    def versions_with(self, name: str) -> list[int]:
        return [c.version for c in self.versions if name in c.field_names]

    @property
    def raw_columns(self) -> list[RawColumn]:
        """The raw table's columns: every version's fields, the derived columns (clock, versions), then lineage."""
        fields = [RawColumn(f.name, f.sql_type, f.description) for f in self.columns]
        derived = [RawColumn(n, "TIMESTAMPTZ", text) for n, text in DERIVED_COLUMNS.items() if self.corrects_client_clock]
        if self.latest.is_state:
            derived += [RawColumn(n, "VARCHAR" if n == FIRST_VERSION else "TIMESTAMPTZ", text)
                        for n, text in VERSION_COLUMNS.items()]
        return fields + derived + [RawColumn(n, None, text) for n, text in LINEAGE_COLUMNS.items()]

    @property
    def corrects_client_clock(self) -> bool:
        """Segment-style records: a client timestamp with the client's sent_at and the server's received_at."""
        names = {f.name for f in self.columns}
        return {"sent_at", "received_at"} <= names and self.time_field not in ("sent_at", "received_at")


@cache
def load_contracts(source: str, contracts_dir: Path = CONTRACTS_DIR) -> SourceContracts:
    """Every version of `source`'s contract; the key, time field and field types must agree across versions."""
    numbers = sorted(int(p.stem[1:]) for p in (contracts_dir / source).glob("v*.yaml"))
    versions = tuple(load_contract(source, n, contracts_dir) for n in numbers)
    if not versions:
        raise FileNotFoundError(f"no contract for source {source!r} in {contracts_dir / source}")
    types: dict[str, str] = {}
    for contract in versions:
        if (contract.unique_key, contract.time_field) != (versions[0].unique_key, versions[0].time_field):
            raise ValueError(f"{source} v{contract.version}: the unique key and time field cannot change between versions")
        for f in contract.fields:
            if types.setdefault(f.name, f.type) != f.type:
                raise ValueError(f"{source} v{contract.version}: field {f.name} changes type; give it a new name")
    return SourceContracts(source, versions)



SOURCES = (
    "auth_users",
    "api_keys",
    "gateway_requests",
    "analytics_events",
    "email_events",
    "support_tickets",
)
