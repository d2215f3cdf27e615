"""The NIfTI session reader on real diffusion acquisitions that dipy ships (not written by us).

``small_25`` is single-shell (b = 2000), ``small_64D`` single-shell (b = 1000) with NaN for its
b0 direction and its b-vectors in columns, ``small_101D`` multi-shell up to b of about 4,000.
Landed as a session, each must read as one consistent series whose gradient table matches
its fourth dimension.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest

from brainstar.domain.neuro import dwi_session


def land_dipy_set(stem: str, session_dir: Path) -> Path:
    """Copy one of dipy's small sets into ``session_dir`` as dwi.nii.gz/.bval/.bvec, as landed."""
    import dipy.data
    import nibabel as nib

    image_path, bval, bvec = (Path(p) for p in dipy.data.get_fnames(name=stem))
    if not image_path.is_file():
        pytest.fail(f"dipy no longer ships {image_path.name}")
    session_dir.mkdir(parents=True)
    if image_path.name.endswith(".nii.gz"):
        shutil.copy(image_path, session_dir / "dwi.nii.gz")
    else:  # small_64D ships uncompressed; the landing zone takes .nii.gz
        nib.save(nib.load(image_path), session_dir / "dwi.nii.gz")
    shutil.copy(bval, session_dir / "dwi.bval")
    shutil.copy(bvec, session_dir / "dwi.bvec")
    return session_dir


def set_bvec_row(session: Path, volume: int, text: str) -> None:
    """Write ``text`` for every component of one volume's b-vector in an FSL (3-row) file."""
    rows = [row.split() for row in (session / "dwi.bvec").read_text().splitlines() if row.strip()]
    for row in rows:
        row[volume] = text
    (session / "dwi.bvec").write_text("\n".join(" ".join(row) for row in rows) + "\n")


@pytest.mark.parametrize(
    ("stem", "max_b"), [("small_25", 2000.0), ("small_64D", 1000.0), ("small_101D", 4000.0)]
)
def test_a_real_acquisition_reads_as_one_consistent_series(tmp_path: Path, stem: str, max_b: float) -> None:
    session = land_dipy_set(stem, tmp_path / "sub-01" / "ses-01")
    report, bvals, bvecs = dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    assert report.issues == []
    assert report.n_volumes == report.shape[3] == report.n_bvals == report.n_bvecs == bvals.size
    assert report.n_b0 >= 1
    assert report.bvalue_max == pytest.approx(max_b, rel=0.05)
    weighted = bvals > 50
    assert np.allclose(np.linalg.norm(bvecs[weighted], axis=1), 1.0, atol=0.01)


def test_a_real_acquisition_with_a_missing_bvec_fails_naming_the_file(tmp_path: Path) -> None:
    session = land_dipy_set("small_25", tmp_path / "sub-01" / "ses-01")
    bvec = session / "dwi.bvec"
    rows = bvec.read_text().split("\n")
    bvec.write_text("\n".join(" ".join(row.split()[:-1]) for row in rows if row.strip()) + "\n")
    with pytest.raises(dwi_session.SessionInputError, match=r"dwi\.bvec: 25 b-vectors for 26 volumes"):
        dwi_session.inspect_headers(dwi_session.find_nifti_session(session))


def test_a_nan_b0_direction_is_read_as_zero_and_noted(tmp_path: Path) -> None:
    session = land_dipy_set("small_25", tmp_path / "sub-01" / "ses-01")
    b0 = int(np.flatnonzero(dwi_session.read_bvals(session / "dwi.bval") <= 50)[0])
    set_bvec_row(session, b0, "nan")
    report, _, bvecs = dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    assert report.issues == []
    assert report.normalised_b0_rows == [b0] and "dwi.bvec" in report.notes[0]
    np.testing.assert_array_equal(bvecs[b0], 0.0)


def test_dipys_small_64d_as_shipped_has_its_nan_b0_direction_noted(tmp_path: Path) -> None:
    session = land_dipy_set("small_64D", tmp_path / "sub-01" / "ses-01")
    assert "nan" in (session / "dwi.bvec").read_text().split("\n")[0]
    report, _, _ = dwi_session.inspect_headers(dwi_session.find_nifti_session(session))
    assert report.issues == [] and report.normalised_b0_rows == [0]


def test_a_nan_direction_on_a_weighted_volume_names_the_file_and_volume(tmp_path: Path) -> None:
    session = land_dipy_set("small_25", tmp_path / "sub-01" / "ses-01")
    bvals = dwi_session.read_bvals(session / "dwi.bval")
    weighted = int(np.flatnonzero(bvals > 50)[3])
    set_bvec_row(session, weighted, "NaN")
    with pytest.raises(
        dwi_session.SessionInputError, match=rf"dwi\.bvec: b-vectors of volumes \[{weighted}\] are NaN"
    ):
        dwi_session.inspect_headers(dwi_session.find_nifti_session(session))


def test_the_copied_bvec_is_finite_for_every_later_reader(tmp_path: Path) -> None:
    session = land_dipy_set("small_64D", tmp_path / "landed")
    bvals = dwi_session.read_bvals(session / "dwi.bval")
    with pytest.raises(dwi_session.SessionInputError, match=r"volumes \[0\] are NaN"):
        dwi_session.read_bvecs(session / "dwi.bvec")  # the strict reader of files we wrote
    assert dwi_session.copy_bvecs(session / "dwi.bvec", bvals, tmp_path / "copy.bvec") == [0]
    copied = dwi_session.read_bvecs(tmp_path / "copy.bvec")
    original = dwi_session.read_bvec_table(session / "dwi.bvec")
    np.testing.assert_array_equal(copied[0], 0.0)
    np.testing.assert_allclose(copied[1:], original[1:], rtol=1e-9)
    clean = land_dipy_set("small_25", tmp_path / "clean")
    bvals = dwi_session.read_bvals(clean / "dwi.bval")
    assert dwi_session.copy_bvecs(clean / "dwi.bvec", bvals, tmp_path / "clean.bvec") == []
    assert (tmp_path / "clean.bvec").read_bytes() == (clean / "dwi.bvec").read_bytes()
