"""Data quality: the checks (catalogue), their figures computed in DuckDB (raw, cross), judged by Great
Expectations (gx, suites). No Dagster objects here; the evaluations Dagster records are read back in
funnel_assets/orchestration/evaluations.py."""
