"""The malformed-file corpus: how a fault is described, and what reading a landing zone with it must give.

A fault is one malformed file (or session) added to a landing zone that otherwise holds only good
input. Reading that landing zone as the assets do, but without Dagster, must (a) refuse the bad
input with one line naming the file and the problem, never a bare MemoryError, KeyError,
RecursionError or OverflowError, (b) give the good files and sessions exactly the output they
give alone, and (c) leave every byte, name and mode of the landing zone as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from brainstar.core import landing
from brainstar.domain.neuro import dicom_headers, dwi_session
from tests.reliability.trees import landing_snapshot

# What a message must never show: an exception no reader anticipated (ingestion's catch-all
# says "unexpected <type> while reading"), or a traceback.
BARE = re.compile(
    r"\b(MemoryError|KeyError|RecursionError|OverflowError|IndexError)\b"
    r"|Traceback|unexpected \w+ while reading"
)
SIGNATURE_COLUMNS = ("file_size_bytes", "file_mtime_ns")  # with "file", ingest.SIGNATURE
BAD_SESSION = ("bad", "01")  # sub-bad/ses-01, beside the good sessions of the template


def assert_clear_message(message: str, names: str, problem: str) -> None:
    """One line that names ``names`` and matches the ``problem`` regex, without a bare exception."""
    assert "\n" not in message, message
    assert names in message, f"{names!r} not named in: {message}"
    assert re.search(problem, message), f"{problem!r} not in: {message}"
    assert not BARE.search(message), message


# --- astro: one malformed survey file among good ones --------------------------------------------


@dataclass(frozen=True)
class FileFault:
    """``write(folder)`` adds one malformed file to a survey folder that holds the good files and
    returns it. Reading must refuse it with ``problem`` (a regex) unless ``note`` is set: then the
    file is read and ``note`` (a regex) must be among its per-row notes."""

    id: str
    write: Callable[[Path], Path]
    problem: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        assert bool(self.problem) != bool(self.note), f"{self.id}: give a problem or a note, not both"


def params(faults: Iterable[Any]) -> list[Any]:
    """pytest parameters with the fault's id as the test id."""
    return [pytest.param(fault, id=fault.id) for fault in faults]


@dataclass(frozen=True)
class SurveyRun:
    """What ingesting one survey folder gave: the report the asset records, and rows by file."""

    report: dict[str, Any]
    frame: pd.DataFrame

    def rows_by_file(self, files: Iterable[str] | None = None) -> dict[str, str]:
        wanted = set(self.frame["file"]) if files is None else set(files)
        return {
            name: _rows_digest(group)
            for name, group in self.frame.groupby("file", sort=True)
            if name in wanted
        }

    def content_of(self, name: str) -> str:
        """Digest of a file's rows regardless of its name, size and mtime (the same rows as another file?)."""
        return _rows_digest(self.frame[self.frame["file"] == name], ("file", *SIGNATURE_COLUMNS))

    def problem_of(self, name: str) -> str:
        problems = [f["problem"] for f in self.report["failures"] if f["file"] == name]
        assert len(problems) == 1, f"{name} not refused once: {self.report['failures']}"
        return problems[0]

    def notes_of(self, name: str) -> list[str]:
        return [n["note"] for n in self.report["notes"] if n["file"] == name]


def _rows_digest(rows: pd.DataFrame, left_out: tuple[str, ...] = ("file_mtime_ns",)) -> str:
    """sha256 over every cell of ``rows`` (array cells by their bytes) but the ``left_out`` columns."""
    digest = hashlib.sha256()
    for record in rows.drop(columns=list(left_out)).to_dict(orient="records"):
        for key in sorted(record):
            value = record[key]
            cell = np.asarray(value).tobytes() if isinstance(value, np.ndarray) else repr(value).encode()
            digest.update(key.encode() + b"=" + cell + b";")
    return digest.hexdigest()


def ingest_landed_survey(landing_root: Path, survey: str, warehouse: Path) -> SurveyRun:
    """What the survey's ingestion asset does, minus Dagster: list the folder, ingest, report."""
    from brainstar.domain.astro import features, pipeline

    paths, rejected = landing.survey_files(landing_root, survey)
    assert rejected == [], rejected  # every fault keeps to the naming contract: its content is at fault
    table, report_path = warehouse / f"{survey}.parquet", warehouse / f"{survey}.json"
    report = pipeline.ingest_survey(survey, paths, table, report_path)
    return SurveyRun(report, features.read_table(table)[0])


