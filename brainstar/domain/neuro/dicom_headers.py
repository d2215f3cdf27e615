"""Reading a landed DICOM folder's headers (never its pixels) and listing what disagrees."""

from __future__ import annotations

import os
import struct
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import pydicom

from brainstar.domain.neuro.dwi_session import SessionInputError

POSITION_DECIMALS = 3  # mm: slice positions are compared to the micrometre


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
