"""Diffusion tensor reconstruction (dipy ``TensorModel``) into scalar maps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainstar.domain.neuro.gradients import gradient_table

SCALAR_MAPS = ("fa", "md", "ad", "rd")


@dataclass
class TensorMaps:
    """Scalar maps (X, Y, Z) float32, zero outside the mask; diffusivities in mm^2/s."""

    fa: np.ndarray
    md: np.ndarray
    ad: np.ndarray
    rd: np.ndarray
    evecs: np.ndarray  # (X, Y, Z, 3, 3): principal direction in [..., :, 0]

    def scalars(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in SCALAR_MAPS}


def fit_tensor(data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, mask: np.ndarray) -> TensorMaps:
    """Weighted least-squares tensor fit inside ``mask``."""
    from dipy.reconst.dti import TensorModel

    fit = TensorModel(gradient_table(bvals, bvecs), fit_method="WLS").fit(data, mask=mask)
    maps = {
        "fa": np.clip(np.nan_to_num(fit.fa), 0.0, 1.0),
        "md": np.nan_to_num(fit.md),
        "ad": np.nan_to_num(fit.ad),
        "rd": np.nan_to_num(fit.rd),
    }
    outside = ~mask
    for values in maps.values():
        values[outside] = 0.0
    return TensorMaps(
        **{k: v.astype(np.float32) for k, v in maps.items()}, evecs=fit.evecs.astype(np.float32)
    )
