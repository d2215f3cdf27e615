"""Real acquisitions landed as sessions and run through every per-session neuro asset and gate.

dipy's small sets (crops of real scans no one here wrote: single-shell b = 2000 and b = 1000,
multi-shell up to b of about 4,000) go from the landing zone through raw_session, bids_session,
preprocessed_dwi and dti_maps, as Dagster runs them, with every gate of those assets. A new
user's real session must come out physically plausible or fail a gate that says why: these must
come out plausible, and preprocessing must not move FA or MD in the mask away from what the raw
series gives (the issue found FA 0.71-0.93 and MD 7.4e-3 mm^2/s after motion correction).
"""

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from brainstar.domain.neuro import bids, dwi_session, reconstruction
from platform_assets.neuro import checks
from platform_assets.neuro.assets import bids_session, dti_maps, preprocessed_dwi, raw_session
from platform_assets.neuro.layout import SessionOutputs
from platform_assets.neuro.partitions import neuro_sessions
from resources import LandingZone, NeuroQcThresholds, Warehouse
from tests.neuro.test_real_dwi_files import land_dipy_set

pytestmark = pytest.mark.slow

KEY = "sub-01_ses-01"
# How far preprocessing may move the in-mask medians from the raw series' own fit: MP-PCA lowers
# the noise floor, which lowers FA (noise inflates it) by a few hundredths on a b = 1000 crop.
FA_MEDIAN_SHIFT = 0.05
MD_MEDIAN_RELATIVE_SHIFT = 0.10


def run_session(landing_root: Path, warehouse: Warehouse) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(neuro_sessions.name, [KEY])
        return dg.materialize(
            [raw_session, bids_session, preprocessed_dwi, dti_maps, *checks.session_checks],
            instance=instance,
            partition_key=KEY,
            resources={
                "landing_zone": LandingZone(root=str(landing_root), settle_seconds=0),
                "warehouse": warehouse,
                "neuro_qc": NeuroQcThresholds(),
            },
            raise_on_error=False,
        )


def medians_in_mask(
    data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, mask: np.ndarray
) -> tuple[float, float]:
    maps = reconstruction.fit_tensor(data, bvals, bvecs, mask)
    return float(np.nanmedian(maps.fa[mask])), float(np.nanmedian(maps.md[mask]))


@pytest.mark.parametrize("stem", ["small_25", "small_64D", "small_101D"])
def test_a_real_session_passes_every_gate_and_keeps_its_physics(tmp_path: Path, stem: str) -> None:
    landing_root = tmp_path / "landing"
    land_dipy_set(stem, landing_root / "neuro" / "sub-01" / "ses-01")
    warehouse = Warehouse(root=str(tmp_path / "warehouse"))
    result = run_session(landing_root, warehouse)
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failing = {name: e.description for name, e in evaluations.items() if not e.passed}
    assert len(evaluations) == 8 and failing == {}

    outputs = SessionOutputs(warehouse, KEY)
    qc = json.loads(outputs.preprocessed("qc.json").read_text())
    raw, _, bvals, raw_bvecs = bids.load_series(outputs.bids)
    mask = np.asarray(dwi_session.load_image(outputs.preprocessed("mask.nii.gz")).dataobj).astype(bool)
    preprocessed = dwi_session.load_image(outputs.preprocessed("dwi.nii.gz")).get_fdata(dtype=np.float32)
    fa_raw, md_raw = medians_in_mask(raw, bvals, raw_bvecs, mask)
    fa_map = dwi_session.load_image(outputs.dti_map("fa")).get_fdata()
    md_map = dwi_session.load_image(outputs.dti_map("md")).get_fdata()
    fa_after, md_after = float(np.nanmedian(fa_map[mask])), float(np.nanmedian(md_map[mask]))
    print(  # the closing note's table: pytest -s shows it
        f"\n{stem}: mask {qc['mask_method']} {qc['mask_fraction']:.2f}; FD mean/max "
        f"{qc['fd_mean_mm']:.2f}/{qc['fd_max_mm']:.2f} mm ({qc['motion_correction']}); "
        f"FA median {fa_raw:.3f} raw -> {fa_after:.3f}; MD median {md_raw * 1e3:.3f}e-3 -> "
        f"{md_after * 1e3:.3f}e-3 mm2/s; NDC {qc['ndc_raw']:.3f} -> {qc['ndc_preprocessed']:.3f}; "
        + "; ".join(f"{name} {'pass' if e.passed else 'FAIL'}" for name, e in sorted(evaluations.items()))
    )
    assert preprocessed.shape == raw.shape
    assert abs(fa_after - fa_raw) < FA_MEDIAN_SHIFT
    assert md_after == pytest.approx(md_raw, rel=MD_MEDIAN_RELATIVE_SHIFT)
