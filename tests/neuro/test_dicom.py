"""The DICOM path: a known diffusion volume written as DICOM comes back from dcm2niix unchanged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from brainstar.demo.neuro.dicom_series import MANUFACTURER, quantisation, write_dicom_series
from brainstar.domain.neuro.dcm2niix import convert_dicom_to_nifti, dcm2niix_binary, dcm2niix_version
from brainstar.domain.neuro.dicom_conventions import as_dcm2niix_writes, fsl_bvecs_to_world
from brainstar.domain.neuro.dicom_headers import inspect_dicom_series
from brainstar.domain.neuro.dwi_session import SessionInputError
from tests.conftest import tree_digest

SHAPE = (10, 12, 6)
BVALUE = 1000.0


@dataclass(frozen=True)
class KnownSeries:
    data: np.ndarray  # (X, Y, Z, N)
    affine: np.ndarray  # (4, 4) RAS mm
    bvals: np.ndarray  # (N,) s/mm^2
    bvecs: np.ndarray  # (N, 3) FSL convention


def rotation(axis: int, degrees: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    i, j = [a for a in range(3) if a != axis]
    matrix = np.eye(3)
    matrix[i, i], matrix[i, j], matrix[j, i], matrix[j, j] = c, -s, s, c
    return matrix


def known_series(*, right_handed: bool, seed: int = 0) -> KnownSeries:
    """1 b0 + 6 directions, 2 mm in-plane and 2.5 mm slices, obliquely rotated and offset."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(0.0, 1500.0, size=(*SHAPE, 7))
    data[..., 0] += 500.0  # b0 is brighter, as in real data
    zooms = np.diag([2.0, 2.0, 2.5] if right_handed else [-2.0, 2.0, 2.5])  # LAS when not right-handed
    affine = np.eye(4)
    affine[:3, :3] = rotation(2, 20.0) @ rotation(0, -12.0) @ zooms
    affine[:3, 3] = [-11.0, -20.5, 15.25]
    directions = rng.normal(size=(6, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return KnownSeries(
        data=data,
        affine=affine,
        bvals=np.array([0.0] + [BVALUE] * 6),
        bvecs=np.vstack([np.zeros(3), directions]),
    )


def write(series: KnownSeries, folder: Path, *, seed: int = 7, subject: str = "sub-01") -> list[Path]:
    return write_dicom_series(
        series.data,
        series.affine,
        series.bvals,
        series.bvecs,
        folder,
        subject=subject,
        session="ses-01",
        seed=seed,
    )


def load(nifti: Path, bval: Path, bvec: Path) -> tuple[np.ndarray, ...]:
    """(data, affine, bvals (N,), bvecs (N, 3)) as dcm2niix wrote them."""
    image = nib.load(nifti)
    return image.get_fdata(), image.affine, np.loadtxt(bval), np.loadtxt(bvec).T


def test_las_series_round_trips_exactly_through_dcm2niix(tmp_path: Path) -> None:
    series = known_series(right_handed=False)
    dicom_dir = tmp_path / "dicom"
    files = write(series, dicom_dir)
    assert len(files) == 6 * 7
    assert sorted(dicom_dir.iterdir()) == sorted(files)  # no temporary files left behind

    before = tree_digest(dicom_dir)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    inventory = inspect_dicom_series(dicom_dir, scratch_parent=scratch)
    assert tree_digest(dicom_dir) == before  # the check's conversion never touches the landing folder
    assert list(scratch.iterdir()) == []  # and is removed
    assert inventory.issues == []
    assert (inventory.n_files, inventory.n_volumes, inventory.n_slices) == (42, 7, 6)
    assert (inventory.rows, inventory.columns) == (SHAPE[1], SHAPE[0])
    assert inventory.bvalues == [0.0, BVALUE]
    assert inventory.manufacturer == MANUFACTURER
    assert inventory.series_uid == str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
    assert inventory.gradient_sources == {"public (0018,9087)": 42}
    assert inventory.dcm2niix["version"] == dcm2niix_version()
    assert inventory.converted is not None
    assert (inventory.converted["shape"], inventory.converted["n_b0"]) == ([*SHAPE, 7], 1)

    out_dir = tmp_path / "nifti"
    converted = convert_dicom_to_nifti(dicom_dir, out_dir, "dwi")
    assert tree_digest(dicom_dir) == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["dwi.bval", "dwi.bvec", "dwi.json", "dwi.nii.gz"]
    assert sorted(converted.paths()) == sorted(out_dir.iterdir())

    data, affine, bvals, bvecs = load(converted.nifti, converted.bval, converted.bvec)
    scaling = quantisation(series.data)
    assert data.shape == series.data.shape
    error = np.max(np.abs(data - series.data))
    assert error <= scaling.max_error
    assert error > 0  # the data really went through uint16 quantisation
    np.testing.assert_allclose(affine, series.affine, atol=1e-3)
    np.testing.assert_array_equal(bvals, series.bvals)
    np.testing.assert_allclose(bvecs, series.bvecs, atol=1e-4)  # exact, not just up to sign


def test_ras_series_comes_back_with_reversed_slices_and_same_world_directions(tmp_path: Path) -> None:
    series = known_series(right_handed=True, seed=1)
    write(series, tmp_path / "dicom")
    converted = convert_dicom_to_nifti(tmp_path / "dicom", tmp_path / "nifti", "dwi")
    data, affine, bvals, bvecs = load(converted.nifti, converted.bval, converted.bvec)

    want_data, want_affine, want_bvecs = as_dcm2niix_writes(series.data, series.affine, series.bvecs)
    assert np.linalg.det(affine[:3, :3]) < 0
    assert np.max(np.abs(data - want_data)) <= quantisation(series.data).max_error
    np.testing.assert_allclose(affine, want_affine, atol=1e-3)
    np.testing.assert_array_equal(bvals, series.bvals)
    np.testing.assert_allclose(bvecs, want_bvecs, atol=1e-4)
    # The gradients point the same way in the scanner, whichever voxel order was written.
    np.testing.assert_allclose(
        fsl_bvecs_to_world(bvecs, affine), fsl_bvecs_to_world(series.bvecs, series.affine), atol=1e-4
    )
    # Same world position of a voxel: input (1, 2, 0) is output (1, 2, Z-1).
    np.testing.assert_allclose(affine @ [1, 2, SHAPE[2] - 1, 1], series.affine @ [1, 2, 0, 1], atol=1e-3)


def test_uids_are_deterministic_from_the_seed(tmp_path: Path) -> None:
    series = known_series(right_handed=False)
    first = write(series, tmp_path / "a", seed=3)
    again = write(series, tmp_path / "b", seed=3)
    other = write(series, tmp_path / "c", seed=4)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    uids = [pydicom.dcmread(p, stop_before_pixels=True) for p in (first[0], other[0])]
    assert uids[0].SeriesInstanceUID != uids[1].SeriesInstanceUID
    assert uids[0].SOPInstanceUID != uids[1].SOPInstanceUID
    assert len({pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in first}) == len(first)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("garbage.dcm", lambda good: b"this is not a DICOM file\n" * 20),
        ("cut_in_pixels.dcm", lambda good: good[: len(good) - 100]),
        ("cut_in_header.dcm", lambda good: good[:400]),
        ("empty.dcm", lambda good: b""),
    ],
)
def test_damaged_file_is_named(tmp_path: Path, name: str, damage: Callable[[bytes], bytes]) -> None:
    files = write(known_series(right_handed=False), tmp_path / "dicom")
    bad = tmp_path / "dicom" / name
    bad.write_bytes(damage(files[0].read_bytes()))
    with pytest.raises(SessionInputError) as caught:
        inspect_dicom_series(tmp_path / "dicom")
    assert caught.value.path == bad
    assert name in str(caught.value)


