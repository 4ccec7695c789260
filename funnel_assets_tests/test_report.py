"""`funnel report` and the funnel_report asset: one HTML file that opens in headless Chromium with the network
off, renders every chart, says how to trace each one, and shows the marts' own numbers."""

import json

import numpy as np
import pytest

from funnel_assets.cli import main
from funnel_assets.lib.report import MART_CHARTS
from funnel_assets.lib.simulator import generate
from funnel_assets_tests.conftest import Pipeline
from funnel_assets_tests.test_ui_browser import CHROMIUM, CHROMIUM_FLAGS, _browser_or_skip

CHARTS = len(MART_CHARTS) + 1  # and the data-quality summary


@pytest.fixture(scope="module")
def reported(tmp_path_factory, definitions):
    root = tmp_path_factory.mktemp("report")
    pipeline = Pipeline(definitions, root)
    generate(pipeline.data_dir, developers=500, weeks=3, seed=9, requests=25_000, inject=["duplicates", "malformed_lines"])
    result = pipeline.run()
    return pipeline, result


def _open_offline(path, screenshot):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
        asked = []

        def block(route):
            asked.append(route.request.url)
            route.continue_() if route.request.url.startswith("file:") else route.abort()

        context.route("**/*", block)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        page.wait_for_function(f"document.querySelectorAll('.plotly-graph-div .main-svg').length >= {CHARTS}")
        found = page.evaluate("""() => [...document.querySelectorAll('section.chart')].map(s => {
            const chart = s.querySelector('.plotly-graph-div');
            return {
                id: chart.id,
                // bars and lines are drawn as trace groups, heatmaps as one image each
                rendered: chart.querySelectorAll('.main-svg').length > 0
                    && chart.querySelectorAll('g.trace, g.hm image').length > 0,
                trace: s.querySelector('p.trace code').textContent,
                data: chart.data.map(d => ({name: d.name ?? null, x: d.x ?? null, y: d.y ?? null, z: d.z ?? null})),
            };
        })""")
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return found, asked, errors


