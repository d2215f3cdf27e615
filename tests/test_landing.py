import os
import time
from pathlib import Path

import pytest

from brainstar.core import landing
from tests.reliability.trees import deep_chain


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
    sessions, _ = landing.scan_neuro_sessions(tmp_path)
    now = time.time()
    assert landing.settle_step(sessions, set(), None, 60, now).ready == sessions
    (folder / "dwi.bvec").write_text("still copying")
    decision = landing.settle_step(sessions, set(), None, 60, now)
    assert decision.ready == [] and list(decision.pending) == ["sub-01_ses-01"]


def test_one_look_skips_known_and_splits_by_settle_time(tmp_path: Path) -> None:
    old = time.time() - 600
    for name in ("ses-01", "ses-02"):
        folder = make_session(tmp_path, "sub-01", name)
        for path in [*folder.iterdir(), folder]:
            os.utime(path, (old, old))
    make_session(tmp_path, "sub-01", "ses-03")
    sessions, _ = landing.scan_neuro_sessions(tmp_path)
    decision = landing.settle_step(sessions, {"sub-01_ses-01"}, None, 60, time.time())
    assert [s.partition_key for s in decision.ready] == ["sub-01_ses-02"]
    assert list(decision.pending) == ["sub-01_ses-03"]


def test_a_folder_nested_1100_deep_is_reported_and_the_session_still_settles(tmp_path: Path) -> None:
    folder = make_session(tmp_path, "sub-01", "ses-01")
    # os.walk recursed and raised RecursionError on this tree
    with deep_chain(folder, 1100):
        sessions, _ = landing.scan_neuro_sessions(tmp_path)
        decision = landing.settle_step(sessions, set(), None, 0, time.time())
    assert [s.partition_key for s in decision.ready] == ["sub-01_ses-01"]
    [entry] = decision.rejected
    assert entry.relative_path == "neuro/sub-01/ses-01" + "/d" * landing.MAX_SESSION_DEPTH
    assert f"nested deeper than {landing.MAX_SESSION_DEPTH} levels" in entry.reason


def test_links_out_of_the_landing_zone_are_refused_and_links_inside_are_read(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    folder = make_session(root, "sub-01", "ses-01")
    outside = tmp_path / "secret.txt"
    outside.write_text("not landed data")
    (folder / "dwi.bvec").symlink_to(outside)
    inside = make_session(root, "sub-02", "ses-01")
    (inside / "dwi.bvec").symlink_to(folder / "dwi.bval")

    sessions, _ = landing.scan_neuro_sessions(root)
    decision = landing.settle_step(sessions, set(), None, 0, time.time())
    [entry] = decision.rejected
    assert entry.relative_path == "neuro/sub-01/ses-01/dwi.bvec"
    assert entry.reason.startswith(landing.ESCAPING_LINK) and "secret.txt" in entry.reason
    with pytest.raises(ValueError, match=r"neuro/sub-01/ses-01/dwi.bvec: symbolic link to a path outside"):
        landing.checked_session_dir(root, "sub-01_ses-01")
    assert landing.checked_session_dir(root, "sub-02_ses-01") == inside


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("sub-" + "a" * 251, "has 251 characters (at most 64)"),
        (os.fsdecode(b"sub-\xff\xfe"), "not valid UTF-8"),
        ("sub-01\n", "control characters"),
        ("sub-01\x1b[31m", "control characters"),
    ],
    ids=["label-251-chars", "not-utf8", "newline", "terminal-escape"],
)
def test_odd_subject_names_are_rejected_printably_and_the_rest_still_listed(
    tmp_path: Path, subject: str, reason: str
) -> None:
    make_session(tmp_path, "sub-01", "ses-01")
    (tmp_path / "neuro" / subject / "ses-01").mkdir(parents=True)
    sessions, rejected = landing.scan_neuro_sessions(tmp_path)
    assert [s.partition_key for s in sessions] == ["sub-01_ses-01"]
    [entry] = rejected
    assert reason in entry.reason
    entry.relative_path.encode("ascii")  # printable: no surrogate, no control character
    assert entry.relative_path.isprintable()


def test_a_non_utf8_survey_file_is_rejected_and_the_listing_still_digests(tmp_path: Path) -> None:
    kepler = tmp_path / "astro" / "kepler"
    kepler.mkdir(parents=True)
    good = kepler / "kplr000757076-2009166043257_llc.fits"
    good.write_bytes(b"x")
    before = landing.survey_listing(tmp_path, "kepler")
    (kepler / os.fsdecode(b"kplr\xff-2009166043257_llc.fits")).write_bytes(b"y")
    after = landing.survey_listing(tmp_path, "kepler")
    assert after.n_files == 2 and after.digest != before.digest
    files, rejected = landing.survey_files(tmp_path, "kepler")
    assert files == [good]
    assert [(r.relative_path, r.reason) for r in rejected] == [
        ("astro/kepler/kplr\\xff-2009166043257_llc.fits", "name is not valid UTF-8")
    ]


def test_an_unreadable_subject_folder_is_reported_and_the_others_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_session(tmp_path, "sub-01", "ses-01")
    locked = make_session(tmp_path, "sub-02", "ses-01").parent
    real_scandir = os.scandir

    def scandir(path: Path) -> object:
        # chmod 0 does not stop root, which the CI machine runs as: refuse as the OS would.
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    sessions, rejected = landing.scan_neuro_sessions(tmp_path)
    assert [s.partition_key for s in sessions] == ["sub-01_ses-01"]
    assert [(r.relative_path, r.reason) for r in rejected] == [
        ("neuro/sub-02", "cannot list: Permission denied")
    ]


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
