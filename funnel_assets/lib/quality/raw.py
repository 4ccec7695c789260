"""The checks a raw asset evaluates on the weeks it has just written.

The engine computes every figure per week from the raw table, the quarantine and
`ingested_files` (column projections and group-bys, a few rows of evidence);
Great Expectations then judges the figures of every check in one validation
(see `gx.py` for why not the rows themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from statistics import median

import pandas as pd

from funnel_assets.lib.engines import Engine, read_sql
from funnel_assets.lib.contracts import CORRECTED_TIMESTAMP, FIRST_VERSION, SourceContracts
from funnel_assets.lib.ingest import is_history
from funnel_assets.lib.quality.catalogue import Check, raw_checks
from funnel_assets.lib.quality.figures import by_week, failing_rows, judge, records
from funnel_assets.lib.quality.gx import validate
from funnel_assets.lib.quality.outcome import SAMPLE_SIZE, Outcome, WeekFigure
from funnel_assets.lib.quality.suites import EQUAL, MAX, MIN, table_shape_expectation
from funnel_assets.lib.quality.thresholds import RawThresholds

SQL = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class RawScope:
    """What is being checked: a source's contracts, the weeks [week_start, week_end), and its landing days."""

    contracts: SourceContracts
    week_start: date
    week_end: date
    source_days: tuple[date, ...]  # every landing day of this source
    as_of_day: date | None  # the latest landing day of any source

    @property
    def source(self) -> str:
        return self.contracts.source

    @property
    def table(self) -> str:
        return f"raw_{self.contracts.source}"

    @property
    def weeks(self) -> list[date]:
        return [self.week_start + timedelta(weeks=i) for i in range((self.week_end - self.week_start).days // 7)]

    @property
    def params(self) -> dict:
        return {"source": self.source, "week_start": self.week_start, "week_end": self.week_end}


def raw_table_columns(contracts: SourceContracts) -> list[str]:
    """The raw table's columns: every version's fields, the derived columns, then lineage."""
    return [c.name for c in contracts.raw_columns]


def evaluate_raw_checks(engine: Engine, scope: RawScope, thresholds: RawThresholds,
                        selected: set[str] | None = None) -> list[Outcome]:
    """Every raw check of the source (or the `selected` names), judged per week of the scope."""
    checks = {c.kind: c for c in raw_checks(scope.source) if selected is None or c.name in selected}
    if not checks:
        return []
    _create_checked_view(engine, scope.contracts)
    counts = engine.frame(read_sql(SQL / "reconciliation.sql"), scope.params).set_index("week")
    counts.index = [pd.Timestamp(w).date() for w in counts.index]
    evaluators = {
        "reconciliation": lambda c: _reconciliation(c, counts),
        "contract": lambda c: _contract(engine, c, scope, counts, thresholds),
        "future": lambda c: _outside_day(engine, c, scope, "future_events.sql", thresholds.max_future_events,
                                         thresholds.future_tolerance_minutes),
        "past": lambda c: _outside_day(engine, c, scope, "past_events.sql", thresholds.max_past_events,
                                       thresholds.past_tolerance_minutes),
        "duplicates": lambda c: _duplicates(engine, c, scope, counts, thresholds.max_duplicate_lines),
        "unreadable": lambda c: _quarantined(engine, c, scope, counts, "unreadable", "unreadable",
                                             thresholds.max_unreadable_lines),
        "client_clocks": lambda c: _client_clocks(engine, c, scope, counts, thresholds),
    }
    outcomes = [evaluators[kind](check) for kind, check in checks.items() if kind in evaluators]
    daily = {kind: check for kind, check in checks.items() if kind not in evaluators}
    if daily:
        outcomes += _daily(engine, daily, scope, counts, thresholds)
    with_files = {week for week, files in counts["files"].items() if files}
    for outcome in outcomes:
        outcome.mark_weeks_with_data(with_files)
    judge(outcomes)
    if "contract" in checks:
        _judge_table_shape(engine, outcomes, scope)
    engine.drop_temp("_checked")
    return outcomes


def _judge_table_shape(engine: Engine, outcomes: list[Outcome], scope: RawScope) -> None:
    """The raw table's columns are the ones the contract gives (every version), derived and lineage columns."""
    contract = next(o for o in outcomes if o.check.kind == "contract")
    expected = raw_table_columns(scope.contracts)
    frame = engine.frame(f'select * from "{scope.table}" limit 0')
    (result,) = validate(frame, [table_shape_expectation(contract.check.name, expected)], [])
    if not result.success:
        contract.details["table_columns"] = {"expected": expected, "observed": list(frame.columns)}
        for figure in contract.weeks:
            figure.passed = False


def _create_checked_view(engine: Engine, contracts: SourceContracts) -> None:
    """The raw table under the names the check SQL uses (identifiers from the contract, never values)."""

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    key = "{" + ", ".join(f"'{k}': {q(k)}" for k in contracts.unique_key) + "}"
    clocks = ", sent_at, received_at" if contracts.corrects_client_clock else ""
    # the time once a client's clock is corrected (Segment's rule), for sources that correct it
    corrected = q(CORRECTED_TIMESTAMP if contracts.corrects_client_clock else contracts.time_field)
    engine.temp_view(
        "_checked",
        f"select _event_week as week, _source_file as file, "
        f"_source_line as line, {q(contracts.time_field)} as event_time, {corrected} as corrected_time, "
        f"{key} as unique_key, "
        f"_extra_fields as extra_fields, _contract_version as version, {is_history(contracts)} as is_history, "
        f"{FIRST_VERSION if contracts.latest.is_state else 'null::varchar'} as first_version{clocks} "
        f"from {q('raw_' + contracts.source)}",
    )


# --- per check ---------------------------------------------------------------------------------


def _reconciliation(check: Check, counts: pd.DataFrame) -> Outcome:
    weeks = []
    for week, row in counts.iterrows():
        accounted = int(row.accepted + row.unreadable + row.rejected + row.duplicates)
        weeks.append(WeekFigure(
            week, accounted, int(row.input_lines), failing_rows=abs(int(row.input_lines) - accounted),
            details={"input_lines": int(row.input_lines), "accepted": int(row.accepted),
                     "current": int(row.accepted - row.history), "history": int(row.history),
                     "quarantined": int(row.unreadable + row.rejected), "duplicates": int(row.duplicates),
                     "files": int(row.files)},
        ))
    history = int(counts.history.sum())
    totals = {"current": int(counts.accepted.sum()) - history, "history": history}
    return Outcome(check, EQUAL, weeks, totals)


def _contract(engine: Engine, check: Check, scope: RawScope, counts: pd.DataFrame, t: RawThresholds) -> Outcome:
    fields = pd.DataFrame(
        [(c.version, name) for c in scope.contracts.versions for name in c.field_names], columns=["version", "field"]
    )
    engine.put_frame("_contract_fields", fields, temporary=True)
    try:
        engine.temp_table("_drift", read_sql(SQL / "drift_changes.sql"), scope.params)
    finally:
        engine.drop_temp("_contract_fields")
    by_field = engine.frame(read_sql(SQL / "drift_by_field.sql"))
    renames = engine.frame(read_sql(SQL / "drift_renames.sql"))
    sample = by_week(engine.frame(read_sql(SQL / "drift_sample.sql"), {"per_week": SAMPLE_SIZE}))
    versions = engine.frame(read_sql(SQL / "contract_versions.sql"), scope.params)
    engine.drop_temp("_drift")

    by_field["week"] = [pd.Timestamp(w).date() for w in by_field["week"]]
    weeks = []
    for week, row in counts.iterrows():
        drifting = int(row.extra_field_lines + row.rejected)
        changes = by_field[by_field["week"] == week]
        # lines that break their contract (quarantined) apart from lines that only add a field (kept)
        breakdown = {"breaking_lines": int(row.rejected), "added_field_lines": int(row.extra_field_lines)}
        weeks.append(WeekFigure(
            week, drifting, t.max_contract_violations, failing_rows=drifting, sample=sample.get(week, []),
            details={**breakdown, "changes": records(changes, drop=("week",))} if len(changes) else breakdown,
            # fields only added are kept (landing format v1 allows them): drift to report, not to block on
            severity="ERROR" if row.rejected else "WARN",
        ))
    overall = by_field.groupby(["version", "field", "change"], as_index=False)["lines"].sum()
    details = {
        "breaking_lines": int(counts["rejected"].sum()),
        "added_field_lines": int(counts["extra_field_lines"].sum()),
        "contract_versions": {f"v{int(r.version)}": int(r.lines) for r in versions.itertuples() if pd.notna(r.version)},
        "changes": records(overall),
        "drift": _drift_summary(overall, renames),
    }
    if len(renames):
        details["likely_renames"] = records(renames)
    return Outcome(check, MAX, weeks, details)


def _drift_summary(overall: pd.DataFrame, renames: pd.DataFrame) -> str:
    """One line per contract version: what changed, e.g. 'against v1: added edge_pop (12 lines), ...'."""
    if overall.empty:
        return "no drift"
    parts = []
    for version, rows in overall.groupby("version"):
        items = ", ".join(f"{r.change} {r.field} ({int(r.lines)} lines)" for r in rows.itertuples())
        parts.append(f"against v{int(version)}: {items}")
    for r in renames.itertuples():
        parts.append(f"v{int(r.version)}: {r.from_field} looks renamed to {r.to_field} ({int(r.lines)} lines)")
    return "; ".join(parts)


def _outside_day(engine: Engine, check: Check, scope: RawScope, sql_file: str, threshold: int,
                 tolerance_minutes: float) -> Outcome:
    """Lines whose own time falls outside their landing file's day (after it, or before it) by more than a tolerance."""
    failing, sample = failing_rows(
        engine, read_sql(SQL / sql_file), {**scope.params, "tolerance_seconds": tolerance_minutes * 60}
    )
    weeks = [
        WeekFigure(w, failing.get(w, 0), threshold, failing_rows=failing.get(w, 0), sample=sample.get(w, []))
        for w in scope.weeks
    ]
    return Outcome(check, MAX, weeks, {"tolerance_minutes": tolerance_minutes,
                                       "landing_day": "the UTC day the line's landing file is named after"})


def _quarantined(engine: Engine, check: Check, scope: RawScope, counts: pd.DataFrame, column: str, kind: str,
                 threshold: int) -> Outcome:
    sample = by_week(engine.frame(read_sql(SQL / "quarantine_sample.sql"),
                                  {**scope.params, "kind": kind, "per_week": SAMPLE_SIZE}))
    weeks = [
        WeekFigure(week, int(row[column]), threshold, failing_rows=int(row[column]), sample=sample.get(week, []))
        for week, row in counts.iterrows()
    ]
    return Outcome(check, MAX, weeks, {"quarantine_kind": kind})


def _duplicates(engine: Engine, check: Check, scope: RawScope, counts: pd.DataFrame, threshold: int) -> Outcome:
    """Duplicates quarantined this run, and copies of this run's rows that later weeks still hold.

    A state source has no duplicates: its repeated keys are versions, counted as history by the reconciliation.
    What remains to catch is a later week, ingested before these, that took a version for an entity's first."""
    outcome = _quarantined(engine, check, scope, counts, "duplicates", "duplicate", threshold)
    if scope.contracts.latest.is_state:
        outcome.details["versions"] = "a later record of the same key is a newer version (history), not a duplicate"
    later, later_sample = failing_rows(engine, read_sql(SQL / "later_copies.sql"), scope.params)
    for figure in outcome.weeks:
        extra = later.get(figure.week, 0)
        if extra:
            figure.observed += extra
            figure.failing_rows += extra
            figure.sample = figure.sample + later_sample.get(figure.week, [])
            figure.details["copies_in_later_weeks"] = extra
    if later:
        outcome.details["later_weeks_to_rematerialise"] = sorted(
            {row["later_week"] for rows in later_sample.values() for row in rows}
        )
    return outcome


def _client_clocks(engine: Engine, check: Check, scope: RawScope, counts: pd.DataFrame, t: RawThresholds) -> Outcome:
    failing, sample = failing_rows(
        engine, read_sql(SQL / "client_clocks.sql"), {**scope.params, "tolerance_seconds": t.clock_tolerance_seconds}
    )
    weeks = []
    for week, row in counts.iterrows():
        n = failing.get(week, 0)
        rate = n / row.accepted if row.accepted else None
        weeks.append(WeekFigure(week, rate, t.max_clock_skew_rate, failing_rows=n, sample=sample.get(week, []),
                                details={"events": int(row.accepted)}))
    return Outcome(check, MAX, weeks, {
        "tolerance_seconds": t.clock_tolerance_seconds,
        "corrected_column": CORRECTED_TIMESTAMP,
        "correction": "received_at - (sent_at - timestamp)",
    })


def _daily(engine: Engine, checks: dict[str, Check], scope: RawScope, counts: pd.DataFrame,
           t: RawThresholds) -> list[Outcome]:
    """Completeness, volume and freshness of a source expected to deliver a file every day.

    A day (or week) is expected to have lines when the days around it carry
    at least `min_neighbour_median` lines a day: a gap among busy days is a
    missing file, a gap among quiet days is a quiet day.
    """
    kinds = ("missing_days", "empty", "volume", "freshness")
    if scope.source not in t.daily_sources or not scope.source_days:
        why = f"{scope.source} is not in daily_sources {list(t.daily_sources)}" if scope.source not in t.daily_sources \
            else "no landing files"
        return [Outcome(checks[k], MAX, [WeekFigure(w, None, None) for w in scope.weeks],
                        {"evaluated": False, "why": why}) for k in kinds if k in checks]

    first_day, last_day = min(scope.source_days), max(scope.source_days)
    daily = engine.frame(
        read_sql(SQL / "daily_lines.sql"),
        {"source": scope.source, "from_day": scope.week_start - timedelta(days=7),
         "to_day": scope.week_end + timedelta(days=7)},
    )
    lines = {pd.Timestamp(r.day).date(): int(r.accepted) for r in daily.itertuples()}
    tail = engine.frame(read_sql(SQL / "source_tail.sql"), {"source": scope.source, "last_day": last_day})
    # freshness is judged only for a source that was busy up to its last file
    tail_busy = not tail.empty and median(tail.accepted.tolist()) >= t.min_neighbour_median

    def busy(days: list[date]) -> bool:
        volumes = [lines[d] for d in days if lines.get(d)]
        return bool(volumes) and median(volumes) >= t.min_neighbour_median

    def around(day: date, reach: int) -> list[date]:
        return [day + timedelta(days=i) for i in range(-reach, reach + 1) if i]

    missing, empty, volume, freshness = [], [], [], []
    for week in scope.weeks:
        days = [week + timedelta(days=i) for i in range(7)]
        span = [d for d in days if first_day <= d <= last_day]
        gaps = [d for d in span if d not in lines and busy(around(d, t.volume_neighbour_days))]
        missing.append(WeekFigure(week, len(gaps) if span else None, t.max_missing_days, failing_rows=len(gaps),
                                  sample=[{"day": d.isoformat()} for d in gaps]))
        accepted = int(counts.loc[week, "accepted"]) if week in counts.index else 0
        expected = bool(span) and busy([week + timedelta(days=i) for i in [*range(-7, 0), *range(7, 14)]])
        short = expected and accepted < t.min_rows_per_week
        evidence = [{"week": week.isoformat(), "files": int(counts.loc[week, "files"]),
                     "input_lines": int(counts.loc[week, "input_lines"]), "accepted": accepted}] if short else []
        empty.append(WeekFigure(week, accepted if expected else None, t.min_rows_per_week,
                                failing_rows=int(short), sample=evidence))
        volume.append(_volume_week(week, days, lines, t))
        freshness.append(_freshness_week(week, days, last_day, scope.as_of_day, t) if tail_busy
                         else WeekFigure(week, None, t.max_lag_days))
    span = {"first_day": first_day.isoformat(), "last_day": last_day.isoformat(),
            "expected_when": f"the days around carry at least {t.min_neighbour_median:g} lines a day"}
    outcomes = {
        "missing_days": (MAX, missing, span),
        "empty": (MIN, empty, span),
        "volume": (MAX, volume, {
            "neighbour_days": t.volume_neighbour_days, "min_neighbour_median": t.min_neighbour_median,
            "observed": "the largest factor between a day's lines and its neighbours' median",
        }),
        "freshness": (MAX, freshness, {**span, "as_of_day": scope.as_of_day.isoformat() if scope.as_of_day else None}),
    }
    return [Outcome(checks[kind], *outcomes[kind]) for kind in kinds if kind in checks]


def _volume_week(week: date, days: list[date], lines: dict[date, int], t: RawThresholds) -> WeekFigure:
    """Each day with lines against the median of its neighbours with lines (days without lines are completeness's)."""
    worst, odd = None, []
    for day in days:
        if not lines.get(day):
            continue
        neighbours = [lines[d] for d in lines if d != day and abs((d - day).days) <= t.volume_neighbour_days and lines[d]]
        if not neighbours or median(neighbours) < t.min_neighbour_median:
            continue
        middle = median(neighbours)
        factor = max(lines[day] / middle, middle / lines[day])
        worst = factor if worst is None else max(worst, factor)
        if factor > t.max_volume_ratio:
            odd.append({"day": day.isoformat(), "lines": lines[day], "neighbour_median": middle,
                        "factor": round(factor, 2)})
    return WeekFigure(week, worst, t.max_volume_ratio, failing_rows=len(odd), sample=odd)


def _freshness_week(week: date, days: list[date], last_day: date, as_of: date | None, t: RawThresholds) -> WeekFigure:
    """Judged on the week holding the data's as-of day: how many days the source's latest file lags it."""
    if as_of is None or as_of not in days:
        return WeekFigure(week, None, t.max_lag_days)
    lag = max((as_of - last_day).days, 0)
    return WeekFigure(week, lag, t.max_lag_days, failing_rows=lag if lag > t.max_lag_days else 0,
                      sample=[{"latest_day": last_day.isoformat(), "as_of_day": as_of.isoformat()}])
