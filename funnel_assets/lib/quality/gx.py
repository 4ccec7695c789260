"""Great Expectations 1.x, validated on small pandas frames in an ephemeral context.

Why frames of per-week figures and not the raw rows: a raw partition holds
up to millions of rows, and loading them into pandas for GX costs more than
materialising the partition (STACK.md: GX with 4 expectations on 5 M rows
takes 4.3 s on 2 cores, the same checks as one DuckDB query 0.8 s; GX on
DuckDB through SQLAlchemy is broken). So DuckDB computes each check's
figures per week (counts, rates, ratios; a few rows of evidence), and GX
judges those figures against the thresholds: one small frame, one suite,
one validation per asset step. GX is imported here, inside the function, so
importing the project stays fast.
"""

from __future__ import annotations

import importlib
import sys
import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class ExpectationOutcome:
    check: str
    success: bool
    expectation: str
    unexpected: list[dict]  # the index columns of each failing row
    observed: Any = None


def import_in_background() -> None:
    """Start importing Great Expectations on a thread of its own, for a run that is about to read its data.

    The import takes 3-4 s of Python (STACK.md) and the first check of a run needs it; the run's first step
    spends its first seconds in the engine, which releases the GIL, so the import mostly overlaps with reading
    the data instead of adding to it. A check that comes first waits for the import like any other importer."""
    if "great_expectations" not in sys.modules:
        threading.Thread(target=importlib.import_module, args=("great_expectations",), daemon=True,
                         name="import great_expectations").start()


def validate(frame: pd.DataFrame, expectations: list, index_columns: list[str]) -> list[ExpectationOutcome]:
    """Validate `frame` against `expectations` (each carrying meta={"check": name})."""
    batch = (
        ephemeral_context().data_sources.add_pandas("quality")
        .add_dataframe_asset("figures")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    return validate_batch(batch, expectations, index_columns)


def ephemeral_context():
    """A Great Expectations context that keeps nothing (no files, no analytics, no progress bars)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        ),
    )


def validate_batch(batch, expectations: list, index_columns: list[str]) -> list[ExpectationOutcome]:
    """Validate a Great Expectations batch (pandas or Spark) against `expectations`: one outcome each, in order."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name="checks", expectations=expectations)
    result = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index_columns}
    )
    outcomes = []
    for item in result.results:
        failure = item.exception_info or {}
        if failure.get("raised_exception"):
            raise RuntimeError(f"Great Expectations could not evaluate {item.expectation_config.type}: "
                               f"{failure.get('exception_message')}")
        details = item.result or {}
        outcomes.append(
            ExpectationOutcome(
                check=item.expectation_config.meta["check"],
                success=bool(item.success),
                expectation=item.expectation_config.type,
                unexpected=[{k: row[k] for k in index_columns if k in row} for row in details.get("unexpected_index_list") or []],
                observed=details.get("observed_value"),
            )
        )
    return outcomes
