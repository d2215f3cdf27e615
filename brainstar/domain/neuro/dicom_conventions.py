"""Geometry conventions shared by DICOM readers, the converter and the synthetic writer.

These are the conventions dcm2niix uses, so that a DICOM round trip is exact:

* NIfTI voxel ``(i, j, k)`` is DICOM column ``i``, row ``Y - 1 - j`` of slice ``k``: dcm2niix
  flips the row axis when it writes NIfTI.
* DICOM geometry is LPS (x to patient left, y to posterior); NIfTI affines are RAS.
* DiffusionGradientOrientation (0018,9089) is a unit vector in LPS patient space; dcm2niix
  rotates it into the FSL image-space convention (x negated when the affine's determinant is
  positive).
* dcm2niix stacks 2-D slices along ``row_cosine x column_cosine`` and therefore always writes
  an affine with a negative determinant (LAS-like, as scanners' NIfTI usually is). Such an
  input round-trips exactly; an input with a positive determinant comes back as the same
  image with its slice axis reversed, which :func:`as_dcm2niix_writes` predicts.
"""

from __future__ import annotations

import numpy as np

from brainstar.domain.neuro.dwi_session import fsl_to_voxel_frame

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])


def fsl_to_lps(bvecs: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(N, 3) FSL image-space b-vectors -> (N, 3) unit LPS patient-space directions (0 for b0)."""
    return (LPS_FROM_RAS @ fsl_bvecs_to_world(bvecs, affine).T).T


def fsl_bvecs_to_world(bvecs: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(N, 3) FSL image-space b-vectors -> (N, 3) unit RAS world directions (zero rows stay zero).

    FSL stores vectors in a radiological (left-handed) voxel frame: x is negated when the
    voxel-to-world matrix ``affine[:3, :3]`` has a positive determinant.
    """
    rotation = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    voxel = fsl_to_voxel_frame(bvecs, affine)
    world = (rotation @ voxel.T).T
    norms = np.linalg.norm(world, axis=1, keepdims=True)
    return np.divide(world, norms, out=np.zeros_like(world), where=norms > 0)


def as_dcm2niix_writes(
    data: np.ndarray, affine: np.ndarray, bvecs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (data, affine, FSL bvecs) dcm2niix produces from a classic series of this image.

    Unchanged when ``affine`` has a negative determinant. Otherwise the slice axis is reversed:
    ``data[..., ::-1, :]``, the affine's third column negated with the origin moved to the last
    slice, and the b-vectors re-expressed in the new voxel frame (z negated; the FSL x flip no
    longer applies, so x is negated back). Shapes are those of the inputs.
    """
    if np.linalg.det(affine[:3, :3]) < 0:
        return data, affine, bvecs
    n_z = data.shape[2]
    flip = np.eye(4)
    flip[2, 2] = -1.0
    flip[2, 3] = n_z - 1
    flipped_bvecs = np.asarray(bvecs, dtype=np.float64) * np.array([-1.0, 1.0, -1.0])
    return data[:, :, ::-1, ...], affine @ flip, flipped_bvecs + 0.0  # + 0.0 turns -0.0 into 0.0
