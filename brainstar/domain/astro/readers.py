"""Survey file readers (astropy only), for the files as the archives serve them.

Every failure is a :class:`SurveyFileError` whose message starts with the file name and
names the HDU or the column at fault. ``read_batch`` applies one reader to many files,
collects ``(file, problem)`` for the bad ones and goes on with the rest. Files are opened
read-only, never modified.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table

from brainstar.domain.astro import formats, photometry

SDSS_COADD_COLUMNS = ("flux", "loglam", "ivar", "and_mask")
SDSS_SUMMARY_NAMES = ("SPECOBJ", "SPALL")
SDSS_SUMMARY_KEYS = ("PLATE", "MJD", "FIBERID", "SPECOBJID")
SPZLINE_REQUIRED = ("LINENAME", "LINEWAVE", "LINEZ", "LINEAREA", "LINEAREA_ERR")
KEPLER_COLUMNS = ("TIME", "PDCSAP_FLUX", "PDCSAP_FLUX_ERR")
KEPLER_QUALITY_COLUMNS = ("SAP_QUALITY", "QUALITY")  # Kepler, TESS
# Compressed files astropy opens itself (gzip, bzip2, xz), by their first bytes.
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
# Cards that describe the FITS structure, not the target or the observation.
_STRUCTURAL_CARDS = ("SIMPLE", "BITPIX", "NAXIS", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "TFIELDS")
_STRUCTURAL_PREFIXES = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDISP", "TDIM", "TNULL", "TSCAL", "TZERO")
_SKIPPED_CARDS = ("CHECKSUM", "DATASUM", "COMMENT", "HISTORY", "")
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
# What the corrections need (photometry.OPTIONAL_COLUMNS): read as float64 when a file has them;
# a file without them is still read, and the corrections say per row what they lacked.
GAIA_OPTIONAL = photometry.OPTIONAL_COLUMNS
# source_id = HEALPix level-12 index * 2**35 + (rank within the pixel): below 12 * 4**12 * 2**35.
GAIA_SOURCE_ID_END = 12 * 4**12 * 2**35
GAIA_NULLS = ("", "null", "NULL", "nan", "NaN")
# Values outside these are not positions: read as missing and counted per file, like text in a number column.
GAIA_RANGES = {"ra": (0.0, 360.0), "dec": (-90.0, 90.0)}
# log10(wavelength / Angstrom) of any optical or near-infrared spectrograph (1000-50000 A); a loglam
# column outside it holds linear wavelengths, another unit, or garbage.
SDSS_LOGLAM_RANGE = (3.0, 4.7)

T = TypeVar("T")


class SurveyFileError(ValueError):
    """A survey file that cannot be used; the message starts with the file name."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path.name}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class SdssRecord(formats.SdssSpectrum):
    """One SDSS coadd as read (see formats.SdssSpectrum), with the file and its primary header."""

    file: str = ""
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def object_class(self) -> str | None:
        """SPECOBJ CLASS (STAR, GALAXY, QSO), upper case; None when the file does not say."""
        value = str(self.summary.get("CLASS") or "").strip().upper()
        return value or None


@dataclass
class KeplerRecord:
    """One Kepler/TESS light curve; arrays shape (n_cadences,), TIME in BJD - BJDREFI days, flux e-/s.

    ``kepler_id`` is the target id of the mission (KIC for Kepler, TIC for TESS);
    ``columns`` holds every LIGHTCURVE column as read and ``units`` their TUNIT;
    ``header`` every keyword of the primary and LIGHTCURVE headers (the latter wins).
    """

    file: str
    kepler_id: int
    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    quality: np.ndarray
    header: dict[str, Any] = field(default_factory=dict)
    mission: str = "Kepler"
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)


def hdu_label(index: int, name: str) -> str:
    """How messages name an HDU: ``HDU 2 (SPECOBJ)``."""
    return f"HDU {index} ({name})"


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


