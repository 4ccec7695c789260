"""Data quality: the checks (catalogue), their figures computed in DuckDB (raw, cross), judged by Great
Expectations (gx, suites), and reading failures back from a run (results). No Dagster objects here."""

from funnel_assets.lib.quality.results import FailedCheck, failed_blocking_checks

__all__ = ["FailedCheck", "failed_blocking_checks"]
