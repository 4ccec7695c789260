"""Checks past the raw layer (developer_stages, every mart, the identity map) through materialisation.

Clean simulated data passes every one of them. Then each check, alone, meets a
planted bad row: in the asset's own table (then only the check steps run, for
one week), or upstream (then the asset is materialised again, and what is
downstream of it does not run). Every planted row fails exactly its check.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from funnel_assets.defs.resources import FunnelResource
from funnel_assets.lib.engines import connect
from funnel_assets.lib.identity_store import IdentityKeyOwner, IdentityStore
from funnel_assets.lib.quality.downstream import MART_SHAPES, checks_on, downstream_checks
from funnel_assets.lib.simulator import DEFAULT_PARAMETERS, generate
from funnel_assets_tests.conftest import Pipeline

SMALL = {"developers": 250, "weeks": 3, "seed": 11, "requests": 8000,
         "params": replace(DEFAULT_PARAMETERS, follow_up_days=49)}
WEEK = "2025-01-13"  # the second signup week: complete rows and open rows both


def _defs_of(definitions: dg.Definitions, assets: set[str]) -> list:
    """The definitions of these assets and of their checks (a run of one week takes weekly ones only)."""
    return [
        d for d in [*definitions.assets, *definitions.asset_checks]
        if {k.to_user_string() for k in d.keys} & assets
        or {k.asset_key.to_user_string() for k in d.check_keys} & assets
    ]


def _evaluations(result) -> dict[str, object]:
    """The evaluation of each check in a run over WEEK (or over an unpartitioned asset)."""
    found = [e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    return {e.check_name: e for e in found if e.partition in (None, WEEK)}


@pytest.fixture(scope="module")
def clean(tmp_path_factory, definitions):
    """The whole graph materialised once over clean simulated data: (root, result)."""
    root = tmp_path_factory.mktemp("clean")
    pipeline = Pipeline(definitions, root)
    generate(pipeline.data_dir, **SMALL)
    return root, pipeline.run()


class Copy:
    """A copy of the clean warehouse, identity store and landing data, to plant one bad row in."""

    def __init__(self, clean_root: Path, root: Path, definitions: dg.Definitions):
        shutil.copytree(clean_root, root, dirs_exist_ok=True)
        self.definitions = definitions
        self.resource = FunnelResource(data_dir=str(root / "data"), warehouse_path=str(root / "warehouse.duckdb"))

    def execute(self, sql: str) -> None:
        with connect(Path(self.resource.warehouse_path), self.resource.pseudonym_key) as engine:
            engine.execute(sql)

    def materialize(self, assets: set[str], selection, partitioned: bool = True) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            _defs_of(self.definitions, assets), selection=selection, resources={"funnel": self.resource},
            instance=dg.DagsterInstance.ephemeral(),
            # a tag, not partition_key: Dagster asks partition_key of a selected asset, and a check-only run has none
            tags={"dagster/partition": WEEK} if partitioned else None,
            raise_on_error=False,
        )

    def run_checks_of(self, asset: str) -> dict[str, object]:
        """Only the check steps of `asset`, for WEEK (the asset itself is not materialised again)."""
        keys = [dg.AssetCheckKey(dg.AssetKey(asset), c.name) for c in checks_on(asset)]
        return _evaluations(self.materialize({asset}, dg.AssetSelection.checks(*keys)))


def test_clean_data_passes_every_downstream_check(clean):
    _, result = clean
    evaluations = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.asset_check_evaluation_data.partition is None
    }
    names = {c.name for c in downstream_checks()}
    assert names <= set(evaluations)
    assert not [name for name in names if not evaluations[name].passed]
    assert all(evaluations[name].blocking and evaluations[name].severity == dg.AssetCheckSeverity.ERROR
               for name in names)
    # each week with rows has its own evaluation of each weekly check
    weekly = {(e.asset_check_evaluation_data.check_name, e.asset_check_evaluation_data.partition)
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert ("mart_ttfac_by_cohort_has_ordered_percentiles", WEEK) in weekly


def _first_row(table: str, where: str = "true") -> str:
    return f"rowid = (select min(rowid) from {table} where cohort_week = date '{WEEK}' and {where})"


def _mart_plantings() -> list[tuple[str, str]]:
    """(check, SQL planting one bad row for it) for every check of every mart, derived from the marts' shapes."""
    cases = []
    for shape in MART_SHAPES:
        t = shape.table
        names = {c.kind: c.name for c in checks_on(t)}
        cases.append((names["grain"], f"insert into {t} select * from {t} where {_first_row(t)}"))
        if shape.rates:
            rate = shape.rates[0]
            cases.append((names["rates"], f"update {t} set {rate} = 1.5 where {_first_row(t, f'{rate} is not null')}"))
        if shape.at_most:
            small, large = shape.at_most[0]
            cases.append((names["at_most"], f"update {t} set {small} = {large} + 1 where {_first_row(t)}"))
        if shape.ordered:
            low, high = shape.ordered[0], shape.ordered[-1]
            cases.append((names["ordered"], f"update {t} set {low} = {high} + 1 where {_first_row(t, f'{high} is not null')}"))
        if shape.final:
            column = shape.final[0]
            # a row that carries its final rate, marked as still open
            cases.append((names["final"], f"update {t} set is_complete = false where {_first_row(t, f'{column} is not null')}"))
    return cases


MART_PLANTINGS = _mart_plantings()