def _table_data(path: Path, hdul: fits.HDUList, index: int, label: str) -> dict[str, np.ndarray]:
    """Every column of binary-table HDU ``index``, {name: array of shape (n_rows, ...)}.

    A plain table (formats.bintable_dtype) is decoded straight from the file's bytes: astropy
    builds one Column object per column, ~60 ms for the 127-column SPECOBJ row against ~1 ms
    here. Other tables go through astropy, which applies scaling and variable-length arrays,
    and so do compressed files (astropy opens a gzipped ``.fits`` as it is; its bytes on disk
    are not the table's).
    """
    hdu = hdul[index]
    if not isinstance(hdu, fits.BinTableHDU):
        raise SurveyFileError(path, f"{label} is not a binary table")
    dtype = formats.bintable_dtype(hdu.header)
    if dtype is not None and not _is_compressed(path):
        n_rows = int(hdu.header.get("NAXIS2", 0))
        with open(path, "rb") as handle:
            handle.seek(int(hdul.fileinfo(index)["datLoc"]))
            raw = handle.read(dtype.itemsize * n_rows)
        if len(raw) < dtype.itemsize * n_rows:
            raise SurveyFileError(
                path, f"{label} data truncated ({len(raw)} of {dtype.itemsize * n_rows} bytes)"
            )
        rows = np.frombuffer(bytearray(raw), dtype=dtype, count=n_rows)  # writable, like astropy's
        return {name: rows[name] for name in dtype.names or ()}
    try:
        data = hdu.data
        return {name: np.asarray(data[name]) for name in data.columns.names}
    except Exception as error:
        raise SurveyFileError(path, f"{label} data unreadable ({error})") from error


