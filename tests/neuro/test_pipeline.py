"""The neuro pipeline on the demo phantom, as `make run` left it: ground truth recovered.

Stated tolerance: the median FA of each labelled region is within 0.03 of the phantom's
FA, and the median MD within 5% of its MD, after Rician noise at SNR 30, MP-PCA, Gibbs
removal and motion correction. Both the NIfTI (sub-01) and the DICOM (sub-02) sessions
are checked.
"""

import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from brainstar.domain.neuro import bids, dwi_session
from platform_assets.neuro.layout import SessionOutputs
from resources import Warehouse
from tests.conftest import DemoRun

pytestmark = pytest.mark.slow

FA_TOLERANCE = 0.03
MD_RELATIVE_TOLERANCE = 0.05
GOOD_SESSIONS = ("sub-01_ses-01", "sub-02_ses-01")
SESSION_CHECKS = (
    "headers_consistent",
    "bids_layout_valid",
    "mask_coverage_plausible",
    "motion_within_limit",
    "ndc_not_degraded",
    "fa_valid",
    "md_plausible",
    "fa_median_plausible",
)


@pytest.fixture(scope="module")
def instance(demo_run: DemoRun) -> dg.DagsterInstance:
    with dg.DagsterInstance.from_config(str(demo_run.dagster_home)) as instance:
        yield instance


def outputs_of(demo_run: DemoRun, session: str) -> SessionOutputs:
    return SessionOutputs(Warehouse(root=str(demo_run.warehouse)), session)


def truth(demo_run: DemoRun, session: str) -> dict:
    return json.loads((demo_run.landing / "ground_truth.json").read_text())["neuro"][session]


@pytest.mark.parametrize("session", GOOD_SESSIONS)
def test_regional_fa_and_md_recover_the_phantom(demo_run: DemoRun, session: str) -> None:
    stats = pd.read_parquet(outputs_of(demo_run, session).regional_stats)
    for label, expected in truth(demo_run, session)["regions"].items():
        region = stats[stats["region"] == int(label)].set_index("map")
        assert region.loc["fa", "median"] == pytest.approx(expected["fa"], abs=FA_TOLERANCE), label
        assert region.loc["md", "median"] == pytest.approx(
            expected["md_mm2_per_s"], rel=MD_RELATIVE_TOLERANCE
        ), label
        assert region.loc["fa", "coverage"] > 0.8, "the brain mask should cover the labelled region"


@pytest.mark.parametrize("session", GOOD_SESSIONS)
def test_every_session_gate_passed_with_numbers(instance: dg.DagsterInstance, session: str) -> None:
    for name in SESSION_CHECKS:
        asset = {
            "headers_consistent": "raw_session",
            "bids_layout_valid": "bids_session",
            "fa_valid": "dti_maps",
            "md_plausible": "dti_maps",
            "fa_median_plausible": "dti_maps",
        }.get(name, "preprocessed_dwi")
        key = dg.AssetCheckKey(dg.AssetKey(["neuro", asset]), name)
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
        evaluations = [
            r.event.dagster_event.event_specific_data
            for r in history
            if r.event and instance.get_run_by_id(r.run_id).tags.get("dagster/partition") == session
        ]
        assert evaluations and evaluations[0].passed, f"{name} on {session}"
        assert evaluations[0].metadata, f"{name} carries its numbers"


def test_preprocessing_qc_is_recorded(instance: dg.DagsterInstance) -> None:
    event = instance.get_latest_materialization_event(dg.AssetKey(["neuro", "preprocessed_dwi"]))
    metadata = event.asset_materialization.metadata
    for name in ("fd_mean_mm", "fd_max_mm", "ndc_raw", "ndc_preprocessed", "snr_b0_in_mask", "mask_fraction"):
        assert np.isfinite(metadata[name].value), name
    # The phantom's SNR is 30 by construction; the estimate from MP-PCA's sigma should agree.
    assert metadata["snr_b0_in_mask"].value == pytest.approx(30, rel=0.25)
    assert metadata["ndc_preprocessed"].value > metadata["ndc_raw"].value, (
        "denoising raises neighbour correlation"
    )


def test_broken_session_fails_alone_naming_the_file(demo_run: DemoRun) -> None:
    line = next(
        line
        for line in demo_run.stdout.splitlines()
        if line.startswith("neuro/raw_session  ") and "sub-03" in line
    )
    assert "sub-03/ses-01/dwi.bvec: 31 b-vectors for 33 volumes" in line
    assert not outputs_of(demo_run, "sub-03_ses-01").folder("preprocessed_dwi").exists()


def test_bids_dataset_is_valid_for_both_input_formats(demo_run: DemoRun) -> None:
    for session in GOOD_SESSIONS:
        target = outputs_of(demo_run, session).bids
        assert bids.validate_layout(target) == []
    sidecar = json.loads(outputs_of(demo_run, "sub-02_ses-01").bids.path(".json").read_text())
    assert sidecar["ConversionSoftware"] == "dcm2niix"


def test_connectome_is_symmetric_and_matches_its_csv(demo_run: DemoRun) -> None:
    for session in GOOD_SESSIONS:
        outputs = outputs_of(demo_run, session)
        matrix = np.load(outputs.connectome(".npy"))
        assert matrix.shape == (4, 4)
        np.testing.assert_array_equal(matrix, matrix.T)
        np.testing.assert_array_equal(pd.read_csv(outputs.connectome(".csv"), index_col=0).to_numpy(), matrix)
        # Streamlines follow the phantom's fibres: region 1's run along x into region 2, and
        # region 2's along y into region 4; regions 1 and 3 touch only across their fibres.
        assert matrix[0, 1] > 0 and matrix[1, 3] > 0
        assert matrix[0, 2] == 0


def test_cohort_table_has_one_row_per_processed_session(demo_run: DemoRun) -> None:
    table = pd.read_parquet(demo_run.warehouse / "neuro" / "cohort_table" / "cohort.parquet")
    assert sorted(table["session"]) == list(GOOD_SESSIONS)
    assert {"fd_max_mm", "fa_mean_region_1", "md_mean_region_4"} <= set(table.columns)


def test_no_half_written_file_is_left(demo_run: DemoRun) -> None:
    leftovers = [p for p in demo_run.warehouse.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_dti_maps_are_nifti_in_the_session_grid(demo_run: DemoRun) -> None:
    outputs = outputs_of(demo_run, "sub-01_ses-01")
    dwi = dwi_session.load_image(outputs.preprocessed("dwi.nii.gz"))
    for name in ("fa", "md", "ad", "rd"):
        image = dwi_session.load_image(outputs.dti_map(name))
        assert image.shape == dwi.shape[:3]
        np.testing.assert_allclose(image.affine, dwi.affine)
