"""Inventory of a landed DICOM folder, and validation of what dcm2niix makes of it.

The DICOM headers are read (never the pixels) for what belongs to the files themselves: are
they readable images, one series, one geometry. Where the diffusion encoding lives differs
by vendor (public (0018,9087) tags, Siemens' CSA header or private (0019,xx) tags, GE's and
Philips' private tags), so it is not required in any one place: the series is converted by
dcm2niix into a private temporary folder and the resulting NIfTI + bval + bvec goes through
the same header checks as a landed NIfTI session. What the headers hold is only recorded.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pydicom

from brainstar.domain.neuro.dcm2niix import convert_dicom_to_nifti, dcm2niix_version
from brainstar.domain.neuro.dwi_session import DwiFiles, SessionInputError, inspect_headers

POSITION_DECIMALS = 3  # mm: slice positions are compared to the micrometre
# ImageOrientationPatient holds two unit direction cosines at right angles; scanners write them to
# about 1e-6, so a deviation of 1 % is a damaged header, not rounding.
ORIENTATION_TOLERANCE = 0.01

# Where vendors put the b-value outside the public tags: (label, group, private creator,
# element offset inside the creator's block). dcm2niix reads these (and more); they are
# recorded so a reader of the inventory knows what the conversion relied on.
PRIVATE_BVALUE_TAGS = (
    ("Siemens private (0019,100C)", 0x0019, "SIEMENS MR HEADER", 0x0C),
    ("GE private (0043,1039)", 0x0043, "GEMS_PARM_01", 0x39),
    ("Philips private (2001,1003)", 0x2001, "Philips Imaging DD 001", 0x03),
)
PUBLIC_SOURCE = "public (0018,9087)"
CSA_SOURCE = "Siemens CSA header"
CSA_GROUP = 0x0029


@dataclass
class DicomInventory:
    """What one DICOM folder holds and what dcm2niix converts it to.

    ``n_volumes`` and ``n_slices`` are those of the converted image when the conversion
    succeeded (a Siemens mosaic file holds a whole volume), otherwise the files at the most
    populated slice position and the number of positions. ``rows``/``columns`` are the DICOM
    image size. ``bvalues`` are the distinct b-values dcm2niix wrote (s/mm^2).
    ``gradient_sources`` counts files per place their headers hold a b-value. ``dcm2niix``
    records its version, run time, warnings and console lines (or its error), ``converted``
    the header report of the converted series. An empty ``issues`` list means one
    consistent diffusion series.
    """

    n_files: int
    n_volumes: int
    n_slices: int
    rows: int
    columns: int
    series_uid: str
    bvalues: list[float]
    manufacturer: str
    gradient_sources: dict[str, int]
    dcm2niix: dict[str, Any]
    converted: dict[str, Any] | None
    issues: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Header:
    path: Path
    series_uid: str
    rows: int
    columns: int
    position: tuple[float, ...] | None
    orientation: tuple[float, ...] | None
    manufacturer: str
    gradient_sources: tuple[str, ...]


@dataclass
class _Conversion:
    """dcm2niix's result checked as a NIfTI session: what it reported and what disagrees."""

    dcm2niix: dict[str, Any]
    report: dict[str, Any] | None = None
    bvalues: list[float] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)


def inspect_dicom_series(dicom_dir: Path, *, scratch_parent: Path | None = None) -> DicomInventory:
    """Inventory the files directly in ``dicom_dir`` and check what dcm2niix converts them to.

    Hidden files (names starting with ".") are skipped, as dcm2niix skips them. A file that
    is not DICOM, cannot be parsed, has no pixel data or whose pixel data is cut short raises
    :class:`SessionInputError` naming it. Disagreements between readable files (several
    series, image sizes, orientations), a failed conversion, and every issue
    :func:`~brainstar.domain.neuro.dwi_session.inspect_headers` finds in the converted
    NIfTI + bval + bvec are listed in ``issues``. The conversion is written to a temporary
    folder under ``scratch_parent`` (the system's temporary folder by default), never into
    ``dicom_dir``, and removed afterwards.
    """
    if not dicom_dir.is_dir():
        raise SessionInputError(dicom_dir, "DICOM folder does not exist")
    entries = sorted(p for p in dicom_dir.iterdir() if not p.name.startswith("."))
    files = [p for p in entries if p.is_file()]
    if not files:
        raise SessionInputError(dicom_dir, "no files in the DICOM folder")
    headers = [_read_header(path) for path in files]
    issues = [f"sub-folder {p.name} ignored" for p in entries if p.is_dir()]
    issues.extend(_series_issues(headers))
    conversion = _convert_and_check(dicom_dir, scratch_parent)
    issues.extend(conversion.issues)

    per_position = Counter(h.position for h in headers if h.position is not None)
    n_volumes, n_slices = max(per_position.values(), default=0), len(per_position)
    if conversion.report is not None:
        n_slices, n_volumes = conversion.report["shape"][2], conversion.report["n_volumes"]
    (rows, columns), _ = Counter((h.rows, h.columns) for h in headers).most_common(1)[0]
    return DicomInventory(
        n_files=len(headers),
        n_volumes=n_volumes,
        n_slices=n_slices,
        rows=rows,
        columns=columns,
        series_uid=Counter(h.series_uid for h in headers).most_common(1)[0][0],
        bvalues=conversion.bvalues,
        manufacturer=Counter(h.manufacturer for h in headers).most_common(1)[0][0],
        gradient_sources=dict(sorted(Counter(s for h in headers for s in h.gradient_sources).items())),
        dcm2niix=conversion.dcm2niix,
        converted=conversion.report,
        issues=issues,
    )


