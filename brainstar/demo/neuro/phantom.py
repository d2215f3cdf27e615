"""A diffusion phantom with known tensors per region, written in the landing-zone format.

Each labelled region holds one fibre population with prescribed eigenvalues, so its
fractional anisotropy (FA) and mean diffusivity (MD) are known exactly; the signal is
simulated with dipy's multi-tensor model and Rician noise at a stated SNR. The label
image and ground truth are returned so tests can check what the pipeline recovers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainstar.core.atomic import write_text_atomic
from brainstar.domain.neuro.dwi_session import B0_THRESHOLD, fsl_to_voxel_frame
from brainstar.domain.neuro.nifti import save_nifti


@dataclass(frozen=True)
class PhantomRegion:
    """A box of voxels with one tensor. ``direction`` is (theta, phi) in degrees (dipy's)."""

    label: int
    name: str
    slices: tuple[slice, slice, slice]
    evals: tuple[float, float, float]  # mm^2/s, largest first
    direction: tuple[float, float] = (90.0, 0.0)  # along x
    relative_s0: float = 1.0  # T2 weighting differs by tissue, giving the b0 image contrast

    @property
    def fa(self) -> float:
        return fractional_anisotropy(np.asarray(self.evals))

    @property
    def md(self) -> float:
        return float(np.mean(self.evals))


DEMO_SHAPE = (28, 28, 14)


@dataclass(frozen=True)
class PhantomSpec:
    """An ellipsoidal "brain" filling most of the field of view, cut into labelled regions.

    The ellipsoid gives registration and masking a head-like outline; outside it there is
    only Rician noise, as in air around a real head.
    """

    shape: tuple[int, int, int] = DEMO_SHAPE
    voxel_size_mm: float = 2.0
    """Isotropic voxel edge."""
    regions: tuple[PhantomRegion, ...] = field(default_factory=lambda: default_regions(DEMO_SHAPE))
    n_b0: int = 3
    """Volumes at b = 0, acquired first."""
    n_directions: int = 30
    """Diffusion-weighted volumes, directions spread over a hemisphere."""
    bvalue: float = 1000.0
    """s/mm^2 of every diffusion-weighted volume."""
    s0: float = 1000.0
    """b = 0 signal of tissue with ``relative_s0`` 1."""
    snr: float = 30.0
    """s0 over the Rician noise sigma."""

    def brain(self) -> np.ndarray:
        """Boolean ellipsoid (X, Y, Z); unequal semi-axes so no rotation leaves it unchanged."""
        grid = np.indices(self.shape, dtype=float)
        centre = (np.asarray(self.shape, dtype=float) - 1) / 2
        radii = np.array([0.36, 0.46, 0.42]) * np.asarray(self.shape, dtype=float)
        distance = sum(((grid[axis] - centre[axis]) / radii[axis]) ** 2 for axis in range(3))
        return distance <= 1.0


def default_regions(shape: tuple[int, int, int]) -> tuple[PhantomRegion, ...]:
    """Four regions, the quadrants of the x-y plane (each then cut to the brain ellipsoid).

    Eigenvalues are typical of white matter (FA about 0.8 and 0.6), deep grey matter
    (about 0.35) and cortex (about 0.15); MD near 0.7-0.8e-3 mm^2/s as in adult brain.
    """
    nx, ny, nz = shape
    mx, my = nx // 2, ny // 2
    z = slice(1, nz - 1)
    return (
        PhantomRegion(
            1,
            "white_matter_x",
            (slice(1, mx), slice(1, my), z),
            (1.7e-3, 0.3e-3, 0.3e-3),
            (90.0, 0.0),
        ),
        PhantomRegion(
            2,
            "white_matter_y",
            (slice(mx, nx - 1), slice(1, my), z),
            (1.5e-3, 0.45e-3, 0.45e-3),
            (90.0, 90.0),
        ),
        PhantomRegion(
            3,
            "deep_grey",
            (slice(1, mx), slice(my, ny - 1), z),
            (1.1e-3, 0.7e-3, 0.6e-3),
            (90.0, 0.0),
        ),
        PhantomRegion(
            4,
            "cortex",
            (slice(mx, nx - 1), slice(my, ny - 1), z),
            (0.9e-3, 0.75e-3, 0.7e-3),
            (0.0, 0.0),
        ),
    )


def fractional_anisotropy(evals: np.ndarray) -> float:
    evals = np.asarray(evals, dtype=float)
    md = evals.mean()
    denominator = np.sqrt((evals**2).sum())
    if denominator == 0:
        return 0.0
    return float(np.sqrt(1.5) * np.sqrt(((evals - md) ** 2).sum()) / denominator)


def hemisphere_directions(n: int) -> np.ndarray:
    """``n`` near-uniform unit vectors on the upper hemisphere (a Fibonacci lattice), shape (n, 3)."""
    i = np.arange(n) + 0.5
    z = 1.0 - i / n  # z in (0, 1]: one hemisphere, antipodes are redundant for diffusion
    radius = np.sqrt(1.0 - z**2)
    phi = np.pi * (1.0 + 5.0**0.5) * i
    return np.column_stack([radius * np.cos(phi), radius * np.sin(phi), z])


def acquisition_scheme(spec: PhantomSpec) -> tuple[np.ndarray, np.ndarray]:
    """b-values (N,) in s/mm^2 and unit b-vectors (N, 3), b0 volumes first."""
    bvals = np.concatenate([np.zeros(spec.n_b0), np.full(spec.n_directions, spec.bvalue)])
    bvecs = np.vstack([np.zeros((spec.n_b0, 3)), hemisphere_directions(spec.n_directions)])
    return bvals, bvecs


def simulate_dwi(spec: PhantomSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return the noisy 4-D signal (X, Y, Z, N) as float32 and the label image (X, Y, Z)."""
    from dipy.core.gradients import gradient_table
    from dipy.sims.voxel import add_noise

    bvals, bvecs = acquisition_scheme(spec)
    gtab = gradient_table(bvals, bvecs=bvecs, b0_threshold=B0_THRESHOLD)
    signal, labels = noiseless_signal(spec, gtab)
    noisy = add_noise(signal, spec.snr, spec.s0, noise_type="rician", rng=rng)
    return noisy.astype(np.float32), labels


def noiseless_signal(spec: PhantomSpec, gtab: Any) -> tuple[np.ndarray, np.ndarray]:
    """Each region's single-tensor signal for ``gtab`` (a dipy GradientTable), and the label image."""
    from dipy.sims.voxel import multi_tensor

    signal = np.zeros((*spec.shape, len(gtab.bvals)), dtype=np.float64)
    labels = np.zeros(spec.shape, dtype=np.int16)
    brain = spec.brain()
    for region in spec.regions:
        clean, _ = multi_tensor(
            gtab,
            np.array([region.evals]),
            S0=spec.s0 * region.relative_s0,
            angles=[region.direction],
            fractions=[100.0],
            snr=None,
        )
        inside = np.zeros(spec.shape, dtype=bool)
        inside[region.slices] = True
        inside &= brain
        signal[inside] = clean
        labels[inside] = region.label
    return signal, labels


def voxel_affine(spec: PhantomSpec, *, radiological: bool = False) -> np.ndarray:
    """Isotropic voxels centred on the volume: RAS+ by default, LAS (x flipped) if ``radiological``.

    Scanners' DICOM slice stacks convert to LAS (negative determinant), so the DICOM demo
    session uses that orientation and round-trips through dcm2niix unchanged.
    """
    affine = np.diag([spec.voxel_size_mm] * 3 + [1.0])
    affine[:3, 3] = -0.5 * spec.voxel_size_mm * (np.asarray(spec.shape) - 1)
    if radiological:
        affine[0, 0] = -spec.voxel_size_mm
        affine[0, 3] = -affine[0, 3]
    return affine


def write_fsl_gradients(bvals: np.ndarray, bvecs: np.ndarray, bval_path: Path, bvec_path: Path) -> None:
    """FSL convention: one row of b-values; three rows (x, y, z) of b-vectors."""
    write_text_atomic(bval_path, " ".join(f"{b:g}" for b in bvals) + "\n")
    rows = [" ".join(f"{v:.6f}" for v in bvecs[:, axis]) for axis in range(3)]
    write_text_atomic(bvec_path, "\n".join(rows) + "\n")


def write_nifti_session(session_dir: Path, spec: PhantomSpec, seed: int) -> dict[str, object]:
    """Write ``dwi.nii.gz``, ``dwi.bval``, ``dwi.bvec`` and ``labels.nii.gz``; return ground truth."""
    data, labels = simulate_dwi(spec, np.random.default_rng(seed))
    bvals, voxel_bvecs = acquisition_scheme(spec)
    affine = voxel_affine(spec)
    save_nifti(data, affine, session_dir / "dwi.nii.gz")
    save_nifti(labels, affine, session_dir / "labels.nii.gz", time_unit="unknown")
    fsl_bvecs = fsl_to_voxel_frame(voxel_bvecs, affine)
    write_fsl_gradients(bvals, fsl_bvecs, session_dir / "dwi.bval", session_dir / "dwi.bvec")
    return ground_truth(spec, seed, labels, "nifti")


def write_dicom_session(
    session_dir: Path, spec: PhantomSpec, seed: int, subject: str, session: str
) -> dict[str, object]:
    """Write the phantom as a DICOM series in ``dicom/`` (LAS) plus ``labels.nii.gz``; return ground truth."""
    from brainstar.demo.neuro.dicom_series import write_dicom_series

    data, labels = simulate_dwi(spec, np.random.default_rng(seed))
    bvals, voxel_bvecs = acquisition_scheme(spec)
    affine = voxel_affine(spec, radiological=True)
    write_dicom_series(
        data,
        affine,
        bvals,
        fsl_to_voxel_frame(voxel_bvecs, affine),
        session_dir / "dicom",
        subject=subject,
        session=session,
        seed=seed,
    )
    save_nifti(labels, affine, session_dir / "labels.nii.gz", time_unit="unknown")
    return ground_truth(spec, seed, labels, "dicom")


def ground_truth(spec: PhantomSpec, seed: int, labels: np.ndarray, input_format: str) -> dict[str, object]:
    return {
        "format": input_format,
        "seed": seed,
        "snr": spec.snr,
        "shape": list(spec.shape),
        "n_volumes": spec.n_b0 + spec.n_directions,
        "bvalue_s_per_mm2": spec.bvalue,
        "regions": {
            str(region.label): {
                "name": region.name,
                "fa": round(region.fa, 6),
                "md_mm2_per_s": region.md,
                "n_voxels": int((labels == region.label).sum()),
            }
            for region in spec.regions
        },
    }
