"""A known diffusion volume written as a classic DICOM series, for the demo phantom and tests.

``write_dicom_series`` turns a 4-D volume with a RAS+ affine and FSL gradients into classic
single-frame MR Image Storage files (one per slice per volume) that dcm2niix converts back to
the same array, affine, b-values and b-vectors, following
:mod:`brainstar.domain.neuro.dicom_conventions`: the writer flips the row axis and inverts
dcm2niix's gradient rotation before it writes.

The diffusion tags are the standard DiffusionBValue (0018,9087), DiffusionGradientOrientation
(0018,9089) and DiffusionDirectionality (0018,9075) at the top level of each file, under
Manufacturer "TOSHIBA", whose classic DICOM used exactly these public tags in patient space.
dcm2niix (checked with v1.0.20260724) rotates them into image space for TOSHIBA, SIEMENS and
Philips, but takes them as already image-space for Canon and GE, so those two names must not
be used; an unknown manufacturer makes it warn "assuming Philips".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from brainstar.core.atomic import atomic_path
from brainstar.domain.neuro.dicom_conventions import LPS_FROM_RAS, fsl_to_lps

UINT16_MAX = 65535
ORTHOGONALITY_TOLERANCE = 1e-4  # cosine between affine columns still treated as orthogonal
MANUFACTURER = "TOSHIBA"  # see the module docstring: dcm2niix reads 0018,9089 as patient-space for it


@dataclass(frozen=True)
class IntensityScaling:
    """Stored uint16 ``q`` maps to ``q * slope + intercept`` (RescaleSlope/Intercept, data units)."""

    slope: float
    intercept: float

    @property
    def max_error(self) -> float:
        """Largest absolute error after a NIfTI round trip, in data units.

        Half a quantisation step, plus the rounding of slope and intercept to the float32
        ``scl_slope``/``scl_inter`` that dcm2niix writes (relative 2**-24 each).
        """
        float32_rounding = 2.0**-24 * (abs(self.intercept) + UINT16_MAX * self.slope)
        return self.slope / 2.0 + 2 * float32_rounding


def quantisation(data: np.ndarray) -> IntensityScaling:
    """The uint16 scaling that spans ``data``'s range; both numbers fit DICOM's 16-char DS."""
    low, high = float(np.min(data)), float(np.max(data))
    # Round-tripping through the DS text makes the scaling applied identical to the one stored.
    intercept = float(f"{low:.8e}")
    span = high - intercept
    slope = float(f"{span / UINT16_MAX:.8e}") if span > 0 else 1.0
    while (high - intercept) / slope > UINT16_MAX + 0.49:  # the rounded slope came out too small
        slope = float(f"{slope * (1 + 1e-7):.8e}")
    return IntensityScaling(slope=slope, intercept=intercept)


def write_dicom_series(
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
    """Write a diffusion series as single-frame MR Image Storage files, one per slice per volume.

    Args:
        data: (X, Y, Z, N) float intensities; stored as uint16 with one RescaleSlope/Intercept
            for the whole series (see :func:`quantisation`), so values come back within half a
            quantisation step.
        affine: (4, 4) RAS+ voxel-to-mm affine with orthogonal columns (no shear).
        bvals: (N,) b-values in s/mm^2.
        bvecs: (N, 3) unit gradient directions in the FSL convention relative to ``affine``
            (zero rows allowed for b0 volumes).
        out_dir: created if missing; files are named ``vVVVV_sSSSS.dcm`` and written atomically.
        subject, session: PatientID and StudyID.
        seed: makes every UID deterministic.

    Returns:
        The written paths, volume-major (all slices of volume 0 first).
    """
    data = np.asarray(data, dtype=np.float64)
    affine = np.asarray(affine, dtype=np.float64)
    bvals = np.asarray(bvals, dtype=np.float64).reshape(-1)
    bvecs = np.asarray(bvecs, dtype=np.float64)
    if data.ndim != 4:
        raise ValueError(f"data must be 4-D (X, Y, Z, N), got shape {data.shape}")
    n_x, n_y, n_z, n_vol = data.shape
    if affine.shape != (4, 4):
        raise ValueError(f"affine must be 4x4, got {affine.shape}")
    if bvals.shape != (n_vol,) or bvecs.shape != (n_vol, 3):
        raise ValueError(
            f"need {n_vol} b-values and ({n_vol}, 3) b-vectors, got {bvals.shape}, {bvecs.shape}"
        )
    if not np.all(np.isfinite(data)):
        raise ValueError("data holds NaN or infinite values")

    geometry = _SliceGeometry.from_affine(affine, n_y)
    scaling = quantisation(data)
    stored = np.clip(np.rint((data - scaling.intercept) / scaling.slope), 0, UINT16_MAX).astype(np.uint16)
    directions_lps = fsl_to_lps(bvecs, affine)

    def uid(*parts: object) -> str:
        return generate_uid(entropy_srcs=["brainstar", str(seed), subject, session, *map(str, parts)])

    shared = {
        "study": uid("study"),
        "series": uid("series"),
        "frame": uid("frame-of-reference"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for volume in range(n_vol):
        for k in range(n_z):
            instance = volume * n_z + k + 1
            ds = _slice_dataset(
                sop_uid=uid("instance", instance),
                shared=shared,
                subject=subject,
                session=session,
                instance=instance,
                volume=volume,
                position=geometry.position(k),
                geometry=geometry,
                scaling=scaling,
                bvalue=float(bvals[volume]),
                direction=directions_lps[volume],
            )
            # Column i, row Y-1-j: see dicom_conventions.
            pixels = np.ascontiguousarray(stored[:, ::-1, k, volume].T)
            ds.Rows, ds.Columns = n_y, n_x
            ds.PixelData = pixels.astype("<u2").tobytes()
            target = out_dir / f"v{volume:04d}_s{k:04d}.dcm"
            with atomic_path(target) as tmp:
                ds.save_as(tmp, enforce_file_format=True)
            written.append(target)
    return written


@dataclass(frozen=True)
class _SliceGeometry:
    """DICOM plane geometry for an affine; positions are LPS mm."""

    row_cosine: np.ndarray  # (3,) direction of increasing column index
    column_cosine: np.ndarray  # (3,) direction of increasing row index
    pixel_spacing: tuple[float, float]  # (between rows, between columns) mm
    slice_step: np.ndarray  # (3,) LPS mm from slice k to k+1
    first_position: np.ndarray  # (3,) LPS mm of pixel (row 0, column 0) in slice 0

    @classmethod
    def from_affine(cls, affine: np.ndarray, n_y: int) -> _SliceGeometry:
        lps = LPS_FROM_RAS @ affine[:3, :]
        columns = lps[:, :3]
        zooms = np.linalg.norm(columns, axis=0)
        if np.any(zooms <= 0):
            raise ValueError(f"affine has a zero-length voxel axis: zooms {zooms}")
        unit = columns / zooms
        gram = unit.T @ unit
        if np.max(np.abs(gram - np.eye(3))) > ORTHOGONALITY_TOLERANCE:
            raise ValueError("affine is sheared: classic DICOM slices need orthogonal voxel axes")
        # Row r of the DICOM image is NIfTI j = Y-1-r, so the row index runs along -axis 1.
        first = lps[:, 3] + columns[:, 1] * (n_y - 1)
        return cls(
            row_cosine=unit[:, 0],
            column_cosine=-unit[:, 1],
            pixel_spacing=(float(zooms[1]), float(zooms[0])),
            slice_step=columns[:, 2],
            first_position=first,
        )

    @property
    def slice_thickness(self) -> float:
        return float(np.linalg.norm(self.slice_step))

    def position(self, k: int) -> np.ndarray:
        return self.first_position + k * self.slice_step


def _ds(value: float) -> str:
    """A decimal string of at most 16 characters (DICOM DS)."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.8e}"


