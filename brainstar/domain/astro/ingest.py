"""Incremental ingestion: reuse rows of files seen before (same name, size and mtime), read the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainstar.domain.astro import lightcurves, periods, photometry, readers, spectra
from brainstar.domain.astro.formats import ELODIE_LABELS, SSPP_MISSING
from brainstar.domain.astro.inputs import SPECTRAL_TARGETS as SPECTRAL_LABELS

SIGNATURE = ("file", "file_size_bytes", "file_mtime_ns")


class SkippedObject(ValueError):
    """A readable file whose object the stellar models must not learn from (or answer for).

    A ValueError, so a caller that only knows "this input cannot be used" (the API) still
    turns it into a clear 422; ingestion records it apart from broken files.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class FileRows:
    """What one file gives: table rows, and notes on what it lacks (e.g. missing Gaia values)."""

    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SkippedFile:
    """A file read fine whose object was not used, with the reason; keyed like table rows."""

    file: str
    file_size_bytes: int
    file_mtime_ns: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class IngestResult:
    frame: pd.DataFrame
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file, problem): unreadable files
    skipped: list[SkippedFile] = field(default_factory=list)  # read, but the object is not for these models
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file, note): used, with caveats
    n_reused_files: int = 0
    n_read_files: int = 0


def ingest(
    paths: Iterable[Path],
    previous: pd.DataFrame | None,
    process: Callable[[Path], list[dict[str, Any]] | FileRows],
    previous_skipped: Iterable[Mapping[str, Any]] = (),
) -> IngestResult:
    """Rows for every file in ``paths``: copied from ``previous`` when the file is unchanged, else read.

    A file that fails (:class:`readers.SurveyFileError`, a preprocessing ``ValueError``, or any
    other exception its reading raises, named by type) is listed in ``failures`` as (file name,
    problem) and the others go on; one whose object is not for the
    stellar models (:class:`SkippedObject`) in ``skipped`` with the reason. Skipped files
    leave no row; ``previous_skipped`` (earlier :meth:`SkippedFile.as_dict` entries) lets an
    unchanged skipped file be reused like an unchanged row instead of being read again.
    """
    known: dict[tuple[str, int, int], pd.DataFrame] = {}
    if previous is not None and len(previous):
        for key, rows in previous.groupby(list(SIGNATURE), sort=False):
            known[(str(key[0]), int(key[1]), int(key[2]))] = rows
    known_skips = {
        (str(s["file"]), int(s["file_size_bytes"]), int(s["file_mtime_ns"])): str(s["reason"])
        for s in previous_skipped
    }
    kept: list[pd.DataFrame] = []
    new_rows: list[dict[str, Any]] = []
    result = IngestResult(pd.DataFrame())
    for path in sorted(paths):
        try:
            stat = path.stat()
        except OSError as error:  # gone or unreadable between the listing and now
            result.failures.append((path.name, f"cannot stat the file ({type(error).__name__}: {error})"))
            continue
        signature = (path.name, int(stat.st_size), int(stat.st_mtime_ns))
        if signature in known:
            kept.append(known[signature])
            result.n_reused_files += 1
            continue
        if signature in known_skips:
            result.skipped.append(SkippedFile(*signature, known_skips[signature]))
            result.n_reused_files += 1
            continue
        try:
            output = process(path)
        except readers.SurveyFileError as error:
            result.failures.append((path.name, error.problem))
            continue
        except SkippedObject as skip:
            result.skipped.append(SkippedFile(*signature, skip.reason))
            continue
        except ValueError as error:
            result.failures.append((path.name, str(error)))
            continue
        except Exception as error:  # the file boundary: one bad file never stops the others
            result.failures.append((path.name, f"unexpected {type(error).__name__} while reading: {error}"))
            continue
        found = output if isinstance(output, FileRows) else FileRows(output)
        result.n_read_files += 1
        result.notes.extend((path.name, note) for note in found.notes)
        new_rows.extend({**dict(zip(SIGNATURE, signature, strict=True)), **row} for row in found.rows)
    parts = [*kept, pd.DataFrame(new_rows)] if new_rows else kept
    result.frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(SIGNATURE))
    return result


def stellar_labels(summary: dict[str, Any]) -> dict[str, float]:
    """ELODIE Teff (K), log g, [Fe/H] of a SPECOBJ row; NaN where there is no fit.

    ELODIE_TEFF = 0 is the pipeline's "no ELODIE star fitted" (all three are then 0, and
    [Fe/H] = 0 would read as solar), -9999 the SSPP "not measured": neither is a label.
    """
    values = {
        key: _number(summary.get(name)) for key, name in zip(SPECTRAL_LABELS, ELODIE_LABELS, strict=True)
    }
    if not values["teff_k"] > 0:
        return dict.fromkeys(SPECTRAL_LABELS, float("nan"))
    return {key: float("nan") if v == SSPP_MISSING else v for key, v in values.items()}


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number if np.isfinite(number) else float("nan")


def spectrum_velocity(record: readers.SdssRecord) -> tuple[float, str]:
    """(v in km/s, source): the catalogue redshift Z when the file has one, else a cross-correlation.

    A cross-correlation without a clear peak (no stellar absorption-line pattern) gives no
    velocity to trust: :class:`SkippedObject`.
    """
    z = _number(record.summary.get("Z"))
    if np.isfinite(z):
        return spectra.velocity_from_z(z), "catalogue Z"
    v, peak = spectra.cross_correlation_velocity(record.loglam, record.flux, record.ivar, record.and_mask)
    if peak < spectra.CCF_MIN_PEAK:
        minimum = spectra.CCF_MIN_PEAK
        raise SkippedObject(
            f"not a star (no stellar absorption lines: cross-correlation peak {peak:.2f} < {minimum})"
        )
    return v, "cross-correlation"


