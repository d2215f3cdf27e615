"""Each neuro gate on warehouse files made to pass or fail it, run as Dagster runs them.

The asset under each check is a stand-in with the same key: the check reads only the files
the test writes where the layout says the real asset writes them.
"""

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from brainstar.domain.neuro import bids
from brainstar.domain.neuro.nifti import save_nifti
from platform_assets.neuro import checks
from platform_assets.neuro.layout import SessionOutputs, cohort_table_path
from platform_assets.neuro.partitions import neuro_sessions
from resources import NeuroQcThresholds, Warehouse

KEY = "sub-01_ses-01"
GOOD_QC = {"mask_fraction": 0.4, "mask_voxels": 400, "fd_max_mm": 0.5, "fd_mean_mm": 0.2}


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(root=str(tmp_path / "warehouse"))


def evaluate(check: dg.AssetChecksDefinition, warehouse: Warehouse) -> dict[str, dg.AssetCheckEvaluation]:
    """Run ``check`` over stand-ins for its assets; its evaluations by check name."""
    keys = {spec.asset_key for spec in check.check_specs}
    partitioned = all(key.path[-1] != "cohort_table" for key in keys)
    stand_ins = [dg.AssetSpec(key, partitions_def=neuro_sessions if partitioned else None) for key in keys]
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(neuro_sessions.name, [KEY])
        result = dg.materialize(
            [*(_materializable(spec) for spec in stand_ins), check],
            instance=instance,
            partition_key=KEY if partitioned else None,
            resources={"warehouse": warehouse, "neuro_qc": NeuroQcThresholds()},
            raise_on_error=False,
        )
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


def _materializable(spec: dg.AssetSpec) -> dg.AssetsDefinition:
    @dg.multi_asset(specs=[spec], name=f"stand_in_{'_'.join(spec.key.path)}")
    def stand_in() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    return stand_in


def write_qc(warehouse: Warehouse, **changes: float) -> None:
    path = SessionOutputs(warehouse, KEY).preprocessed("qc.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**GOOD_QC, **changes}))


def test_headers_gate_fails_on_recorded_issues(warehouse: Warehouse) -> None:
    inventory = SessionOutputs(warehouse, KEY).inventory
    inventory.parent.mkdir(parents=True)
    inventory.write_text(
        json.dumps(
            {"format": "nifti", "headers": {"issues": ["31 b-vectors for 33 volumes"], "n_volumes": 33}}
        )
    )
    evaluation = evaluate(checks.headers_consistent, warehouse)["headers_consistent"]
    assert not evaluation.passed and "31 b-vectors" in evaluation.description


def test_bids_gate_fails_on_a_missing_file(warehouse: Warehouse) -> None:
    target = SessionOutputs(warehouse, KEY).bids
    target.folder.mkdir(parents=True)
    bids.ensure_dataset_description(target.root)
    evaluation = evaluate(checks.bids_layout_valid, warehouse)["bids_layout_valid"]
    assert not evaluation.passed
    assert "missing sub-01_ses-01_dwi.nii.gz" in evaluation.description


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({}, set()),
        ({"mask_fraction": 0.9}, {"mask_coverage_plausible"}),
        ({"mask_fraction": 0.01}, {"mask_coverage_plausible"}),
        ({"fd_max_mm": 7.5}, {"motion_within_limit"}),
    ],
)
def test_preprocessing_gates_fail_alone(warehouse: Warehouse, changes: dict, failing: set[str]) -> None:
    write_qc(warehouse, **changes)
    evaluations = evaluate(checks.preprocessing_qc_gates, warehouse)
    assert set(evaluations) == {"mask_coverage_plausible", "motion_within_limit"}
    assert {name for name, evaluation in evaluations.items() if not evaluation.passed} == failing
    assert evaluations["motion_within_limit"].metadata["limit_mm"].value == 5.0


@pytest.mark.parametrize(("bad_value", "expected"), [(np.nan, "1 NaN"), (1.2, "1.200]")])
def test_fa_gate_fails_on_nan_or_out_of_range(warehouse: Warehouse, bad_value: float, expected: str) -> None:
    outputs = SessionOutputs(warehouse, KEY)
    mask = np.zeros((4, 4, 4), dtype=np.uint8)
    mask[1:3, 1:3, 1:3] = 1
    fa = np.full(mask.shape, 0.5, dtype=np.float32)
    fa[1, 1, 1] = bad_value
    save_nifti(mask, np.eye(4), outputs.preprocessed("mask.nii.gz"), time_unit="unknown")
    save_nifti(fa, np.eye(4), outputs.dti_map("fa"), time_unit="unknown")
    evaluation = evaluate(checks.fa_valid, warehouse)["fa_valid"]
    assert not evaluation.passed and expected in evaluation.description


def test_cohort_gate_warns_on_an_outlying_session(warehouse: Warehouse) -> None:
    table = pd.DataFrame({"session": [f"sub-{i:02d}_ses-01" for i in range(5)], **{"fd_max_mm": [0.5] * 5}})
    table.loc[4, "fd_max_mm"] = 9.0
    path = cohort_table_path(warehouse)
    path.parent.mkdir(parents=True)
    table.to_parquet(path, index=False)
    evaluation = evaluate(checks.cohort_outliers, warehouse)["cohort_outliers"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "sub-04_ses-01" in evaluation.metadata["outliers"].value


def test_layout_refuses_a_partition_key_that_could_escape(warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="not safe"):
        SessionOutputs(warehouse, "../escape").folder("dti_maps")
