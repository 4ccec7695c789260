"""`funnel report`: one self-contained HTML file with the funnel's charts.

Charts are plotly figures; plotly.js is inlined once, so the file opens
offline (no script, style or font from the network). Every chart is drawn
from a mart as it stands in the warehouse, and names the `funnel trace`
command that lists the developers behind one of its cells.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from funnel_assets.lib.stage_names import STAGES
from funnel_assets.lib.engines import Engine, read_sql

SQL = Path(__file__).parent / "sql"
ADJACENT_WINDOW = 7
INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    explanation: str
    trace: str  # the `funnel trace` command for one of its cells
    figure: object  # plotly.graph_objects.Figure
    points: int


def _weeks(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame.cohort_week).dt.strftime("%Y-%m-%d")


def _transition(frame: pd.DataFrame) -> pd.Series:
    return frame.from_stage + " → " + frame.to_stage + " @" + frame.window_days.astype(str) + "d"


def _stage_rank(stage: pd.Series) -> pd.Series:
    return stage.map({s: n for n, s in enumerate(STAGES)})


def _conversion(marts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = marts["mart_stage_conversion"]
    rows = rows.assign(week=_weeks(rows), transition=_transition(rows), position=_stage_rank(rows.from_stage) * 10
                       + _stage_rank(rows.to_stage))
    return rows.sort_values(["week", "position", "window_days"], ignore_index=True)


def _cohorts_with_developers(marts: dict[str, pd.DataFrame]) -> list[str]:
    ttfac = marts["mart_ttfac_by_cohort"]
    return sorted(_weeks(ttfac[ttfac.developers > 0]))


def _first(marts, weeks: list[str]) -> str:
    return weeks[0] if weeks else "WEEK"


def funnel_bars(go, marts) -> Chart:
    rows = _conversion(marts)
    weeks = _cohorts_with_developers(marts)
    adjacent = rows[(rows.window_days == ADJACENT_WINDOW) & (rows.position.isin(
        [n * 10 + n + 1 for n in range(1, len(STAGES) - 1)])) & rows.week.isin(weeks)]
    figure = go.Figure()
    for week, cohort in adjacent.groupby("week", sort=True):
        dropped = cohort.entered - cohort.converted
        figure.add_bar(
            name=week, x=cohort.from_stage, y=cohort.entered,
            customdata=list(zip(cohort.converted, dropped, cohort.to_stage)),
            hovertemplate="%{x}: %{y} reached<br>%{customdata[0]} reached %{customdata[2]} within 7 d, "
                          "%{customdata[1]} dropped<extra>" + week + "</extra>",
        )
    figure.update_layout(barmode="group", yaxis_title="developers who reached the stage",
                         xaxis_title="stage (funnel order)", legend_title="signup week")
    return Chart(
        "funnel", "The funnel per signup week",
        "Developers of each cohort who reached each stage (bars); hover for how many went on to the next stage "
        "within 7 days and how many dropped there.",
        f"funnel trace mart_stage_conversion --cohort {_first(marts, weeks)} --from first_api_call "
        f"--to first_integration_milestone --who dropped",
        figure, int(len(adjacent)),
    )


def _cell_text(rate_so_far: float | None, complete: bool) -> str:
    shown = "–" if pd.isna(rate_so_far) else f"{rate_so_far:.0%}"
    return shown if complete else f"{INCOMPLETE}<br>{shown} so far"


def conversion_heatmap(go, marts) -> Chart:
    rows = _conversion(marts)
    weeks = set(_cohorts_with_developers(marts))
    rows = rows[rows.week.isin(weeks)]
    order = list(dict.fromkeys(rows.transition))
    z = rows.pivot(index="week", columns="transition", values="rate").reindex(columns=order)
    so_far = rows.pivot(index="week", columns="transition", values="rate_so_far").reindex(columns=order)
    complete = rows.pivot(index="week", columns="transition", values="is_complete").reindex(columns=order)
    text = [[_cell_text(r, c) for r, c in zip(so_far.loc[week], complete.loc[week])] for week in z.index]
    figure = go.Figure(go.Heatmap(
        z=z.to_numpy(dtype=float), x=order, y=list(z.index), text=text, texttemplate="%{text}", textfont={"size": 12},
        colorscale="RdYlGn", zmin=0, zmax=1, colorbar={"title": "rate", "tickformat": ".0%"},
        hovertemplate="%{y} %{x}: %{text}<extra></extra>",
    ))
    figure.update_layout(yaxis={"autorange": "reversed", "type": "category"}, xaxis={"tickangle": -30})
    return Chart(
        "heatmap", "Conversion by cohort and transition",
        "Each cell: of the cohort's developers who reached the from stage, the share who reached the to stage "
        "within the window. Cells whose window is still open are marked incomplete (no colour): a provisional "
        "rate, not a low one.",
        f"funnel trace mart_stage_conversion --cohort {_first(marts, sorted(weeks))} --from account_created "
        f"--to first_api_call --who converted",
        figure, int(z.notna().sum().sum()),
    )


def conversion_trend(go, marts) -> Chart:
    rows = _conversion(marts)
    rows = rows[rows.benchmark_median_low.notna() & rows.week.isin(_cohorts_with_developers(marts))]
    figure = go.Figure()
    for transition, series in rows.groupby("transition", sort=False):
        figure.add_scatter(name=transition, x=series.week, y=series.rate, mode="lines+markers",
                           hovertemplate="%{x}: %{y:.1%}<extra>" + transition + "</extra>")
    figure.update_layout(yaxis={"tickformat": ".0%", "title": "rate (complete cohorts)"}, xaxis_title="signup week")
    figure.update_xaxes(type="category")
    return Chart(
        "trend", "Benchmark transitions across cohorts",
        "Each benchmark transition's rate per signup week, complete cohorts only: did an onboarding change move it?",
        f"funnel trace mart_stage_conversion --cohort {_first(marts, sorted(rows.week))} --from first_api_call "
        f"--to active_integration --window 14 --who dropped",
        figure, int(rows.rate.notna().sum()),
    )


def bottleneck_bands(go, marts) -> Chart:
    from plotly.subplots import make_subplots

    rows = _conversion(marts)
    rows = rows[rows.benchmark_median_low.notna() & rows.week.isin(_cohorts_with_developers(marts))]
    transitions = list(dict.fromkeys(rows.transition))
    figure = make_subplots(rows=1, cols=max(len(transitions), 1), subplot_titles=transitions, shared_yaxes=True)
    bottleneck = marts["mart_bottleneck"]
    bottleneck = bottleneck[bottleneck.from_stage.notna()].astype({"window_days": int})
    worst = set(zip(_weeks(bottleneck), _transition(bottleneck)))
    points = 0
    for column, transition in enumerate(transitions, start=1):
        series = rows[rows.transition == transition]
        band = series.iloc[0]
        colours = ["#d62728" if (w, transition) in worst else "#1f77b4" for w in series.week]
        figure.add_bar(x=series.week, y=series.rate, marker_color=colours, showlegend=False, row=1, col=column,
                       hovertemplate="%{x}: %{y:.1%}<extra>" + transition + "</extra>")
        figure.add_hrect(y0=band.benchmark_median_low, y1=band.benchmark_median_high, fillcolor="green",
                         opacity=0.15, line_width=0, row=1, col=column)
        figure.add_hline(y=band.benchmark_median_low, line_dash="dot", line_color="green", row=1, col=column)
        points += int(series.rate.notna().sum())
    figure.update_yaxes(tickformat=".0%")
    figure.update_xaxes(type="category")
    return Chart(
        "bottleneck", "Bottleneck against the seed's benchmark bands",
        "Complete rates of the three benchmark transitions per cohort; the green band is the benchmark median "
        "range. Red bars: the cohort's bottleneck (the transition furthest below its median).",
        f"funnel trace mart_stage_conversion --cohort {_first(marts, sorted(rows.week))} --from account_created "
        f"--to first_api_call --who dropped",
        figure, points,
    )


def ttfac_percentiles(go, marts) -> Chart:
    ttfac = marts["mart_ttfac_by_cohort"]
    ttfac = ttfac[ttfac.called > 0].assign(week=lambda f: _weeks(f)).sort_values("week")
    figure = go.Figure()
    for p in (25, 50, 75, 90):
        figure.add_scatter(name=f"p{p}", x=ttfac.week, y=ttfac[f"p{p}_s"] / 3600, mode="lines+markers",
                           hovertemplate="%{x}: %{y:.1f} h<extra>p" + str(p) + "</extra>")
    figure.update_layout(yaxis={"title": "hours from signup to first successful call", "type": "log"},
                         xaxis_title="signup week")
    figure.update_xaxes(type="category")
    return Chart(
        "ttfac", "Time to first API call: p25, p50, p75, p90",
        "A rising p75 or p90 with a stable median: friction for a segment of the cohort.",
        f"funnel trace mart_ttfac_by_cohort --cohort {_first(marts, list(ttfac.week))} --who never_called",
        figure, int(len(ttfac) * 4),
    )


def production_rates(go, marts) -> Chart:
    rate = marts["mart_production_rate"]
    rate = rate[rate.developers > 0].assign(week=lambda f: _weeks(f)).sort_values("week")
    figure = go.Figure()
    for days in (30, 60, 90):
        complete = rate[f"complete_{days}d"]
        figure.add_bar(name=f"{days} days", x=rate.week, y=rate[f"rate_{days}d"],
                       marker_pattern_shape=["" if c else "/" for c in complete],
                       text=["" if c else INCOMPLETE for c in complete],
                       hovertemplate="%{x}: %{y:.1%} %{text}<extra>" + f"{days} days</extra>")
    figure.update_layout(barmode="group", yaxis={"tickformat": ".0%", "title": "in production"},
                         xaxis_title="signup week")
    figure.update_xaxes(type="category")
    return Chart(
        "production", "Production deployment within 30, 60 and 90 days of signup",
        "Hatched bars: the horizon has not passed for the whole cohort yet (incomplete).",
        f"funnel trace mart_production_rate --cohort {_first(marts, list(rate.week))} --days 30 --who converted",
        figure, int(len(rate) * 3),
    )


def org_funnel(go, marts) -> Chart:
    from funnel_assets.lib.orgs import ORG_STAGES

    rows = marts["mart_org_developers_by_stage"]
    totals = rows.groupby(["early_second_developer", "stage"], as_index=False)[["orgs", "reached", "developers"]].sum()
    figure = go.Figure()
    for early, group in totals.groupby("early_second_developer", sort=True):
        group = group.set_index("stage").reindex(list(ORG_STAGES)).dropna(subset=["orgs"])
        label = "second developer early" if early else "no early second developer"
        figure.add_bar(name=label, x=list(group.index), y=list(group.reached / group.orgs),
                       customdata=list(zip(group.reached.astype(int), group.orgs.astype(int),
                                           (group.developers / group.reached.where(group.reached > 0)).round(1))),
                       hovertemplate="%{x}: %{y:.1%} (%{customdata[0]} of %{customdata[1]} organisations), "
                                     "%{customdata[2]} developers each<extra>" + label + "</extra>")
    figure.update_layout(barmode="group", yaxis={"tickformat": ".0%", "title": "organisations that reached the stage"},
                         xaxis_title="stage (funnel order)", legend_title="")
    return Chart(
        "org-funnel", "The funnel of organisations, by whether their second developer joined early",
        "Share of the organisations (all cohorts) that reached each stage within the horizon after their first "
        "developer joined; an organisation's stage is the first time any of its developers reached it.",
        "funnel trace mart_org_developers_by_stage --cohort WEEK --stage production_deployment "
        "--early-second-developer yes --who converted",
        figure, int(len(totals)),
    )


def sdk_share(go, marts) -> Chart:
    usage = marts["mart_sdk_usage"]
    usage = usage[usage.developers > 0].assign(week=lambda f: _weeks(f))
    by_kind = usage.groupby(["week", "client_kind"], as_index=False)[["developers", "developer_share"]].sum()
    figure = go.Figure()
    for kind, series in by_kind.groupby("client_kind"):
        figure.add_bar(name=kind, x=series.week, y=series.developer_share, customdata=series.developers,
                       hovertemplate="%{x}: %{y:.1%} (%{customdata} developers)<extra>" + kind + "</extra>")
    figure.update_layout(barmode="stack", yaxis={"tickformat": ".0%", "title": "share of the cohort's callers"},
                         xaxis_title="signup week")
    week = _first(marts, sorted(by_kind.week))
    figure.update_xaxes(type="category")
    return Chart(
        "sdk", "Official SDK vs raw HTTP, by the client of the first successful call",
        "A falling SDK share is an early sign of SDK quality or coverage gaps.",
        f"funnel trace mart_sdk_usage --cohort {week} --client-kind raw_http",
        figure, int(len(by_kind)),
    )


def first_day_errors(go, marts) -> Chart:
    errors = marts["mart_first_day_errors"]
    errors = errors[errors.is_error]
    table = errors.pivot_table(index="endpoint", columns="status", values="requests", aggfunc="sum", fill_value=0)
    figure = go.Figure(go.Heatmap(
        z=table.to_numpy(), x=[str(s) for s in table.columns], y=list(table.index), colorscale="Reds",
        texttemplate="%{z}", hovertemplate="%{y} → %{x}: %{z} requests<extra></extra>",
        colorbar={"title": "requests"},
    ))
    figure.update_layout(xaxis={"title": "status code", "type": "category"}, yaxis={"type": "category"})
    week = _first(marts, sorted(_weeks(errors)))
    return Chart(
        "errors", "First-day errors by status code and endpoint (all cohorts)",
        "Requests in each developer's first 24 hours that failed. Many 401s: authentication is confusing; 400s "
        "on one endpoint: its parameters are undocumented; 429s: rate limits hit newcomers.",
        f"funnel trace mart_first_day_errors --cohort {week} --status 401",
        figure, int((table.to_numpy() > 0).sum()),
    )


def time_to_convert(go, marts) -> Chart:
    bins = marts["mart_time_to_convert"]
    rows = _conversion(marts)
    benchmark = set(rows[rows.benchmark_median_low.notna()].transition)
    bins = bins.assign(transition=_transition(bins))
    bins = bins[bins.transition.isin(benchmark)]
    totals = bins.groupby(["transition", "bin_order", "bin"], as_index=False).developers.sum()
    figure = go.Figure()
    for transition, series in totals.groupby("transition", sort=False):
        figure.add_bar(name=transition, x=series.bin, y=series.developers,
                       hovertemplate="%{x}: %{y} developers<extra>" + transition + "</extra>")
    figure.update_layout(barmode="group", xaxis_title="time from the from stage to the next",
                         yaxis_title="developers (all cohorts)")
    return Chart(
        "time_to_convert", "Time to convert, benchmark transitions",
        "How long the developers who got there took; bins up to the window's length count as converted.",
        f"funnel trace mart_stage_conversion --cohort {_first(marts, _cohorts_with_developers(marts))} "
        f"--from account_created --to first_api_call --who converted",
        figure, int((totals.developers > 0).sum()),
    )


def dropoff_actions(go, marts) -> Chart:
    dropoffs = marts["mart_dropoffs"]
    counts = dropoffs.assign(transition=_transition(dropoffs)).groupby(
        ["transition", "suggested_action"], as_index=False).size()
    figure = go.Figure()
    for action, series in counts.groupby("suggested_action"):
        figure.add_bar(name=action, y=series.transition, x=series["size"], orientation="h",
                       hovertemplate="%{y}: %{x} developers<extra>" + action + "</extra>")
    figure.update_layout(barmode="stack", xaxis_title="developers who dropped (closed windows)")
    return Chart(
        "dropoffs", "Who dropped off, and what the seed suggests doing",
        "mart_dropoffs by e-mail engagement: high → monitor, medium → targeted help offer, none → another channel.",
        f"funnel trace mart_stage_conversion --cohort {_first(marts, _cohorts_with_developers(marts))} "
        f"--from account_created --to first_api_call --who dropped --reidentify",
        figure, int(len(counts)),
    )


def indicator_anomalies(go, marts) -> Chart:
    rows = marts["mart_leading_indicators"]
    rows = rows[rows.baseline.notna() & (rows.baseline != 0)].assign(week=lambda f: _weeks(f))
    rows = rows.assign(ratio=rows.value / rows.baseline).sort_values(["indicator", "week"])
    figure = go.Figure()
    for indicator, series in rows.groupby("indicator", sort=True):
        figure.add_scatter(name=indicator, x=series.week, y=series.ratio, mode="lines", opacity=0.6,
                           customdata=list(zip(series.value, series.baseline, series.lower, series.upper)),
                           hovertemplate="%{x}: %{customdata[0]:.4g} against a baseline of %{customdata[1]:.4g} "
                                         "(band %{customdata[2]:.4g} .. %{customdata[3]:.4g})<extra>" + indicator + "</extra>")
    flagged = rows[rows.is_anomaly.astype(bool)]
    figure.add_scatter(name="anomaly", x=flagged.week, y=flagged.ratio, mode="markers+text",
                       text=flagged.indicator + " " + flagged.direction.astype(str), textposition="top center",
                       marker={"size": 13, "color": "#d62728", "symbol": "x"},
                       hovertemplate="%{x}: %{text}, %{y:.2f} x the baseline<extra>anomaly</extra>")
    figure.add_hline(y=1.0, line_dash="dot", line_color="grey")
    figure.update_layout(yaxis={"title": "value / baseline (median of the trailing complete weeks)", "type": "log"},
                         xaxis_title="signup week")
    figure.update_xaxes(type="category")
    return Chart(
        "indicators", "Leading indicators against their baseline, anomalies marked",
        "Each indicator divided by the median of its trailing complete weeks; a red x is a week outside the "
        "robust band (median and MAD, with a relative floor), which the alert sensor reports once.",
        "funnel trace mart_first_day_errors --cohort WEEK --status 401",
        figure, int(len(rows) + len(flagged)),
    )


def driver_forest(go, marts) -> Chart:
    rows = marts["mart_conversion_drivers"]
    latest = rows[rows.cohort_week == rows.cohort_week.max()] if len(rows) else rows
    shown = latest[latest.ci_low.notna()].sort_values(["factor", "value"], ascending=False)
    labels = shown.factor + ": " + shown.value + " vs " + shown.reference
    figure = go.Figure(go.Scatter(
        name="odds ratio", x=shown.odds_ratio, y=labels, mode="markers",
        error_x={"type": "data", "symmetric": False, "array": shown.ci_high - shown.odds_ratio,
                 "arrayminus": shown.odds_ratio - shown.ci_low},
        customdata=list(zip(shown.ci_low, shown.ci_high, shown.p_value, shown.developers)),
        hovertemplate="%{y}: %{x:.2f} (95 % CI %{customdata[0]:.2f} .. %{customdata[1]:.2f}, p %{customdata[2]:.2g}, "
                      "%{customdata[3]} developers)<extra></extra>",
    ))
    figure.add_vline(x=1.0, line_dash="dot", line_color="grey")
    outcome = latest.outcome.iloc[0] if len(latest) else "the outcome"
    figure.update_layout(xaxis={"title": f"odds ratio of {outcome} (log scale)", "type": "log"}, showlegend=False)
    pooled = f"{_weeks(latest).min()} .. {pd.to_datetime(latest.pooled_to).max():%Y-%m-%d}" if len(latest) else ""
    return Chart(
        "drivers", "Conversion drivers: odds ratios with 95 % intervals",
        f"Over the complete cohorts pooled up to the latest week ({pooled}); an interval that crosses 1 is no "
        "evidence of an effect.",
        "funnel trace mart_segment_conversion --cohort WEEK --segment client_kind --segment-value raw_http",
        figure, int(len(shown)),
    )


def data_quality(go, quarantine: pd.DataFrame, checks: list[dict]) -> Chart:
    failed = [c for c in checks if not c["passed"]]
    labels = ["checks passed", "failed (ERROR)", "failed (WARN)"] + [
        f"quarantined: {s} {k}" for s, k in zip(quarantine.source, quarantine.kind)
    ]
    values = [len(checks) - len(failed), sum(c["severity"] == "ERROR" for c in failed),
              sum(c["severity"] == "WARN" for c in failed)] + [int(n) for n in quarantine.lines]
    figure = go.Figure(go.Bar(x=values, y=labels, orientation="h", text=values, textposition="auto"))
    figure.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="checks / lines")
    return Chart(
        "quality", "Data quality",
        "Latest result of every check (failed ones listed below) and the landing lines quarantined, by source "
        "and reason; `funnel checks` prints them all.",
        "funnel checks",
        figure, len(values),
    )


MART_CHARTS: list[Callable] = [
    funnel_bars, conversion_heatmap, conversion_trend, bottleneck_bands, ttfac_percentiles, production_rates,
    org_funnel, sdk_share, first_day_errors, time_to_convert, dropoff_actions, indicator_anomalies, driver_forest,
]
MARTS = [
    "mart_stage_conversion", "mart_ttfac_by_cohort", "mart_production_rate", "mart_sdk_usage",
    "mart_first_day_errors", "mart_bottleneck", "mart_time_to_convert", "mart_dropoffs", "mart_org_developers_by_stage",
    "mart_leading_indicators", "mart_conversion_drivers",
]


def build_charts(engine: Engine, checks: list[dict]) -> list[Chart]:
    import plotly.graph_objects as go

    missing = [m for m in MARTS if not engine.table_exists(m)]
    if missing:
        raise ValueError(f"the warehouse has no {', '.join(missing)}: run `funnel run --data DIR` first")
    marts = {m: engine.frame(f'select * from "{m}" order by all') for m in MARTS}
    quarantine = engine.frame(read_sql(SQL / "report_quarantine.sql")) if engine.table_exists("quarantine") else (
        pd.DataFrame({"source": [], "kind": [], "lines": []}))
    charts = [chart(go, marts) for chart in MART_CHARTS] + [data_quality(go, quarantine, checks)]
    for chart in charts:
        chart.figure.update_layout(height=440, margin={"t": 40}, template="plotly_white")
    return charts


def _plain(value):
    """plotly's base64 typed arrays ({"dtype", "bdata", "shape"}) back to JSON arrays, NaN as null."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        plain = array.astype(object)
        if array.dtype.kind == "f":
            plain[np.isnan(array)] = None
        return plain.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _figure_html(chart: Chart) -> str:
    """The chart's div, its numbers as plain JSON arrays in the page (readable, and checkable)."""
    import plotly.io as pio

    spec = _plain(json.loads(chart.figure.to_json()))
    return pio.to_html(spec, validate=False, full_html=False, include_plotlyjs=False, div_id=f"chart-{chart.name}",
                       default_height="440px", config={"displaylogo": False})


