"""Checks on partitioned assets are partitioned too: one bad session fails only its own check.

Dagster 1.13 takes ``partitions_def`` on ``@asset_check`` and ``AssetCheckSpec`` (a preview
feature) and then records each evaluation under the run's partition key; the UI lists a check's
status per partition (``AssetCheck.partitionStatuses``) instead of one status for all sessions.
"""

import json
from pathlib import Path

import dagster as dg
import pytest

from platform_assets.definitions import defs
from platform_assets.neuro import checks
from platform_assets.neuro.assets import raw_session
from platform_assets.neuro.layout import SessionOutputs
from platform_assets.neuro.partitions import neuro_sessions
from resources import Warehouse

GOOD, BAD = "sub-01_ses-01", "sub-03_ses-01"
BAD_HEADERS = "sub-03/ses-01/dwi.bvec: 31 b-vectors for 33 volumes in dwi.nii.gz"


def test_every_check_on_a_partitioned_asset_shares_its_partitions() -> None:
    partitions = {spec.key: spec.partitions_def for spec in defs.resolve_all_asset_specs()}
    check_specs = [spec for assets in defs.resolve_asset_graph().assets_defs for spec in assets.check_specs]
    partitioned = [spec for spec in check_specs if partitions[spec.asset_key] is not None]
    assert {spec.name for spec in partitioned} >= {
        spec.name for check in checks.session_checks for spec in check.check_specs
    }
    # The spec pipeline over neuro sessions (pipelines/neuro_inventory) has its checks partitioned too.
    assert any(spec.asset_key.path[0] == "specs" for spec in partitioned)
    unpartitioned = [
        spec.key.to_user_string() for spec in partitioned if spec.partitions_def != partitions[spec.asset_key]
    ]
    assert not unpartitioned, f"checks not partitioned like their asset: {unpartitioned}"


def _write_inventory(warehouse: Warehouse, session: str, issues: list[str]) -> None:
    path = SessionOutputs(warehouse, session).inventory
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": "nifti", "headers": {"issues": issues, "n_volumes": 33}}))


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(root=str(tmp_path / "warehouse"))
    _write_inventory(warehouse, GOOD, [])
    _write_inventory(warehouse, BAD, [BAD_HEADERS])
    return warehouse


def test_a_bad_session_fails_its_own_partition_of_the_check_only(warehouse: Warehouse) -> None:
    # A stand-in with raw_session's key and partitions: the check reads only the inventory the
    # fixture wrote where the real asset writes it.
    @dg.multi_asset(specs=[dg.AssetSpec(raw_session.key, partitions_def=neuro_sessions)])
    def stand_in() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    check_key = checks.headers_consistent.check_key
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(neuro_sessions.name, [GOOD, BAD])
        for session in (GOOD, BAD):
            dg.materialize(
                [stand_in, checks.headers_consistent],
                instance=instance,
                partition_key=session,
                resources={"warehouse": warehouse},
                raise_on_error=False,
            )
        history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=10)

    by_partition = {record.partition: record for record in history}
    assert set(by_partition) == {GOOD, BAD}
    good, bad = (by_partition[key].event.dagster_event.asset_check_evaluation_data for key in (GOOD, BAD))
    assert good.passed and good.partition == GOOD
    assert not bad.passed and bad.partition == BAD
    assert bad.description == BAD_HEADERS
