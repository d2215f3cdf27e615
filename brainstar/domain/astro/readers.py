"""Survey file readers (astropy only). Every failure names the file and the problem.

``read_batch`` applies one reader to many files, collects ``(file, problem)`` for the
bad ones and goes on with the rest. Files are opened read-only, never modified.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table

from brainstar.domain.astro import formats

SDSS_COADD_COLUMNS = ("flux", "loglam", "ivar", "and_mask")
SDSS_SUMMARY_NAMES = ("SPECOBJ", "SPALL")
KEPLER_COLUMNS = ("TIME", "PDCSAP_FLUX", "PDCSAP_FLUX_ERR")
KEPLER_QUALITY_COLUMNS = ("SAP_QUALITY", "QUALITY")  # Kepler, TESS
GAIA_REQUIRED = (
    "source_id",
    "ra",
    "dec",
    "parallax",
    "parallax_error",
    "parallax_over_error",
    "phot_g_mean_mag",
    "phot_bp_mean_mag",
    "phot_rp_mean_mag",
    "bp_rp",
    "ruwe",
)

T = TypeVar("T")


class SurveyFileError(ValueError):
    """A survey file that cannot be used; the message starts with the file name."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path.name}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class SdssRecord(formats.SdssSpectrum):
    """One SDSS coadd as read (see formats.SdssSpectrum), with the file it came from."""

    file: str = ""


@dataclass
class KeplerRecord:
    """One Kepler/TESS light curve; arrays shape (n_cadences,), TIME in BJD - BJDREF days, flux e-/s."""

    file: str
    kepler_id: int
    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    quality: np.ndarray
    header: dict[str, Any] = field(default_factory=dict)


def _open_fits(path: Path) -> fits.HDUList:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # memmap=False and eager HDUs: a truncated file fails here, not later.
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
    except Exception as error:  # astropy raises OSError, TypeError, VerifyError... for broken files
        raise SurveyFileError(path, f"not a readable FITS file ({type(error).__name__}: {error})") from error
    damaged = [str(w.message) for w in caught if "corrupt" in str(w.message) or "truncat" in str(w.message)]
    if damaged:
        hdul.close()
        raise SurveyFileError(path, f"truncated or corrupted FITS file ({damaged[0].splitlines()[0]})")
    return hdul


def _table_columns(path: Path, hdu: Any, label: str, needed: Iterable[str]) -> dict[str, np.ndarray]:
    if not isinstance(hdu, fits.BinTableHDU):
        raise SurveyFileError(path, f"{label} is not a binary table")
    try:
        data = hdu.data
        names = set(data.columns.names)
    except Exception as error:
        raise SurveyFileError(path, f"{label} data unreadable ({error})") from error
    missing = [name for name in needed if name not in names]
    if missing:
        raise SurveyFileError(path, f"{label} lacks column(s) {', '.join(missing)}")
    return {name: np.asarray(data[name]) for name in needed}


def read_sdss_spec(path: Path) -> SdssRecord:
    """COADD (HDU 1) and the one-row summary (HDU 2, SPECOBJ or SPALL, read by index)."""
    with _open_fits(path) as hdul:
        if len(hdul) < 3:
            raise SurveyFileError(path, f"has {len(hdul)} HDUs; HDU 2 (SPECOBJ/SPALL summary) is missing")
        cols = _table_columns(path, hdul[1], "HDU 1 (COADD)", SDSS_COADD_COLUMNS)
        if not isinstance(hdul[2], fits.BinTableHDU) or len(hdul[2].data) != 1:
            raise SurveyFileError(path, "HDU 2 (SPECOBJ/SPALL) is not a one-row binary table")
        row = hdul[2].data[0]
        summary = {name.upper(): _scalar(row[name]) for name in hdul[2].columns.names}
    missing = [key for key in ("PLATE", "MJD", "FIBERID", "SPECOBJID") if key not in summary]
    if missing:
        raise SurveyFileError(path, f"HDU 2 lacks {', '.join(missing)}")
    flux = cols["flux"].astype(np.float64)
    ivar = cols["ivar"].astype(np.float64)
    if not np.any(np.isfinite(flux) & (ivar > 0)):
        raise SurveyFileError(path, "COADD has no pixel with finite flux and ivar > 0")
    return SdssRecord(
        file=path.name,
        specobjid=int(summary["SPECOBJID"]),
        plate=int(summary["PLATE"]),
        mjd=int(summary["MJD"]),
        fiber=int(summary["FIBERID"]),
        ra_deg=float(summary.get("PLUG_RA", np.nan)),
        dec_deg=float(summary.get("PLUG_DEC", np.nan)),
        loglam=cols["loglam"].astype(np.float64),
        flux=flux,
        ivar=ivar,
        and_mask=cols["and_mask"].astype(np.int64),
        summary=summary,
    )


