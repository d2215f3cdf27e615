"""QSIPrep-like preprocessing of one diffusion series: denoise, unring, motion, mask, QC.

Stages follow QSIPrep's order: MP-PCA denoising (Veraart et al. 2016), Gibbs unringing
(Kellner et al. 2016), rigid head-motion correction of every volume to the mean b0, and a
median-Otsu brain mask on the corrected mean b0. The QC numbers are the ones QSIPrep's
``ImageQC`` table reports: framewise displacement (Power et al. 2012, 50 mm head radius),
neighbouring-DWI correlation before and after, and SNR in the mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainstar.domain.neuro.dwi_session import B0_THRESHOLD
from brainstar.domain.neuro.mppca import mppca

HEAD_RADIUS_MM = 50.0  # Power et al. (2012): rotations in radians become arc length on a 50 mm sphere


@dataclass(frozen=True)
class PreprocessQC:
    fd_mean_mm: float
    fd_max_mm: float
    ndc_raw: float
    ndc_preprocessed: float
    snr_b0_in_mask: float
    noise_sigma: float
    mask_voxels: int
    mask_fraction: float


# Unit and meaning of each QC number, shown beside the values wherever they are reported.
QC_FIELDS: dict[str, tuple[str, str]] = {
    "fd_mean_mm": ("mm", "mean framewise displacement (Power et al. 2012, 50 mm head radius)"),
    "fd_max_mm": ("mm", "largest framewise displacement"),
    "ndc_raw": ("correlation", "neighbouring-DWI correlation before preprocessing"),
    "ndc_preprocessed": ("correlation", "neighbouring-DWI correlation after preprocessing"),
    "snr_b0_in_mask": ("ratio", "mean b0 signal in the mask / noise sigma"),
    "noise_sigma": ("scanner units", "noise standard deviation from MP-PCA"),
    "mask_voxels": ("voxels", "voxels in the brain mask"),
    "mask_fraction": ("fraction", "share of the field of view inside the mask"),
}


@dataclass
class PreprocessResult:
    data: np.ndarray  # (X, Y, Z, N) float32, corrected
    mask: np.ndarray  # (X, Y, Z) bool
    bvecs: np.ndarray  # (N, 3) rotated with each volume's registration
    motion_affines: np.ndarray  # (N, 4, 4) volume-to-reference rigid transforms
    framewise_displacement_mm: np.ndarray  # (N,)
    qc: PreprocessQC


def gradient_table(bvals: np.ndarray, bvecs: np.ndarray):  # -> dipy GradientTable
    from dipy.core.gradients import gradient_table as dipy_gradient_table

    return dipy_gradient_table(bvals, bvecs=bvecs, b0_threshold=B0_THRESHOLD)


def denoise_mppca(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MP-PCA denoising (dipy's estimator, batched); returns (denoised, per-voxel noise sigma)."""
    denoised, sigma = mppca(data, patch_radius=2)
    return denoised.astype(np.float32), sigma.astype(np.float32)


def unring(data: np.ndarray) -> np.ndarray:
    """Gibbs-ringing removal by local sub-voxel shifts, slice by slice along z."""
    from dipy.denoise.gibbs import gibbs_removal

    return gibbs_removal(data.astype(np.float32), slice_axis=2, inplace=False).astype(np.float32)


