"""Malformed DICOM sessions: each is refused by name, its neighbours read as alone.

Each case damages a copy of a good DICOM session (28 slice files: 8x8 pixels, 4 slices,
1 b0 + 6 directions) landed as sub-bad/ses-01 beside a good NIfTI and a good DICOM session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from tests.reliability.corpus import SessionFault, SessionOutcome, check_session_fault, params, truncate

FIRST = "v0000_s0000.dcm"  # the b0 volume's first slice
WEIGHTED = "v0003_s0000.dcm"  # a diffusion-weighted volume's first slice


def files(session: Path, pattern: str = "*.dcm") -> list[Path]:
    return sorted((session / "dicom").glob(pattern))


def edit(change: Callable[[Dataset], None], pattern: str = FIRST) -> Callable[[Path], None]:
    """Apply ``change`` to the dataset of every file matching ``pattern`` and save it in place."""

    def damage(session: Path) -> None:
        for path in files(session, pattern):
            ds = pydicom.dcmread(path)
            change(ds)
            ds.save_as(path)

    return damage


def as_text(tag: int, value: str) -> Callable[[Dataset], None]:
    """Store ``tag`` as free text (LO): pydicom refuses text in a numeric element, exporters may not."""
    return lambda ds: ds.add_new(tag, "LO", value)


def drop(*keywords: str) -> Callable[[Dataset], None]:
    def change(ds: Dataset) -> None:
        for keyword in keywords:
            if keyword in ds:
                delattr(ds, keyword)

    return change


def smaller_image(ds: Dataset) -> None:
    ds.Rows = 4
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]


def write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda session: (session / "dicom" / name).write_bytes(content)


def empty_folder(session: Path) -> None:
    for path in files(session):
        path.unlink()


def hide_all(session: Path) -> None:
    for path in files(session):
        path.rename(path.with_name(f".{path.name}"))


def remove_slice(session: Path) -> None:
    files(session)[5].unlink()


POSITION, ORIENTATION, BVALUE, ROWS = 0x00200032, 0x00200037, 0x00189087, 0x00280010
DICOM_FAULTS = [
    SessionFault(
        "pixel_data_truncated",
        lambda s: truncate(s / "dicom" / FIRST, -50),
        f"dicom/{FIRST}",
        r"pixel data truncated: 128 bytes declared, 78 present",
    ),
    SessionFault(
        "text_file_named_dcm",
        write("readme.dcm", b"exported with the scanner's USB tool\n" * 20),
        "dicom/readme.dcm",
        r"not a readable DICOM file \(InvalidDicomError",
    ),
    SessionFault("zero_byte_dcm", write("zzz.dcm", b""), "dicom/zzz.dcm", r"not a readable DICOM file"),
    SessionFault(
        "header_cut_short",
        lambda s: truncate(s / "dicom" / FIRST, 400),
        f"dicom/{FIRST}",
        r"no pixel data: file ends at byte 400, truncated or not an image",
    ),
    SessionFault(
        "pixel_data_removed",
        edit(drop("PixelData")),
        f"dicom/{FIRST}",
        r"no pixel data: file ends at byte \d+, truncated or not an image",
    ),
    SessionFault("no_files", empty_folder, "dicom", r"no files in the DICOM folder"),
    SessionFault("only_hidden_files", hide_all, "dicom", r"no files in the DICOM folder"),
    SessionFault(
        "no_series_uid",
        edit(drop("SeriesInstanceUID")),
        f"dicom/{FIRST}",
        r"DICOM file lacks SeriesInstanceUID: not an image of a series",
    ),
    SessionFault(
        "position_not_numeric",
        edit(as_text(POSITION, "left\\1\\2")),
        f"dicom/{FIRST}",
        r"ImagePositionPatient 'left\\1\\2' is not 3 finite numbers",
    ),
    SessionFault(
        "position_two_values",
        edit(as_text(POSITION, "1\\2")),
        f"dicom/{FIRST}",
        r"ImagePositionPatient '1\\2' is not 3 finite numbers",
    ),
    SessionFault(
        "orientation_all_zero",
        edit(lambda ds: setattr(ds, "ImageOrientationPatient", [0, 0, 0, 0, 0, 0]), "*.dcm"),
        f"dicom/{FIRST}",
        r"ImageOrientationPatient \[0\.0, 0\.0, 0\.0, 0\.0, 0\.0, 0\.0\] is not two orthogonal unit vectors",
    ),
    SessionFault(
        "rows_not_integer",
        edit(as_text(ROWS, "eight")),
        f"dicom/{FIRST}",
        r"Rows 'eight' is not an integer",
    ),
    SessionFault(
        "bvalue_not_numeric",
        edit(as_text(BVALUE, "b1000"), WEIGHTED),
        f"dicom/{WEIGHTED}",
        r"DiffusionBValue \(0018,9087\) 'b1000' is not a b-value \(a number >= 0\)",
    ),
    SessionFault(
        "bvalue_negative",
        edit(lambda ds: setattr(ds, "DiffusionBValue", -1000), "v0003_*.dcm"),
        f"dicom/{WEIGHTED}",
        r"DiffusionBValue \(0018,9087\) -1000\.0 is not a b-value",
    ),
    SessionFault(
        "no_diffusion_tags",
        edit(drop("DiffusionBValue", "DiffusionGradientOrientation", "DiffusionDirectionality"), "*.dcm"),
        "",
        r"0 diffusion-weighted volumes; a tensor needs 6",
        gate=True,
    ),
    SessionFault(
        "one_slice_smaller",
        edit(smaller_image),
        "",
        r"inconsistent image sizes \(rows, columns\): \{\(4, 8\): 1, \(8, 8\): 27\}",
        gate=True,
    ),
    SessionFault(
        "missing_slice", remove_slice, "", r"slice positions hold different numbers of files", gate=True
    ),
    SessionFault(
        "second_series_uid",
        edit(lambda ds: setattr(ds, "SeriesInstanceUID", "1.2.3.4")),
        "",
        r"mixed series: 2 SeriesInstanceUIDs",
        gate=True,
    ),
    SessionFault(
        "too_large_for_nifti",
        edit(lambda ds: (setattr(ds, "Rows", 60000), setattr(ds, "Columns", 60000)), "*.dcm"),
        "",
        r"conversion failed: dcm2niix exited with 2 \(no valid DICOM files found\)",
        gate=True,
    ),
    SessionFault(
        "bits_allocated_beyond_pixel_data",
        edit(lambda ds: setattr(ds, "BitsAllocated", 32)),
        "",
        r"conversion failed: dcm2niix exited with 1 \(unspecified error\)",
        gate=True,
    ),
    SessionFault(
        "sub_folder_in_dicom",
        lambda s: (s / "dicom" / "extra").mkdir(),
        "",
        r"sub-folder extra ignored",
        gate=True,
    ),
]


@pytest.mark.parametrize("fault", params(DICOM_FAULTS))
def test_a_malformed_dicom_session_is_refused_by_name_beside_good_sessions(
    fault: SessionFault,
    fault_neuro_landing: Path,
    fault_neuro_template: tuple[Path, dict[str, Path]],
    fault_neuro_good: dict[str, SessionOutcome],
) -> None:
    check_session_fault(fault, fault_neuro_landing, fault_neuro_template[1]["dicom"], fault_neuro_good)
