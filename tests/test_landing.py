import os
import time
from pathlib import Path

import pytest

from brainstar.core import landing


def make_session(root: Path, subject: str, session: str) -> Path:
    folder = root / "neuro" / subject / session
    folder.mkdir(parents=True)
    (folder / "dwi.bval").write_text("0 1000\n")
    return folder


def test_scan_accepts_contract_names_and_reports_the_rest(tmp_path: Path) -> None:
    make_session(tmp_path, "sub-01", "ses-A")
    make_session(tmp_path, "sub-01", "ses-B2")
    make_session(tmp_path, "sub-0_1", "ses-01")
    make_session(tmp_path, "sub-02", "session1")
    make_session(tmp_path, "sub-03", "ses-1 2")
    (tmp_path / "neuro" / "README.txt").write_text("not a subject")
    (tmp_path / "neuro" / "sub-04").symlink_to(tmp_path / "neuro" / "sub-01")

    sessions, rejected = landing.scan_neuro_sessions(tmp_path)

    assert [s.partition_key for s in sessions] == ["sub-01_ses-A", "sub-01_ses-B2"]
    reasons = {entry.relative_path: entry.reason for entry in rejected}
    assert set(reasons) == {
        "neuro/README.txt",
        "neuro/sub-0_1",
        "neuro/sub-02/session1",
        "neuro/sub-03/ses-1 2",
        "neuro/sub-04",
    }
    assert "not alphanumeric" in reasons["neuro/sub-0_1"]
    assert "symbolic" in reasons["neuro/sub-04"]


def test_scan_of_missing_landing_zone_is_empty(tmp_path: Path) -> None:
    assert landing.scan_neuro_sessions(tmp_path / "absent") == ([], [])


@pytest.mark.parametrize("key", ["sub-01_ses-01", "sub-ABC_ses-x9"])
def test_partition_key_round_trip(key: str) -> None:
    assert landing.partition_key(*landing.parse_partition_key(key)) == key


@pytest.mark.parametrize("key", ["sub-01", "sub-../x_ses-01", "sub-01_ses-01/..", "sub-_ses-1", "../../etc"])
def test_bad_partition_keys_never_become_paths(key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not of the form"):
        landing.session_dir(tmp_path, key)


def test_settle_time_uses_the_newest_file(tmp_path: Path) -> None:
    folder = make_session(tmp_path, "sub-01", "ses-01")
    old = time.time() - 600
    for path in [folder / "dwi.bval", folder]:
        os.utime(path, (old, old))
    now = time.time()
    assert landing.is_settled(folder, settle_seconds=60, now=now)
    (folder / "dwi.bvec").write_text("still copying")
    assert not landing.is_settled(folder, settle_seconds=60, now=now)


def test_complete_new_sessions_skips_known_and_splits_by_settle_time(tmp_path: Path) -> None:
    old = time.time() - 600
    for name in ("ses-01", "ses-02"):
        folder = make_session(tmp_path, "sub-01", name)
        for path in [*folder.iterdir(), folder]:
            os.utime(path, (old, old))
    make_session(tmp_path, "sub-01", "ses-03")
    sessions, _ = landing.scan_neuro_sessions(tmp_path)
    settled, changing = landing.complete_new_sessions(sessions, {"sub-01_ses-01"}, 60, time.time())
    assert [s.partition_key for s in settled] == ["sub-01_ses-02"]
    assert [s.partition_key for s in changing] == ["sub-01_ses-03"]


def test_survey_files_follow_the_naming_contract(tmp_path: Path) -> None:
    sdss = tmp_path / "astro" / "sdss"
    sdss.mkdir(parents=True)
    (sdss / "spec-3586-55181-0001.fits").write_bytes(b"")
    (sdss / "spectrum.fits").write_bytes(b"")
    files, rejected = landing.survey_files(tmp_path, "sdss")
    assert [f.name for f in files] == ["spec-3586-55181-0001.fits"]
    assert [r.relative_path for r in rejected] == ["astro/sdss/spectrum.fits"]


@pytest.mark.parametrize(
    ("survey", "accepted", "refused"),
    [
        (
            "kepler",
            [
                "kplr000757076-2009166043257_llc.fits",
                "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits",
            ],
            ["kplr000757076-2009166043257_slc.fits", "tess-s0001-lc.fits"],
        ),
        ("gaia", ["GaiaSource_000000-003111.csv", "query.ecsv", "result.vot", "result.xml"], ["gaia.fits"]),
    ],
)
def test_light_curves_and_gaia_exports_as_the_archives_name_them(
    tmp_path: Path, survey: str, accepted: list[str], refused: list[str]
) -> None:
    folder = tmp_path / "astro" / survey
    folder.mkdir(parents=True)
    for name in accepted + refused:
        (folder / name).write_bytes(b"")
    files, rejected = landing.survey_files(tmp_path, survey)
    assert sorted(f.name for f in files) == sorted(accepted)
    assert sorted(r.relative_path for r in rejected) == sorted(f"astro/{survey}/{n}" for n in refused)
