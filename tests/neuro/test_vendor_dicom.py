"""Vendor DICOM whose diffusion encoding is not in the public tags: the inventory checks what
dcm2niix converts it to instead of requiring DiffusionBValue (0018,9087).

Real files: nibabel ships a real Siemens mosaic DWI pair (b = 0 and b = 1000 of one series,
the encoding in the CSA header and in private (0019,xx) tags), two b0 mosaics of the same
protocol, and a real Philips enhanced multi-frame structural image. Written files: the
phantom as a classic Siemens series with the encoding only in private (0019,xx) tags.
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from brainstar.demo.neuro import phantom
from brainstar.demo.neuro.dicom_series import quantisation
from brainstar.demo.neuro.siemens_dicom import (
    PRIVATE_CREATOR,
    PUBLIC_DIFFUSION_KEYWORDS,
    write_siemens_dicom_series,
)
from brainstar.domain.neuro.dcm2niix import convert_dicom_to_nifti
from brainstar.domain.neuro.dicom_conventions import fsl_to_lps
from brainstar.domain.neuro.dicom_headers import CSA_SOURCE, inspect_dicom_series
from brainstar.domain.neuro.dwi_session import fsl_to_voxel_frame
from tests.conftest import tree_digest

SIEMENS_PRIVATE = "Siemens private (0019,100C)"
SIEMENS_DIFFUSION_TAGS = [(0x0019, element) for element in (0x100C, 0x100D, 0x100E, 0x1027)]
CSA_TAGS = [(0x0029, 0x1010), (0x0029, 0x1020)]  # CSA image and series headers
SIEMENS_DWI = ("siemens_dwi_0.dcm.gz", "siemens_dwi_1000.dcm.gz")
TOO_FEW_DIRECTIONS = "1 diffusion-weighted volumes; a tensor needs 6"


def nibabel_file(name: str) -> Path:
    path = Path(nib.__file__).parent / "nicom" / "tests" / "data" / name
    assert path.is_file(), f"nibabel no longer ships {name}"
    return path


def land(folder: Path, names: tuple[str, ...], edit: Callable[[pydicom.Dataset], None] | None = None) -> Path:
    """Copy (gunzipping) nibabel's files into ``folder``, each optionally edited and re-saved."""
    folder.mkdir()
    for name in names:
        target = folder / name.removesuffix(".gz")
        with gzip.open(nibabel_file(name)) if name.endswith(".gz") else open(nibabel_file(name), "rb") as src:
            target.write_bytes(src.read())
        if edit is not None:
            ds = pydicom.dcmread(target)
            edit(ds)
            ds.save_as(target)
    return folder


def drop(tags: list[tuple[int, int]]) -> Callable[[pydicom.Dataset], None]:
    """Delete those of ``tags`` the file has (a b0 file has no gradient direction)."""

    def edit(ds: pydicom.Dataset) -> None:
        for tag in tags:
            if tag in ds:
                del ds[tag]

    return edit


