"""The Dagster entry point: everything under `defs/`, loaded by folder, plus
the policy that applies to all of it."""

import os
from pathlib import Path

import dagster as dg

from funnel_assets.lib.engines import ENGINE_KIND, ENGINES


def definitions_for(engine: str) -> dg.Definitions:
    """The definitions with `engine` shown as the kind of every asset the engine computes (the graph is the same)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")

    def engine_kind(spec: dg.AssetSpec) -> dg.AssetSpec:
        if ENGINE_KIND not in spec.kinds:
            return spec
        return spec.replace_attributes(kinds=(spec.kinds - {ENGINE_KIND}) | {engine})

    # in_process: a DuckDB warehouse is one file, which takes a single writer,
    # so the steps of a run must not open it from parallel processes.
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=dg.in_process_executor),
    ).map_resolved_asset_specs(func=engine_kind)


@dg.definitions
def defs() -> dg.Definitions:
    """As `dg dev` and `dagster dev` load them: the engine FUNNEL_ENGINE names, else DuckDB (read when loading)."""
    return definitions_for(os.environ.get("FUNNEL_ENGINE", "duckdb"))