def check_stellar(
    record: readers.SdssRecord, velocity_limit_kms: float = spectra.DEFAULT_VELOCITY_LIMIT_KMS
) -> tuple[float, str]:
    """(v, its source) of a spectrum the stellar models may use; :class:`SkippedObject` otherwise.

    Galaxies and quasars (CLASS known and not STAR) are turned away, and so is any spectrum
    moving faster than ``velocity_limit_kms``: no Galactic star does.
    """
    object_class = record.object_class
    if object_class is not None and object_class != "STAR":
        raise SkippedObject(f"not a star (CLASS={object_class})")
    v, source = spectrum_velocity(record)
    if abs(v) > velocity_limit_kms:
        raise SkippedObject(
            f"not a Galactic star (|v| = {abs(v):.0f} km/s from {source} > {velocity_limit_kms:.0f} km/s)"
        )
    return v, source


def resolution_note(wdisp: np.ndarray | None) -> str | None:
    """What the resolution step could not do as designed for this file, or None."""
    if wdisp is None:
        return (
            f"no COADD wdisp column: the SDSS nominal line-spread sigma ({spectra.NOMINAL_WDISP} pixels) "
            f"assumed when degrading to the common {spectra.TARGET_WDISP}"
        )
    worst = float(np.median(spectra.usable_wdisp(wdisp, wdisp.size)))
    if worst > spectra.TARGET_WDISP:
        return (
            f"resolution below the common one: median wdisp {worst:.2f} > {spectra.TARGET_WDISP} pixels, "
            "used at its own resolution (predictions may be biased)"
        )
    return None


def sdss_file_rows(path: Path, velocity_limit_kms: float = spectra.DEFAULT_VELOCITY_LIMIT_KMS) -> FileRows:
    """:func:`sdss_rows` with the file's notes (an assumed or too low resolution)."""
    record = readers.read_sdss_spec(path)
    rv_kms, rv_source = check_stellar(record, velocity_limit_kms)
    flux, _, snr = spectra.preprocess(
        record.loglam, record.flux, record.ivar, record.and_mask, rv_kms, record.wdisp
    )
    wdisp = spectra.usable_wdisp(record.wdisp, record.flux.size)
    row = {
        "specobjid": record.specobjid,
        "plate": record.plate,
        "mjd": record.mjd,
        "fiberid": record.fiber,
        "ra": record.ra_deg,
        "dec": record.dec_deg,
        "snr": snr,
        "rv_kms": rv_kms,
        "rv_source": rv_source,
        "wdisp": float(np.median(wdisp)),
        **stellar_labels(record.summary),
        "flux": flux,
    }
    note = resolution_note(record.wdisp)
    return FileRows([row], [note] if note else [])


def sdss_rows(
    path: Path, velocity_limit_kms: float = spectra.DEFAULT_VELOCITY_LIMIT_KMS
) -> list[dict[str, Any]]:
    """One row per stellar spectrum: ids, position, velocity, median wdisp, ELODIE labels, S/N,
    rest-frame flux at the common resolution.

    Raises :class:`SkippedObject` for galaxies, quasars and spectra beyond the velocity limit.
    """
    return sdss_file_rows(path, velocity_limit_kms).rows


def lightcurve_row(record: readers.KeplerRecord) -> dict[str, Any]:
    """Prepared light curve -> period features and folded views (no file access)."""
    check_usable_cadences(record)
    prepared = lightcurves.prepare(record.time, record.flux, record.quality)
    features = periods.lightcurve_features(prepared["time"], prepared["flat"], prepared["norm"])
    return {"kepler_id": record.kepler_id, "n_cadences": int(prepared["time"].size), **features}


def check_usable_cadences(record: readers.KeplerRecord) -> None:
    """Refuse a light curve none of whose cadences survives the quality mask, saying why.

    Each reason is counted over all cadences (one cadence may have several), so a file whose
    every cadence is flagged reads differently from one whose TIME column is empty.
    """
    bitmask = lightcurves.DEFAULT_QUALITY_BITMASK
    if lightcurves.quality_mask(record.time, record.flux, record.quality, bitmask).any():
        return
    reasons = {
        "a non-finite TIME": int(np.sum(~np.isfinite(record.time))),
        "a non-finite PDCSAP_FLUX": int(np.sum(~np.isfinite(record.flux))),
        f"a quality flag in bitmask {bitmask}": int(np.sum((record.quality & bitmask) != 0)),
    }
    counted = ", ".join(f"{n} with {reason}" for reason, n in reasons.items() if n)
    raise ValueError(f"no usable cadence among {record.time.size}: {counted}")


def kepler_rows(path: Path) -> list[dict[str, Any]]:
    return [lightcurve_row(readers.read_lightcurve(path))]


def gaia_rows(path: Path) -> FileRows:
    """gaia_source rows of a CSV, ECSV or VOTable export; missing values stay NaN and are noted, and so
    are values that were not numbers, repeated source_ids and what the rows lack for the corrections
    (parallax zero-point, extinction, flux excess)."""
    read = readers.read_gaia_file(path)
    frame = read.frame.drop(columns=["file"])
    missing = readers.gaia_missing(frame)
    notes = [f"{n} of {len(frame)} rows without {name} (left missing)" for name, n in missing.items()]
    return FileRows(frame.to_dict(orient="records"), read.notes + notes + photometry.quality_notes(frame))
