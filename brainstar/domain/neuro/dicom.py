"""The DICOM path of a diffusion session: write a known series, inspect it, convert it with dcm2niix.

``write_dicom_series`` turns a 4-D volume with a RAS+ affine and FSL gradients into classic
single-frame MR Image Storage files (one per slice per volume) that dcm2niix converts back to
the same array, affine, b-values and b-vectors. ``inspect_dicom_series`` reads headers only and
lists what is inconsistent; ``convert_dicom_to_nifti`` runs the dcm2niix binary shipped by the
``dcm2niix`` PyPI package and moves its outputs into place atomically.

Conventions (the ones dcm2niix uses, so that the round trip is exact):

* NIfTI voxel ``(i, j, k)`` is DICOM column ``i``, row ``Y - 1 - j`` of slice ``k``: dcm2niix
  flips the row axis when it writes NIfTI, so the writer flips it first.
* DICOM geometry is LPS (x to patient left, y to posterior); NIfTI affines are RAS.
* DiffusionGradientOrientation (0018,9089) is a unit vector in LPS patient space; dcm2niix
  rotates it into the FSL image-space convention (x negated when the affine's determinant is
  positive). The writer inverts that rotation.
* dcm2niix stacks 2-D slices along ``row_cosine x column_cosine`` and therefore always writes
  an affine with a negative determinant (LAS-like, as scanners' NIfTI usually is). Such an
  input round-trips exactly; an input with a positive determinant comes back as the same
  image with its slice axis reversed, which :func:`as_dcm2niix_writes` predicts.
* The diffusion tags are the standard DiffusionBValue (0018,9087), DiffusionGradientOrientation
  (0018,9089) and DiffusionDirectionality (0018,9075) at the top level of each file, under
  Manufacturer "TOSHIBA", whose classic DICOM used exactly these public tags in patient
  space. dcm2niix (checked with v1.0.20260724) rotates them into image space for TOSHIBA,
  SIEMENS and Philips, but takes them as already image-space for Canon and GE, so those two
  names must not be used; an unknown manufacturer makes it warn "assuming Philips".
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from brainstar.core.atomic import atomic_path
from brainstar.domain.neuro.dwi_session import SessionInputError, fsl_to_voxel_frame

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])
UINT16_MAX = 65535
ORTHOGONALITY_TOLERANCE = 1e-4  # cosine between affine columns still treated as orthogonal
POSITION_DECIMALS = 3  # mm: slice positions are compared to the micrometre
DCM2NIIX_TIMEOUT_S = 300.0
MANUFACTURER = "TOSHIBA"  # see module docstring: dcm2niix reads 0018,9089 as patient-space for it
# dcm2niix's exit codes (console/nii_dicom.h), so a failure says more than a number.
DCM2NIIX_EXIT_MEANINGS = {
    1: "unspecified error",
    2: "no valid DICOM files found",
    4: "corrupt file found",
    5: "input folder invalid",
    6: "output folder invalid",
    7: "output folder read-only",
    8: "some series converted, some failed",
    9: "rename error",
    10: "incomplete volumes found",
}
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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


@dataclass
class DicomInventory:
    """What the headers of one DICOM folder say.

    ``n_slices`` counts distinct slice positions, ``n_volumes`` the files at the most
    populated position; ``bvalues`` are the distinct DiffusionBValue values in s/mm^2.
    An empty ``issues`` list means one consistent diffusion series.
    """

    n_files: int
    n_volumes: int
    n_slices: int
    rows: int
    columns: int
    series_uid: str
    bvalues: list[float]
    manufacturer: str
    issues: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ConvertedSeries:
    """The four files dcm2niix wrote for one series, named ``<stem>.*`` in the output folder."""

    nifti: Path
    bval: Path
    bvec: Path
    sidecar: Path

    def paths(self) -> list[Path]:
        return [self.nifti, self.bval, self.bvec, self.sidecar]


# --------------------------------------------------------------------------- writing


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
    directions_lps = _fsl_to_lps(bvecs, affine)

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
            # Column i, row Y-1-j: see the module docstring.
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


def _fsl_to_lps(bvecs: np.ndarray, affine: np.ndarray) -> np.ndarray:
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
    """The (data, affine, FSL bvecs) dcm2niix produces from :func:`write_dicom_series`'s output.

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


