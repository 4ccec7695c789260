"""The Dagster entry point: everything under `defs/`, loaded by folder, plus
the policy that applies to all of it."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    # in_process: the warehouse is one DuckDB file, which takes a single writer,
    # so the steps of a run must not open it from parallel processes.
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=dg.in_process_executor),
    )
