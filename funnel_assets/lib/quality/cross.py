"""Checks that read more than their own asset: effects before causes, and keys missing from the identity map.

Each runs as its own step after the assets it reads. Failing rows are found
in DuckDB (ids hashed with `pseudo()` once per distinct id, not per row);
Great Expectations judges the per-week figures.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from funnel_assets.lib.engines import Engine, read_sql
from funnel_assets.lib.quality.catalogue import Check
from funnel_assets.lib.quality.outcome import Outcome, WeekFigure
from funnel_assets.lib.quality.figures import failing_rows, judge
from funnel_assets.lib.quality.suites import MAX
from funnel_assets.lib.quality.thresholds import CrossThresholds

SQL = Path(__file__).parent / "sql"

# kind -> (failing-rows SQL file, extra parameters, rate threshold or None for a count that must be 0)
_RATES = {
    "unknown_keys": ("unknown_keys.sql", {}, "max_unknown_key_rate"),
    "unresolved_users": ("unresolved_users.sql", {}, "max_unresolved_user_rate"),
    "unknown_recipients": ("unknown_addresses.sql", {"table": "raw_email_events"}, "max_unknown_recipient_rate"),
    "unknown_requesters": ("unknown_addresses.sql", {"table": "raw_support_tickets"}, "max_unknown_recipient_rate"),
}
_CAUSALITY = {"calls_before_key": "calls_before_key.sql", "keys_before_user": "keys_before_user.sql"}


def evaluate_cross_check(engine: Engine, check: Check, week_start: date, week_end: date,
                         thresholds: CrossThresholds) -> Outcome:
    weeks = [week_start + timedelta(weeks=i) for i in range((week_end - week_start).days // 7)]
    params = {"week_start": week_start, "week_end": week_end}
    if check.kind in _CAUSALITY:
        tolerance = thresholds.causality_tolerance_seconds
        failing, sample = failing_rows(engine, read_sql(SQL / _CAUSALITY[check.kind]),
                                        {**params, "tolerance_seconds": tolerance})
        figures = [WeekFigure(w, failing.get(w, 0), 0, failing_rows=failing.get(w, 0), sample=sample.get(w, []))
                   for w in weeks]
        outcome = Outcome(check, MAX, figures, {"tolerance_seconds": tolerance})
        rows = engine.frame(read_sql(SQL / "rows_per_week.sql"), {**params, "table": check.asset})
        outcome.mark_weeks_with_data({pd.Timestamp(r.week).date() for r in rows.itertuples() if r.rows})
    else:
        sql_file, extra, threshold_name = _RATES[check.kind]
        threshold = getattr(thresholds, threshold_name)
        failing, sample = failing_rows(engine, read_sql(SQL / sql_file), {**params, **extra})
        rows = {
            pd.Timestamp(r.week).date(): int(r.rows)
            for r in engine.frame(read_sql(SQL / "rows_per_week.sql"), {**params, "table": check.asset}).itertuples()
        }
        figures = []
        for w in weeks:
            total, bad = rows.get(w, 0), failing.get(w, 0)
            figures.append(WeekFigure(w, bad / total if total else None, threshold, failing_rows=bad,
                                      sample=sample.get(w, []), details={"rows": total}))
        outcome = Outcome(check, MAX, figures, {"rows": sum(rows.values()), "observed": "share of the week's rows"})
        outcome.mark_weeks_with_data({w for w, n in rows.items() if n})
    judge([outcome])
    return outcome
