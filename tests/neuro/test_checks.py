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
GOOD_QC = {
    "mask_fraction": 0.4,
    "mask_voxels": 400,
    "mask_method": "whole_head",
    "mask_note": "median-Otsu on the mean b0",
    "fd_max_mm": 0.5,
    "fd_mean_mm": 0.2,
    "ndc_raw": 0.60,
    "ndc_preprocessed": 0.75,
}
PREPROCESSING_GATES = {"mask_coverage_plausible", "motion_within_limit", "ndc_not_degraded"}


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


def write_qc(warehouse: Warehouse, **changes: float | str) -> None:
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
        # A crop wholly inside the brain is nearly all brain: no ceiling, but still a floor.
        ({"mask_fraction": 0.9, "mask_method": "inside_brain"}, set()),
        ({"mask_fraction": 0.01, "mask_method": "inside_brain"}, {"mask_coverage_plausible"}),
        ({"fd_max_mm": 7.5}, {"motion_within_limit"}),
        ({"ndc_preprocessed": 0.17}, {"ndc_not_degraded"}),  # 0.60 -> 0.17, as measured on main
        ({"ndc_preprocessed": 0.50}, set()),  # a fall within the margin
        ({"ndc_raw": float("nan"), "ndc_preprocessed": float("nan")}, set()),
    ],
)
def test_preprocessing_gates_fail_alone(warehouse: Warehouse, changes: dict, failing: set[str]) -> None:
    write_qc(warehouse, **changes)
    evaluations = evaluate(checks.preprocessing_qc_gates, warehouse)
    assert set(evaluations) == PREPROCESSING_GATES
    assert {name for name, evaluation in evaluations.items() if not evaluation.passed} == failing
    assert evaluations["motion_within_limit"].metadata["limit_mm"].value == 5.0


def test_an_ndc_fall_only_warns() -> None:
    specs = {spec.name: spec for spec in checks.preprocessing_qc_gates.check_specs}
    assert not specs["ndc_not_degraded"].blocking
    assert specs["mask_coverage_plausible"].blocking and specs["motion_within_limit"].blocking


def test_an_ndc_fall_is_a_warning_with_its_numbers(warehouse: Warehouse) -> None:
    write_qc(warehouse, ndc_preprocessed=0.17)
    evaluation = evaluate(checks.preprocessing_qc_gates, warehouse)["ndc_not_degraded"]
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "0.600 raw, 0.170 preprocessed" in evaluation.description
    assert evaluation.metadata["ndc_drop"].value == pytest.approx(0.43)


def write_dti(warehouse: Warehouse, fa: np.ndarray, md: np.ndarray) -> None:
    """FA and MD maps as the fit wrote them, and a brain mask of their non-zero voxels."""
    outputs = SessionOutputs(warehouse, KEY)
    mask = (fa != 0) | (md != 0)
    save_nifti(mask.astype(np.uint8), np.eye(4), outputs.preprocessed("mask.nii.gz"), time_unit="unknown")
    for name, values in (("fa", fa), ("md", md)):
        save_nifti(values.astype(np.float32), np.eye(4), outputs.dti_map(name), time_unit="unknown")


def brain_like_maps() -> tuple[np.ndarray, np.ndarray]:
    """A 10^3 mask inside a 12^3 grid: tissue FA 0.15-0.6, MD 0.6-1.0e-3, and 3% ventricular CSF
    at 2.6-3.1e-3 mm^2/s (free water at 37 C is 3.0e-3; partial volume with tissue reads lower)."""
    rng = np.random.default_rng(0)
    fa, md = np.zeros((12, 12, 12)), np.zeros((12, 12, 12))
    fa[1:11, 1:11, 1:11] = rng.uniform(0.15, 0.6, (10, 10, 10))
    md[1:11, 1:11, 1:11] = rng.uniform(0.6e-3, 1.0e-3, (10, 10, 10))
    md[1:11, 1:4, 1] = rng.uniform(2.6e-3, 3.1e-3, (10, 3))
    fa[1:11, 1:4, 1] = 0.05
    return fa, md


