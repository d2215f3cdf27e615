"""NIfTI output and label images brought onto a diffusion grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainstar.core.atomic import atomic_path


def save_nifti(data: np.ndarray, affine: np.ndarray, path: Path, *, time_unit: str = "sec") -> Path:
    """Write ``data`` with ``affine`` (sform and qform, mm units) atomically."""
    import nibabel as nib

    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units(xyz="mm", t=time_unit)
    image.header.set_qform(affine, code=1)
    image.header.set_sform(affine, code=1)
    with atomic_path(path) as tmp:
        nib.save(image, tmp)
    return path


def labels_on_grid(labels_path: Path, shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """A label image resampled (nearest neighbour) onto the grid ``shape``/``affine``.

    Converters may flip axes (dcm2niix writes slice stacks with a negative determinant),
    so a label image drawn in another orientation is moved onto the DWI grid through
    world coordinates, never by index.
    """
    import nibabel as nib
    from nibabel.processing import resample_from_to

    from brainstar.domain.neuro.dwi_session import load_image

    image = load_image(labels_path)
    if image.shape[:3] == tuple(shape) and np.allclose(image.affine, affine, atol=1e-4):
        return np.asarray(image.dataobj).astype(np.int16)
    target = nib.Nifti1Image(np.zeros(shape, dtype=np.int16), affine)
    return np.asarray(resample_from_to(image, target, order=0).dataobj).astype(np.int16)
