"""QSIPrep-like preprocessing of one diffusion series: denoise, unring, motion, mask, QC.

Stages follow QSIPrep's order: MP-PCA denoising (Veraart et al. 2016), Gibbs unringing
(Kellner et al. 2016), rigid head-motion correction (``motion.motion_correct``: b0 volumes to a
b0 template, diffusion-weighted volumes to a tensor model's prediction from the shells up to
b = 1500 s/mm^2; an estimate is applied only when it beats identity, and a field of view too
small to register is left as it is, with the reason recorded), and a brain mask on the corrected
series. The QC numbers are the ones QSIPrep's ``ImageQC`` table reports: framewise displacement
(Power et al. 2012, 50 mm head radius), neighbouring-DWI correlation before and after, and SNR in
the mask; beside them, what motion correction did and to how many volumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainstar.domain.neuro.dwi_session import B0_THRESHOLD
from brainstar.domain.neuro.masking import brain_mask
from brainstar.domain.neuro.motion import MotionCorrection, framewise_displacement, motion_correct
from brainstar.domain.neuro.mppca import mppca


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
    motion_correction: str
    motion_targets: str
    n_volumes_motion_corrected: int
    n_volumes_motion_no_gain: int
    n_volumes_motion_rejected: int


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
    "motion_correction": (
        "text",
        '"applied", or "skipped: <why>" (e.g. a field of view too small to register)',
    ),
    "motion_targets": ("text", "volumes registered to each target (b0_template, tensor_prediction, ...)"),
    "n_volumes_motion_corrected": ("volumes", "volumes moved by an accepted rigid estimate"),
    "n_volumes_motion_no_gain": (
        "volumes",
        "volumes kept at identity: their estimate did not beat it by more than fitting noise would"
        " (most volumes of a still series)",
    ),
    "n_volumes_motion_rejected": (
        "volumes",
        "volumes kept at identity: their estimate was implausible for a head or did not converge",
    ),
}


@dataclass
class PreprocessResult:
    data: np.ndarray  # (X, Y, Z, N) float32, corrected
    mask: np.ndarray  # (X, Y, Z) bool
    bvecs: np.ndarray  # (N, 3) rotated with each volume's registration
    motion_affines: np.ndarray  # (N, 4, 4) reference-to-volume rigid transforms (world, mm)
    framewise_displacement_mm: np.ndarray  # (N,)
    qc: PreprocessQC
    motion_volumes: dict[str, list]  # per volume: target, status, accepted, similarities (motion.csv)


def denoise_mppca(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MP-PCA denoising (dipy's estimator, batched); returns (denoised, per-voxel noise sigma)."""
    denoised, sigma = mppca(data, patch_radius=2)
    return denoised.astype(np.float32), sigma.astype(np.float32)


def unring(data: np.ndarray) -> np.ndarray:
    """Gibbs-ringing removal by local sub-voxel shifts, slice by slice along z."""
    from dipy.denoise.gibbs import gibbs_removal

    return gibbs_removal(data.astype(np.float32), slice_axis=2, inplace=False).astype(np.float32)


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


def preprocess(
    data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, affine: np.ndarray
) -> PreprocessResult:
    """Run every stage on ``data`` (X, Y, Z, N) and collect the QC table."""
    raw = data.astype(np.float32)
    denoised, sigma = denoise_mppca(raw)
    unrung = unring(denoised)
    motion = motion_correct(unrung, bvals, bvecs, affine, brain_mask(unrung, bvals))
    corrected = np.clip(motion.data, 0, None)  # interpolation can undershoot below zero signal
    mask = brain_mask(corrected, bvals)
    fd = framewise_displacement(motion.affines)
    b0_mean = corrected[..., bvals <= B0_THRESHOLD].mean(axis=-1)
    noise = float(np.median(sigma[mask])) if mask.any() else float("nan")
    qc = PreprocessQC(
        fd_mean_mm=float(fd.mean()),
        fd_max_mm=float(fd.max()),
        ndc_raw=neighbouring_dwi_correlation(raw, bvals, bvecs, mask),
        ndc_preprocessed=neighbouring_dwi_correlation(corrected, bvals, motion.bvecs, mask),
        snr_b0_in_mask=float(np.median(b0_mean[mask]) / noise) if noise > 0 else float("nan"),
        noise_sigma=noise,
        mask_voxels=int(mask.sum()),
        mask_fraction=float(mask.mean()),
        **motion_qc(motion),
    )
    return PreprocessResult(corrected, mask, motion.bvecs, motion.affines, fd, qc, motion.table())


def motion_qc(motion: MotionCorrection) -> dict[str, str | int]:
    """The motion-correction fields of ``PreprocessQC``."""
    return {
        "motion_correction": motion.note,
        "motion_targets": motion.targets(),
        "n_volumes_motion_corrected": motion.n_accepted,
        "n_volumes_motion_no_gain": motion.n_no_gain,
        "n_volumes_motion_rejected": motion.n_rejected,
    }