def check_file_fault(
    fault: FileFault, survey: str, landing_root: Path, warehouse: Path, good_rows: dict[str, str]
) -> None:
    """Add ``fault`` to the survey folder, ingest it with the good files, and check (a), (b), (c)."""
    bad = fault.write(landing_root / "astro" / survey)
    before = landing_snapshot(landing_root)
    run = ingest_landed_survey(landing_root, survey, warehouse)
    if fault.note:
        assert bad.name in set(run.frame["file"]), run.report["failures"]
        notes = run.notes_of(bad.name)
        assert any(re.search(fault.note, note) for note in notes), notes
        for note in notes:
            assert_clear_message(f"{bad.name}: {note}", bad.name, "")
    else:
        assert_clear_message(f"{bad.name}: {run.problem_of(bad.name)}", bad.name, fault.problem)
        assert bad.name not in set(run.frame["file"])
    assert run.rows_by_file(good_rows) == good_rows
    assert_no_infinity(run.frame)
    assert landing_snapshot(landing_root) == before


def assert_no_infinity(frame: pd.DataFrame) -> None:
    """No ingested number is infinite: a bad value is refused or read as missing, never kept."""
    numbers = frame.select_dtypes("number")
    infinite = [name for name in numbers.columns if np.isinf(numbers[name].to_numpy(dtype=float)).any()]
    assert infinite == [], infinite


def check_tolerated(
    write: Callable[[Path], Path], survey: str, like: str, landing_root: Path, warehouse: Path
) -> None:
    """A variant of the good file ``like`` (another encoding of the same table) must give its rows."""
    variant = write(landing_root / "astro" / survey)
    before = landing_snapshot(landing_root)
    run = ingest_landed_survey(landing_root, survey, warehouse)
    assert run.report["failures"] == [], run.report["failures"]
    assert run.content_of(variant.name) == run.content_of(like)
    assert landing_snapshot(landing_root) == before


# --- neuro: one malformed session beside good ones -----------------------------------------------


@dataclass(frozen=True)
class SessionFault:
    """``damage(session_dir)`` breaks a copy of a good session. Reading must raise an error naming
    ``names`` (relative to the session folder; "" is the folder itself) and matching ``problem``,
    or, with ``gate``, give header issues matching ``problem``: the blocking header check then stops
    that partition, named by its key."""

    id: str
    damage: Callable[[Path], None]
    names: str
    problem: str
    gate: bool = False


@dataclass
class SessionOutcome:
    """What reading one landed session gave, as raw_session reads it."""

    error: dwi_session.SessionInputError | None = None
    issues: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None


def inspect_session(session_dir: Path) -> SessionOutcome:
    """raw_session's reading of a session folder (DICOM when it has ``dicom/``, else NIfTI + FSL).

    Only :class:`SessionInputError` is caught: anything else escapes and fails the test.
    """
    try:
        if (session_dir / "dicom").is_dir():
            inventory = dicom_headers.inspect_dicom_series(session_dir / "dicom").as_dict()
            inventory.pop("dcm2niix")  # its run time differs from run to run
            return SessionOutcome(issues=list(inventory["issues"]), report=inventory)
        report, _, _ = dwi_session.inspect_headers(dwi_session.find_nifti_session(session_dir))
        return SessionOutcome(issues=list(report.issues), report=report.as_dict())
    except dwi_session.SessionInputError as error:
        return SessionOutcome(error=error)


def inspect_landed_sessions(landing_root: Path) -> dict[str, SessionOutcome]:
    sessions, rejected = landing.scan_neuro_sessions(landing_root)
    assert rejected == [], rejected
    return {session.partition_key: inspect_session(session.path) for session in sessions}


def land_bad_session(fault: SessionFault, landing_root: Path, source: Path) -> Path:
    """sub-bad/ses-01: a copy of the good session ``source`` with ``fault`` done to it."""
    bad = landing.session_dir(landing_root, landing.partition_key(*BAD_SESSION))
    shutil.copytree(source, bad)
    fault.damage(bad)
    return bad


def check_session_fault(
    fault: SessionFault, landing_root: Path, source: Path, good: dict[str, SessionOutcome]
) -> None:
    """Copy the good session ``source`` to sub-bad/ses-01, damage it, read every session, check (a)-(c)."""
    bad = land_bad_session(fault, landing_root, source)
    before = landing_snapshot(landing_root)
    outcomes = inspect_landed_sessions(landing_root)
    outcome = outcomes.pop(landing.partition_key(*BAD_SESSION))
    if fault.gate:
        assert outcome.error is None, outcome.error
        assert any(re.search(fault.problem, issue) for issue in outcome.issues), outcome.issues
        assert_clear_message(f"{bad}: {'; '.join(outcome.issues)}", str(bad), fault.problem)
    else:
        assert outcome.error is not None, f"accepted with issues {outcome.issues}"
        named = bad / fault.names if fault.names else bad
        assert outcome.error.path == named
        assert_clear_message(str(outcome.error), str(named), fault.problem)
    assert outcomes == good
    assert landing_snapshot(landing_root) == before


# --- byte-level damage shared by the formats -----------------------------------------------------


def truncate(path: Path, keep: float | int) -> None:
    """Cut ``path`` to ``keep`` bytes (an int) or that share of its size (a float)."""
    data = path.read_bytes()
    path.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])


