"""Malformed NIfTI + FSL gradient sessions: each is refused by name, its neighbours read as alone.

Each case damages a copy of a good session (8x8x4 voxels, 1 b0 + 6 directions) landed as
sub-bad/ses-01 beside a good NIfTI and a good DICOM session (corpus.check_session_fault).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainstar.domain.neuro import dwi_session, nifti
from tests.reliability.corpus import (
    SessionFault,
    SessionOutcome,
    assert_clear_message,
    check_session_fault,
    gunzip,
    params,
    truncate,
    write_gzip,
)

DWI, BVAL, BVEC = "dwi.nii.gz", "dwi.bval", "dwi.bvec"
NIFTI1_HEADER_BYTES = 348


def header_fields(**fields: object) -> Callable[[Path], None]:
    """Set fields of the stored NIfTI-1 header, bypassing nibabel's checks and fixes."""

    def damage(session: Path) -> None:
        raw = gunzip(session / DWI)
        header = nib.Nifti1Header(bytearray(raw[:NIFTI1_HEADER_BYTES]), check=False)
        for name, value in fields.items():
            header[name] = value
        write_gzip(session / DWI, header.binaryblock + raw[NIFTI1_HEADER_BYTES:])

    return damage


def voxels(change: Callable[[np.ndarray], np.ndarray], dtype: object = None) -> Callable[[Path], None]:
    """Rewrite dwi.nii.gz with ``change(data)`` (float32, (X, Y, Z, N)) as its voxels."""

    def damage(session: Path) -> None:
        image = nib.load(session / DWI)
        data = change(image.get_fdata(dtype=np.float32))
        changed = nib.Nifti1Image(data, image.affine, None if data.dtype.names else image.header)
        if dtype is not None:
            changed.set_data_dtype(dtype)
        nib.save(changed, session / DWI)

    return damage


def spatial(data: np.ndarray, value: float, volume: int = 5) -> np.ndarray:
    data[2, 3, 1, volume] = value
    return data


def rgb(data: np.ndarray) -> np.ndarray:
    return np.zeros(data.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])


def text(name: str, content: str | bytes) -> Callable[[Path], None]:
    def damage(session: Path) -> None:
        path = session / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return damage


def rows(name: str, change: Callable[[list[list[str]]], list[list[str]]]) -> Callable[[Path], None]:
    """Rewrite a gradient file from ``change`` of its rows of tokens."""

    def damage(session: Path) -> None:
        path = session / name
        table = [line.split() for line in path.read_text().splitlines() if line.strip()]
        path.write_text("\n".join(" ".join(row) for row in change(table)) + "\n")

    return damage


