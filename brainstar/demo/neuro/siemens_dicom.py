"""A diffusion series written the way classic Siemens scanners (syngo VB/VE) store it.

Siemens never filled the public DiffusionBValue (0018,9087) / DiffusionGradientOrientation
(0018,9089) in classic MR Image Storage: the b-value and the gradient direction are in
private tags of the "SIEMENS MR HEADER" block (and in the binary CSA header):

* (0019,100C) B_value, IS, s/mm^2 as an integer;
* (0019,100D) DiffusionDirectionality, CS: DIRECTIONAL, NONE (b0) or ISOTROPIC (trace);
* (0019,100E) DiffusionGradientDirection, FD x 3, a unit vector in LPS patient space.

dcm2niix (checked with v1.0.20260724) needs only Manufacturer "SIEMENS" and (0019,100C) plus
(0019,100E) to write bval/bvec exactly; no CSA header is needed for single-slice files, so
none is written. It warns "Siemens MoCo? Bogus slice timing" because slice times of
classic Siemens files live in the CSA header; the warning does not affect the images or
gradients.

The geometry, pixel scaling and UIDs are those of
:func:`brainstar.demo.neuro.dicom_series.write_dicom_series`: each of its files is rewritten
with its diffusion tags moved into the Siemens private block.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from brainstar.core.atomic import atomic_path
from brainstar.demo.neuro.dicom_series import write_dicom_series

MANUFACTURER = "SIEMENS"
PRIVATE_CREATOR = "SIEMENS MR HEADER"
PRIVATE_GROUP = 0x0019
B_VALUE, DIRECTIONALITY, GRADIENT_DIRECTION = 0x0C, 0x0D, 0x0E  # offsets in the creator's block
PUBLIC_DIFFUSION_KEYWORDS = ("DiffusionBValue", "DiffusionGradientOrientation", "DiffusionDirectionality")


def write_siemens_dicom_series(
    data: np.ndarray,
    affine: np.ndarray,
    bvals: np.ndarray,
    bvecs: np.ndarray,
    out_dir: Path,
    *,
    subject: str,
    session: str,
    seed: int,
) -> list[Path]:
    """Write a diffusion series as Siemens-style single-frame files, one per slice per volume.

    Arguments, file names and returned paths are those of
    :func:`~brainstar.demo.neuro.dicom_series.write_dicom_series`. b-values must be whole
    numbers of s/mm^2, as Siemens' B_value (an integer string) holds them.
    """
    bvals = np.asarray(bvals, dtype=np.float64).reshape(-1)
    if np.any(bvals != np.round(bvals)):
        raise ValueError(f"Siemens stores b-values as integers, got {bvals[bvals != np.round(bvals)]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    # The public-tag files are written beside out_dir (same file system) and never inside it,
    # so out_dir only ever holds finished Siemens-style files.
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.public-") as scratch:
        public = write_dicom_series(
            data, affine, bvals, bvecs, Path(scratch), subject=subject, session=session, seed=seed
        )
        written = []
        for source in public:
            ds = pydicom.dcmread(source)
            to_siemens_private_tags(ds)
            target = out_dir / source.name
            with atomic_path(target) as tmp:
                ds.save_as(tmp, enforce_file_format=True)
            written.append(target)
    return written


def to_siemens_private_tags(ds: Dataset) -> None:
    """Move a classic file's public diffusion tags into the Siemens private block, in place.

    The public gradient orientation is already LPS patient space, as Siemens' is, so the
    vector is copied unchanged.
    """
    bvalue = float(ds.DiffusionBValue)
    direction = ds.get("DiffusionGradientOrientation")
    directionality = str(ds.get("DiffusionDirectionality", "NONE"))
    for keyword in PUBLIC_DIFFUSION_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    ds.Manufacturer = MANUFACTURER
    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    block.add_new(B_VALUE, "IS", round(bvalue))
    block.add_new(DIRECTIONALITY, "CS", directionality)
    if direction is not None:
        block.add_new(GRADIENT_DIRECTION, "FD", [float(v) for v in direction])