def _slice_dataset(
    *,
    sop_uid: str,
    shared: dict[str, str],
    subject: str,
    session: str,
    instance: int,
    volume: int,
    position: np.ndarray,
    geometry: _SliceGeometry,
    scaling: IntensityScaling,
    bvalue: float,
    direction: np.ndarray,
) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "DIFFUSION", "NONE"]
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20000101"
    # AcquisitionTime advances one TR per volume: converters use it to order volumes.
    repetition_s = 8.0
    seconds = 8 * 3600 + volume * repetition_s
    ds.StudyTime = ds.SeriesTime = "080000"
    ds.AcquisitionTime = ds.ContentTime = (
        f"{int(seconds // 3600):02d}{int(seconds % 3600 // 60):02d}{seconds % 60:09.6f}"
    )
    ds.Modality = "MR"
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = "brainstar synthetic"
    ds.InstitutionName = "brainstar"
    ds.SeriesDescription = ds.ProtocolName = "dwi"
    ds.PatientName = subject
    ds.PatientID = subject
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = shared["study"]
    ds.SeriesInstanceUID = shared["series"]
    ds.FrameOfReferenceUID = shared["frame"]
    ds.StudyID = session[:16]
    ds.SeriesNumber = 1
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = instance
    ds.ScanningSequence = ["SE", "EP"]
    ds.SequenceVariant = ["SK", "SP"]
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.SequenceName = "ep_b" + f"{bvalue:g}"
    ds.RepetitionTime = _ds(repetition_s * 1000.0)
    ds.EchoTime = "80"
    ds.EchoTrainLength = 1
    ds.MagneticFieldStrength = "3"
    ds.ImagingFrequency = "123.2"
    ds.SliceThickness = _ds(geometry.slice_thickness)
    ds.SpacingBetweenSlices = _ds(geometry.slice_thickness)
    ds.PixelSpacing = [_ds(v) for v in geometry.pixel_spacing]
    ds.ImagePositionPatient = [_ds(v) for v in position]
    ds.ImageOrientationPatient = [_ds(v) for v in (*geometry.row_cosine, *geometry.column_cosine)]
    normal = np.cross(geometry.row_cosine, geometry.column_cosine)
    ds.SliceLocation = _ds(float(position @ normal))
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = _ds(scaling.intercept)
    ds.RescaleSlope = _ds(scaling.slope)
    ds.RescaleType = "US"
    ds.DiffusionBValue = bvalue
    if bvalue > 0 and np.any(direction):
        ds.DiffusionDirectionality = "DIRECTIONAL"
        ds.DiffusionGradientOrientation = [float(v) for v in direction]
    else:  # b0, or a trace-weighted volume with b > 0 and no direction
        ds.DiffusionDirectionality = "ISOTROPIC" if bvalue > 0 else "NONE"
    return ds
