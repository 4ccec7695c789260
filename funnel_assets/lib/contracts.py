"""Versioned source contracts from `data_contracts/<source>/v<N>.yaml`.

A contract is the one place a source's columns are declared: ingestion casts
and rejects by it, the quality checks read it, and the UI shows its schema.

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


SOURCES = (
    "auth_users",
    "api_keys",
    "gateway_requests",
    "analytics_events",
    "email_events",
    "support_tickets",
)