def test_report_opens_offline_and_renders_every_chart_with_the_marts_numbers(reported, tmp_path, capsys):
    pipeline, _ = reported
    out = tmp_path / "report.html"
    assert main(["report", "--warehouse", pipeline.resource.warehouse_path, "--out", str(out)]) == 0
    assert f"{CHARTS} charts" in capsys.readouterr().out
    text = out.read_text()
    assert "<script src" not in text and "<link" not in text and "@import" not in text

    charts, asked, errors = _open_offline(out, tmp_path / "report.png")
    assert errors == []
    assert [u for u in asked if not u.startswith("file:")] == []  # nothing fetched from the network
    assert len(charts) == CHARTS and all(c["rendered"] for c in charts), [c["id"] for c in charts if not c["rendered"]]
    assert all(c["trace"].startswith(("funnel trace ", "funnel checks")) for c in charts)
    png = (tmp_path / "report.png").read_bytes()
    assert len(png) > 100_000  # a page of charts, not a blank one

    by_id = {c["id"]: c["data"] for c in charts}
    conversion = pipeline.frame(
        "select strftime(cohort_week, '%Y-%m-%d') as week, from_stage || ' → ' || to_stage || ' @' || window_days || 'd'"
        " as transition, rate, is_complete from mart_stage_conversion where cohort_week in "
        "(select cohort_week from mart_ttfac_by_cohort where developers > 0)"
    )
    heatmap = by_id["chart-heatmap"][0]
    cells = {(week, t): z for week, row in zip(heatmap["y"], heatmap["z"]) for t, z in zip(heatmap["x"], row)}
    assert len(cells) == len(conversion) > 20
    for row in conversion.itertuples():
        shown = cells[(row.week, row.transition)]
        assert (shown is None) if not row.is_complete or np.isnan(row.rate) else shown == pytest.approx(row.rate)

    ttfac = pipeline.frame("select * from mart_ttfac_by_cohort where called > 0 order by cohort_week")
    lines = {d["name"]: d["y"] for d in by_id["chart-ttfac"]}
    for p in (25, 50, 75, 90):
        assert lines[f"p{p}"] == pytest.approx(list(ttfac[f"p{p}_s"] / 3600))

    production = pipeline.frame("select * from mart_production_rate where developers > 0 order by cohort_week")
    bars = {d["name"]: d["y"] for d in by_id["chart-production"]}
    for days in (30, 60, 90):
        assert bars[f"{days} days"] == pytest.approx(list(production[f"rate_{days}d"]))

    orgs = pipeline.frame("select early_second_developer, stage, sum(reached) / sum(orgs) as share "
                          "from mart_org_developers_by_stage group by all")
    assert len(orgs) == 12  # six stages, both groups
    bars = {d["name"]: dict(zip(d["x"], d["y"])) for d in by_id["chart-org-funnel"]}
    for row in orgs.itertuples():
        group = "second developer early" if row.early_second_developer else "no early second developer"
        assert bars[group][row.stage] == pytest.approx(row.share)

    errors_by_cell = pipeline.frame(
        "select endpoint, cast(status as varchar) as status, sum(requests) as n from mart_first_day_errors "
        "where is_error group by all"
    )
    grid = by_id["chart-errors"][0]
    shown = {(e, s): z for e, row in zip(grid["y"], grid["z"]) for s, z in zip(grid["x"], row) if z}
    assert shown == {(r.endpoint, r.status): r.n for r in errors_by_cell.itertuples()}

    # the leading indicators against their baseline, the anomalies a trace of their own
    indicators = pipeline.frame("select strftime(cohort_week, '%Y-%m-%d') as week, * from mart_leading_indicators "
                                "where baseline is not null and baseline <> 0 order by indicator, cohort_week")
    lines = {d["name"]: d for d in by_id["chart-indicators"]}
    assert len(indicators) > 0
    for indicator, series in indicators.groupby("indicator"):
        assert lines[indicator]["x"] == list(series.week)
        assert lines[indicator]["y"] == pytest.approx(list(series.value / series.baseline))
    flagged = indicators[indicators.is_anomaly]
    assert lines["anomaly"]["x"] == list(flagged.week)

    # the drivers' forest plot: every odds ratio of the latest pooled week with an interval
    drivers = pipeline.frame("select * from mart_conversion_drivers where ci_low is not null and cohort_week = "
                             "(select max(cohort_week) from mart_conversion_drivers)")
    [forest] = by_id["chart-drivers"]
    shown = dict(zip(forest["y"], forest["x"]))
    assert len(shown) == len(drivers) > 10
    for row in drivers.itertuples():
        assert shown[f"{row.factor}: {row.value} vs {row.reference}"] == pytest.approx(row.odds_ratio)

    quality = by_id["chart-quality"][0]
    quarantined = dict(zip(quality["y"], quality["x"]))
    duplicates = pipeline.frame("select count(*) as n from quarantine where source = 'gateway_requests' "
                                "and kind = 'duplicate'").n[0]
    assert duplicates > 0 and quarantined["quarantined: gateway_requests duplicate"] == duplicates


def test_the_report_asset_links_to_its_file_and_lists_its_charts(reported):
    pipeline, result = reported
    [materialization] = result.asset_materializations_for_node("funnel_report")
    path = materialization.metadata["report"].value
    assert path.endswith("report.html") and json.dumps(str(pipeline.root)) [1:-1] in path
    assert materialization.metadata["open"].value.startswith("file://")
    assert materialization.metadata["dagster/row_count"].value == CHARTS
    listing = pipeline.frame("select * from funnel_report")
    assert len(listing) == CHARTS and listing.trace_command.str.startswith("funnel").all()
    assert "Plotly.newPlot" in open(path).read()


def test_mart_previews_read_like_a_funnel(reported):
    _, result = reported
    # one materialisation per week of the run
    for conversion in result.asset_materializations_for_node("mart_stage_conversion"):
        preview = conversion.metadata["preview"].value
        assert "%" in preview and preview.index("intent") < preview.index("production_deployment")
    ttfac = result.asset_materializations_for_node("mart_ttfac_by_cohort")
    assert ttfac and all(any(unit in m.metadata["preview"].value for unit in (" d |", "m |")) for m in ttfac)
