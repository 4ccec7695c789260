"""The marts recover what the simulator planted.

Two kinds of assertion, on 20 000 simulated developers for each of three seeds:

- exact: the marts equal what the simulator actually drew (`truth["drawn"]`),
  so every developer was attributed, staged and counted as planted;
- statistical: each rate, share and percentile lies within the sampling error
  of the model's expected value (`truth["expected"]`, a 400 000-developer
  draw of the same model). A rate over n developers has standard error
  sqrt(p(1-p)/n); we allow Z = 4.5 of them (plus the expectation's own error),
  a two-sided miss chance of about 7e-6 per comparison, so the ~200
  comparisons of this module raise a false alarm less than 0.2 % of the time,
  while a real error of a few points is caught. Percentiles use the
  distribution-free band of order statistics: the sample p-quantile of n
  values lies between the model's (p -+ Z*sqrt(p(1-p)/n)) quantiles.
"""

import math

import numpy as np
import pytest

from funnel_assets.lib.simulator import generate
from funnel_assets_tests.conftest import Pipeline

SEEDS = [1, 2, 3]
DEVELOPERS = 20_000
REQUESTS = 700_000  # the simulator scales activity to this; stages are unaffected
Z = 4.5


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def recovered(request, tmp_path_factory, definitions):
    pipeline = Pipeline(definitions, tmp_path_factory.mktemp(f"recovery_{request.param}"))
    truth = generate(pipeline.data_dir, developers=DEVELOPERS, weeks=12, seed=request.param, requests=REQUESTS)
    pipeline.run()
    return pipeline, truth


def within(observed: float, expected: float, n: int, n_expected: int) -> bool:
    p = min(max(expected, 1e-9), 1 - 1e-9)
    tolerance = Z * math.sqrt(p * (1 - p) / n) + Z * math.sqrt(p * (1 - p) / n_expected)
    return abs(observed - expected) <= tolerance


def test_every_transition_equals_what_was_drawn_and_recovers_the_planted_rate(recovered):
    pipeline, truth = recovered
    rows = pipeline.frame(
        "select from_stage || '->' || to_stage || '@' || window_days as transition, "
        "sum(entered) as entered, sum(converted) as converted, bool_and(is_complete) as complete "
        "from mart_stage_conversion where entered > 0 group by 1"
    ).set_index("transition")
    expected, drawn = truth["expected"]["transitions"], truth["drawn"]["transitions"]
    assert set(rows.index) == set(expected)
    for name, row in rows.iterrows():
        assert row.complete, name
        assert (row.entered, row.converted) == (drawn[name]["entered"], drawn[name]["converted"]), name
        planted = expected[name]
        assert within(row.converted / row.entered, planted["rate"], row.entered, planted["entered"]), (
            name, row.converted / row.entered, planted["rate"])


def _grid_quantile(grid: dict[str, float], p: float) -> float:
    levels = sorted((float(k), v) for k, v in grid.items())
    xs, ys = [x for x, _ in levels], [y for _, y in levels]
    return float(np.interp(min(max(p, xs[0]), xs[-1]), xs, ys))


def test_ttfac_percentiles_of_every_cohort_lie_in_their_sampling_band(recovered):
    pipeline, truth = recovered
    grid = truth["expected"]["ttfac"]["quantile_grid_s"]
    cohorts = pipeline.frame("select * from mart_ttfac_by_cohort where developers > 0")
    assert cohorts.called.sum() == truth["drawn"]["ttfac"]["called"]
    assert cohorts.never_called.sum() == truth["drawn"]["ttfac"]["never_called"]
    for _, cohort in cohorts.iterrows():
        for p, column in [(0.25, "p25_s"), (0.50, "p50_s"), (0.75, "p75_s"), (0.90, "p90_s")]:
            spread = Z * math.sqrt(p * (1 - p) / cohort.called)
            low, high = _grid_quantile(grid, p - spread), _grid_quantile(grid, p + spread)
            assert low <= cohort[column] <= high, (cohort.cohort_week, column, cohort[column], low, high)


def test_overall_ttfac_percentiles_equal_the_drawn_ones(recovered):
    pipeline, truth = recovered
    overall = pipeline.frame(
        "select quantile_cont(epoch(first_api_call_at - account_created_at), [0.25, 0.5, 0.75, 0.9]) as q "
        "from developer_stages"
    ).q[0]
    drawn = truth["drawn"]["ttfac"]
    assert list(overall) == pytest.approx([drawn["p25_s"], drawn["p50_s"], drawn["p75_s"], drawn["p90_s"]], abs=1e-3)