# --------------------------------------------------------------------------- inspecting


@dataclass(frozen=True)
class _Header:
    path: Path
    series_uid: str
    rows: int
    columns: int
    position: tuple[float, ...] | None
    orientation: tuple[float, ...] | None
    bvalue: float | None
    has_direction: bool
    directionality: str
    manufacturer: str


def inspect_dicom_series(dicom_dir: Path) -> DicomInventory:
    """Read the headers (never the pixels) of every file directly in ``dicom_dir``.

    Hidden files (names starting with ".") are skipped, as dcm2niix skips them. A file that
    is not DICOM, cannot be parsed, has no pixel data or whose pixel data is cut short raises
    :class:`SessionInputError` naming it; disagreements between readable files (several
    series, image sizes, orientations, missing diffusion tags) are listed in ``issues``.
    """
    if not dicom_dir.is_dir():
        raise SessionInputError(dicom_dir, "DICOM folder does not exist")
    entries = sorted(p for p in dicom_dir.iterdir() if not p.name.startswith("."))
    files = [p for p in entries if p.is_file()]
    if not files:
        raise SessionInputError(dicom_dir, "no files in the DICOM folder")
    headers = [_read_header(path) for path in files]
    issues = [f"sub-folder {p.name} ignored" for p in entries if p.is_dir()]

    series = Counter(h.series_uid for h in headers)
    if len(series) > 1:
        issues.append(f"mixed series: {len(series)} SeriesInstanceUIDs ({dict(series)})")
    sizes = Counter((h.rows, h.columns) for h in headers)
    if len(sizes) > 1:
        issues.append(f"inconsistent image sizes (rows, columns): {dict(sizes)}")
    orientations = Counter(h.orientation for h in headers)
    if len(orientations) > 1:
        issues.append(f"{len(orientations)} different ImageOrientationPatient values")
    manufacturers = Counter(h.manufacturer for h in headers)
    if len(manufacturers) > 1:
        issues.append(f"mixed manufacturers: {dict(manufacturers)}")
    for label, missing in (
        ("ImagePositionPatient", [h for h in headers if h.position is None]),
        ("ImageOrientationPatient", [h for h in headers if h.orientation is None]),
        ("DiffusionBValue (0018,9087)", [h for h in headers if h.bvalue is None]),
        (
            "DiffusionGradientOrientation (0018,9089) with b > 0",
            [h for h in headers if h.bvalue and h.directionality != "ISOTROPIC" and not h.has_direction],
        ),
    ):
        if missing:
            issues.append(f"{len(missing)} file(s) missing {label}, e.g. {missing[0].path.name}")

    per_position = Counter(h.position for h in headers if h.position is not None)
    n_slices = len(per_position)
    n_volumes = max(per_position.values(), default=0)
    if len(set(per_position.values())) > 1:
        issues.append(
            f"slice positions hold different numbers of files ({min(per_position.values())} to {n_volumes}):"
            " incomplete volumes"
        )
    (rows, columns), _ = sizes.most_common(1)[0]
    return DicomInventory(
        n_files=len(headers),
        n_volumes=n_volumes,
        n_slices=n_slices,
        rows=rows,
        columns=columns,
        series_uid=series.most_common(1)[0][0],
        bvalues=sorted({h.bvalue for h in headers if h.bvalue is not None}),
        manufacturer=manufacturers.most_common(1)[0][0],
        issues=issues,
    )


