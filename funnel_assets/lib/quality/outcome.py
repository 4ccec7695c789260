"""What a check found, per week, and the metadata that shows it.

Metadata keys (the alert sensor reads the first two): `observed_value`,
`threshold`, `failing_rows` (how many of the check's unit failed: lines,
days or weeks), `sample` (a few failing rows, by lineage file:line and
pseudonymous ids only), `unit`, `severity`; over a range of weeks also
`failing_weeks` and `per_week`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from funnel_assets.lib.quality.catalogue import Check
from funnel_assets.lib.quality.suites import EQUAL, MAX

SAMPLE_SIZE = 10


@dataclass
class WeekFigure:
    week: date
    observed: float | int | None  # None: the check does not apply to this week
    threshold: float | int | None
    failing_rows: int = 0
    sample: list[dict] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    passed: bool = True
    has_data: bool = True  # the week had landing lines (or rows) to check
    severity: str | None = None  # when failing: WARN or ERROR; None is the check's own severity

    @property
    def reported(self) -> bool:
        """Whether the week gets its own evaluation: it had data, or it failed (a missing week fails)."""
        return self.has_data or not self.passed


@dataclass
class Outcome:
    check: Check
    comparison: str  # MAX, MIN or EQUAL (observed against threshold)
    weeks: list[WeekFigure]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(w.passed for w in self.weeks)

    def severity_of(self, figure: WeekFigure | None = None) -> str:
        """A week's severity, or the range's (ERROR when any failing week is); a passing one is the check's own."""
        failing = [w for w in ([figure] if figure is not None else self.weeks) if not w.passed]
        if not failing:
            return self.check.severity
        return "ERROR" if any((w.severity or self.check.severity) == "ERROR" for w in failing) else "WARN"

    @property
    def failing_rows(self) -> int:
        return sum(w.failing_rows for w in self.weeks)

    def week(self, week: date) -> WeekFigure:
        return next(w for w in self.weeks if w.week == week)

    def mark_weeks_with_data(self, weeks: set[date]) -> None:
        for figure in self.weeks:
            figure.has_data = figure.week in weeks

    def week_metadata(self, figure: WeekFigure) -> dict[str, Any]:
        return {
            "observed_value": _plain(figure.observed),
            "threshold": _plain(figure.threshold),
            "failing_rows": figure.failing_rows,
            "sample": figure.sample[:SAMPLE_SIZE],
            "unit": self.check.unit,
            "severity": self.severity_of(figure),
            **figure.details,
        }

    def metadata(self) -> dict[str, Any]:
        """Over every week of the run: the worst week's figure against the threshold, and the totals."""
        applicable = [w for w in self.weeks if w.observed is not None]
        if self.comparison == EQUAL:
            observed = sum(w.observed for w in applicable)
            threshold = sum(w.threshold for w in applicable)
        elif not applicable:
            observed, threshold = None, self.weeks[0].threshold if self.weeks else None
        else:
            worst = max if self.comparison == MAX else min
            observed = worst(w.observed for w in applicable)
            threshold = applicable[0].threshold
        return {
            "observed_value": _plain(observed),
            "threshold": _plain(threshold),
            "failing_rows": self.failing_rows,
            "sample": [row for w in self.weeks for row in w.sample][:SAMPLE_SIZE],
            "unit": self.check.unit,
            "severity": self.severity_of(),
            "failing_weeks": [w.week.isoformat() for w in self.weeks if not w.passed],
            "per_week": {
                w.week.isoformat(): {"observed": _plain(w.observed), "failing_rows": w.failing_rows, "passed": w.passed}
                for w in self.weeks
                if w.reported
            },
            **self.details,
        }


def _plain(value: Any) -> Any:
    """Numbers as int or float (numpy and decimal values do not serialise), rounded rates."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 6)
    return value