def test_client_shares(recovered):
    pipeline, truth = recovered
    usage = pipeline.frame("select client_kind, client_name, sum(developers) as developers from mart_sdk_usage group by all")
    callers = usage.developers.sum()
    expected, drawn = truth["expected"]["clients"], truth["drawn"]["clients"]
    assert callers == drawn["callers"]
    by_kind = usage.groupby("client_kind").developers.sum()
    for kind, share in expected["client_kind_share"].items():
        assert by_kind.get(kind, 0) / callers == pytest.approx(drawn["client_kind_share"][kind], abs=1e-12), kind
        assert within(by_kind.get(kind, 0) / callers, share, callers, expected["callers"]), kind
    by_name = usage.groupby("client_name").developers.sum()
    for name, share in expected["client_name_share"].items():
        assert within(by_name.get(name, 0) / callers, share, callers, expected["callers"]), name


def test_requests_by_client_equal_the_drawn_requests(recovered):
    pipeline, truth = recovered
    requests = pipeline.frame("select client_name, sum(requests) as n from mart_sdk_usage group by 1")
    assert dict(zip(requests.client_name, requests.n)) == {
        k: v for k, v in truth["counts"]["requests_by_client_name"].items() if v
    }


def test_first_session_depth_and_production_by_depth(recovered):
    pipeline, truth = recovered
    depth = pipeline.frame(
        "select depth, sum(developers) as developers, sum(production_rate * developers) as produced "
        "from mart_first_session_depth group by 1 order by 1"
    ).set_index("depth")
    expected, drawn = truth["expected"]["first_session_depth"], truth["drawn"]["first_session_depth"]
    callers = depth.developers.sum()
    assert {str(k): int(v) for k, v in depth.developers.items()} == drawn["callers_by_depth"]
    for level, share in expected["depth_share"].items():
        assert within(depth.developers[int(level)] / callers, share, callers, expected["callers"]), level
        n = depth.developers[int(level)]
        rate = round(depth.produced[int(level)]) / n
        assert within(rate, expected["production_rate_by_depth"][level], n, expected["callers_by_depth"][level]), level
    deep = depth.developers[depth.index >= 3].sum() / callers
    assert within(deep, expected["depth_ge3_share"], callers, expected["callers"])
    share_at_least_3 = pipeline.frame(
        "select sum(share_at_least * (select sum(developers) from mart_first_session_depth m "
        "where m.cohort_week = d.cohort_week)) as n from mart_first_session_depth d where depth = 3"
    ).n[0]
    assert round(share_at_least_3) == depth.developers[depth.index >= 3].sum()


def test_production_rate_at_30_60_90_days(recovered):
    pipeline, truth = recovered
    rates = pipeline.frame(
        "select sum(developers) as developers, sum(production_30d) as d30, sum(production_60d) as d60, "
        "sum(production_90d) as d90, bool_and(complete_90d) as complete from mart_production_rate"
    ).iloc[0]
    expected, drawn = truth["expected"]["production_rate"], truth["drawn"]["production_rate"]
    assert rates.complete
    assert rates.developers == DEVELOPERS
    for days, column in [(30, "d30"), (60, "d60"), (90, "d90")]:
        assert rates[column] == drawn[f"produced_{days}d"], days
        assert within(rates[column] / rates.developers, expected[f"rate_{days}d"], rates.developers, expected["developers"]), days


def test_channel_and_account_type_shares(recovered):
    pipeline, truth = recovered
    segments = pipeline.frame(
        "select segment, segment_value, sum(developers) as developers from mart_segment_conversion "
        "where segment in ('channel', 'account_type') group by all"
    )
    expected, drawn = truth["expected"], truth["drawn"]
    for segment, key in [("channel", "channel_share"), ("account_type", "account_type_share")]:
        rows = segments[segments.segment == segment].set_index("segment_value").developers
        for value, share in expected[key].items():
            assert rows.get(value, 0) / DEVELOPERS == pytest.approx(drawn[key][value], abs=1e-12), value
            assert within(rows.get(value, 0) / DEVELOPERS, share, DEVELOPERS, expected["developers"]), value
