"""Shared plumbing of the checks: failing rows to per-week counts and samples, and judging figures with GX."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from funnel_assets.lib.engines import Engine, read_sql
from funnel_assets.lib.quality.gx import validate
from funnel_assets.lib.quality.outcome import SAMPLE_SIZE, Outcome
from funnel_assets.lib.quality.suites import EQUAL, figure_expectation

SQL = Path(__file__).parent / "sql"


def judge(outcomes: list[Outcome]) -> None:
    """Great Expectations decides which weeks pass: one frame (a row per week, a column per check), one suite."""
    judged = [o for o in outcomes if any(w.observed is not None for w in o.weeks)]
    if not judged:
        return
    weeks = sorted({w.week for o in judged for w in o.weeks})
    columns: dict[str, list] = {"week": [w.isoformat() for w in weeks]}
    expectations = []
    for outcome in judged:
        name = outcome.check.name
        by_week = {w.week: w for w in outcome.weeks}
        columns[name] = [by_week[w].observed if w in by_week else None for w in weeks]
        threshold = next(w.threshold for w in outcome.weeks if w.observed is not None)
        if outcome.comparison == EQUAL:
            columns[f"{name}__threshold"] = [by_week[w].threshold if w in by_week else None for w in weeks]
        expectations.append(figure_expectation(name, outcome.comparison, threshold))
    frame = pd.DataFrame(columns).astype({c: "float64" for c in columns if c != "week"})
    failing = {
        (result.check, row["week"])
        for result in validate(frame, expectations, ["week"])
        for row in result.unexpected
    }
    for outcome in judged:
        for figure in outcome.weeks:
            figure.passed = (outcome.check.name, figure.week.isoformat()) not in failing


def records(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> list[dict]:
    """Rows as JSON-able dicts: dates and times in ISO-8601 (a DuckDB date arrives as a naive midnight)."""
    return [
        {key: _plain(value) for key, value in row.items()}
        for row in frame.drop(columns=[c for c in drop if c in frame.columns]).to_dict("records")
    ]


def _plain(value):
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is None and value == value.normalize():
            return value.date().isoformat()
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def by_week(frame: pd.DataFrame) -> dict[date, list[dict]]:
    found: dict[date, list[dict]] = {}
    for week, rows in frame.groupby("week"):
        found[pd.Timestamp(week).date()] = records(rows, drop=("week",))
    return found


def failing_rows(engine: Engine, sql: str, params: dict) -> tuple[dict[date, int], dict[date, list[dict]]]:
    """Run a query selecting failing rows (week, file, line, ...): counts per week and a sample per week."""
    engine.temp_table("_failing", sql, params)
    counts = engine.frame(read_sql(SQL / "failing_by_week.sql"))
    sample = engine.frame(read_sql(SQL / "failing_sample.sql"), {"per_week": SAMPLE_SIZE})
    engine.drop_temp("_failing")
    return (
        {pd.Timestamp(r.week).date(): int(r.failing_rows) for r in counts.itertuples()},
        by_week(sample),
    )