def gunzip(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def write_gzip(path: Path, data: bytes) -> None:
    path.write_bytes(gzip.compress(data, mtime=0))


def first(folder: Path, pattern: str) -> Path:
    """The first good file of ``folder`` matching ``pattern`` (faults are derived from it)."""
    return sorted(folder.glob(pattern))[0]


def bytes_of(
    pattern: str, target: str, change: Callable[[bytes], bytes] = lambda data: data
) -> Callable[[Path], Path]:
    """A fault writer: ``target`` holds ``change`` of the bytes of the folder's first ``pattern`` file."""

    def write(folder: Path) -> Path:
        path = folder / target
        path.write_bytes(change(first(folder, pattern).read_bytes()))
        return path

    return write


def fits_of(pattern: str, target: str, change: Callable[[Any], None]) -> Callable[[Path], Path]:
    """A fault writer: ``target`` is the first ``pattern`` file with ``change`` applied to its HDU list."""
    from astropy.io import fits

    def write(folder: Path) -> Path:
        with fits.open(first(folder, pattern), memmap=False) as hdul:
            copy = fits.HDUList([hdu.copy() for hdu in hdul])
        change(copy)
        copy.writeto(folder / target)
        return folder / target

    return write


def with_card(index: int, keyword: str, value: object) -> Callable[[Path], None]:
    """Overwrite one header card of HDU ``index`` in the file's bytes: astropy would fix BITPIX or NAXIS2
    to match the data on writing, a damaged file does not."""
    from astropy.io import fits

    def change(path: Path) -> None:
        with fits.open(path, memmap=False) as hdul:
            start, end = hdul.fileinfo(index)["hdrLoc"], hdul.fileinfo(index)["datLoc"]
        data = bytearray(path.read_bytes())
        offset = next(o for o in range(start, end, 80) if data[o : o + 8].decode().rstrip() == keyword)
        data[offset : offset + 80] = fits.Card(keyword, value).image.encode()
        path.write_bytes(bytes(data))

    return change


def then(write: Callable[[Path], Path], change: Callable[[Path], None]) -> Callable[[Path], Path]:
    """A fault writer that applies ``change`` to what ``write`` wrote."""

    def both(folder: Path) -> Path:
        path = write(folder)
        change(path)
        return path

    return both


# --- the good input every fault is read beside ---------------------------------------------------

SMALL_PHANTOM_SHAPE = (8, 8, 4)


def write_good_neuro(landing_root: Path) -> dict[str, Path]:
    """Two small consistent sessions: NIfTI + FSL (sub-good) and DICOM (sub-dicom); 1 b0 + 6 directions."""
    from brainstar.demo.neuro import phantom
    from brainstar.demo.neuro.dicom_series import write_dicom_series

    spec = phantom.PhantomSpec(
        shape=SMALL_PHANTOM_SHAPE,
        regions=phantom.default_regions(SMALL_PHANTOM_SHAPE),
        n_b0=1,
        n_directions=6,
    )
    nifti = landing.session_dir(landing_root, "sub-good_ses-01")
    phantom.write_nifti_session(nifti, spec, seed=1)
    dicom = landing.session_dir(landing_root, "sub-dicom_ses-01")
    data, _ = phantom.simulate_dwi(spec, np.random.default_rng(2))
    bvals, voxel_bvecs = phantom.acquisition_scheme(spec)
    affine = phantom.voxel_affine(spec, radiological=True)
    bvecs = dwi_session.fsl_to_voxel_frame(voxel_bvecs, affine)
    write_dicom_series(data, affine, bvals, bvecs, dicom / "dicom", subject="dicom", session="01", seed=2)
    return {"nifti": nifti, "dicom": dicom}


def write_good_astro(landing_root: Path) -> None:
    """Two SDSS spectra, a Kepler and a TESS light curve, and four Gaia rows in each export format."""
    from brainstar.demo.astro import gaia, kepler, sdss
    from brainstar.demo.astro.stars import draw_stars

    rng = np.random.default_rng(11)
    folders = {survey: landing_root / "astro" / survey for survey in ("sdss", "kepler", "gaia")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    stars = draw_stars(rng, 4)
    for fiber, star in enumerate(stars[:2], start=1):
        sdss.write_sdss_spec(folders["sdss"], sdss.sdss_spectrum(star, 266, 51630, fiber, rng)[0])
    kepler.write_kepler_llc(folders["kepler"], kepler.kepler_lightcurve(1234567, "transit", rng)[0])
    kepler.write_tess_lc(folders["kepler"], kepler.tess_lightcurve(25155310, "rotation", rng, 4000)[0])
    table = gaia.gaia_table([gaia.gaia_row(star, rng) for star in stars])
    gaia.write_gaia_csv(folders["gaia"] / "query.csv", table)
    gaia.write_gaia_ecsv(folders["gaia"] / "GaiaSource_000000-003111.csv", table)
    gaia.write_gaia_votable(folders["gaia"] / "query.vot", table)
