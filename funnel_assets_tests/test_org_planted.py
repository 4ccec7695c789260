"""The organisation marts recover the org behaviour the simulator planted.

The simulator lets team founders who reach production invite an early second
developer more often (`lib/simulator/orgs.py`), so organisations whose
second developer joins within `org_second_developer_days` of the first reach
production more often. For each of three seeds, through a real
`funnel run`-equivalent materialisation:

- exact: the production cells of `mart_org_developers_by_stage` (per early /
  other group, summed over cohorts) and `mart_org_production_rate` equal what
  the simulator drew (`truth["drawn"]["orgs"]`);
- statistical: each group's rate lies within Z binomial standard errors
  (sqrt(p(1-p)/n) at the mart's n, plus the expectation's own error at its n)
  of the model's expected rate (`truth["expected"]["orgs"]`, the
  400 000-developer draw). Z = 4.5 as in test_recovery: a miss chance of
  about 7e-6 per comparison.
- the lift: over the three seeds pooled, the early organisations' rate exceeds
  the others' by more than Z standard errors of the difference, and that
  difference is within Z of them of the planted one.
"""

import math

import pytest

from funnel_assets.lib.simulator import generate
from funnel_assets_tests.conftest import Pipeline

SEEDS = [1, 2, 3]
DEVELOPERS = 2_000  # about 420 organisations a seed, 100 of them growing early
WEEKS = 4
REQUESTS = 60_000  # usage volume only; stage times do not depend on it
Z = 4.5
GROUPS = {True: "early_second_developer", False: "other"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, definitions):
    """(truth, production cells of mart_org_developers_by_stage by group, mart_org_production_rate totals) per seed."""
    results = []
    for seed in SEEDS:
        pipeline = Pipeline(definitions, tmp_path_factory.mktemp(f"org_planted_{seed}"))
        truth = generate(pipeline.data_dir, developers=DEVELOPERS, weeks=WEEKS, seed=seed, requests=REQUESTS)
        pipeline.run()
        by_group = pipeline.frame(
            "select early_second_developer, sum(orgs) as orgs, sum(reached) as reached, "
            "bool_and(is_complete) as complete from mart_org_developers_by_stage "
            "where stage = 'production_deployment' group by all"
        ).set_index("early_second_developer")
        totals = pipeline.frame(
            "select sum(developers) as orgs, sum(rate_90d * developers) as produced, bool_and(complete_90d) as complete "
            "from mart_org_production_rate"
        ).iloc[0]
        results.append((truth, by_group, totals))
    return results


def _standard_error(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def test_org_production_cells_equal_what_was_drawn(runs):
    for truth, by_group, totals in runs:
        drawn = truth["drawn"]["orgs"]
        for early, group in GROUPS.items():
            row = by_group.loc[early]
            assert row.complete, group
            planted = drawn["production_rate"][group]
            assert (row.orgs, row.reached) == (planted["orgs"], planted["produced"]), group
        assert totals.complete
        assert totals.orgs == drawn["orgs"]
        assert round(totals.produced) == sum(g["produced"] for g in drawn["production_rate"].values())


def test_each_groups_production_rate_is_within_sampling_error_of_the_planted_rate(runs):
    for truth, by_group, _ in runs:
        expected = truth["expected"]["orgs"]["production_rate"]
        for early, group in GROUPS.items():
            row, planted = by_group.loc[early], expected[group]
            p = planted["rate"]
            tolerance = Z * (_standard_error(p, row.orgs) + _standard_error(p, planted["orgs"]))
            assert abs(row.reached / row.orgs - p) <= tolerance, (group, row.reached / row.orgs, p, tolerance)


def test_organisations_that_grow_early_reach_production_more_often(runs):
    expected = runs[0][0]["expected"]["orgs"]
    pooled = {early: (sum(r[1].loc[early].reached for r in runs), sum(r[1].loc[early].orgs for r in runs))
              for early in GROUPS}
    rate = {early: reached / orgs for early, (reached, orgs) in pooled.items()}
    planted = {early: expected["production_rate"][group]["rate"] for early, group in GROUPS.items()}
    se = {early: _standard_error(planted[early], pooled[early][1]) for early in GROUPS}
    spread = math.hypot(se[True], se[False])
    seen, lift = rate[True] - rate[False], planted[True] - planted[False]
    assert seen > Z * spread, (rate, spread)
    assert abs(seen - lift) <= Z * spread, (seen, lift, spread)
    # truth's lift is the ratio of the rates; its standard error by the delta method
    ratio_se = math.hypot(se[True] / planted[False], planted[True] * se[False] / planted[False] ** 2)
    assert expected["lift"] == pytest.approx(planted[True] / planted[False])
    assert abs(rate[True] / rate[False] - expected["lift"]) <= Z * ratio_se, (rate, expected["lift"], ratio_se)
