"""Incremental ingestion: reuse rows of files seen before (same name, size and mtime), read the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainstar.domain.astro import lightcurves, periods, readers, spectra

SIGNATURE = ("file", "file_size_bytes", "file_mtime_ns")


@dataclass
class IngestResult:
    frame: pd.DataFrame
    failures: list[tuple[str, str]] = field(default_factory=list)
    n_reused_files: int = 0
    n_read_files: int = 0


def ingest(
    paths: Iterable[Path],
    previous: pd.DataFrame | None,
    process: Callable[[Path], list[dict[str, Any]]],
) -> IngestResult:
    """Rows for every file in ``paths``: copied from ``previous`` when the file is unchanged, else read.

    A file that fails (:class:`readers.SurveyFileError` or a preprocessing ``ValueError``)
    is listed in ``failures`` as (file name, problem); the others go on.
    """
    known: dict[tuple[str, int, int], pd.DataFrame] = {}
    if previous is not None and len(previous):
        for key, rows in previous.groupby(list(SIGNATURE), sort=False):
            known[(str(key[0]), int(key[1]), int(key[2]))] = rows
    kept: list[pd.DataFrame] = []
    new_rows: list[dict[str, Any]] = []
    result = IngestResult(pd.DataFrame())
    for path in sorted(paths):
        stat = path.stat()
        signature = (path.name, int(stat.st_size), int(stat.st_mtime_ns))
        if signature in known:
            kept.append(known[signature])
            result.n_reused_files += 1
            continue
        try:
            rows = process(path)
        except readers.SurveyFileError as error:
            result.failures.append((path.name, error.problem))
            continue
        except ValueError as error:
            result.failures.append((path.name, str(error)))
            continue
        result.n_read_files += 1
        new_rows.extend({**dict(zip(SIGNATURE, signature, strict=True)), **row} for row in rows)
    parts = [*kept, pd.DataFrame(new_rows)] if new_rows else kept
    result.frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(SIGNATURE))
    return result


def sdss_rows(path: Path) -> list[dict[str, Any]]:
    """One row per spectrum: ids, position, ELODIE labels, S/N and the normalised flux on the common grid."""
    record = readers.read_sdss_spec(path)
    flux, _, snr = spectra.preprocess(record.loglam, record.flux, record.ivar, record.and_mask)
    summary = record.summary
    return [
        {
            "specobjid": record.specobjid,
            "plate": record.plate,
            "mjd": record.mjd,
            "fiberid": record.fiber,
            "ra": record.ra_deg,
            "dec": record.dec_deg,
            "snr": snr,
            "teff_k": float(summary.get("ELODIE_TEFF", np.nan)),
            "logg_cgs": float(summary.get("ELODIE_LOGG", np.nan)),
            "feh_dex": float(summary.get("ELODIE_FEH", np.nan)),
            "flux": flux,
        }
    ]


def lightcurve_row(record: readers.KeplerRecord) -> dict[str, Any]:
    """Prepared light curve -> period features and folded views (no file access)."""
    prepared = lightcurves.prepare(record.time, record.flux, record.quality)
    features = periods.lightcurve_features(prepared["time"], prepared["flat"], prepared["norm"])
    return {"kepler_id": record.kepler_id, "n_cadences": int(prepared["time"].size), **features}


def kepler_rows(path: Path) -> list[dict[str, Any]]:
    return [lightcurve_row(readers.read_kepler_llc(path))]


def gaia_rows(path: Path) -> list[dict[str, Any]]:
    frame = readers.read_gaia_csv(path).drop(columns=["file"])
    return frame.to_dict(orient="records")
