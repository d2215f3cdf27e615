"""Through Dagster: a malformed session fails its own raw_session partition, naming the file and the
problem, while the good sessions' partitions materialize what they give alone."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from platform_assets.neuro.assets import raw_session
from platform_assets.neuro.layout import SessionOutputs
from platform_assets.neuro.partitions import neuro_sessions
from resources import LandingZone, Warehouse
from tests.reliability.corpus import (
    BAD_SESSION,
    SessionFault,
    SessionOutcome,
    assert_clear_message,
    land_bad_session,
    params,
)
from tests.reliability.test_dicom_faults import DICOM_FAULTS
from tests.reliability.test_nifti_faults import IMAGE_FAULTS
from tests.reliability.trees import landing_snapshot

BAD_KEY = f"sub-{BAD_SESSION[0]}_ses-{BAD_SESSION[1]}"
THROUGH_DAGSTER = {"dims_30000_cubed": "nifti", "position_not_numeric": "dicom"}


def materialize(
    landing_root: Path, warehouse: Warehouse, keys: list[str]
) -> dict[str, dg.ExecuteInProcessResult]:
    """One run of raw_session per partition, as the sensor requests them."""
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(neuro_sessions.name, keys)
        resources = {
            "landing_zone": LandingZone(root=str(landing_root), settle_seconds=0),
            "warehouse": warehouse,
        }
        return {
            key: dg.materialize(
                [raw_session], instance=instance, partition_key=key, resources=resources, raise_on_error=False
            )
            for key in keys
        }


@pytest.mark.parametrize(
    "fault", params(f for f in [*IMAGE_FAULTS, *DICOM_FAULTS] if f.id in THROUGH_DAGSTER)
)
def test_a_malformed_session_fails_its_own_partition_and_the_good_ones_materialize(
    fault: SessionFault,
    fault_neuro_landing: Path,
    fault_neuro_template: tuple[Path, dict[str, Path]],
    fault_neuro_good: dict[str, SessionOutcome],
    tmp_path: Path,
) -> None:
    bad = land_bad_session(fault, fault_neuro_landing, fault_neuro_template[1][THROUGH_DAGSTER[fault.id]])
    before = landing_snapshot(fault_neuro_landing)
    warehouse = Warehouse(root=str(tmp_path / "warehouse"))

    results = materialize(fault_neuro_landing, warehouse, [BAD_KEY, *fault_neuro_good])

    failed = results.pop(BAD_KEY)
    assert not failed.success
    [failure] = failed.get_step_failure_events()
    assert_clear_message(
        failure.step_failure_data.error.message.strip(), str(bad / fault.names), fault.problem
    )
    assert not SessionOutputs(warehouse, BAD_KEY).inventory.exists()
    for key, result in results.items():
        assert result.success, key
        headers = json.loads(SessionOutputs(warehouse, key).inventory.read_text())["headers"]
        headers.pop("dcm2niix", None)  # its run time, as the baseline leaves it out
        assert headers == fault_neuro_good[key].report
    assert landing_snapshot(fault_neuro_landing) == before