def test_inconsistencies_are_listed(tmp_path: Path) -> None:
    dicom_dir = tmp_path / "dicom"
    files = write(known_series(right_handed=False), dicom_dir)
    other = known_series(right_handed=False)
    small = KnownSeries(other.data[:8, :8, :2], other.affine, other.bvals, other.bvecs)
    write(small, tmp_path / "other", seed=99)
    for path in sorted((tmp_path / "other").iterdir())[:2]:
        path.rename(dicom_dir / f"x_{path.name}")
    files[-1].unlink()  # the last volume is now incomplete

    inventory = inspect_dicom_series(dicom_dir)
    text = "\n".join(inventory.issues)
    assert "mixed series: 2 SeriesInstanceUIDs" in text
    assert "inconsistent image sizes" in text
    assert "incomplete volumes" in text
    assert "conversion failed: dcm2niix exited with 8 (some series converted, some failed)" in text
    assert inventory.n_files == 42 - 1 + 2
    assert inventory.converted is None


def test_a_series_without_any_b_value_fails_on_the_converted_gradients(tmp_path: Path) -> None:
    """With no diffusion tag anywhere, dcm2niix writes b = 0 throughout, which the check rejects."""
    dicom_dir = tmp_path / "dicom"
    for path in write(known_series(right_handed=False), dicom_dir):
        ds = pydicom.dcmread(path)
        for keyword in ("DiffusionBValue", "DiffusionGradientOrientation", "DiffusionDirectionality"):
            if keyword in ds:
                delattr(ds, keyword)
        ds.save_as(path)

    inventory = inspect_dicom_series(dicom_dir)
    assert inventory.gradient_sources == {}
    assert inventory.bvalues == [0.0]
    assert inventory.issues == ["0 diffusion-weighted volumes; a tensor needs 6"]


def test_two_series_fail_conversion_naming_the_folder(tmp_path: Path) -> None:
    dicom_dir = tmp_path / "dicom"
    write(known_series(right_handed=False), dicom_dir, seed=1)
    write(known_series(right_handed=False, seed=2), tmp_path / "second", seed=2, subject="sub-02")
    for path in (tmp_path / "second").iterdir():
        path.rename(dicom_dir / f"second_{path.name}")
    out_dir = tmp_path / "nifti"
    with pytest.raises(SessionInputError, match="more than one series") as caught:
        convert_dicom_to_nifti(dicom_dir, out_dir, "dwi")
    assert caught.value.path == dicom_dir
    assert list(out_dir.iterdir()) == []  # the scratch folder is gone, nothing half-written


def test_folder_without_dicom_fails_with_dcm2niix_message(tmp_path: Path) -> None:
    dicom_dir = tmp_path / "dicom"
    dicom_dir.mkdir()
    (dicom_dir / "notes.txt").write_text("no images here\n")
    with pytest.raises(
        SessionInputError, match=r"dcm2niix exited with 2 \(no valid DICOM files found\)"
    ) as caught:
        convert_dicom_to_nifti(dicom_dir, tmp_path / "nifti", "dwi")
    assert caught.value.path == dicom_dir


def test_binary_is_found_without_an_activated_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert dcm2niix_binary().is_file()
    assert dcm2niix_version().startswith("v1.0.")
    write(known_series(right_handed=False), tmp_path / "dicom")
    converted = convert_dicom_to_nifti(tmp_path / "dicom", tmp_path / "nifti", "sub-01_dwi")
    assert converted.nifti.name == "sub-01_dwi.nii.gz"
    assert nib.load(converted.nifti).shape == (*SHAPE, 7)
