"""Our batched MP-PCA is dipy's estimator: same output on the same data."""

import numpy as np
import pytest
from dipy.denoise.localpca import mppca as dipy_mppca

from brainstar.domain.neuro.mppca import marchenko_pastur_variance, mppca


def _decaying_signal(shape: tuple[int, int, int], n_volumes: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s0 = rng.uniform(50, 150, (*shape, 1))
    decay = np.exp(-rng.uniform(0.0, 1.5, (1, 1, 1, n_volumes)))
    return s0 * decay + rng.normal(0.0, noise, (*shape, n_volumes))


@pytest.mark.parametrize(("dtype", "tolerance"), [(np.float64, 1e-9), (np.float32, 1e-3)])
def test_matches_dipy_mppca(dtype: type, tolerance: float) -> None:
    data = _decaying_signal((13, 12, 9), 30, noise=5.0, seed=1).astype(dtype)
    ours, sigma = mppca(data)
    reference, reference_sigma = dipy_mppca(data, patch_radius=2, return_sigma=True, suppress_warning=True)
    assert np.max(np.abs(ours - reference)) < tolerance * np.abs(reference).max()
    assert np.max(np.abs(sigma - reference_sigma)) < tolerance * reference_sigma.max()


def test_recovers_the_noise_level_and_reduces_the_error() -> None:
    clean = _decaying_signal((16, 16, 10), 40, noise=0.0, seed=2)
    noisy = clean + np.random.default_rng(3).normal(0.0, 4.0, clean.shape)
    denoised, sigma = mppca(noisy)
    assert np.median(sigma) == pytest.approx(4.0, rel=0.15)
    assert np.sqrt(np.mean((denoised - clean) ** 2)) < 0.6 * np.sqrt(np.mean((noisy - clean) ** 2))


def test_marchenko_pastur_walks_down_from_the_largest_eigenvalue() -> None:
    noise = np.full(20, 1.0)
    signal = np.concatenate([noise[:-2], [50.0, 80.0]])  # two signal components above the noise bulk
    variance = marchenko_pastur_variance(np.sort(signal)[None, :], n_samples=125)
    assert variance[0] == pytest.approx(1.0)


def test_rejects_what_it_cannot_denoise() -> None:
    with pytest.raises(ValueError, match="4D"):
        mppca(np.zeros((5, 5, 5)))
    with pytest.raises(ValueError, match="at least 5 voxels"):
        mppca(np.zeros((4, 8, 8, 10)))


def test_a_mask_changes_nothing_inside_it_and_leaves_the_background_as_it_was() -> None:
    data = _decaying_signal((14, 13, 11), 24, noise=5.0, seed=4).astype(np.float32)
    mask = np.zeros(data.shape[:3], dtype=bool)
    mask[4:10, 3:9, 5:8] = True
    full, full_sigma = mppca(data)
    masked, masked_sigma = mppca(data, mask=mask)
    np.testing.assert_allclose(masked[mask], full[mask], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(masked_sigma[mask], full_sigma[mask], rtol=1e-5)
    assert np.array_equal(masked[~mask], data[~mask])
    assert np.isnan(masked_sigma[~mask]).all()