def set_token(row: int, column: int, value: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(table: list[list[str]]) -> list[list[str]]:
        table[row][column] = value
        return table

    return change


def scale_weighted_bvecs(factor: float) -> Callable[[list[list[str]]], list[list[str]]]:
    return lambda table: [[row[0], *(f"{float(v) * factor:.6f}" for v in row[1:])] for row in table]


def remove(name: str) -> Callable[[Path], None]:
    return lambda session: (session / name).unlink()


def replace_by_folder(session: Path) -> None:
    (session / DWI).unlink()
    (session / DWI).mkdir()


def replace_by(name: str) -> Callable[[Path], None]:
    return lambda session: (session / DWI).write_bytes((session / name).read_bytes())


IMAGE_FAULTS = [
    SessionFault(
        "truncated_gzip", lambda s: truncate(s / DWI, 0.5), DWI, r"truncated or corrupt gzip stream"
    ),
    SessionFault("not_gzip", text(DWI, "dwi scan exported on Monday\n" * 20), DWI, r"not a gzip file"),
    SessionFault("zero_bytes", text(DWI, b""), DWI, r"not a readable NIfTI image .*Empty file"),
    SessionFault(
        "uncompressed_nifti_named_gz",
        lambda s: (s / DWI).write_bytes(gunzip(s / DWI)),
        DWI,
        r"not a gzip file",
    ),
    SessionFault(
        "gzip_of_garbage",
        lambda s: write_gzip(s / DWI, bytes(range(256)) * 8),
        DWI,
        r"not a readable NIfTI image .*Cannot work out file type",
    ),
    SessionFault(
        "header_cut_short",
        lambda s: write_gzip(s / DWI, gunzip(s / DWI)[:200]),
        DWI,
        r"not a readable NIfTI image",
    ),
    SessionFault("bad_magic", header_fields(magic=b"xxx"), DWI, r"Cannot work out file type"),
    SessionFault(
        "dims_30000_cubed",
        header_fields(dim=[4, 30000, 30000, 30000, 7, 1, 1, 1]),
        DWI,
        r"header dim \[30000, 30000, 30000, 7\] \(float32\) needs 1\.51e\+06 GB to read, over the 8 GB "
        r"memory budget \(raise BRAINSTAR_NIFTI_MEMORY_BUDGET_GB",
    ),
    SessionFault(
        "voxel_data_shorter_than_header_says",
        lambda s: write_gzip(s / DWI, gunzip(s / DWI)[:-3000]),
        DWI,
        r"not a readable NIfTI image \(OSError: Expected 7168 bytes, got 4168 bytes",
    ),
    SessionFault(
        "vox_offset_past_the_end",
        header_fields(vox_offset=1e6),
        DWI,
        r"Expected 7168 bytes, got 0 bytes",
    ),
    SessionFault(
        "nan_voxel",
        voxels(lambda d: spatial(d, np.nan)),
        DWI,
        r"volumes \[5\] contain NaN or infinite values",
    ),
    SessionFault(
        "inf_voxel",
        voxels(lambda d: spatial(d, np.inf, volume=0)),
        DWI,
        r"volumes \[0\] contain NaN or infinite values",
    ),
    SessionFault(
        "three_d_image", replace_by("labels.nii.gz"), DWI, r"expected a 4-D diffusion series, found 3-D"
    ),
    SessionFault(
        "five_d_image", voxels(lambda d: d[..., None]), DWI, r"expected a 4-D diffusion series, found 5-D"
    ),
    SessionFault(
        "zero_volumes", header_fields(dim=[4, 8, 8, 4, 0, 1, 1, 1]), DWI, r"dim \[8, 8, 4, 0\] has an axis"
    ),
    SessionFault(
        "negative_dim", header_fields(dim=[4, -8, 8, 4, 7, 1, 1, 1]), DWI, r"dim \[-8, 8, 4, 7\] has an axis"
    ),
    SessionFault(
        "dim0_out_of_range",
        header_fields(dim=[9, 8, 8, 4, 7, 1, 1, 1]),
        DWI,
        r"not a readable NIfTI image \(HeaderDataError",
    ),
    SessionFault(
        "unknown_datatype_code", header_fields(datatype=1234), DWI, r"data code 1234 not recognized"
    ),
    SessionFault(
        "complex_voxels",
        voxels(lambda d: d.astype(np.complex64), np.complex64),
        DWI,
        r"voxel type complex64 is not a real-valued intensity",
    ),
    SessionFault("rgb_voxels", voxels(rgb), DWI, r"voxel type RGB is not a real-valued intensity"),
    SessionFault(
        "negative_pixdim",
        header_fields(pixdim=[1, -2, 2, 2, 1, 1, 1, 1]),
        DWI,
        r"voxel sizes \[-2\.0, 2\.0, 2\.0\] mm; they must be positive and finite",
    ),
    SessionFault(
        "zero_pixdim",
        header_fields(pixdim=[1, 2, 0, 2, 1, 1, 1, 1]),
        DWI,
        r"voxel sizes \[2\.0, 0\.0, 2\.0\]",
    ),
    SessionFault(
        "nan_pixdim",
        header_fields(pixdim=[1, 2, 2, np.nan, 1, 1, 1, 1]),
        DWI,
        r"voxel sizes \[2\.0, 2\.0, nan\]",
    ),
    SessionFault(
        "sform_nan",
        header_fields(srow_x=[np.nan, 0, 0, 0]),
        DWI,
        r"voxel-to-world affine \(sform/qform\) holds NaN or infinite values",
    ),
    SessionFault(
        "qform_garbage_without_sform",
        header_fields(sform_code=0, quatern_b=np.nan, qoffset_x=np.inf),
        DWI,
        r"affine \(sform/qform\) holds NaN or infinite values",
    ),
    SessionFault(
        "singular_sform",
        header_fields(srow_x=[0, 0, 0, 0], srow_y=[0, 0, 0, 0], srow_z=[0, 0, 0, 0]),
        "",
        r"affine is singular",
        gate=True,
    ),
]

GRADIENT_FAULTS = [
    SessionFault("bval_count_mismatch", text(BVAL, "0 1000 1000\n"), BVAL, r"3 b-values for 7 volumes"),
    SessionFault(
        "bval_not_numeric",
        rows(BVAL, set_token(0, 2, "b1000")),
        BVAL,
        r"not numeric \(could not convert string to float: 'b1000'\)",
    ),
    SessionFault(
        "bval_negative", rows(BVAL, set_token(0, 2, "-1000")), "", r"negative b-values in volumes \[2\]", True
    ),
    SessionFault(
        "bval_implausible", rows(BVAL, set_token(0, 3, "5e6")), "", r"max b-value 5e\+06 .* implausible", True
    ),
    SessionFault("bval_empty", text(BVAL, ""), BVAL, r"file is empty"),
    SessionFault("bval_blank_lines", text(BVAL, "\n  \n\n"), BVAL, r"file is empty"),
    SessionFault(
        "bval_two_rows",
        text(BVAL, "0 1000 1000 1000 1000 1000 1000\n" * 2),
        BVAL,
        r"expected one row of b-values, found shape \(2, 7\)",
    ),
    SessionFault("bval_not_utf8", text(BVAL, b"\xff\xfe0\x00 1000"), BVAL, r"unreadable \('utf-8' codec"),
    SessionFault(
        "bval_nan", rows(BVAL, set_token(0, 4, "nan")), BVAL, r"b-values of volumes \[4\] are NaN or infinite"
    ),
    SessionFault(
        "bval_overflows_float",
        rows(BVAL, set_token(0, 1, "1e400")),
        BVAL,
        r"b-values of volumes \[1\] are NaN or infinite",
    ),
    SessionFault(
        "bvec_two_rows",
        rows(BVEC, lambda table: table[:2]),
        BVEC,
        r"expected 3 rows of b-vectors \(FSL convention\), found shape \(2, 7\)",
    ),
    SessionFault(
        "bvec_four_rows", rows(BVEC, lambda table: [*table, table[0]]), BVEC, r"found shape \(4, 7\)"
    ),
    SessionFault(
        "bvec_ragged_rows",
        rows(BVEC, lambda table: [table[0], table[1][:3], table[2]]),
        BVEC,
        r"rows have different lengths \[3, 7\]",
    ),
    SessionFault(
        "bvec_count_mismatch",
        rows(BVEC, lambda table: [row[:5] for row in table]),
        BVEC,
        r"5 b-vectors for 7 volumes",
    ),
    SessionFault("bvec_not_numeric", rows(BVEC, set_token(1, 3, "0,5")), BVEC, r"not numeric .*'0,5'"),
    SessionFault(
        "bvec_nan_on_weighted_volume",
        rows(BVEC, set_token(0, 3, "nan")),
        BVEC,
        r"b-vectors of volumes \[3\] are NaN or infinite but their b-values are above 50",
    ),
    SessionFault(
        "bvec_zero_for_weighted_volumes",
        rows(BVEC, scale_weighted_bvecs(0.0)),
        "",
        r"b-vectors deviate from unit length by up to 1\.000",
        gate=True,
    ),
    SessionFault(
        "bvec_not_unit",
        rows(BVEC, scale_weighted_bvecs(5.0)),
        "",
        r"b-vectors deviate from unit length by up to 4\.000",
        gate=True,
    ),
]

MISSING_FAULTS = [
    SessionFault("missing_dwi", remove(DWI), "", r"no DWI found: missing dwi\.nii\.gz$"),
    SessionFault("missing_bval", remove(BVAL), "", r"no DWI found: missing dwi\.bval$"),
    SessionFault("missing_bvec", remove(BVEC), "", r"no DWI found: missing dwi\.bvec$"),
    SessionFault("dwi_is_a_folder", replace_by_folder, "", r"no DWI found: missing dwi\.nii\.gz$"),
]


@pytest.mark.parametrize("fault", params(IMAGE_FAULTS + GRADIENT_FAULTS + MISSING_FAULTS))
def test_a_malformed_nifti_session_is_refused_by_name_beside_good_sessions(
    fault: SessionFault,
    fault_neuro_landing: Path,
    fault_neuro_template: tuple[Path, dict[str, Path]],
    fault_neuro_good: dict[str, SessionOutcome],
) -> None:
    check_session_fault(fault, fault_neuro_landing, fault_neuro_template[1]["nifti"], fault_neuro_good)


def test_the_memory_budget_is_read_from_the_environment(
    fault_neuro_template: tuple[Path, dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = fault_neuro_template[1]["nifti"]
    files = dwi_session.find_nifti_session(session)
    monkeypatch.setenv(nifti.MEMORY_BUDGET_ENV, "1e-5")  # 10 kB; the 8x8x4x7 float32 series needs 14.3 kB
    with pytest.raises(dwi_session.SessionInputError) as caught:
        dwi_session.inspect_headers(files)
    assert_clear_message(str(caught.value), str(files.dwi), r"needs 1\.43e-05 GB to read, over the 1e-05 GB")
    monkeypatch.setenv(nifti.MEMORY_BUDGET_ENV, "2e-5")
    assert dwi_session.inspect_headers(files)[0].consistent
    monkeypatch.setenv(nifti.MEMORY_BUDGET_ENV, "lots")
    with pytest.raises(ValueError, match=r"BRAINSTAR_NIFTI_MEMORY_BUDGET_GB='lots' is not a positive number"):
        dwi_session.inspect_headers(files)