def render_html(charts: list[Chart], checks: list[dict], warehouse: Path) -> str:
    from plotly.offline import get_plotlyjs

    failed = [c for c in checks if not c["passed"]]
    failed_rows = "".join(
        f"<tr><td>{html.escape(c['severity'])}</td><td>{html.escape(c['asset'])}</td>"
        f"<td>{html.escape(c['check'])}</td><td>{html.escape(str(c['partition'] or 'all'))}</td>"
        f"<td>{html.escape(str(c['observed']))}</td></tr>"
        for c in failed
    ) or "<tr><td colspan=5>none</td></tr>"
    sections = "\n".join(
        f"""<section class="chart" id="{chart.name}">
<h2>{html.escape(chart.title)}</h2>
<p>{html.escape(chart.explanation)}</p>
{_figure_html(chart)}
<p class="trace">Trace a cell: <code>{html.escape(chart.trace)} --warehouse {html.escape(str(warehouse))}</code></p>
</section>"""
        for chart in charts
    )
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Developer onboarding funnel</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
section.chart {{ margin-bottom: 2.5em; }}
code {{ background: #f3f3f3; padding: 0.1em 0.3em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.2em 0.5em; }}
</style>
<script>{get_plotlyjs()}</script>
</head><body>
<h1>Developer onboarding funnel</h1>
<p>From {html.escape(str(warehouse))}, made {made}. Every number below is a mart's; each chart names the
<code>funnel trace</code> command that lists the developers behind one of its cells (pseudonymous;
<code>--reidentify</code> adds contact details, with a warning and an audit line).</p>
{sections}
<h2>Failed checks</h2>
<table id="failed-checks"><tr><th>severity</th><th>asset</th><th>check</th><th>week</th><th>observed</th></tr>
{failed_rows}</table>
</body></html>
"""


def write_report(engine: Engine, out: Path, checks: list[dict], warehouse: Path) -> list[Chart]:
    charts = build_charts(engine, checks)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(charts, checks, warehouse), encoding="utf-8")
    return charts