def _read_header(path: Path) -> _Header:
    try:
        with open(path, "rb") as handle:
            ds = pydicom.dcmread(handle, stop_before_pixels=True)
            pixel_offset = handle.tell()
            _check_pixel_data(handle, pixel_offset, os.fstat(handle.fileno()).st_size, ds)
    except SessionInputError:
        raise
    except Exception as exc:  # pydicom raises many types for damaged files; all mean "unreadable"
        raise SessionInputError(path, f"not a readable DICOM file ({type(exc).__name__}: {exc})") from exc
    for keyword in ("SeriesInstanceUID", "Rows", "Columns"):
        if keyword not in ds:
            raise SessionInputError(path, f"DICOM file lacks {keyword}: not an image of a series")

    def floats(keyword: str) -> tuple[float, ...] | None:
        value = ds.get(keyword)
        return None if value is None else tuple(round(float(v), POSITION_DECIMALS) for v in value)

    bvalue = ds.get("DiffusionBValue")
    return _Header(
        path=path,
        series_uid=str(ds.SeriesInstanceUID),
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        position=floats("ImagePositionPatient"),
        orientation=floats("ImageOrientationPatient"),
        bvalue=None if bvalue is None else float(bvalue),
        has_direction="DiffusionGradientOrientation" in ds,
        directionality=str(ds.get("DiffusionDirectionality", "")),
        manufacturer=str(ds.get("Manufacturer", "")),
    )


def _check_pixel_data(handle: BinaryIO, offset: int, size: int, ds: pydicom.Dataset) -> None:
    """Check from the element header alone that the pixel data is present and complete.

    ``dcmread(stop_before_pixels=True)`` leaves the file positioned at the (7FE0,0010) tag,
    so the declared value length can be compared with the bytes left in the file.
    """
    path = Path(handle.name)
    handle.seek(offset)
    implicit_vr, little_endian = ds.original_encoding
    explicit, little = not implicit_vr, little_endian is not False
    head = handle.read(12 if explicit else 8)
    endian = "<" if little else ">"
    if len(head) < 8:
        raise SessionInputError(path, f"no pixel data: file ends at byte {size}, truncated or not an image")
    group, element = struct.unpack(endian + "HH", head[:4])
    if (group, element) != (0x7FE0, 0x0010):
        raise SessionInputError(
            path, f"expected pixel data at byte {offset}, found ({group:04X},{element:04X})"
        )
    if explicit:
        vr = head[4:6]
        length = struct.unpack(endian + "I", head[8:12])[0] if vr in (b"OB", b"OW", b"UN") else None
        if length is None:
            length = struct.unpack(endian + "H", head[6:8])[0]
            header_len = 8
        else:
            header_len = 12
    else:
        length = struct.unpack(endian + "I", head[4:8])[0]
        header_len = 8
    if length == 0xFFFFFFFF:
        return  # encapsulated (compressed) pixel data: its length is not declared up front
    available = size - offset - header_len
    if length > available:
        raise SessionInputError(path, f"pixel data truncated: {length} bytes declared, {available} present")


# --------------------------------------------------------------------------- converting


def dcm2niix_binary() -> Path:
    """The dcm2niix executable shipped by the ``dcm2niix`` PyPI package.

    Located through the package itself (``dcm2niix.bin_path``), falling back to the
    ``dcm2niix`` launcher beside ``sys.executable``, so it works without an activated venv.
    """
    try:
        import dcm2niix  # the PyPI wrapper: its package folder holds the binary

        candidate = Path(dcm2niix.bin_path)
    except (ImportError, AttributeError):
        candidate = Path(sys.executable).parent / "dcm2niix"
    if not (candidate.is_file() and os.access(candidate, os.X_OK)):
        raise FileNotFoundError(f"dcm2niix binary not found at {candidate}: pip install dcm2niix")
    return candidate


def dcm2niix_version() -> str:
    """The version string dcm2niix reports, e.g. ``v1.0.20260724``."""
    result = subprocess.run(
        [str(dcm2niix_binary()), "--version"], capture_output=True, text=True, check=False
    )
    found = re.search(r"v\d+\.\d+\.\d+\S*", result.stdout + result.stderr)
    return found.group(0) if found else (result.stdout + result.stderr).strip()


