"""Brain mask of a diffusion series."""

from __future__ import annotations

import numpy as np

from brainstar.domain.neuro.dwi_session import B0_THRESHOLD


def brain_mask(data: np.ndarray, bvals: np.ndarray) -> np.ndarray:
    from dipy.segment.mask import median_otsu

    b0_indices = np.flatnonzero(bvals <= B0_THRESHOLD)
    _, mask = median_otsu(data, vol_idx=b0_indices, median_radius=2, numpass=2)
    return mask.astype(bool)
