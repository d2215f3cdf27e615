"""Hostile landing-zone listings: every tick completes, requests the good work and reports the rest.

Each case lands one good neuro session (or survey file) beside one bad entry, runs the real
sensor tick and the listing the assets use, and checks that the good one is requested, the bad
one is reported with a printable path and a reason, and the landing zone is unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from brainstar.core import landing
from platform_assets.definitions import defs
from resources import LandingZone
from sensors.astro_survey_files import astro_survey_files_sensor
from sensors.neuro_sessions import discover_sessions, neuro_sessions_sensor
from tests.neuro.test_sessions_sensor import land
from tests.reliability.trees import deep_chain, landing_snapshot

GOOD_SESSION = "sub-01_ses-01"


def _session_with(name: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / "neuro" / "sub-02" / name).mkdir(parents=True)

    return make


def _subject(name: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / "neuro" / name / "ses-01").mkdir(parents=True)

    return make


def _link_in_session(target: Callable[[Path], Path]) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        folder = land(root, "sub-02", "ses-01")
        (folder / "dwi.bvec").unlink()
        (folder / "dwi.bvec").symlink_to(target(root))

    return make


def _outside_file(root: Path) -> Path:
    secret = root.parent / "outside.txt"
    secret.write_text("not landed data")
    return secret


def _subject_link(root: Path) -> None:
    (root / "neuro" / "sub-02").symlink_to(root / "neuro" / "sub-01")


def _subject_file(root: Path) -> None:
    (root / "neuro" / "sub-02").write_text("a file where a subject folder belongs")


# (id, make the bad entry, the reason it is reported with, or None when nothing is rejected
#  because the entry is harmless to the listing and the reader judges it)
NEURO_CASES: list[tuple[str, Callable[[Path], None], str | None]] = [
    ("subject-label-251-chars", _subject("sub-" + "a" * 251), "has 251 characters"),
    ("session-label-251-chars", _session_with("ses-" + "b" * 251), "has 251 characters"),
    ("subject-not-utf8", _subject(os.fsdecode(b"sub-\xff\xfe01")), "not valid UTF-8"),
    ("session-not-utf8", _session_with(os.fsdecode(b"ses-\xc3\x28")), "not valid UTF-8"),
    ("subject-newline", _subject("sub-01\n02"), "control characters"),
    ("session-terminal-escape", _session_with("ses-\x1b[2J"), "control characters"),
    ("subject-path-traversal-name", _subject("sub-..%2f..%2fetc"), "not alphanumeric"),
    ("subject-unicode-digits", _subject("sub-\u0661\u0662"), "not alphanumeric"),
    ("subject-symlink", _subject_link, "symbolic links are not followed"),
    ("subject-is-a-file", _subject_file, "found a file"),
    ("link-to-file-outside", _link_in_session(_outside_file), landing.ESCAPING_LINK),
    ("link-to-filesystem-root", _link_in_session(lambda root: Path("/")), landing.ESCAPING_LINK),
    ("link-dangling-outside", _link_in_session(lambda root: root.parent / "gone"), landing.ESCAPING_LINK),
    (
        "link-loop-inside",
        _link_in_session(lambda root: root / "neuro" / "sub-02" / "ses-01" / "dwi.bvec"),
        None,
    ),
    (
        "file-named-not-utf8-in-session",
        lambda root: (land(root, "sub-02", "ses-01") / os.fsdecode(b"\xff.dcm")).write_bytes(b"x"),
        None,
    ),
]


@pytest.mark.parametrize(
    ("make_bad", "reason"), [c[1:] for c in NEURO_CASES], ids=[c[0] for c in NEURO_CASES]
)
def test_neuro_tick_completes_requests_the_good_session_and_reports_the_bad(
    tmp_path: Path, make_bad: Callable[[Path], None], reason: str | None
) -> None:
    root = tmp_path / "landing"
    land(root, "sub-01", "ses-01")
    make_bad(root)
    _assert_tick_requests_the_good_session_and_reports(tmp_path, root, reason)


def test_a_session_nested_1100_deep_is_read_to_the_depth_limit(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    land(root, "sub-01", "ses-01")
    with deep_chain(land(root, "sub-02", "ses-01"), 1100):
        _assert_tick_requests_the_good_session_and_reports(tmp_path, root, "nested deeper than")


def _assert_tick_requests_the_good_session_and_reports(
    tmp_path: Path, root: Path, reason: str | None
) -> None:
    before = landing_snapshot(root)

    found = discover_sessions(
        landing.scan_neuro_sessions(root), set(), settle_seconds=0, now=float("inf"), previous=None
    )
    assert GOOD_SESSION in found.ready
    if reason is None:
        assert found.rejected == []
    else:
        [entry] = found.rejected
        assert reason in entry.reason
        assert entry.relative_path.isprintable()
        entry.relative_path.encode("utf-8")  # a surrogate here crashed the UTF-8 event log

    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        context = dg.build_sensor_context(
            instance=instance,
            instance_ref=instance.get_ref(),
            resources={"landing_zone": LandingZone(root=str(root), settle_seconds=0)},
            definitions=defs,
        )
        result = neuro_sessions_sensor.evaluate_tick(context)
    assert GOOD_SESSION in [request.partition_key for request in result.run_requests]
    assert landing_snapshot(root) == before


@pytest.mark.parametrize(
    "case",
    ["link-to-file-outside", "link-to-filesystem-root", "link-dangling-outside"],
)
def test_a_session_linking_out_of_the_landing_zone_fails_its_own_partition_naming_the_link(
    tmp_path: Path, case: str
) -> None:
    root = tmp_path / "landing"
    make_bad = next(make for name, make, _ in NEURO_CASES if name == case)
    make_bad(root)
    zone = LandingZone(root=str(root))
    with pytest.raises(ValueError, match=r"^neuro/sub-02/ses-01/dwi\.bvec: symbolic link to a path outside"):
        zone.session_dir("sub-02_ses-01")


def _survey_file(survey: str, name: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / "astro" / survey).mkdir(parents=True, exist_ok=True)
        (root / "astro" / survey / name).write_bytes(b"SIMPLE  =                    T")

    return make


def _survey_link(root: Path) -> None:
    (root / "astro" / "sdss").mkdir(parents=True, exist_ok=True)
    (root / "astro" / "sdss" / "spec-0266-51602-0002.fits").symlink_to(_outside_file(root))


def _survey_folder(root: Path) -> None:
    (root / "astro" / "sdss" / "spec-0266-51602-0003.fits").mkdir(parents=True)


ASTRO_CASES: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "kepler-not-utf8",
        _survey_file("kepler", os.fsdecode(b"kplr\xff00757076-2009166043257_llc.fits")),
        "not valid UTF-8",
    ),
    ("gaia-newline", _survey_file("gaia", "gaia\nsource.csv"), "control characters"),
    ("gaia-230-chars", _survey_file("gaia", "g" * 226 + ".csv"), "has 230 characters"),
    ("gaia-terminal-escape", _survey_file("gaia", "\x1b]0;pwned\x07.csv"), "control characters"),
    ("sdss-symlink-outside", _survey_link, "not a regular file"),
    ("sdss-folder-named-as-file", _survey_folder, "not a regular file"),
    ("sdss-wrong-pattern", _survey_file("sdss", "spec-266-51602-1.fits"), "does not match"),
]


@pytest.mark.parametrize(
    ("make_bad", "reason"), [c[1:] for c in ASTRO_CASES], ids=[c[0] for c in ASTRO_CASES]
)
def test_astro_listing_survives_and_rejects_the_bad_name(
    tmp_path: Path, make_bad: Callable[[Path], None], reason: str
) -> None:
    root = tmp_path / "landing"
    good = root / "astro" / "sdss" / "spec-0266-51602-0001.fits"
    good.parent.mkdir(parents=True)
    good.write_bytes(b"x" * 2880)
    os.utime(good, (0, 0))
    make_bad(root)
    before = landing_snapshot(root)

    surveys = {survey: landing.survey_files(root, survey) for survey in landing.SURVEY_PATTERNS}
    assert surveys["sdss"][0] == [good]
    [entry] = [entry for _, rejected in surveys.values() for entry in rejected]
    assert reason in entry.reason
    entry.relative_path.encode("utf-8")
    assert entry.relative_path.isprintable()

    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(
            instance=instance,
            resources={"landing_zone": LandingZone(root=str(root), settle_seconds=0)},
            definitions=defs,
        )
        result = astro_survey_files_sensor.evaluate_tick(context)
    assert len(result.run_requests) == 1
    assert landing_snapshot(root) == before
