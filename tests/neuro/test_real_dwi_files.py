"""The NIfTI session reader on real diffusion acquisitions that dipy ships (not written by us).

``small_25`` is single-shell (b = 2000), ``small_101D`` multi-shell up to b of about 4,000; both keep
their FSL bval/bvec files. Landed as a session, each must read as one consistent series whose
gradient table matches its fourth dimension.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest

from brainstar.domain.neuro import dwi_session


def land_dipy_set(stem: str, session_dir: Path) -> Path:
    import dipy.data

    files = Path(dipy.data.__file__).parent / "files"
    if not (files / f"{stem}.nii.gz").is_file():
        pytest.fail(f"dipy no longer ships {stem}.nii.gz")
    session_dir.mkdir(parents=True)
    for suffix in (".nii.gz", ".bval", ".bvec"):
        shutil.copy(files / f"{stem}{suffix}", session_dir / f"dwi{suffix}")
    return session_dir


@pytest.mark.parametrize(("stem", "max_b"), [("small_25", 2000.0), ("small_101D", 4000.0)])
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
