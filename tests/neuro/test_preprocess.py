"""The preprocessing stages' own contracts: where MP-PCA runs and when it cannot, the QC record."""

import numpy as np
import pytest

from brainstar.demo.neuro import phantom
from brainstar.domain.neuro import preprocess
from brainstar.domain.neuro.masking import BrainMask

INSIDE_BRAIN = (slice(8, 20), slice(8, 20), slice(4, 10))  # of the demo phantom (see test_mask.py)


@pytest.fixture(scope="module")
def series() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data, _ = phantom.simulate_dwi(phantom.PhantomSpec(), np.random.default_rng(0))
    bvals, bvecs = phantom.acquisition_scheme(phantom.PhantomSpec())
    return data.astype(np.float32), bvals, bvecs


def test_a_whole_head_is_denoised_around_its_mask_only() -> None:
    mask = np.zeros((20, 20, 20), bool)
    mask[8:12, 8:12, 8:12] = True
    region = preprocess.denoising_region(BrainMask(mask, "whole_head", ""))
    margin = preprocess.DENOISE_MASK_MARGIN_VOXELS
    assert region[mask].all() and region[8 - margin, 10, 10] and not region[8 - margin - 1, 10, 10]
    assert preprocess.denoising_region(BrainMask(mask, "inside_brain", "")) is None


def test_preprocessing_records_how_the_mask_was_made(series: tuple) -> None:
    data, bvals, bvecs = series
    whole = preprocess.preprocess(data, bvals, bvecs, phantom.voxel_affine(phantom.PhantomSpec()))
    assert whole.qc.mask_method == "whole_head" and "median-Otsu" in whole.qc.mask_note
    assert whole.qc.denoising == "applied"
    assert np.isfinite(whole.qc.noise_sigma) and whole.qc.mask_fraction < 0.75
    crop = data[INSIDE_BRAIN]
    inside = preprocess.preprocess(crop, bvals, bvecs, np.eye(4))
    assert inside.qc.mask_method == "inside_brain" and inside.qc.mask_fraction > 0.75
    assert whole.qc.unringing == "applied" and inside.qc.unringing.startswith("skipped: no air")


def test_a_field_of_view_smaller_than_the_patch_is_not_denoised_and_says_why(series: tuple) -> None:
    """dipy's real small_25 is 10x8x2 voxels: MP-PCA's 5x5x5 patch does not fit."""
    data = series[0][:10, :8, 5:7]
    denoised, sigma, note = preprocess.denoise_mppca(data)
    assert note == "skipped: field of view 10x8x2 voxels is below the 5-voxel MP-PCA patch on an axis"
    np.testing.assert_array_equal(denoised, data)
    assert np.isnan(sigma).all()
