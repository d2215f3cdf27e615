"""Brain mask of a diffusion series, for whole heads and for fields of view cropped inside the brain.

Median-Otsu on the mean b0 separates the bright class from the dark one. Around a whole head the dark
class is air and the bright one is the head; in a crop that lies wholly inside the brain there is no
air, so the split falls between tissue and CSF and the "brain" it keeps is the CSF. The two cases are
told apart by diffusion weighting: air (Rician noise floor) and fat do not attenuate between b0 and the
diffusion-weighted volumes, tissue does (mean diffusivity about 0.7-0.9e-3 mm^2/s), free water
attenuates most (3e-3 mm^2/s at body temperature). When the dark b0 class does not attenuate, the field
of view has air and median-Otsu is the right tool; otherwise the mask is every voxel whose apparent
diffusivity is that of tissue.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from brainstar.domain.neuro.dwi_session import B0_THRESHOLD

# Highest b-value used to measure the apparent diffusivity: up to the clinical DTI range the tissue
# signal is close to mono-exponential, and free water (exp(-1.5e3 * 3e-3) = 1 % of its b0) is still
# distinguishable from tissue; higher shells add kurtosis and sink CSF into the noise floor. When a
# series has no shell this low (dipy's small_25 is b = 2000 only) its lowest shell is used.
DIFFUSIVITY_B_MAX = 1500.0  # s/mm^2

# Below this apparent diffusivity a voxel does not attenuate with diffusion weighting: air (the same
# noise floor in every volume, measured about 0 +/- 0.1e-3 on the phantom's air), fat (about 0.01e-3)
# or bone. The lowest tissue values measured on dipy's real crops are 0.5e-3 at b = 2000 (kurtosis
# lowers it) and 0.6e-3 at b = 1000: a third of that keeps all of tissue.
NON_ATTENUATING_DIFFUSIVITY = 0.2e-3  # mm^2/s

# Above this a voxel's signal is dominated by free water (CSF): the midpoint between the upper end of
# parenchymal mean diffusivity (1e-3) and free water at 37 C (3e-3). At b = 1000 a voxel reaches it only
# when about three quarters of its b0 signal is CSF, so tissue/CSF partial-volume voxels stay in.
FREE_WATER_DIFFUSIVITY = 2.0e-3  # mm^2/s

# Tissue b0 under this fraction of the median tissue b0 is a signal dropout (susceptibility, bone,
# vessel), not parenchyma: grey/white T2 contrast is within 1.5x, coil shading across a crop within
# 1.5x more, so a third keeps all of parenchyma (dipy's small_64D crop: lowest tissue b0 is 0.45 of the
# median).
LOW_SIGNAL_FRACTION = 1.0 / 3.0

# A median filter of radius 1, twice, removes air speckle before Otsu (dipy's default radius 4 and the
# former radius 2 erode a small head: the demo phantom's brain is 6 voxels in semi-axis along z and radius
# 2 lost 17 % of it). Measured on dipy's real whole-head b0 images (S0_10slices, aniso_vox) the mask
# fraction is the same within 0.001 as with radius 2.
MEDIAN_RADIUS = 1
MEDIAN_PASSES = 2


MaskMethod = Literal["whole_head", "inside_brain"]


class BrainMask(NamedTuple):
    mask: np.ndarray
    """(X, Y, Z) bool."""
    method: MaskMethod
    """``whole_head``: air around the head, median-Otsu; ``inside_brain``: no air, tissue by diffusivity
    (a mask fraction near 1 is then expected, not a failure)."""
    note: str
    """How the mask was made, for the QC report."""


def coverage_has_ceiling(method: str) -> bool:
    """Whether a mask made by ``method`` can be implausibly large: around a whole head a mask that
    fills the field of view has taken in air; a crop inside the brain is expected to be nearly all brain."""
    return method == "whole_head"


def brain_mask(data: np.ndarray, bvals: np.ndarray) -> np.ndarray:
    """Boolean (X, Y, Z) brain mask of ``data`` (X, Y, Z, N); see ``brain_mask_with_note``."""
    return brain_mask_with_note(data, bvals).mask


def brain_mask_with_note(data: np.ndarray, bvals: np.ndarray) -> BrainMask:
    """Median-Otsu where air surrounds the head, tissue by apparent diffusivity where it does not."""
    b0 = mean_b0(data, bvals)
    diffusivity = apparent_diffusivity(data, bvals, b0)
    if diffusivity is None:
        return BrainMask(
            whole_head_mask(b0), "whole_head", "median-Otsu on the mean b0 (no diffusion-weighted volume)"
        )
    dark_class_diffusivity = dark_class_median_diffusivity(b0, diffusivity)
    if dark_class_diffusivity < NON_ATTENUATING_DIFFUSIVITY:
        note = (
            "whole head: median-Otsu on the mean b0 (its dark class does not attenuate, "
            f"median apparent diffusivity {dark_class_diffusivity * 1e3:.2f}e-3 mm2/s: air)"
        )
        return BrainMask(whole_head_mask(b0), "whole_head", note)
    return tissue_mask(b0, diffusivity, dark_class_diffusivity)


def mean_b0(data: np.ndarray, bvals: np.ndarray) -> np.ndarray:
    b0_volumes = np.asarray(bvals) <= B0_THRESHOLD
    if not b0_volumes.any():
        raise ValueError(f"no b0 volume (b <= {B0_THRESHOLD:g} s/mm2) to mask the brain on")
    return data[..., b0_volumes].mean(axis=-1, dtype=np.float64)


def apparent_diffusivity(data: np.ndarray, bvals: np.ndarray, b0: np.ndarray) -> np.ndarray | None:
    """Per-voxel -ln(mean DWI / mean b0) / mean b over the low shells, mm^2/s; None without DWIs.

    The direction-averaged signal makes it rotation invariant (mean diffusivity, not one direction's).
    Voxels with no b0 signal at all (background zeroed by the scanner) count as non-attenuating: 0.
    """
    bvals = np.asarray(bvals, dtype=float)
    weighted = bvals > B0_THRESHOLD
    if not weighted.any():
        return None
    low = weighted & (bvals <= max(DIFFUSIVITY_B_MAX, bvals[weighted].min()))
    dwi = data[..., low].mean(axis=-1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        diffusivity = -np.log(dwi / b0) / bvals[low].mean()
    # No DWI signal under a b0 signal is total attenuation: as free-water-like as it gets.
    diffusivity[(b0 > 0) & (dwi <= 0)] = np.inf
    diffusivity[b0 <= 0] = 0.0
    return diffusivity


def dark_class_median_diffusivity(b0: np.ndarray, diffusivity: np.ndarray) -> float:
    """Median apparent diffusivity of the voxels below the mean b0's Otsu threshold.

    The median (not a signal-weighted mean) so that, around a real head, the air voxels that make up
    most of the dark class decide it even where dark tissue (scalp, bone edge) joins them.
    """
    from dipy.segment.threshold import otsu

    if np.ptp(b0) == 0:
        return float(np.median(diffusivity))  # one intensity everywhere: no classes to split
    dark = b0 <= otsu(b0)
    return float(np.median(diffusivity[dark]))


def whole_head_mask(b0: np.ndarray) -> np.ndarray:
    from dipy.segment.mask import median_otsu

    _, mask = median_otsu(b0, median_radius=MEDIAN_RADIUS, numpass=MEDIAN_PASSES, finalize_mask=True)
    return mask.astype(bool)


def tissue_mask(b0: np.ndarray, diffusivity: np.ndarray, dark_class_diffusivity: float) -> BrainMask:
    """Voxels with tissue-like diffusivity and b0, for a field of view with no air in it.

    No morphological clean-up: a crop has no head outline to regularise, and a filter across a
    10-voxel crop would smear CSF into the tissue next to it.
    """
    attenuating = diffusivity >= NON_ATTENUATING_DIFFUSIVITY
    free_water = diffusivity > FREE_WATER_DIFFUSIVITY
    tissue_like = attenuating & ~free_water
    if not tissue_like.any():
        return BrainMask(
            tissue_like, "inside_brain", "no air in the field of view and no tissue-like voxel in it"
        )
    low_signal = b0 < LOW_SIGNAL_FRACTION * np.median(b0[tissue_like])
    mask = tissue_like & ~low_signal
    note = (
        "no air in the field of view (dark b0 class attenuates like tissue, median apparent diffusivity "
        f"{dark_class_diffusivity * 1e3:.2f}e-3 mm2/s): tissue by apparent diffusivity; excluded "
        f"{int(free_water.sum())} free-water-like (> {FREE_WATER_DIFFUSIVITY * 1e3:g}e-3 mm2/s), "
        f"{int((~attenuating).sum())} non-attenuating and {int((tissue_like & low_signal).sum())} "
        "low-b0 voxels"
    )
    return BrainMask(mask, "inside_brain", note)