def _scalar(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode().strip()
    if isinstance(value, str):
        return value.strip()
    return value.item() if hasattr(value, "item") else value


def read_kepler_llc(path: Path) -> KeplerRecord:
    """LIGHTCURVE (HDU 1): TIME, PDCSAP_FLUX(_ERR), SAP_QUALITY (Kepler) or QUALITY (TESS), header keys."""
    with _open_fits(path) as hdul:
        if len(hdul) < 2:
            raise SurveyFileError(path, "has no HDU 1 (LIGHTCURVE)")
        hdu = hdul[1]
        names = set(getattr(getattr(hdu, "columns", None), "names", []) or [])
        quality = next((name for name in KEPLER_QUALITY_COLUMNS if name in names), None)
        if quality is None:
            raise SurveyFileError(path, "LIGHTCURVE has neither SAP_QUALITY (Kepler) nor QUALITY (TESS)")
        cols = _table_columns(path, hdu, "HDU 1 (LIGHTCURVE)", (*KEPLER_COLUMNS, quality))
        header = {**dict(hdul[0].header), **dict(hdu.header)}
    kepler_id = header.get("KEPLERID", header.get("TICID"))
    if kepler_id is None:
        raise SurveyFileError(path, "header has neither KEPLERID nor TICID")
    flux = cols["PDCSAP_FLUX"].astype(np.float64)
    if not np.isfinite(flux).any():
        raise SurveyFileError(path, "PDCSAP_FLUX has no finite value")
    keep = ("TELESCOP", "OBJECT", "BJDREFI", "BJDREFF", "TIMEDEL", "KEPMAG", "TEFF", "LOGG", "FEH", "RADIUS")
    return KeplerRecord(
        file=path.name,
        kepler_id=int(kepler_id),
        time=cols["TIME"].astype(np.float64),
        flux=flux,
        flux_err=cols["PDCSAP_FLUX_ERR"].astype(np.float64),
        quality=cols[quality].astype(np.int64),
        header={key: header[key] for key in keep if key in header},
    )


def read_gaia_csv(path: Path) -> pd.DataFrame:
    """A gaia_source CSV (archive export); column names lower-cased, empty fields -> NaN."""
    try:
        table = Table.read(path, format="ascii.csv", fill_values=[("", "nan"), ("null", "nan")])
    except Exception as error:
        raise SurveyFileError(path, f"not a readable CSV ({type(error).__name__}: {error})") from error
    frame = table.to_pandas()
    frame.columns = [str(c).lower() for c in frame.columns]  # VOTable exports upper-case SOURCE_ID
    missing = [name for name in GAIA_REQUIRED if name not in frame.columns]
    if missing:
        raise SurveyFileError(path, f"lacks column(s) {', '.join(missing)}")
    if frame["source_id"].isna().any():
        raise SurveyFileError(path, "source_id has empty values")
    frame["source_id"] = frame["source_id"].astype(np.int64)
    for name in GAIA_REQUIRED[1:]:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
    frame["file"] = path.name
    return frame


@dataclass
class BatchResult(Generic[T]):
    records: list[T]
    failures: list[tuple[str, str]]  # (file name, problem)


def read_batch(paths: Iterable[Path], reader: Callable[[Path], T]) -> BatchResult[T]:
    """Read every file; a bad file is recorded with its problem and the batch goes on."""
    records: list[T] = []
    failures: list[tuple[str, str]] = []
    for path in paths:
        try:
            records.append(reader(path))
        except SurveyFileError as error:
            failures.append((path.name, error.problem))
    return BatchResult(records, failures)