def csa_gradient(path: Path) -> tuple[float, np.ndarray]:
    """B_value and DiffusionGradientDirection (LPS) as nibabel reads them from the CSA header."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nibabel.nicom's "experimental" import warning
        from nibabel.nicom import csareader

    csa = csareader.get_csa_header(pydicom.dcmread(path, stop_before_pixels=True), "image")
    return csareader.get_b_value(csa), np.array(csareader.get_vector(csa, "DiffusionGradientDirection", 3))


def test_real_siemens_mosaic_pair_passes_all_but_the_tensor_count(tmp_path: Path) -> None:
    dicom_dir = land(tmp_path / "dicom", SIEMENS_DWI)
    before = tree_digest(dicom_dir)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    inventory = inspect_dicom_series(dicom_dir, scratch_parent=scratch)
    assert tree_digest(dicom_dir) == before
    assert list(scratch.iterdir()) == []

    assert inventory.manufacturer == "SIEMENS"
    assert (inventory.n_files, inventory.rows, inventory.columns) == (2, 896, 896)  # 48-slice mosaics
    assert (inventory.n_volumes, inventory.n_slices) == (2, 48)
    assert inventory.converted is not None and inventory.converted["shape"] == [128, 128, 48, 2]
    assert inventory.bvalues == [0.0, 1000.0]
    assert inventory.gradient_sources == {CSA_SOURCE: 2, SIEMENS_PRIVATE: 2}
    # Two volumes cannot fit a tensor: that, and nothing about missing public tags, is the issue.
    assert inventory.issues == [TOO_FEW_DIRECTIONS]


@pytest.mark.parametrize(
    ("kept", "removed"),
    [(CSA_SOURCE, SIEMENS_DIFFUSION_TAGS), (SIEMENS_PRIVATE, CSA_TAGS)],
    ids=["csa-header-only", "private-tags-only"],
)
def test_real_siemens_gradient_is_read_from_either_place(
    tmp_path: Path, kept: str, removed: list[tuple[int, int]]
) -> None:
    dicom_dir = land(tmp_path / "dicom", SIEMENS_DWI, drop(removed))
    inventory = inspect_dicom_series(dicom_dir)
    assert inventory.gradient_sources == {kept: 2}
    assert inventory.issues == [TOO_FEW_DIRECTIONS]

    converted = convert_dicom_to_nifti(dicom_dir, tmp_path / "nifti", "dwi")
    bvals, bvecs = np.loadtxt(converted.bval), np.loadtxt(converted.bvec).T
    want_b, want_direction = csa_gradient(
        land(tmp_path / "original", SIEMENS_DWI[1:]) / "siemens_dwi_1000.dcm"
    )
    np.testing.assert_array_equal(bvals, [0.0, want_b])
    np.testing.assert_array_equal(bvecs[0], [0.0, 0.0, 0.0])
    # dcm2niix's image-space vector, taken back to patient space, is the scanner's.
    lps = fsl_to_lps(bvecs, nib.load(converted.nifti).affine)
    np.testing.assert_allclose(lps[1], want_direction, atol=1e-6)


def test_real_siemens_b0_mosaics_fail_for_having_no_diffusion_weighting(tmp_path: Path) -> None:
    inventory = inspect_dicom_series(land(tmp_path / "dicom", ("0.dcm", "1.dcm")))
    assert inventory.gradient_sources == {CSA_SOURCE: 2, SIEMENS_PRIVATE: 2}
    assert inventory.bvalues == [0.0]
    assert inventory.issues == ["0 diffusion-weighted volumes; a tensor needs 6"]


def test_real_philips_enhanced_multiframe_structural_is_read_but_has_no_gradients(tmp_path: Path) -> None:
    inventory = inspect_dicom_series(land(tmp_path / "dicom", ("philips_mprage.dcm.gz",)))
    assert (inventory.manufacturer, inventory.n_files) == ("Philips Medical Systems", 1)
    assert inventory.gradient_sources == {}
    # Geometry comes from the functional groups, so nothing is reported missing; the one
    # issue is that dcm2niix converted a 3-D image with no gradients.
    assert len(inventory.issues) == 1
    assert inventory.issues[0].startswith(
        "conversion failed: dcm2niix wrote no .bval, .bvec (no diffusion gradients found?)"
    )
    assert "256x256x176x1" in inventory.issues[0]


SMALL_PHANTOM = phantom.PhantomSpec(
    shape=(16, 16, 6), regions=phantom.default_regions((16, 16, 6)), n_b0=2, n_directions=12
)


def write_siemens_phantom(
    folder: Path, spec: phantom.PhantomSpec = SMALL_PHANTOM, bvalue_scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[Path]]:
    """(data, affine, bvals, FSL bvecs, files) of the phantom written Siemens-style (LAS, as scanners)."""
    data, _ = phantom.simulate_dwi(spec, np.random.default_rng(5))
    bvals, voxel_bvecs = phantom.acquisition_scheme(spec)
    affine = phantom.voxel_affine(spec, radiological=True)
    bvecs = fsl_to_voxel_frame(voxel_bvecs, affine)
    files = write_siemens_dicom_series(
        data, affine, bvals * bvalue_scale, bvecs, folder, subject="sub-01", session="ses-01", seed=5
    )
    return data, affine, bvals, bvecs, files


def test_written_siemens_series_converts_to_the_written_scheme(tmp_path: Path) -> None:
    dicom_dir = tmp_path / "dicom"
    data, affine, bvals, bvecs, files = write_siemens_phantom(dicom_dir)
    n_volumes = SMALL_PHANTOM.n_b0 + SMALL_PHANTOM.n_directions
    assert len(files) == n_volumes * SMALL_PHANTOM.shape[2]
    assert sorted(dicom_dir.iterdir()) == sorted(files)
    assert [p.name for p in tmp_path.iterdir()] == ["dicom"]  # the public-tag scratch is gone
    for path in files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert ds.Manufacturer == "SIEMENS"
        assert not any(keyword in ds for keyword in PUBLIC_DIFFUSION_KEYWORDS)
        assert PRIVATE_CREATOR in ds.private_creators(0x0019)

    inventory = inspect_dicom_series(dicom_dir)
    assert inventory.issues == []
    assert inventory.gradient_sources == {SIEMENS_PRIVATE: len(files)}
    assert inventory.bvalues == [0.0, SMALL_PHANTOM.bvalue]
    assert (inventory.n_volumes, inventory.n_slices) == (n_volumes, SMALL_PHANTOM.shape[2])

    converted = convert_dicom_to_nifti(dicom_dir, tmp_path / "nifti", "dwi")
    image = nib.load(converted.nifti)
    np.testing.assert_array_equal(np.loadtxt(converted.bval), bvals)
    # An LAS series round-trips unchanged, so the FSL vectors are the written ones, sign included.
    np.testing.assert_allclose(np.loadtxt(converted.bvec).T, bvecs, atol=1e-4)
    np.testing.assert_allclose(image.affine, affine, atol=1e-3)
    assert np.max(np.abs(image.get_fdata() - data)) <= quantisation(data).max_error


def strip_siemens_b_values(folder: Path) -> None:
    for path in sorted(folder.iterdir()):
        ds = pydicom.dcmread(path)
        drop(SIEMENS_DIFFUSION_TAGS[:3])(ds)
        ds.save_as(path)


@pytest.mark.parametrize(
    ("damage", "issue"),
    [
        # b in s/m^2 instead of s/mm^2: dcm2niix converts it faithfully, the check rejects it.
        (lambda folder: write_siemens_phantom(folder, bvalue_scale=1e6), "max b-value 1e+09 s/mm^2"),
        # Without the private tags nothing carries the encoding (the SequenceName "ep_b1000" is
        # not read): every volume converts as b = 0.
        (
            lambda folder: (write_siemens_phantom(folder), strip_siemens_b_values(folder)),
            "0 diffusion-weighted volumes",
        ),
    ],
    ids=["b-values-in-wrong-units", "b-values-removed"],
)
def test_written_siemens_series_with_bad_encoding_fails_on_the_converted_result(
    tmp_path: Path, damage: Callable[[Path], object], issue: str
) -> None:
    damage(tmp_path / "dicom")
    inventory = inspect_dicom_series(tmp_path / "dicom")
    assert len(inventory.issues) == 1
    assert inventory.issues[0].startswith(issue)


def test_siemens_writer_refuses_fractional_b_values(tmp_path: Path) -> None:
    data = np.ones((4, 4, 2, 2))
    with pytest.raises(ValueError, match="integers"):
        write_siemens_dicom_series(
            data,
            np.diag([-2.0, 2.0, 2.0, 1.0]),
            np.array([0.0, 1000.5]),
            np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
            tmp_path / "dicom",
            subject="sub-01",
            session="ses-01",
            seed=0,
        )


@pytest.mark.parametrize(
    ("land_series", "issues"),
    [
        (lambda folder: write_siemens_phantom(folder), []),
        (lambda folder: land(folder, SIEMENS_DWI), [TOO_FEW_DIRECTIONS]),
    ],
    ids=["written-siemens", "real-siemens-pair"],
)
def test_headers_gate_judges_siemens_dicom_by_its_conversion(
    tmp_path: Path, land_series: Callable[[Path], object], issues: list[str]
) -> None:
    """The raw_session asset and its blocking check, as Dagster runs them, on Siemens DICOM."""
    import dagster as dg

    from platform_assets.neuro.assets import raw_session
    from platform_assets.neuro.checks import headers_consistent
    from platform_assets.neuro.partitions import neuro_sessions
    from resources import LandingZone, Warehouse

    key = "sub-01_ses-01"
    landing = tmp_path / "landing"
    session_dir = landing / "neuro" / "sub-01" / "ses-01"
    session_dir.mkdir(parents=True)
    land_series(session_dir / "dicom")
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(neuro_sessions.name, [key])
        result = dg.materialize(
            [raw_session, headers_consistent],
            instance=instance,
            partition_key=key,
            resources={
                "landing_zone": LandingZone(root=str(landing)),
                "warehouse": Warehouse(root=str(tmp_path / "warehouse")),
            },
            raise_on_error=False,
        )
    assert result.success == (not issues)  # a failed blocking check fails the run
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed == (not issues)
    assert evaluation.metadata["issues"].value == issues
    assert sorted(p.name for p in session_dir.iterdir()) == ["dicom"]  # nothing written into landing