def motion_correct(
    data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, affine: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rigid, model-based head-motion correction; returns (data, affines (N, 4, 4), rotated bvecs).

    Each volume is registered to the tensor model's prediction of that same volume, not
    to the b0: a DWI and a b0 differ in contrast, which biases mutual information, while a
    prediction has the volume's own contrast (the idea behind FSL eddy's and QSIPrep
    SHORELine's model-based targets, with a tensor in place of their models).
    """
    from dipy.align import affine_registration
    from dipy.core.gradients import reorient_bvecs
    from dipy.reconst.dti import TensorModel

    gtab = gradient_table(bvals, bvecs)
    s0 = data[..., gtab.b0s_mask].mean(axis=-1)
    targets = TensorModel(gtab).fit(data, mask=mask).predict(gtab, S0=s0)
    corrected = np.empty_like(data, dtype=np.float32)
    affines = np.empty((data.shape[-1], 4, 4))
    for volume in range(data.shape[-1]):
        moved, affines[volume] = affine_registration(
            data[..., volume],
            targets[..., volume],
            moving_affine=affine,
            static_affine=affine,
            pipeline=["translation", "rigid"],
            level_iters=[100, 20, 5],
            nbins=16,  # fewer bins: a steadier histogram on small, noisy volumes
        )
        corrected[..., volume] = moved
    new_bvecs = np.zeros_like(bvecs, dtype=float)
    if (~gtab.b0s_mask).any():
        rotated = reorient_bvecs(gtab, np.moveaxis(affines[~gtab.b0s_mask], 0, -1))
        new_bvecs[~gtab.b0s_mask] = rotated.bvecs[~gtab.b0s_mask]
    return corrected, affines, new_bvecs


def rigid_parameters(affines: np.ndarray) -> np.ndarray:
    """(N, 4, 4) rigid transforms -> (N, 6): three translations (mm), three Euler angles (rad)."""
    from scipy.spatial.transform import Rotation

    rotations = Rotation.from_matrix(affines[:, :3, :3]).as_euler("xyz")
    return np.column_stack([affines[:, :3, 3], rotations])


def framewise_displacement(affines: np.ndarray, radius_mm: float = HEAD_RADIUS_MM) -> np.ndarray:
    """Power FD per volume: sum of absolute changes of the six rigid parameters, first is 0."""
    params = rigid_parameters(affines)
    params[:, 3:] *= radius_mm
    fd = np.zeros(len(params))
    fd[1:] = np.abs(np.diff(params, axis=0)).sum(axis=1)
    return fd


def neighbouring_dwi_correlation(
    data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, mask: np.ndarray
) -> float:
    """Mean correlation of each DWI with its angular nearest neighbour at the same shell (QSIPrep NDC)."""
    dwi = np.flatnonzero(bvals > B0_THRESHOLD)
    if len(dwi) < 2 or not mask.any():
        return float("nan")
    vectors = bvecs[dwi] / np.linalg.norm(bvecs[dwi], axis=1, keepdims=True)
    cosine = np.abs(vectors @ vectors.T)  # antipodal directions are the same measurement
    same_shell = np.abs(bvals[dwi][:, None] - bvals[dwi][None, :]) < 100
    np.fill_diagonal(cosine, -1)
    cosine[~same_shell] = -1
    voxels = data[mask][:, dwi]  # (V, M)
    correlations = []
    for i, j in enumerate(np.argmax(cosine, axis=1)):
        if cosine[i, j] >= 0:
            correlations.append(np.corrcoef(voxels[:, i], voxels[:, j])[0, 1])
    return float(np.nanmean(correlations)) if correlations else float("nan")


def brain_mask(data: np.ndarray, bvals: np.ndarray) -> np.ndarray:
    from dipy.segment.mask import median_otsu

    b0_indices = np.flatnonzero(bvals <= B0_THRESHOLD)
    _, mask = median_otsu(data, vol_idx=b0_indices, median_radius=2, numpass=2)
    return mask.astype(bool)


def preprocess(
    data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, affine: np.ndarray
) -> PreprocessResult:
    """Run every stage on ``data`` (X, Y, Z, N) and collect the QC table."""
    raw = data.astype(np.float32)
    denoised, sigma = denoise_mppca(raw)
    unrung = unring(denoised)
    corrected, motion_affines, rotated_bvecs = motion_correct(
        unrung, bvals, bvecs, affine, brain_mask(unrung, bvals)
    )
    corrected = np.clip(corrected, 0, None)  # interpolation can undershoot below zero signal
    mask = brain_mask(corrected, bvals)
    fd = framewise_displacement(motion_affines)
    b0_mean = corrected[..., bvals <= B0_THRESHOLD].mean(axis=-1)
    noise = float(np.median(sigma[mask])) if mask.any() else float("nan")
    qc = PreprocessQC(
        fd_mean_mm=float(fd.mean()),
        fd_max_mm=float(fd.max()),
        ndc_raw=neighbouring_dwi_correlation(raw, bvals, bvecs, mask),
        ndc_preprocessed=neighbouring_dwi_correlation(corrected, bvals, rotated_bvecs, mask),
        snr_b0_in_mask=float(np.median(b0_mean[mask]) / noise) if noise > 0 else float("nan"),
        noise_sigma=noise,
        mask_voxels=int(mask.sum()),
        mask_fraction=float(mask.mean()),
    )
    return PreprocessResult(corrected, mask, rotated_bvecs, motion_affines, fd, qc)
