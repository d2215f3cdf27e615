"""Rigid head-motion correction of a diffusion series, and framewise displacement."""

from __future__ import annotations

import numpy as np

from brainstar.domain.neuro.gradients import gradient_table

HEAD_RADIUS_MM = 50.0  # Power et al. (2012): rotations in radians become arc length on a 50 mm sphere


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
