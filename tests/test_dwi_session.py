import gzip
import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainstar.demo.neuro import phantom
from brainstar.domain.neuro import dwi_session
from brainstar.domain.neuro.dwi_session import SessionInputError


@pytest.fixture
def session(landing: Path) -> Path:
    return landing / "neuro" / "sub-01" / "ses-01"


def test_demo_session_headers_are_consistent(session: Path) -> None:
    report, bvals, bvecs = dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    spec = phantom.PhantomSpec()
    assert report.consistent, report.issues
    assert report.shape == [*spec.shape, spec.n_b0 + spec.n_directions]
    assert report.n_b0 == spec.n_b0
    assert report.voxel_size_mm == [spec.voxel_size_mm] * 3
    assert bvals.shape == (33,) and bvecs.shape == (33, 3)
    assert report.bvec_norm_max_deviation < 1e-5


def test_ground_truth_matches_the_phantom_tensors(landing: Path) -> None:
    truth = json.loads((landing / "ground_truth.json").read_text())["neuro"]["sub-01_ses-01"]
    for region in phantom.PhantomSpec().regions:
        expected = truth["regions"][str(region.label)]
        assert expected["fa"] == pytest.approx(
            phantom.fractional_anisotropy(np.array(region.evals)), abs=1e-6
        )
    # Spot values computed by hand: evals (1.7, 0.3, 0.3)e-3 give FA 0.7990
    assert truth["regions"]["1"]["fa"] == pytest.approx(0.7990, abs=1e-4)


def test_demo_data_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    spec = phantom.PhantomSpec(shape=(8, 8, 4), regions=phantom.default_regions((8, 8, 4)))
    for name in ("a", "b"):
        phantom.write_nifti_session(tmp_path / name, spec, seed=7)
    a = nib.load(tmp_path / "a" / "dwi.nii.gz").get_fdata()
    b = nib.load(tmp_path / "b" / "dwi.nii.gz").get_fdata()
    np.testing.assert_array_equal(a, b)
    assert (tmp_path / "a" / "dwi.bvec").read_text() == (tmp_path / "b" / "dwi.bvec").read_text()
    phantom.write_nifti_session(tmp_path / "c", spec, seed=8)
    assert not np.array_equal(a, nib.load(tmp_path / "c" / "dwi.nii.gz").get_fdata())


def test_truncated_nifti_names_the_file(session: Path) -> None:
    dwi = session / "dwi.nii.gz"
    dwi.write_bytes(dwi.read_bytes()[: dwi.stat().st_size // 2])
    with pytest.raises(SessionInputError, match=r"dwi\.nii\.gz: truncated or corrupt"):
        dwi_session.inspect_headers(dwi_session.find_nifti_session(session))


def test_not_gzip_at_all_names_the_file(session: Path) -> None:
    (session / "dwi.nii.gz").write_bytes(b"this is not an image")
    with pytest.raises(SessionInputError, match=r"dwi\.nii\.gz"):
        dwi_session.inspect_headers(dwi_session.find_nifti_session(session))


def test_bvec_count_mismatch_names_the_bvec_file(session: Path) -> None:
    rows = (session / "dwi.bvec").read_text().splitlines()
    (session / "dwi.bvec").write_text("\n".join(" ".join(row.split()[:-2]) for row in rows) + "\n")
    with pytest.raises(SessionInputError, match=r"dwi\.bvec: 31 b-vectors for 33 volumes"):
        dwi_session.inspect_headers(dwi_session.find_nifti_session(session))


def test_nan_volume_names_the_volume(session: Path) -> None:
    image = nib.load(session / "dwi.nii.gz")
    data = image.get_fdata(dtype=np.float32)
    data[..., 5] = np.nan
    nib.save(nib.Nifti1Image(data, image.affine, image.header), session / "dwi.nii.gz")
    with pytest.raises(SessionInputError, match=r"volumes \[5\] contain NaN"):
        dwi_session.inspect_headers(dwi_session.find_nifti_session(session))


def test_folder_without_dwi_is_reported(session: Path) -> None:
    for name in ("dwi.nii.gz", "dwi.bval"):
        (session / name).unlink()
    with pytest.raises(SessionInputError, match=r"no DWI found: missing dwi\.nii\.gz, dwi\.bval"):
        dwi_session.find_nifti_session(session)


def test_implausible_gradients_are_issues_not_crashes(session: Path) -> None:
    bvals = (session / "dwi.bval").read_text().split()
    (session / "dwi.bval").write_text(" ".join(["0"] * 3 + ["1000000"] * (len(bvals) - 3)) + "\n")
    rows = [np.array(r.split(), dtype=float) * 1.5 for r in (session / "dwi.bvec").read_text().splitlines()]
    (session / "dwi.bvec").write_text("\n".join(" ".join(f"{v:.4f}" for v in r) for r in rows) + "\n")
    report, _, _ = dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    assert not report.consistent
    assert any("implausible" in issue for issue in report.issues)
    assert any("unit length" in issue for issue in report.issues)


def test_a_3d_image_in_place_of_the_dwi_is_rejected(session: Path) -> None:
    labels = session / "labels.nii.gz"
    shutil.copy(labels, session / "dwi.nii.gz")
    with pytest.raises(SessionInputError, match="expected a 4-D diffusion series"):
        dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    with gzip.open(labels) as stream:
        assert stream.read(4)  # the label image itself is intact


def test_nan_bvalue_names_the_file_and_volume(session: Path) -> None:
    values = (session / "dwi.bval").read_text().split()
    values[4] = "nan"
    (session / "dwi.bval").write_text(" ".join(values) + "\n")
    with pytest.raises(SessionInputError, match=r"dwi\.bval: b-values of volumes \[4\] are NaN"):
        dwi_session.inspect_headers(dwi_session.find_nifti_session(session))


def test_zero_direction_on_a_weighted_volume_stays_an_issue(session: Path) -> None:
    rows = [row.split() for row in (session / "dwi.bvec").read_text().splitlines()]
    for row in rows:
        row[10] = "0"  # volume 10 is diffusion-weighted (3 b0 volumes come first)
    (session / "dwi.bvec").write_text("\n".join(" ".join(row) for row in rows) + "\n")
    report, _, _ = dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    assert report.normalised_b0_rows == []
    assert any("unit length" in issue for issue in report.issues)
