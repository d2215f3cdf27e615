"""The tensor fit on the low shells of multi-shell data: which volumes, and why it matters for MD.

A tensor assumes Gaussian diffusion; tissue is not Gaussian at high b (restricted and
hindered compartments), so every shell up to b = 3000 pulls MD low. The simulated voxel
mixes a stick-like fibre with an isotropic compartment, whose MD (the b -> 0 limit that DTI
estimates) is the volume-weighted mean of the two; dipy's real small_101D (shells up to
b of about 4,000) shows the same on a scanner's data.
"""

import numpy as np
import pytest

from brainstar.demo.neuro import phantom
from brainstar.domain.neuro import dwi_session, reconstruction, tractography
from brainstar.domain.neuro.gradients import gradient_table
from brainstar.domain.neuro.masking import brain_mask
from tests.neuro.test_real_dwi_files import land_dipy_set

MD_TOLERANCE = 0.05  # restricted fit vs the mixture's true MD; kurtosis at b = 1000 costs ~3%
ALL_SHELL_BIAS = 0.08  # the all-shell fit must be at least this much lower than the truth


def test_jittered_shells_group_by_gap_and_b0s_are_kept() -> None:
    bvals = np.array([5, 0, 995, 1005, 1000, 1990, 2010, 3000, 2995, 3005])
    shells = reconstruction.shell_bvalues(bvals)
    np.testing.assert_allclose(shells, [0, 0, 1000, 1000, 1000, 2000, 2000, 3000, 3000, 3000])
    selection = reconstruction.select_shells(np.concatenate([bvals, np.full(4, 1000)]), 1500)
    assert selection.volumes.tolist() == [True] * 5 + [False] * 5 + [True] * 4
    assert selection.shells_used == (1000.0,) and selection.shells_dropped == (2000.0, 3000.0)
    assert not selection.above_limit


def test_a_shell_whose_median_is_above_the_limit_is_left_out_whole() -> None:
    # small_101D's fifth shell spans 1495-1585: one shell at ~1540, not split at 1500
    bvals = np.array([0, 310, 320, 315, 300, 305, 330, 1495, 1515, 1540, 1585, 1560])
    selection = reconstruction.select_shells(bvals, 1500)
    assert selection.volumes.tolist() == [True] * 7 + [False] * 5
    assert selection.shells_dropped == (1540.0,)


def test_single_shell_above_the_limit_falls_back_to_it_and_says_so() -> None:
    selection = reconstruction.select_shells(np.array([0] + [2000] * 25), 1500)
    assert selection.volumes.all()
    assert selection.above_limit and selection.record()["fell_back_to_lowest_shells"] is True
    assert selection.record()["shells_used_s_per_mm2"] == [2000]


def test_too_few_directions_below_the_limit_add_the_next_shell() -> None:
    selection = reconstruction.select_shells(np.array([0, 500, 500, 500] + [2000] * 30 + [3000] * 30), 1500)
    assert selection.shells_used == (500.0, 2000.0) and selection.above_limit
    assert selection.record()["n_volumes_used"] == 34


def test_no_diffusion_weighting_is_refused() -> None:
    with pytest.raises(ValueError, match="no diffusion-weighted volume"):
        reconstruction.select_shells(np.zeros(5), 1500)


def _multishell_voxels() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """2x2x2 identical voxels: a stick-like fibre (50%) and isotropic tissue (50%), b = 1000/2000/3000."""
    from dipy.sims.voxel import multi_tensor

    directions = phantom.hemisphere_directions(30)
    bvals = np.concatenate([np.zeros(2), *(np.full(30, b) for b in (1000.0, 2000.0, 3000.0))])
    bvecs = np.vstack([np.zeros((2, 3)), directions, directions, directions])
    evals = np.array([[1.7e-3, 0.2e-3, 0.2e-3], [1.0e-3, 1.0e-3, 1.0e-3]])
    signal, _ = multi_tensor(
        gradient_table(bvals, bvecs), evals, S0=100.0, angles=[(90, 0), (0, 0)], fractions=[50, 50], snr=None
    )
    data = np.broadcast_to(signal, (2, 2, 2, len(bvals))).astype(np.float32)
    return data, bvals, bvecs, float(evals.mean(axis=1).mean())


def test_restricted_fit_recovers_md_that_all_shells_bias_low() -> None:
    data, bvals, bvecs, truth = _multishell_voxels()
    mask = np.ones(data.shape[:3], dtype=bool)
    restricted = reconstruction.fit_tensor(data, bvals, bvecs, mask)
    every_shell = reconstruction.fit_tensor(data, bvals, bvecs, mask, max_bvalue=np.inf)
    assert restricted.shells.shells_used == (1000.0,)
    assert float(np.median(restricted.md)) == pytest.approx(truth, rel=MD_TOLERANCE)
    assert float(np.median(every_shell.md)) < truth * (1 - ALL_SHELL_BIAS)
    # v1 of the mixture lies along its fibre (x), in the voxel frame
    assert abs(restricted.v1[0, 0, 0, 0]) > 0.999


def test_real_multishell_data_gives_higher_md_on_its_low_shells(tmp_path) -> None:
    session = land_dipy_set("small_101D", tmp_path / "sub-01" / "ses-01")
    _, bvals, bvecs = dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    image = dwi_session.load_image(session / "dwi.nii.gz")
    data = np.asarray(image.get_fdata(dtype=np.float32))
    voxel_bvecs = dwi_session.fsl_to_voxel_frame(bvecs, image.affine)
    mask = brain_mask(data, bvals)
    restricted = reconstruction.fit_tensor(data, bvals, voxel_bvecs, mask)
    every_shell = reconstruction.fit_tensor(data, bvals, voxel_bvecs, mask, max_bvalue=np.inf)
    assert max(restricted.shells.shells_used) <= 1500 and restricted.shells.shells_dropped
    assert np.median(restricted.md[mask]) > 1.1 * np.median(every_shell.md[mask])


def test_tracking_uses_the_same_shells_as_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    data, bvals, bvecs, _ = _multishell_voxels()
    seen = []

    def spy(bvals: np.ndarray, max_bvalue: float) -> reconstruction.ShellSelection:
        seen.append(reconstruction.select_shells(bvals, max_bvalue))
        return seen[-1]

    monkeypatch.setattr(tractography, "select_shells", spy)
    mask = np.ones(data.shape[:3], dtype=bool)
    fa = np.full(mask.shape, np.nan, dtype=np.float32)  # NaN FA stops streamlines, never crashes
    streamlines, _ = tractography.track(data, bvals, bvecs, mask, fa, np.eye(4))
    assert streamlines == []
    assert seen[0].shells_used == (1000.0,) and seen[0].volumes.sum() == 32
