"""Diffusion tensor reconstruction (dipy ``TensorModel``) into scalar maps.

The tensor is a model of Gaussian diffusion, which holds at b-values up to about
1,000-1,500 s/mm^2. At higher b-values tissue signal decays more slowly than a single
exponential (restriction, kurtosis), so a tensor fitted to every shell of a multi-shell
acquisition under-estimates diffusivity (dipy's small_101D, shells up to b of about
4,000: median MD 15-30% lower with all shells, by brain mask). The fit therefore uses the
b0 volumes and the shells at or below a limit; the other shells stay on disk for models
that use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainstar.domain.neuro.dwi_session import B0_THRESHOLD
from brainstar.domain.neuro.gradients import gradient_table

SCALAR_MAPS = ("fa", "md", "ad", "rd")
DEFAULT_MAX_BVALUE = 1500.0  # s/mm^2: the top of the range where diffusion is close to Gaussian
# Scanners jitter the b-value of one shell by tens of s/mm^2 (gradient non-linearity,
# rounding); shells of one protocol lie hundreds apart. Same tolerance as NDC's same-shell test.
SHELL_GAP = 100.0
TENSOR_MIN_DIRECTIONS = 6  # a tensor has six unknowns besides S0


@dataclass(frozen=True)
class ShellSelection:
    """Which volumes a tensor fit uses: every b0 and the shells at or below ``max_bvalue``."""

    volumes: np.ndarray  # (N,) bool
    shells_used: tuple[float, ...]  # s/mm^2, each shell's median b-value
    shells_dropped: tuple[float, ...]
    max_bvalue: float
    above_limit: bool  # too few directions at or below the limit: the lowest shells were used

    def record(self) -> dict[str, object]:
        """JSON-ready description, for metadata and for the assets that must repeat the selection."""
        return {
            "max_bvalue_s_per_mm2": self.max_bvalue,
            "shells_used_s_per_mm2": [round(b) for b in self.shells_used],
            "shells_dropped_s_per_mm2": [round(b) for b in self.shells_dropped],
            "n_volumes_used": int(self.volumes.sum()),
            "n_volumes": int(self.volumes.size),
            "fell_back_to_lowest_shells": self.above_limit,
        }


def shell_bvalues(bvals: np.ndarray) -> np.ndarray:
    """Each volume's shell as the median b-value of its shell; 0 for b0 volumes.

    Sorted b-values are cut into shells wherever they jump by more than ``SHELL_GAP``.
    dipy's ``unique_bvals_tolerance`` returns one value per cluster rather than each
    volume's membership, hence this small single-linkage grouping.
    """
    bvals = np.asarray(bvals, dtype=float)
    shells = np.zeros(bvals.shape)
    weighted = np.flatnonzero(bvals > B0_THRESHOLD)
    if weighted.size == 0:
        return shells
    ordered = weighted[np.argsort(bvals[weighted], kind="stable")]
    starts = np.flatnonzero(np.diff(bvals[ordered]) > SHELL_GAP) + 1
    for members in np.split(ordered, starts):
        shells[members] = np.median(bvals[members])
    return shells


def select_shells(bvals: np.ndarray, max_bvalue: float = DEFAULT_MAX_BVALUE) -> ShellSelection:
    """Every b0 plus the shells whose b-value is at or below ``max_bvalue``.

    When those shells hold fewer than six directions (e.g. a single-shell b = 2000
    acquisition), the lowest shells are added until they do, and ``above_limit`` says so:
    a tensor from higher b-values is biased but better than no tensor.
    """
    shell = shell_bvalues(bvals)
    is_b0 = np.asarray(bvals) <= B0_THRESHOLD
    shells = np.unique(shell[~is_b0])
    if shells.size == 0:
        raise ValueError("no diffusion-weighted volume: a tensor cannot be fitted")
    counts = np.array([np.count_nonzero(shell == b) for b in shells])
    n_within = int(np.count_nonzero(shells <= max_bvalue))
    # Shells are ascending: the smallest prefix that reaches six directions, if the limit gives fewer.
    n_needed = int(np.searchsorted(np.cumsum(counts), TENSOR_MIN_DIRECTIONS)) + 1
    n_used = max(n_within, min(n_needed, shells.size))
    used = shells[:n_used]
    return ShellSelection(
        volumes=is_b0 | np.isin(shell, used),
        shells_used=tuple(float(b) for b in used),
        shells_dropped=tuple(float(b) for b in shells[n_used:]),
        max_bvalue=float(max_bvalue),
        above_limit=n_used > n_within,
    )


@dataclass
class TensorMaps:
    """The fit as dipy gave it, (X, Y, Z) float32, zero outside the mask; diffusivities in mm^2/s.

    Inside the mask nothing is cleaned: a NaN or an FA outside [0, 1] stays, so the
    ``fa_valid`` gate can see it. Consumers that need finite values clean them
    themselves (regional statistics skip non-finite voxels; tracking stops at them).
    """

    fa: np.ndarray
    md: np.ndarray
    ad: np.ndarray
    rd: np.ndarray
    v1: np.ndarray  # (X, Y, Z, 3) principal eigenvector in the voxel frame of the b-vectors
    shells: ShellSelection

    def scalars(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in SCALAR_MAPS}


def fit_tensor(
    data: np.ndarray,
    bvals: np.ndarray,
    bvecs: np.ndarray,
    mask: np.ndarray,
    max_bvalue: float = DEFAULT_MAX_BVALUE,
) -> TensorMaps:
    """Weighted least-squares tensor fit inside ``mask`` on the shells ``select_shells`` keeps."""
    from dipy.reconst.dti import TensorModel

    shells = select_shells(bvals, max_bvalue)
    keep = shells.volumes
    volumes = data if keep.all() else data[..., keep]
    fit = TensorModel(gradient_table(bvals[keep], bvecs[keep]), fit_method="WLS").fit(volumes, mask=mask)
    inside = mask[..., None]
    return TensorMaps(
        **{name: _in_mask(getattr(fit, name), mask) for name in SCALAR_MAPS},
        v1=np.where(inside, fit.evecs[..., :, 0], 0.0).astype(np.float32),
        shells=shells,
    )


def _in_mask(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, values, 0.0).astype(np.float32)
