"""NIfTI output and label images brought onto a diffusion grid, and what a header must say before reading."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from brainstar.core import settings
from brainstar.core.atomic import atomic_path

# Reading an image holds its stored voxels and their float32 copy at once; a header may claim any
# size (dim 30000^3 fits in 348 bytes), so the claim is weighed against the budget
# (settings.nifti_memory_budget_bytes) before any voxel is read.
MEMORY_BUDGET_ENV = settings.NIFTI_MEMORY_BUDGET_VAR


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


def stored_header(path: Path, header_class: Any) -> Any:  # -> nibabel header, as the file holds it
    """The header as written, before nibabel's load-time fixes (it turns pixdim -2 into 2, 0 into 1)."""
    from nibabel.openers import ImageOpener

    with ImageOpener(path) as stream:
        return header_class.from_fileobj(stream, check=False)


def read_bytes_needed(header: Any) -> int:
    """Peak bytes of reading the image: the stored voxels plus their float32 copy."""
    n_voxels = math.prod(int(n) for n in header.get_data_shape())
    return n_voxels * (header.get_data_dtype().itemsize + np.dtype(np.float32).itemsize)


def header_problem(header: Any, budget_bytes: int) -> str | None:
    """Why the voxels of an image with this (stored) header must not be read, or None.

    Checked before any voxel is read: an axis of size 0, complex or RGB voxels (no signal
    intensity to fit), voxel sizes that are not positive and finite, and a size over the budget.
    """
    shape = tuple(int(n) for n in header.get_data_shape())
    if any(n < 1 for n in shape):
        return f"header dim {list(shape)} has an axis of size < 1"
    dtype = header.get_data_dtype()
    if dtype.kind == "c" or dtype.names:
        return f"voxel type {'RGB' if dtype.names else dtype} is not a real-valued intensity"
    zooms = [float(z) for z in header["pixdim"][1 : 1 + min(len(shape), 3)]]
    if not all(math.isfinite(z) and z > 0 for z in zooms):
        return f"header pixdim gives voxel sizes {zooms} mm; they must be positive and finite"
    needed = read_bytes_needed(header)
    if needed > budget_bytes:
        return (
            f"header dim {list(shape)} ({dtype}) needs {needed / 1e9:.3g} GB to read, over the "
            f"{budget_bytes / 1e9:.3g} GB memory budget (raise {MEMORY_BUDGET_ENV} if the image is real)"
        )
    return None


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
