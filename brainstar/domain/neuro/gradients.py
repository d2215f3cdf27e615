"""The dipy gradient table, built with this package's b0 threshold."""

from __future__ import annotations

import numpy as np

from brainstar.domain.neuro.dwi_session import B0_THRESHOLD


def gradient_table(bvals: np.ndarray, bvecs: np.ndarray):  # -> dipy GradientTable
    from dipy.core.gradients import gradient_table as dipy_gradient_table

    return dipy_gradient_table(bvals, bvecs=bvecs, b0_threshold=B0_THRESHOLD)