@pytest.mark.parametrize(("bad_value", "expected"), [(np.nan, "1 NaN"), (1.2, "1.200]")])
def test_fa_gate_fails_on_nan_or_out_of_range(warehouse: Warehouse, bad_value: float, expected: str) -> None:
    fa, md = brain_like_maps()
    fa[5, 5, 5] = bad_value  # in the raw map, where nothing clips it
    write_dti(warehouse, fa, md)
    evaluation = evaluate(checks.fa_valid, warehouse)["fa_valid"]
    assert not evaluation.passed and expected in evaluation.description


def test_fa_gate_passes_a_fit_in_range(warehouse: Warehouse) -> None:
    write_dti(warehouse, *brain_like_maps())
    evaluation = evaluate(checks.fa_valid, warehouse)["fa_valid"]
    assert evaluation.passed and evaluation.metadata["n_nan_in_mask"].value == 0


@pytest.mark.parametrize(
    ("md_factor", "fa_value", "failing"),
    [
        (1.0, None, set()),
        # main's real session: median MD 7.4e-3, 2.5 x free water (a b-value or unit error)
        (2.5, None, {"md_plausible"}),
        (1.5, None, {"md_plausible"}),  # only the CSF crosses the ceiling
        (1.0, 0.85, {"fa_median_plausible"}),  # a mask of noise or misaligned volumes
        (1.0, 0.02, {"fa_median_plausible"}),  # no directional contrast
    ],
)
def test_dti_plausibility_gates_fail_alone(
    warehouse: Warehouse, md_factor: float, fa_value: float | None, failing: set[str]
) -> None:
    fa, md = brain_like_maps()
    if fa_value is not None:
        fa = np.where(fa != 0, fa_value, 0.0)
    write_dti(warehouse, fa, md * md_factor)
    evaluations = evaluate(checks.dti_plausibility_gates, warehouse)
    assert set(evaluations) == {"md_plausible", "fa_median_plausible"}
    assert {name for name, evaluation in evaluations.items() if not evaluation.passed} == failing


def test_md_gate_reports_the_percentile_it_judged(warehouse: Warehouse) -> None:
    fa, md = brain_like_maps()
    md[5, 5, 5] = np.nan  # fa_valid's to report; the MD gate judges the finite voxels
    write_dti(warehouse, fa, md * 2.5)
    evaluation = evaluate(checks.dti_plausibility_gates, warehouse)["md_plausible"]
    finite = (md * 2.5)[(fa != 0) & np.isfinite(md)]
    assert evaluation.metadata["md_at_percentile_mm2_per_s"].value == pytest.approx(
        np.percentile(finite, 99), rel=1e-5
    )
    assert evaluation.metadata["finite_voxels"].value == finite.size
    assert "ceiling 3.2e-03" in evaluation.description


def test_cohort_gate_warns_on_an_outlying_session(warehouse: Warehouse) -> None:
    table = pd.DataFrame({"session": [f"sub-{i:02d}_ses-01" for i in range(5)], **{"fd_max_mm": [0.5] * 5}})
    table.loc[4, "fd_max_mm"] = 9.0
    path = cohort_table_path(warehouse)
    path.parent.mkdir(parents=True)
    table.to_parquet(path, index=False)
    evaluation = evaluate(checks.cohort_outliers, warehouse)["cohort_outliers"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "sub-04_ses-01" in evaluation.metadata["outliers"].value


def test_cohort_gate_says_two_sessions_are_not_enough_to_judge(warehouse: Warehouse) -> None:
    table = pd.DataFrame({"session": ["sub-01_ses-01", "sub-02_ses-01"], "fd_max_mm": [0.5, 9.0]})
    path = cohort_table_path(warehouse)
    path.parent.mkdir(parents=True)
    table.to_parquet(path, index=False)
    evaluation = evaluate(checks.cohort_outliers, warehouse)["cohort_outliers"]
    assert evaluation.description == "not judged: 2 session(s), outliers need at least 3 to stand out from"
    assert evaluation.metadata["judged"].value is False


def test_layout_refuses_a_partition_key_that_could_escape(warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="not safe"):
        SessionOutputs(warehouse, "../escape").folder("dti_maps")
