"""MP-PCA denoising (Veraart et al. 2016; Manjon et al. 2013 overcomplete averaging), batched.

The same estimator as ``dipy.denoise.localpca.mppca`` with ``pca_method="eig"``: for every
voxel, the patch around it (``2 * radius + 1`` voxels a side, all volumes) is centred, its
covariance diagonalised, the noise variance found by the Marchenko-Pastur classifier, and
the components below ``tau_factor**2 * variance`` dropped; each denoised patch is averaged
into every voxel it covers with weight ``1 / (1 + dim - n_dropped)``.

dipy runs that loop voxel by voxel in Python (about a millisecond each, an hour for a
96x96x60x65 session). Here one line of patch centres along x is one batch: the covariances
are one batched matrix product and the eigendecompositions one batched ``eigh``.

With a ``mask``, only patches that touch it are computed (dipy's ``mask`` argument does the
same): every voxel in the mask is covered by exactly the patches it would be without one, so
its value is the unmasked result, and the background of a whole-head field of view, often
half the voxels, costs nothing. Voxels outside the mask keep their input values.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def marchenko_pastur_variance(eigenvalues: np.ndarray, n_samples: int) -> np.ndarray:
    """Noise variance per patch from ascending eigenvalues (B, dim), as dipy's ``_pca_classifier``.

    The classifier walks down from the largest eigenvalue while
    ``L[c] - L[0] - 4 sqrt((c + 1) / n) mean(L[:c + 1]) > 0``; the variance is the mean of the
    eigenvalues it stops at. Vectorised: the largest ``c`` where that expression is <= 0.
    """
    values = eigenvalues
    if values.shape[1] > n_samples - 1:  # mean subtraction leaves n - 1 nonzero eigenvalues
        values = values[:, -(n_samples - 1) :]
    count = np.arange(1, values.shape[1] + 1)
    cumulative_mean = np.cumsum(values, axis=1) / count
    residual = values - values[:, :1] - 4.0 * np.sqrt(count / n_samples) * cumulative_mean
    stop = values.shape[1] - 1 - np.argmax((residual <= 0)[:, ::-1], axis=1)
    return cumulative_mean[np.arange(len(values)), stop]


def mppca(
    arr: np.ndarray, patch_radius: int = 2, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Denoised (X, Y, Z, N) data and the per-voxel noise sigma (X, Y, Z; NaN outside ``mask``)."""
    if arr.ndim != 4:
        raise ValueError(f"MP-PCA needs a 4D array, got shape {arr.shape}")
    dtype = np.float64 if arr.dtype == np.float64 else np.float32
    data = arr.astype(dtype, copy=False)
    side = 2 * patch_radius + 1
    if min(data.shape[:3]) < side:
        raise ValueError(f"every spatial dimension must be at least {side} voxels, got {data.shape[:3]}")
    dim = data.shape[3]
    n_samples = side**3
    tau_factor_sq = (1.0 + np.sqrt(dim / n_samples)) ** 2

    centres = _patch_centres(mask, data.shape[:3], patch_radius)
    weight_sum = np.zeros(data.shape[:3], dtype)
    weighted = np.zeros(data.shape, dtype)
    variance_sum = np.zeros(data.shape[:3], dtype)
    # (X - 2r, side, side, side, dim) views of every patch along x, per (y, z) centre.
    for k in range(data.shape[2] - side + 1):
        for j in range(data.shape[1] - side + 1):
            selected = np.flatnonzero(centres[:, j, k])
            if selected.size == 0:
                continue
            first, last = selected[0], selected[-1] + 1
            block = data[first : last + side - 1, j : j + side, k : k + side, :]
            patches = sliding_window_view(block, side, axis=0)  # (B, side, side, dim, side)
            patches = np.moveaxis(patches, -1, 1).reshape(-1, n_samples, dim)[selected - first]
            mean = patches.mean(axis=1, keepdims=True)
            centred = patches - mean
            transposed = centred.transpose(0, 2, 1)
            covariance = (transposed @ centred) / n_samples
            eigenvalues, eigenvectors = np.linalg.eigh(covariance)
            variance = marchenko_pastur_variance(eigenvalues, n_samples)
            keep = eigenvalues >= tau_factor_sq * variance[:, None]
            projector = (eigenvectors * keep[:, None, :]) @ eigenvectors.transpose(0, 2, 1)
            estimate = (centred @ projector + mean).reshape(-1, side, side, side, dim)
            theta = (1.0 / (1.0 + keep.sum(axis=1))).astype(dtype)  # 1 / (1 + dim - dropped)
            # Unselected centres between first and last get weight 0: the slices stay plain.
            span, positions = last - first, selected - first
            estimate = _scatter(estimate * theta[:, None, None, None, None], positions, span)
            theta, variance = _scatter(theta, positions, span), _scatter(variance, positions, span)
            for offset in range(side):  # patches along x overlap; each offset is a plain slice
                rows = slice(first + offset, first + offset + span)
                weighted[rows, j : j + side, k : k + side] += estimate[:, offset]
                weight_sum[rows, j : j + side, k : k + side] += theta[:, None, None]
                variance_sum[rows, j : j + side, k : k + side] += (variance * theta)[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 only where no patch was computed
        denoised = weighted / weight_sum[..., None]
        sigma = np.sqrt(variance_sum / weight_sum)
    np.clip(denoised, 0, None, out=denoised)
    if mask is not None:
        outside = ~mask.astype(bool)
        denoised[outside] = data[outside]
        sigma[outside] = np.nan
    return denoised, sigma


def _patch_centres(mask: np.ndarray | None, shape: tuple[int, ...], radius: int) -> np.ndarray:
    """(X - 2r, Y - 2r, Z - 2r) bool: the patch centred at (x + r, y + r, z + r) is computed."""
    side = 2 * radius + 1
    valid = tuple(n - side + 1 for n in shape)
    if mask is None:
        return np.ones(valid, dtype=bool)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask shape {mask.shape} does not match the data's {tuple(shape)}")
    from scipy.ndimage import maximum_filter

    # A patch touches the mask iff its centre lies within the mask dilated by a full cube.
    touching = maximum_filter(mask.astype(np.uint8), size=side, mode="constant").astype(bool)
    return touching[radius : radius + valid[0], radius : radius + valid[1], radius : radius + valid[2]]


def _scatter(values: np.ndarray, positions: np.ndarray, length: int) -> np.ndarray:
    full = np.zeros((length, *values.shape[1:]), values.dtype)
    full[positions] = values
    return full