def test_every_mart_check_has_a_planted_row():
    assert {c for c, _ in MART_PLANTINGS} == {c.name for c in downstream_checks() if c.asset.startswith("mart_")}


@pytest.mark.parametrize("check, planting", MART_PLANTINGS, ids=[c for c, _ in MART_PLANTINGS])
def test_a_planted_bad_mart_row_fails_exactly_its_check(clean, tmp_path, definitions, check, planting):
    copy = Copy(clean[0], tmp_path, definitions)
    asset = next(c.asset for c in downstream_checks() if c.name == check)
    before = copy.run_checks_of(asset)
    assert {name for name, e in before.items() if not e.passed} == set()  # the week passes before the planting
    copy.execute(planting)
    after = copy.run_checks_of(asset)
    assert {name for name, e in after.items() if not e.passed} == {check}
    metadata = {k: getattr(v, "value", v) for k, v in after[check].metadata.items()}
    assert metadata["failing_rows"] >= 1 and metadata["sample"], metadata
    assert after[check].severity == dg.AssetCheckSeverity.ERROR


def test_a_missing_cohort_week_fails_the_grain_check(clean, tmp_path, definitions):
    copy = Copy(clean[0], tmp_path, definitions)
    copy.execute(f"delete from mart_ttfac_by_cohort where cohort_week = date '{WEEK}'")
    after = copy.run_checks_of("mart_ttfac_by_cohort")
    assert {name for name, e in after.items() if not e.passed} == {"mart_ttfac_by_cohort_has_one_row_per_cohort_week"}
    sample = after["mart_ttfac_by_cohort_has_one_row_per_cohort_week"].metadata["sample"].value
    assert sample == [{"week": WEEK, "cohort_week": None}]  # the missing week is one row of nulls


STAGE_PLANTINGS = {
    "developer_stages_has_one_row_per_developer":
        f"insert into developer_stages select * from developer_stages where {_first_row('developer_stages')}",
    "developer_stages_has_no_first_call_before_the_first_key":
        "update developer_stages set first_api_call_at = credential_provisioned_at - interval 1 hour where "
        + _first_row("developer_stages", "first_api_call_at is not null and credential_provisioned_at is not null"),
}


@pytest.mark.parametrize("check", sorted(STAGE_PLANTINGS))
def test_a_planted_bad_stage_row_fails_exactly_its_check(clean, tmp_path, definitions, check):
    copy = Copy(clean[0], tmp_path, definitions)
    copy.execute(STAGE_PLANTINGS[check])
    after = copy.run_checks_of("developer_stages")
    assert {name for name, e in after.items() if not e.passed} == {check}
    assert after[check].metadata["failing_rows"].value >= 1


def test_a_developer_without_a_row_fails_the_one_row_check(clean, tmp_path, definitions):
    copy = Copy(clean[0], tmp_path, definitions)
    copy.execute(f"delete from developer_stages where {_first_row('developer_stages')}")
    after = copy.run_checks_of("developer_stages")
    check = "developer_stages_has_one_row_per_developer"
    assert {name for name, e in after.items() if not e.passed} == {check}
    (row,) = after[check].metadata["sample"].value
    assert row["user_pid"] is None and row["developer_pid"]  # the developer, and no row for them


def test_a_stage_time_outside_the_data_blocks_the_marts(clean, tmp_path, definitions):
    """An intent page view dated 1900 (upstream, in developer_events): developer_stages fails, no mart is built."""
    copy = Copy(clean[0], tmp_path, definitions)
    copy.execute(
        "insert into developer_events select * replace (timestamptz '1900-01-01 00:00:00+00' as event_time, "
        "'planted' as event_id) from developer_events where event_id = (select min(intent_event_id) "
        f"from developer_stages where cohort_week = date '{WEEK}' and intent_observed)"
    )
    result = copy.materialize({"developer_stages", "mart_ttfac_by_cohort"}, ["developer_stages", "mart_ttfac_by_cohort"])
    assert not result.success
    evaluations = _evaluations(result)
    check = "developer_stages_has_stage_times_within_the_data_span"
    assert {name for name, e in evaluations.items() if not e.passed} == {check}
    (row,) = evaluations[check].metadata["sample"].value
    assert row["intent_at"].startswith("1900-01-01")
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"developer_stages"}


def test_a_key_held_by_two_owners_at_once_fails_the_identity_check(clean, tmp_path, definitions):
    """The platform writes a key issue overlapping one from the landing data, for another user."""
    copy = Copy(clean[0], tmp_path, definitions)
    with connect(Path(copy.resource.warehouse_path), copy.resource.pseudonym_key) as engine:
        owner = engine.frame("select * from identity_key_owners where valid_to is null order by key_pid limit 1")
        other = engine.scalar("select min(user_pid) from identity_users where user_pid <> $u",
                              {"u": owner.user_pid[0]})
    store = IdentityStore(copy.resource.identity_url)
    store.add(IdentityKeyOwner(
        key_pid=owner.key_pid[0], valid_from=owner.valid_from[0].to_pydatetime() + timedelta(days=1), user_pid=other,
        mode="test", source="platform",
    ))
    store.close()
    result = copy.materialize({"identity_key_owners"}, ["identity_key_owners"], partitioned=False)
    evaluations = _evaluations(result)
    check = "identity_key_owners_has_one_owner_per_key_at_any_time"
    assert not evaluations[check].passed and not result.success
    (row,) = evaluations[check].metadata["sample"].value
    assert (row["key_pid"], row["user_pid"], row["source"]) == (owner.key_pid[0], other, "platform")