def convert_dicom_to_nifti(dicom_dir: Path, out_dir: Path, stem: str) -> ConvertedSeries:
    """Convert the one diffusion series in ``dicom_dir`` to ``<stem>.nii.gz/.bval/.bvec/.json``.

    dcm2niix writes only into a private temporary folder inside ``out_dir`` (never into
    ``dicom_dir``); each result is then renamed into place atomically, the image last, so a
    ``<stem>.nii.gz`` is only ever seen next to its gradients and sidecar. Existing files of
    the same names are replaced. Only files directly in ``dicom_dir`` are read (``-d 0``).

    Raises:
        SessionInputError: naming ``dicom_dir`` and dcm2niix's message, when dcm2niix fails,
            writes nothing, finds more than one series, or finds no diffusion gradients.
    """
    if not _STEM.match(stem):
        raise ValueError(f"stem {stem!r} must be a plain file name (letters, digits, '.', '_', '-')")
    if not dicom_dir.is_dir():
        raise SessionInputError(dicom_dir, "DICOM folder does not exist")
    binary = dcm2niix_binary()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{stem}.dcm2niix-") as scratch_name:
        scratch = Path(scratch_name)
        work = scratch / "out"
        work.mkdir()
        command = [
            str(binary),
            *("-f", stem),
            *("-o", str(work)),
            *("-z", "i"),  # built-in zlib: no dependency on a pigz binary
            *("-b", "y"),
            *("-ba", "y"),
            *("-d", "0"),
            *("-w", "2"),  # a second series gets a suffix instead of overwriting the first
            *("-v", "0"),
            str(dicom_dir),
        ]
        # HOME points at the scratch folder so no user ~/.dcm2nii.ini changes the options.
        env = {**os.environ, "HOME": str(scratch)}
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, check=False, env=env, timeout=DCM2NIIX_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as exc:
            raise SessionInputError(
                dicom_dir, f"dcm2niix ran longer than {DCM2NIIX_TIMEOUT_S:.0f} s"
            ) from exc
        message = _tail(result.stdout + result.stderr)
        if result.returncode != 0:
            meaning = DCM2NIIX_EXIT_MEANINGS.get(result.returncode, "unknown exit code")
            raise SessionInputError(
                dicom_dir, f"dcm2niix exited with {result.returncode} ({meaning}): {message}"
            )
        images = sorted(work.glob("*.nii.gz"))
        if not images:
            raise SessionInputError(dicom_dir, f"dcm2niix wrote no image: {message}")
        if len(images) > 1:
            names = ", ".join(p.name for p in images)
            raise SessionInputError(dicom_dir, f"more than one series converted ({names}): {message}")
        produced_stem = images[0].name[: -len(".nii.gz")]
        sources = {ext: work / f"{produced_stem}{ext}" for ext in (".bval", ".bvec", ".json", ".nii.gz")}
        missing = [ext for ext, path in sources.items() if not path.is_file()]
        if missing:
            raise SessionInputError(
                dicom_dir,
                f"dcm2niix wrote no {', '.join(missing)} (no diffusion gradients found?): {message}",
            )
        for ext, source in sources.items():
            with atomic_path(out_dir / f"{stem}{ext}") as tmp:
                os.replace(source, tmp)  # same file system: the scratch folder is inside out_dir
    return ConvertedSeries(
        nifti=out_dir / f"{stem}.nii.gz",
        bval=out_dir / f"{stem}.bval",
        bvec=out_dir / f"{stem}.bvec",
        sidecar=out_dir / f"{stem}.json",
    )


def _tail(text: str, limit: int = 800) -> str:
    """dcm2niix's output on one line, without its version banner, at most ``limit`` characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Chris Rorden's dcm2niiX")]
    text = " | ".join(lines) or "(no output)"
    return text if len(text) <= limit else "..." + text[-limit:]
