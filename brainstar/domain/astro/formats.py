"""Writers for the real survey formats (astropy only): SDSS spec, Kepler llc, Gaia gaia_source CSV.

Layouts follow docs/research/astro.md section 1: SDSS ``spec-PPPP-MMMMM-FFFF.fits`` with
HDU1 ``COADD`` and a one-row HDU2 ``SPECOBJ``; Kepler ``kplrNNNNNNNNN-*_llc.fits`` with the
20-column ``LIGHTCURVE`` table and an ``APERTURE`` image; Gaia archive CSV with
``gaia_source`` column names, empty fields for nulls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.table import MaskedColumn, Table

from brainstar.core.atomic import atomic_path

SDSS_BUNIT = "1E-17 erg/cm^2/s/Ang"
KEPLER_BJDREFI = 2454833
GAIA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_id", "i8"),
    ("ra", "f8"),
    ("dec", "f8"),
    ("parallax", "f8"),
    ("parallax_error", "f4"),
    ("parallax_over_error", "f4"),
    ("phot_g_mean_mag", "f4"),
    ("phot_bp_mean_mag", "f4"),
    ("phot_rp_mean_mag", "f4"),
    ("bp_rp", "f4"),
    ("ruwe", "f4"),
    ("teff_gspphot", "f4"),
    ("logg_gspphot", "f4"),
    ("mh_gspphot", "f4"),
)


@dataclass
class SdssSpectrum:
    """One SDSS coadd: arrays of shape (n_pix,) and the SPECOBJ summary values."""

    plate: int
    mjd: int
    fiber: int
    specobjid: int
    ra_deg: float
    dec_deg: float
    loglam: np.ndarray
    flux: np.ndarray
    ivar: np.ndarray
    and_mask: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"spec-{self.plate:04d}-{self.mjd:05d}-{self.fiber:04d}.fits"


SUMMARY_FORMATS = {"SPECOBJID": "K", "CLASS": "6A", "SUBCLASS": "21A", "PLUG_RA": "D", "PLUG_DEC": "D"}


def _summary_format(name: str, value: Any) -> str:
    if name in SUMMARY_FORMATS:
        return SUMMARY_FORMATS[name]
    return "J" if isinstance(value, int | np.integer) else "D"


def _sdss_parts(spec: SdssSpectrum) -> tuple[dict[str, Any], list[fits.Column], dict[str, Any]]:
    """(primary header cards, COADD columns, HDU2 row) of one spectrum."""
    cards = {
        "TELESCOP": "SDSS 2.5-M",
        "PLATEID": spec.plate,
        "MJD": spec.mjd,
        "FIBERID": spec.fiber,
        "VERS2D": "v5_13_2",
        "RUN2D": "26",
        "COEFF0": float(spec.loglam[0]),
        "COEFF1": float(np.median(np.diff(spec.loglam))),
        "BUNIT": SDSS_BUNIT,
        "VACUUM": True,
        "PLUG_RA": spec.ra_deg,
        "PLUG_DEC": spec.dec_deg,
    }
    flux = spec.flux.astype(np.float32)
    mask = spec.and_mask.astype(np.int32)
    columns = [
        fits.Column("flux", "E", array=flux),
        fits.Column("loglam", "E", array=spec.loglam.astype(np.float32)),
        fits.Column("ivar", "E", array=spec.ivar.astype(np.float32)),
        fits.Column("and_mask", "J", array=mask),
        fits.Column("or_mask", "J", array=mask),
        fits.Column("wdisp", "E", array=np.full(flux.size, 1.1, np.float32)),
        fits.Column("sky", "E", array=np.zeros(flux.size, np.float32)),
        fits.Column("model", "E", array=flux),
    ]
    row = {
        "PLATE": spec.plate,
        "MJD": spec.mjd,
        "FIBERID": spec.fiber,
        "SPECOBJID": spec.specobjid,
        "PLUG_RA": spec.ra_deg,
        "PLUG_DEC": spec.dec_deg,
        **spec.summary,
    }
    return cards, columns, row


def sdss_hdulist(spec: SdssSpectrum, summary_extname: str = "SPECOBJ") -> fits.HDUList:
    """The HDU list of an SDSS DR17 spec file (HDU0 header, HDU1 COADD, HDU2 summary)."""
    cards, columns, row = _sdss_parts(spec)
    primary = fits.PrimaryHDU()
    primary.header.update(cards)
    coadd = fits.BinTableHDU.from_columns(columns, name="COADD")
    summary = fits.BinTableHDU.from_columns(
        [fits.Column(name, _summary_format(name, value), array=[value]) for name, value in row.items()],
        name=summary_extname,
    )
    return fits.HDUList([primary, coadd, summary])


class TemplateWriter:
    """Writes many files of one layout by refilling one HDU list in place.

    Building astropy table HDUs costs ~50 ms per file (header card validation); refilling
    the data of an already-built list and writing it costs ~6 ms. The first file of each
    layout is built the ordinary way, so every file has the same cards and formats.
    """

    def __init__(self) -> None:
        self._template: fits.HDUList | None = None
        self._signature: tuple[Any, ...] | None = None

    def write(
        self, target: Path, cards: dict[str, dict[str, Any]], tables: dict[int, dict[str, Any]], build: Any
    ) -> Path:
        signature = tuple((i, tuple(t), len(next(iter(t.values()), []))) for i, t in sorted(tables.items()))
        if self._template is None or signature != self._signature:
            self._template, self._signature = build(), signature
        else:
            for index, header_cards in cards.items():
                self._template[index].header.update(header_cards)
            for index, columns in tables.items():
                for name, values in columns.items():
                    self._template[index].data[name][:] = values
        with atomic_path(target) as tmp:
            self._template.writeto(tmp, overwrite=True, output_verify="ignore")
        return target


_SDSS_WRITER = TemplateWriter()
_KEPLER_WRITER = TemplateWriter()


def write_sdss_spec(folder: Path, spec: SdssSpectrum) -> Path:
    cards, columns, row = _sdss_parts(spec)
    tables = {1: {c.name: c.array for c in columns}, 2: {k: [v] for k, v in row.items()}}
    return _SDSS_WRITER.write(folder / spec.filename, {0: cards}, tables, lambda: sdss_hdulist(spec))


@dataclass
class KeplerLightCurve:
    """One Kepler long-cadence quarter; arrays of shape (n_cadences,), flux in e-/s."""

    kepler_id: int
    timestamp: str  # YYYYDDDHHMMSS of the file name
    quarter: int
    time_bkjd: np.ndarray
    pdcsap_flux: np.ndarray
    pdcsap_flux_err: np.ndarray
    sap_flux: np.ndarray
    sap_quality: np.ndarray
    ra_deg: float
    dec_deg: float
    stellar: dict[str, float] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"kplr{self.kepler_id:09d}-{self.timestamp}_llc.fits"


def _kepler_parts(
    lc: KeplerLightCurve, quality_column: str
) -> tuple[dict[str, Any], list[fits.Column], dict[str, Any]]:
    """(primary cards, LIGHTCURVE columns, LIGHTCURVE header cards) of one quarter."""
    primary = {
        "TELESCOP": "Kepler",
        "INSTRUME": "Kepler Photometer",
        "OBJECT": f"KIC {lc.kepler_id}",
        "KEPLERID": lc.kepler_id,
        "CHANNEL": 1 + lc.kepler_id % 84,
        "QUARTER": lc.quarter,
        "DATA_REL": 25,
        "OBSMODE": "long cadence",
        "CREATOR": "17226 FluxExporter2PipelineModule",
        "ORIGIN": "NASA/Ames",
        "RA_OBJ": lc.ra_deg,
        "DEC_OBJ": lc.dec_deg,
        **{key: lc.stellar[key] for key in ("KEPMAG", "TEFF", "LOGG", "FEH", "RADIUS") if key in lc.stellar},
    }
    n = lc.time_bkjd.size
    rng = np.random.default_rng(lc.kepler_id)
    e = np.float32
    centr = rng.normal(0, 0.002, n)
    nan_d, nan_e = np.full(n, np.nan), np.full(n, np.nan, e)
    columns = [
        fits.Column("TIME", "D", unit="BJD - 2454833", array=lc.time_bkjd),
        fits.Column("TIMECORR", "E", unit="d", array=np.full(n, 1e-3, e)),
        fits.Column("CADENCENO", "J", array=np.arange(n, dtype=np.int32) + 1105),
        fits.Column("SAP_FLUX", "E", unit="e-/s", array=lc.sap_flux.astype(e)),
        fits.Column("SAP_FLUX_ERR", "E", unit="e-/s", array=lc.pdcsap_flux_err.astype(e)),
        fits.Column("SAP_BKG", "E", unit="e-/s", array=np.full(n, 1500.0, e)),
        fits.Column("SAP_BKG_ERR", "E", unit="e-/s", array=np.full(n, 3.0, e)),
        fits.Column("PDCSAP_FLUX", "E", unit="e-/s", array=lc.pdcsap_flux.astype(e)),
        fits.Column("PDCSAP_FLUX_ERR", "E", unit="e-/s", array=lc.pdcsap_flux_err.astype(e)),
        fits.Column(quality_column, "J", array=lc.sap_quality.astype(np.int32)),
        fits.Column("PSF_CENTR1", "D", unit="pixel", array=nan_d),
        fits.Column("PSF_CENTR1_ERR", "E", unit="pixel", array=nan_e),
        fits.Column("PSF_CENTR2", "D", unit="pixel", array=nan_d),
        fits.Column("PSF_CENTR2_ERR", "E", unit="pixel", array=nan_e),
        fits.Column("MOM_CENTR1", "D", unit="pixel", array=650.0 + centr),
        fits.Column("MOM_CENTR1_ERR", "E", unit="pixel", array=np.full(n, 1e-4, e)),
        fits.Column("MOM_CENTR2", "D", unit="pixel", array=420.0 - centr),
        fits.Column("MOM_CENTR2_ERR", "E", unit="pixel", array=np.full(n, 1e-4, e)),
        fits.Column("POS_CORR1", "E", unit="pixels", array=centr.astype(e)),
        fits.Column("POS_CORR2", "E", unit="pixels", array=(-centr).astype(e)),
    ]
    finite = lc.time_bkjd[np.isfinite(lc.time_bkjd)]
    ext = {
        "EXTVER": 1,
        "TELESCOP": "Kepler",
        "INSTRUME": "Kepler Photometer",
        "OBJECT": f"KIC {lc.kepler_id}",
        "KEPLERID": lc.kepler_id,
        "RA_OBJ": lc.ra_deg,
        "DEC_OBJ": lc.dec_deg,
        "TIMEREF": "SOLARSYSTEM",
        "TASSIGN": "SPACECRAFT",
        "TIMESYS": "TDB",
        "BJDREFI": KEPLER_BJDREFI,
        "BJDREFF": 0.0,
        "TIMEUNIT": "d",
        "TSTART": float(finite.min()),
        "TSTOP": float(finite.max()),
        "TIMEPIXR": 0.5,
        "INT_TIME": 6.0198,
        "FRAMETIM": 6.5388,
        "NUM_FRM": 270,
        "TIMEDEL": 0.02043359821692,
        "PDCMETHD": "msMap",
    }
    return primary, columns, ext


def kepler_hdulist(lc: KeplerLightCurve, quality_column: str = "SAP_QUALITY") -> fits.HDUList:
    """HDU list of a Kepler llc file: PRIMARY (KIC keys), LIGHTCURVE (20 columns), APERTURE."""
    cards, columns, ext = _kepler_parts(lc, quality_column)
    primary = fits.PrimaryHDU()
    primary.header.update(cards)
    table = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
    table.header.update(ext)
    aperture = fits.ImageHDU(np.full((12, 11), 3, dtype=np.int32), name="APERTURE")
    return fits.HDUList([primary, table, aperture])


def write_kepler_llc(folder: Path, lc: KeplerLightCurve) -> Path:
    cards, columns, ext = _kepler_parts(lc, "SAP_QUALITY")
    return _KEPLER_WRITER.write(
        folder / lc.filename,
        {0: cards, 1: ext},
        {1: {c.name: c.array for c in columns}},
        lambda: kepler_hdulist(lc),
    )


def gaia_table(rows: list[dict[str, float | int | None]]) -> Table:
    """A gaia_source Table; ``None`` or NaN values become masked (empty CSV fields, like the archive)."""
    columns = []
    for name, dtype in GAIA_COLUMNS:
        values = [row.get(name) for row in rows]
        mask = [v is None or (isinstance(v, float) and not np.isfinite(v)) for v in values]
        filled = [0 if m else v for v, m in zip(values, mask, strict=True)]
        columns.append(MaskedColumn(np.asarray(filled, dtype=dtype), name=name, mask=mask))
    return Table(columns)


def write_gaia_csv(path: Path, table: Table) -> Path:
    with atomic_path(path) as tmp:
        table.write(tmp, format="ascii.csv", overwrite=True)
    return path