def _series_issues(headers: list[_Header]) -> list[str]:
    """What makes the files not one series of one geometry."""
    issues = []
    for label, values in (
        ("mixed series: {n} SeriesInstanceUIDs ({counts})", [h.series_uid for h in headers]),
        ("inconsistent image sizes (rows, columns): {counts}", [(h.rows, h.columns) for h in headers]),
        ("{n} different ImageOrientationPatient values", [h.orientation for h in headers]),
        ("mixed manufacturers: {counts}", [h.manufacturer for h in headers]),
    ):
        counts = Counter(values)
        if len(counts) > 1:
            issues.append(label.format(n=len(counts), counts=dict(counts)))
    for label, missing in (
        ("ImagePositionPatient", [h for h in headers if h.position is None]),
        ("ImageOrientationPatient", [h for h in headers if h.orientation is None]),
    ):
        if missing:
            issues.append(f"{len(missing)} file(s) missing {label}, e.g. {missing[0].path.name}")
    per_position = Counter(h.position for h in headers if h.position is not None)
    if len(set(per_position.values())) > 1:
        issues.append(
            f"slice positions hold different numbers of files ({min(per_position.values())} to"
            f" {max(per_position.values())}): incomplete volumes"
        )
    return issues


def _convert_and_check(dicom_dir: Path, scratch_parent: Path | None) -> _Conversion:
    """Convert with dcm2niix into a temporary folder and check the result as a NIfTI session.

    A conversion that fails, or whose files ``inspect_headers`` rejects, is an issue of the
    series (the landed DICOM is what the user fixes), not an error naming a temporary file.
    """
    with tempfile.TemporaryDirectory(prefix="brainstar-dicom-check-", dir=scratch_parent) as scratch:
        started = time.perf_counter()
        try:
            converted = convert_dicom_to_nifti(dicom_dir, Path(scratch), "dwi")
        except SessionInputError as error:
            return _Conversion(
                dcm2niix={
                    "version": dcm2niix_version(),
                    "seconds": round(time.perf_counter() - started, 3),
                    "error": error.problem,
                },
                issues=[f"conversion failed: {error.problem}"],
            )
        record = {
            "version": converted.version,
            "seconds": round(time.perf_counter() - started, 3),
            "warnings": converted.warnings,
            "messages": list(converted.messages),
        }
        try:
            report, bvals, _ = inspect_headers(DwiFiles(converted.nifti, converted.bval, converted.bvec))
        except SessionInputError as error:
            return _Conversion(
                dcm2niix=record, issues=[f"converted by dcm2niix, {error.path.name}: {error.problem}"]
            )
    return _Conversion(
        dcm2niix=record,
        report=report.as_dict(),
        bvalues=sorted({float(b) for b in bvals}),
        issues=list(report.issues),
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
    try:
        return _header_values(path, ds)
    except SessionInputError:
        raise
    except Exception as exc:  # pydicom decodes values on access: a damaged one fails only here
        raise SessionInputError(path, f"DICOM header value unreadable ({type(exc).__name__}: {exc})") from exc


def _header_values(path: Path, ds: pydicom.Dataset) -> _Header:
    orientation = _numbers(path, ds, "ImageOrientationPatient", "PlaneOrientationSequence", 6)
    if orientation is not None and not _is_orthonormal_pair(orientation):
        raise SessionInputError(
            path, f"ImageOrientationPatient {list(orientation)} is not two orthogonal unit vectors"
        )
    _check_bvalue(path, ds)
    return _Header(
        path=path,
        series_uid=str(ds.SeriesInstanceUID),
        rows=_integer(path, ds, "Rows"),
        columns=_integer(path, ds, "Columns"),
        position=_numbers(path, ds, "ImagePositionPatient", "PlanePositionSequence", 3),
        orientation=orientation,
        manufacturer=str(ds.get("Manufacturer", "")),
        gradient_sources=_gradient_sources(ds),
    )


def _integer(path: Path, ds: pydicom.Dataset, keyword: str) -> int:
    value = ds[keyword].value
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise SessionInputError(path, f"{keyword} {value!r} is not an integer") from exc


def _numbers(
    path: Path, ds: pydicom.Dataset, keyword: str, sequence: str, count: int
) -> tuple[float, ...] | None:
    """A geometry tag as ``count`` finite numbers (rounded to POSITION_DECIMALS), None when absent."""
    value = _plane_value(ds, keyword, sequence)
    if value is None:
        return None
    items = [value] if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") else list(value)
    try:
        numbers = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != count or not all(math.isfinite(v) for v in numbers):
        written = "\\".join(map(str, items))  # as DICOM separates values
        raise SessionInputError(path, f"{keyword} '{written}' is not {count} finite numbers")
    return tuple(round(v, POSITION_DECIMALS) for v in numbers)


def _is_orthonormal_pair(cosines: tuple[float, ...], tolerance: float = ORIENTATION_TOLERANCE) -> bool:
    row, column = cosines[:3], cosines[3:]
    norms = (math.sqrt(sum(v * v for v in row)), math.sqrt(sum(v * v for v in column)))
    dot = sum(a * b for a, b in zip(row, column, strict=True))
    return all(abs(n - 1.0) <= tolerance for n in norms) and abs(dot) <= tolerance


def _check_bvalue(path: Path, ds: pydicom.Dataset) -> None:
    """A public DiffusionBValue must be a b-value: dcm2niix reads text or a negative number as b = 0,
    which would turn a diffusion-weighted volume into a b0 without a word."""
    diffusion = [group.get("MRDiffusionSequence") for group in _functional_groups(ds)]
    holders = [ds, *(items[0] for items in diffusion if items)]
    for holder in holders:
        if "DiffusionBValue" not in holder:
            continue
        value = holder["DiffusionBValue"].value
        try:
            bvalue = float(value)
        except (TypeError, ValueError):
            bvalue = math.nan
        if not (math.isfinite(bvalue) and bvalue >= 0):
            raise SessionInputError(
                path, f"DiffusionBValue (0018,9087) {value!r} is not a b-value (a number >= 0)"
            )


def _functional_groups(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    """An enhanced (multi-frame) file's shared groups and its first frame's groups."""
    groups = []
    for keyword in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        items = ds.get(keyword)
        if items:
            groups.append(items[0])
    return groups


def _plane_value(ds: pydicom.Dataset, keyword: str, sequence: str) -> object | None:
    """A classic file's top-level geometry tag, or an enhanced file's (first frame's) one."""
    if keyword in ds:
        return ds[keyword].value
    for group in _functional_groups(ds):
        items = group.get(sequence)
        if items and keyword in items[0]:
            return items[0][keyword].value
    return None


def _gradient_sources(ds: pydicom.Dataset) -> tuple[str, ...]:
    """Every place in this file's header that holds a b-value."""
    sources = []
    diffusion = [group.get("MRDiffusionSequence") for group in _functional_groups(ds)]
    if "DiffusionBValue" in ds or any(items and "DiffusionBValue" in items[0] for items in diffusion):
        sources.append(PUBLIC_SOURCE)
    # Looking up a private block scans the group, so groups absent from the file are skipped.
    # keys() gives the tags alone; iterating the Dataset would decode every element.
    groups = {tag.group for tag in ds.keys()}  # noqa: SIM118
    if CSA_GROUP in groups and _csa_bvalue(ds) is not None:
        sources.append(CSA_SOURCE)
    for label, group, creator, offset in PRIVATE_BVALUE_TAGS:
        if group not in groups:
            continue
        try:
            block = ds.private_block(group, creator)
        except KeyError:  # no block of that creator in this file
            continue
        if offset in block:
            sources.append(label)
    return tuple(sources)


def _csa_bvalue(ds: pydicom.Dataset) -> float | None:
    """B_value from the Siemens CSA image header (0029,xx10), parsed by nibabel."""
    with warnings.catch_warnings():
        # nibabel.nicom warns on import that its DICOM readers are experimental; only the
        # CSA parser is used here.
        warnings.simplefilter("ignore", UserWarning)
        from nibabel.nicom import csareader
    try:
        csa = csareader.get_csa_header(ds, "image")
        return None if csa is None else csareader.get_b_value(csa)
    except Exception:  # a damaged vendor blob only means no CSA b-value: dcm2niix's result decides
        return None


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