def _is_compressed(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(6).startswith(_COMPRESSED_MAGIC)


def _table_columns(
    path: Path, hdul: fits.HDUList, index: int, label: str, needed: Iterable[str]
) -> dict[str, np.ndarray]:
    """All columns of HDU ``index``; an error names the HDU and the columns it lacks."""
    data = _table_data(path, hdul, index, label)
    missing = [name for name in needed if name not in data]
    if missing:
        raise SurveyFileError(path, f"{label} lacks column(s) {', '.join(missing)}")
    return data


def plain_value(value: Any) -> Any:
    """A FITS cell as a JSON-able Python value: strings stripped, arrays as lists, numbers as scalars.

    Real SPECOBJ rows hold arrays (SPECTROFLUX[5], SN_MEDIAN[5], ...) next to scalars, so a
    cell is never assumed to be a scalar.
    """
    if isinstance(value, bytes):
        return value.decode(errors="replace").strip()
    if isinstance(value, str):
        return value.strip()
    array = np.asarray(value)
    if array.ndim > 0:
        return [plain_value(v) for v in array.tolist()]
    return array.item()


def _row_values(path: Path, label: str, columns: dict[str, np.ndarray], row: int) -> dict[str, Any]:
    """Every column of one table row as plain values, keyed by upper-case column name."""
    values: dict[str, Any] = {}
    for name, column in columns.items():
        try:
            values[name.upper()] = plain_value(column[row])
        except Exception as error:  # a cell that cannot be decoded: name it, do not guess
            raise SurveyFileError(path, f"{label} column {name} unreadable ({error})") from error
    return values


def _header_values(*headers: fits.Header) -> dict[str, Any]:
    """Target and observation keywords of ``headers`` (later ones win), structural cards left out."""
    values: dict[str, Any] = {}
    for header in headers:
        for key, value in header.items():
            if key in _STRUCTURAL_CARDS or key in _SKIPPED_CARDS or key.startswith(_STRUCTURAL_PREFIXES):
                continue
            # An empty card (``PDC_VAR =``) reads as astropy's Undefined: it is missing, not a value.
            values[key] = None if isinstance(value, fits.card.Undefined) else plain_value(value)
    return values


def _sdss_summary(path: Path, hdul: fits.HDUList) -> dict[str, Any]:
    hdu = hdul[2]
    label = hdu_label(2, hdu.name or "/".join(SDSS_SUMMARY_NAMES))
    columns = _table_columns(path, hdul, 2, label, SDSS_SUMMARY_KEYS)
    n_rows = len(next(iter(columns.values())))
    if n_rows != 1:
        raise SurveyFileError(path, f"{label} has {n_rows} rows; the SPECOBJ/SPALL summary has one")
    summary = _row_values(path, label, columns, 0)
    for key in SDSS_SUMMARY_KEYS:
        try:
            summary[key] = int(summary[key])
        except (TypeError, ValueError) as error:
            raise SurveyFileError(
                path, f"{label} column {key} is not an integer ({summary[key]!r})"
            ) from error
    return summary


def _sdss_lines(path: Path, hdul: fits.HDUList) -> list[dict[str, Any]]:
    """SPZLINE rows (HDU 3), one dict per fitted line; [] when the file has no HDU 3."""
    if len(hdul) < 4:
        return []
    label = hdu_label(3, hdul[3].name or "SPZLINE")
    columns = _table_columns(path, hdul, 3, label, SPZLINE_REQUIRED)
    n_rows = len(columns["LINENAME"])
    return [_row_values(path, label, columns, row) for row in range(n_rows)]


def read_sdss_spec(path: Path) -> SdssRecord:
    """COADD (HDU 1), the one-row summary (HDU 2, SPECOBJ or SPALL, read by index) and SPZLINE (HDU 3).

    COADD's wdisp (LSF sigma, native pixels) and sky are read when the file has them (else None).
    """
    with _open_fits(path) as hdul:
        if len(hdul) < 3:
            raise SurveyFileError(
                path, f"has {len(hdul)} HDUs; {hdu_label(2, 'SPECOBJ/SPALL')} summary is missing"
            )
        label = hdu_label(1, hdul[1].name or "COADD")  # its own name: a light curve says LIGHTCURVE
        cols = _table_columns(path, hdul, 1, label, SDSS_COADD_COLUMNS)
        summary = _sdss_summary(path, hdul)
        lines = _sdss_lines(path, hdul)
        header = _header_values(hdul[0].header)
    loglam = cols["loglam"].astype(np.float64)
    flux = cols["flux"].astype(np.float64)
    ivar = cols["ivar"].astype(np.float64)
    if loglam.size == 0:
        raise SurveyFileError(path, f"{label} has no rows")
    if not (np.all(np.isfinite(loglam)) and np.all(np.diff(loglam) > 0)):
        raise SurveyFileError(path, f"{label} column loglam is not finite and increasing")
    low, high = SDSS_LOGLAM_RANGE
    if loglam[0] < low or loglam[-1] > high:
        raise SurveyFileError(
            path,
            f"{label} column loglam spans {loglam[0]:.4g} to {loglam[-1]:.4g}, outside {low}-{high}: "
            "not log10(wavelength / Angstrom) of an optical spectrum",
        )
    if not np.any(np.isfinite(flux) & (ivar > 0)):
        raise SurveyFileError(path, f"{label} columns flux/ivar: no pixel with finite flux and ivar > 0")
    return SdssRecord(
        file=path.name,
        header=header,
        specobjid=summary["SPECOBJID"],
        plate=summary["PLATE"],
        mjd=summary["MJD"],
        fiber=summary["FIBERID"],
        ra_deg=_float_or_nan(summary.get("PLUG_RA", header.get("PLUG_RA"))),
        dec_deg=_float_or_nan(summary.get("PLUG_DEC", header.get("PLUG_DEC"))),
        loglam=loglam,
        flux=flux,
        ivar=ivar,
        and_mask=cols["and_mask"].astype(np.int64),
        summary=summary,
        lines=lines,
        # Optional in the data model's older files; preprocessing assumes the nominal LSF without it.
        wdisp=cols["wdisp"].astype(np.float64) if "wdisp" in cols else None,
        sky=cols["sky"].astype(np.float64) if "sky" in cols else None,
    )


def _float_or_nan(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _column_units(header: fits.Header) -> dict[str, str]:
    """{column name: TUNIT} of a binary table, for the columns that have one."""
    count = int(header.get("TFIELDS", 0))
    return {
        str(header[f"TTYPE{n}"]): str(header[f"TUNIT{n}"]).strip()
        for n in range(1, count + 1)
        if str(header.get(f"TUNIT{n}", "")).strip()
    }


def _mission(header: dict[str, Any], names: set[str]) -> str:
    """Kepler or TESS, from TELESCOP, else from which quality column the table has."""
    telescope = str(header.get("TELESCOP", "")).strip()
    if telescope in formats.MISSIONS:
        return telescope
    return "TESS" if "QUALITY" in names and "SAP_QUALITY" not in names else "Kepler"


def read_lightcurve(path: Path) -> KeplerRecord:
    """A Kepler ``kplr*_llc.fits`` or TESS ``*_lc.fits``: every LIGHTCURVE column and header keyword.

    TIME, PDCSAP_FLUX(_ERR) and the quality column (SAP_QUALITY for Kepler, QUALITY for
    TESS) are required; the target id is KEPLERID or TICID.
    """
    with _open_fits(path) as hdul:
        if len(hdul) < 2:
            raise SurveyFileError(path, f"has no {hdu_label(1, 'LIGHTCURVE')}")
        hdu = hdul[1]
        label = hdu_label(1, hdu.name or "LIGHTCURVE")
        cols = _table_data(path, hdul, 1, label)
        quality = next((name for name in KEPLER_QUALITY_COLUMNS if name in cols), None)
        if quality is None:
            raise SurveyFileError(path, f"{label} has neither column SAP_QUALITY (Kepler) nor QUALITY (TESS)")
        units = _column_units(hdu.header)
        header = _header_values(hdul[0].header, hdu.header)
    mission = _mission(header, set(cols))
    target_id = _target_id(path, header, formats.MISSIONS[mission].id_key)
    missing = [name for name in KEPLER_COLUMNS if name not in cols]
    if missing:
        raise SurveyFileError(path, f"{label} lacks column(s) {', '.join(missing)}")
    if cols["TIME"].size == 0:
        raise SurveyFileError(path, f"{label} has no rows")
    flux = cols["PDCSAP_FLUX"].astype(np.float64)
    if not np.isfinite(flux).any():
        raise SurveyFileError(path, f"{label} column PDCSAP_FLUX has no finite value")
    return KeplerRecord(
        file=path.name,
        kepler_id=target_id,
        time=cols["TIME"].astype(np.float64),
        flux=flux,
        flux_err=cols["PDCSAP_FLUX_ERR"].astype(np.float64),
        quality=cols[quality].astype(np.int64),
        header=header,
        mission=mission,
        columns=cols,
        units=units,
    )


def _target_id(path: Path, header: dict[str, Any], id_key: str) -> int:
    """The mission's target id (KEPLERID or TICID) as an integer; the error names the keyword."""
    key = next((k for k in (id_key, "KEPLERID", "TICID") if header.get(k) is not None), None)
    if key is None:
        raise SurveyFileError(path, f"{hdu_label(0, 'PRIMARY')} header has neither KEPLERID nor TICID")
    value = header[key]
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise SurveyFileError(
            path, f"header keyword {key} = {value!r} is not an integer target id"
        ) from error


read_kepler_llc = read_lightcurve  # Kepler llc and TESS lc files share one layout
read_tess_lc = read_lightcurve


def _gaia_format(path: Path) -> str:
    """votable, ecsv or csv: by content first (the bulk ``GaiaSource_*.csv`` files are ECSV), then suffix."""
    with open(path, "rb") as handle:
        start = handle.read(512).lstrip()
    if b"\x00" in start and not start.startswith(_COMPRESSED_MAGIC):
        raise SurveyFileError(path, "binary content (NUL bytes): not a CSV, ECSV or VOTable text file")
    if start.startswith(b"<?xml") or start.startswith(b"<VOTABLE"):
        return "votable"
    if start.startswith(b"# %ECSV"):
        return "ecsv"
    suffix = path.suffix.lower()
    return {".vot": "votable", ".xml": "votable", ".votable": "votable", ".ecsv": "ecsv"}.get(suffix, "csv")


def _read_gaia_table(path: Path, kind: str) -> Table:
    nulls = [(null, "0") for null in GAIA_NULLS]  # masked, whatever the fill value
    arguments: dict[str, Any] = {
        "votable": {"format": "votable"},
        "ecsv": {"format": "ascii.ecsv", "fill_values": nulls},
        "csv": {"format": "ascii.csv", "fill_values": nulls},
    }[kind]
    try:
        with warnings.catch_warnings():
            # astropy warns when an integer column overflows int64 and falls back to strings;
            # the source_id check reports that per row, naming the file.
            warnings.simplefilter("ignore")
            return Table.read(path, **arguments)
    except Exception as error:
        message = str(error)
        if kind == "ecsv" and "source_id" in message:
            # ECSV declares source_id int64 and stops at the first value beyond it without
            # saying where; its body read as plain delimited text lets the check name the rows.
            return _ecsv_body(path, nulls)
        raise SurveyFileError(
            path, f"not a readable {kind.upper()} table ({type(error).__name__}: {message})"
        ) from error


def _ecsv_body(path: Path, nulls: list[tuple[str, str]]) -> Table:
    """The data of an ECSV file without its type declarations (columns typed by their values)."""
    with open(path) as handle:
        header = [line for line in itertools.islice(handle, 500) if line.startswith("#")]
    declared = next(
        (line.split(":", 1)[1].strip().strip("'\"") for line in header if "delimiter:" in line), " "
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Table.read(
            path, format="ascii.basic", delimiter=declared or " ", comment="#", fill_values=nulls
        )


def _gaia_source_ids(path: Path, column: Any) -> np.ndarray:
    """source_id as int64; rows that are not Gaia source ids are named in the error."""
    if getattr(column, "mask", None) is not None and np.any(column.mask):
        rows = np.flatnonzero(column.mask)[:5] + 1
        raise SurveyFileError(path, f"column source_id is empty in row(s) {', '.join(map(str, rows))}")
    values = [int(v) if str(v).strip().lstrip("-").isdigit() else None for v in np.asarray(column).tolist()]
    # A VOTable "long" beyond int64 is read clipped to 2**63 - 1, which is outside the Gaia range too.
    bad = [i for i, v in enumerate(values) if v is None or not 0 < v < GAIA_SOURCE_ID_END]
    if bad:
        shown = ", ".join(f"row {i + 1} ({np.asarray(column)[i]})" for i in bad[:5])
        raise SurveyFileError(
            path,
            f"column source_id: {len(bad)} value(s) are not Gaia source ids "
            f"(64-bit, below {GAIA_SOURCE_ID_END}): {shown}",
        )
    return np.asarray(values, dtype=np.int64)


def _column_values(column: Any) -> Any:
    """A table column for pandas: masked numbers -> float NaN, masked strings -> None, else as read."""
    data = np.asarray(column)
    mask = np.asarray(getattr(column, "mask", False), dtype=bool)
    if not mask.any():
        return [plain_value(v) for v in data] if data.dtype.kind in "SUO" else data
    if data.dtype.kind in "iufb":
        return np.where(mask, np.nan, data.astype(np.float64))
    return [None if m else plain_value(v) for v, m in zip(data, mask, strict=True)]


@dataclass
class GaiaFile:
    """A gaia_source export as read: the normalised frame and, per problem, what its rows got wrong."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def read_gaia_file(path: Path, required: Sequence[str] = GAIA_REQUIRED) -> GaiaFile:
    """A gaia_source export (CSV, ECSV or VOTable) as one normalised frame, with notes on its rows.

    Column names are lower-cased (VOTable results carry ``SOURCE_ID``); source_id is int64;
    the ``required`` measurements (source_id first) are float64 with NaN where the file has
    no value (empty fields, ``null``, masked VOTable cells): the parallax and RUWE of
    2-parameter solutions stay missing, never filled. :func:`gaia_missing` counts them.
    The GAIA_OPTIONAL columns a file has are float64 the same way; absent ones stay absent.

    A file without a table or without rows is a :class:`SurveyFileError`. Problems of single
    rows are counted in ``notes`` and the rest of the file is kept: a value that is not a finite
    number (text, ``inf``) or lies outside GAIA_RANGES is read as missing, and a row repeating
    an earlier row's source_id is dropped.
    """
    kind = _gaia_format(path)
    table = _read_gaia_table(path, kind)
    if not table.colnames:
        raise SurveyFileError(path, "holds no table: the file is empty or has no header line")
    # A byte-order mark (spreadsheet exports) would otherwise stick to the first column's name.
    table.rename_columns(table.colnames, [str(c).lstrip("\ufeff").strip().lower() for c in table.colnames])
    missing = [name for name in required if name not in table.colnames]
    if missing:
        raise SurveyFileError(path, f"lacks column(s) {', '.join(missing)}{_delimiter_hint(table.colnames)}")
    if len(table) == 0:
        raise SurveyFileError(path, f"has no data rows (only the header of {len(table.colnames)} columns)")
    source_ids = _gaia_source_ids(path, table["source_id"])
    table.remove_column("source_id")
    frame = pd.DataFrame({"source_id": source_ids})
    for name in table.colnames:
        frame[name] = _column_values(table[name])
    present = [name for name in GAIA_OPTIONAL if name in frame.columns and name not in required]
    notes = []
    for name in [*required[1:], *present]:
        frame[name], note = _gaia_numbers(name, frame[name])
        notes.extend([note] if note else [])
    repeated = frame["source_id"].duplicated()
    if repeated.any():
        rows = np.flatnonzero(repeated)
        shown = ", ".join(f"row {i + 1} ({frame['source_id'].iloc[i]})" for i in rows[:3])
        notes.append(f"{len(rows)} of {len(frame)} rows repeat an earlier row's source_id (dropped): {shown}")
        frame = frame[~repeated].reset_index(drop=True)
    frame["file"] = path.name
    return GaiaFile(frame, notes)


def read_gaia(path: Path, required: Sequence[str] = GAIA_REQUIRED) -> pd.DataFrame:
    """:func:`read_gaia_file`'s frame alone."""
    return read_gaia_file(path, required).frame


def _gaia_numbers(name: str, values: pd.Series) -> tuple[pd.Series, str | None]:
    """A column as float64, and a note counting the given values that are not usable numbers.

    Missing values (None, NaN) stay missing without a note: :func:`gaia_missing` counts them.
    Text, infinities and (GAIA_RANGES) impossible positions become NaN and are counted here,
    so a bad value is never mistaken for an absent one.
    """
    numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
    given = values.notna().to_numpy()
    bad = given & ~np.isfinite(numbers.to_numpy())
    low, high = GAIA_RANGES.get(name, (-np.inf, np.inf))
    bad |= given & ((numbers.to_numpy() < low) | (numbers.to_numpy() > high))
    if not bad.any():
        return numbers, None
    rows = np.flatnonzero(bad)
    shown = ", ".join(f"row {i + 1} ({_as_written(values.iloc[i])})" for i in rows[:3])
    limits = f" in {low:g}..{high:g}" if name in GAIA_RANGES else ""
    return numbers.mask(bad), (
        f"column {name}: {len(rows)} of {len(values)} values are not finite numbers{limits} "
        f"(read as missing): {shown}"
    )


def _as_written(value: Any) -> str:
    """A cell as a message shows it: text quoted, numbers plain (never numpy's ``np.float64(inf)``)."""
    return repr(value) if isinstance(value, str) else str(plain_value(value))


def _delimiter_hint(colnames: Sequence[str]) -> str:
    """A hint when the header came out as one column: the file is separated by something else."""
    if len(colnames) != 1:
        return ""
    found = [repr(sep) for sep in ("\t", ";", "|", " ") if sep in colnames[0]]
    return f" (the header reads as one column; separated by {found[0]} instead of commas?)" if found else ""


read_gaia_csv = read_gaia  # one reader for the three export formats


def gaia_missing(frame: pd.DataFrame) -> dict[str, int]:
    """Rows without a value, per GAIA_REQUIRED column that has any (e.g. parallax of 2-parameter rows)."""
    counts = frame[[c for c in GAIA_REQUIRED if c in frame.columns]].isna().sum()
    return {str(name): int(n) for name, n in counts.items() if n}


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


def read_catalogue_table(path: Path) -> pd.DataFrame:
    """A catalogue file (CSV, ECSV, VOTable or the first table HDU of a FITS file) as a frame.

    Masked and null cells are NaN (numbers) or None (strings); multi-dimensional columns (an
    APOGEE ``allStar`` has parameter and flag arrays) are left out, since a label is a scalar.
    """
    name = path.name.lower()
    if name.endswith((".fits", ".fit", ".fits.gz")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unit strings astropy does not know are not our problem
                table = Table.read(path, format="fits")
        except Exception as error:
            raise SurveyFileError(
                path, f"not a readable FITS table ({type(error).__name__}: {error})"
            ) from error
    else:
        table = _read_gaia_table(path, _gaia_format(path))
    scalar = [column for column in table.colnames if table[column].ndim == 1]
    return pd.DataFrame({column: _catalogue_values(table[column]) for column in scalar})


def _catalogue_values(column: Any) -> Any:
    """Like :func:`_column_values`, but masked integers become nullable Int64, not float64: a Gaia
    source_id (~4e18) through float64 would lose its last digits and match the wrong star."""
    data = np.asarray(column)
    if data.dtype.kind in "iu":
        mask = np.broadcast_to(np.asarray(getattr(column, "mask", False), dtype=bool), data.shape)
        values = pd.array(data.astype(np.int64), dtype="Int64")
        values[mask] = pd.NA
        return values
    if data.dtype.kind == "f":
        return np.asarray(_column_values(column), dtype=np.float64)  # native byte order for pandas
    return _column_values(column)
