"""The dti_maps asset and its gates on real scanner data that dipy ships, and on the demo phantom.

dipy's small sets are crops around the corpus callosum: small_25 (b = 2000 only), small_64D
(b = 1000, centred on a ventricle) and small_101D (shells up to b of about 4,000). Each is
put where preprocessed_dwi writes (unpreprocessed: the gates judge the fit, and the crops
are too small for every preprocessing stage), with the brain mask the pipeline computes;
the real asset fits it and the real gates must pass on what it wrote.
"""

from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from brainstar.demo.neuro import phantom
from brainstar.domain.neuro import dwi_session
from brainstar.domain.neuro.masking import brain_mask
from brainstar.domain.neuro.nifti import save_nifti
from platform_assets.neuro import checks
from platform_assets.neuro.assets import dti_maps, preprocessed_dwi
from platform_assets.neuro.layout import SessionOutputs
from platform_assets.neuro.partitions import neuro_sessions
from resources import NeuroQcThresholds, Warehouse
from tests.neuro.test_real_dwi_files import land_dipy_set

KEY = "sub-01_ses-01"
GATES = {"fa_valid", "md_plausible", "fa_median_plausible"}


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(root=str(tmp_path / "warehouse"))


def place_as_preprocessed(
    warehouse: Warehouse, data: np.ndarray, affine: np.ndarray, bvals: np.ndarray, fsl_bvecs: np.ndarray
) -> None:
    outputs = SessionOutputs(warehouse, KEY)
    save_nifti(data, affine, outputs.preprocessed("dwi.nii.gz"))
    mask = brain_mask(data, bvals).astype(np.uint8)
    save_nifti(mask, affine, outputs.preprocessed("mask.nii.gz"), time_unit="unknown")
    np.savetxt(outputs.preprocessed("dwi.bval"), bvals[None, :], fmt="%g")
    np.savetxt(outputs.preprocessed("dwi.bvec"), fsl_bvecs.T, fmt="%.8f")


def place_dipy_set(warehouse: Warehouse, stem: str, tmp_path: Path) -> None:
    session = land_dipy_set(stem, tmp_path / "landed")
    _, bvals, bvecs = dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    image = dwi_session.load_image(session / "dwi.nii.gz")
    place_as_preprocessed(warehouse, image.get_fdata(dtype=np.float32), image.affine, bvals, bvecs)


def run_dti_maps(warehouse: Warehouse, max_bvalue: float | None = None) -> dg.ExecuteInProcessResult:
    @dg.multi_asset(specs=[dg.AssetSpec(preprocessed_dwi.key, partitions_def=neuro_sessions)])
    def stand_in() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    config = {} if max_bvalue is None else {"max_bvalue_s_per_mm2": max_bvalue}
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(neuro_sessions.name, [KEY])
        return dg.materialize(
            [stand_in, dti_maps, checks.fa_valid, checks.dti_plausibility_gates],
            instance=instance,
            partition_key=KEY,
            resources={"warehouse": warehouse, "neuro_qc": NeuroQcThresholds()},
            run_config={"ops": {"neuro__dti_maps": {"config": config}}},
            raise_on_error=False,
        )


def dti_metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == dti_maps.key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def failed_gates(result: dg.ExecuteInProcessResult) -> set[str]:
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == GATES
    return {e.check_name for e in evaluations if not e.passed}


@pytest.mark.parametrize(
    ("stem", "shells_used", "fell_back"),
    [("small_25", [2000], True), ("small_64D", [994], False), ("small_101D", [310, 615, 922, 1230], False)],
)
def test_real_crops_pass_every_dti_gate(
    warehouse: Warehouse, tmp_path: Path, stem: str, shells_used: list[int], fell_back: bool
) -> None:
    place_dipy_set(warehouse, stem, tmp_path)
    result = run_dti_maps(warehouse)
    assert result.success
    assert failed_gates(result) == set()
    metadata = dti_metadata(result)
    assert metadata["shells_used_s_per_mm2"] == pytest.approx(shells_used, abs=10)
    assert metadata["fell_back_to_lowest_shells"] is fell_back
    v1 = dwi_session.load_image(SessionOutputs(warehouse, KEY).dti_map("v1"))
    mask = np.asarray(
        dwi_session.load_image(SessionOutputs(warehouse, KEY).preprocessed("mask.nii.gz")).dataobj
    )
    assert v1.shape == (*mask.shape, 3) and v1.get_data_dtype() == np.float32
    norms = np.linalg.norm(np.asarray(v1.dataobj), axis=-1)
    np.testing.assert_allclose(norms[mask > 0], 1.0, atol=1e-4)
    assert not norms[mask == 0].any()


def test_the_demo_phantom_passes_every_dti_gate(warehouse: Warehouse) -> None:
    spec = phantom.PhantomSpec()
    data, _ = phantom.simulate_dwi(spec, np.random.default_rng(0))
    bvals, voxel_bvecs = phantom.acquisition_scheme(spec)
    affine = phantom.voxel_affine(spec)
    place_as_preprocessed(warehouse, data, affine, bvals, dwi_session.fsl_to_voxel_frame(voxel_bvecs, affine))
    result = run_dti_maps(warehouse)
    assert failed_gates(result) == set()
    assert 0.5 < dti_metadata(result)["fa_median_in_mask"] < 0.7


def test_the_shell_limit_is_configurable_and_recorded(warehouse: Warehouse, tmp_path: Path) -> None:
    place_dipy_set(warehouse, "small_101D", tmp_path)
    metadata = dti_metadata(run_dti_maps(warehouse, max_bvalue=5000.0))
    assert metadata["max_bvalue_s_per_mm2"] == 5000.0
    assert metadata["shells_dropped_s_per_mm2"] == []
    assert metadata["n_volumes_used"] == metadata["n_volumes"] == 102
