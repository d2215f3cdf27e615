"""Demo Kepler long-cadence llc files (one quarter each) and the reference catalogue of their classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.table import Table

from brainstar.core.atomic import atomic_path
from brainstar.demo.astro import physics
from brainstar.demo.astro.fits_template import TemplateWriter
from brainstar.domain.astro.formats import LABELS_COLUMNS

KEPLER_BJDREFI = 2454833
QUALITY_FLAGS = (1, 4, 32, 128, 2048)  # SAP_QUALITY bits set on scattered cadences
COSMIC_RAY_FLAG = 128  # cosmic ray in the optimal aperture: the flux of those cadences is off
GAP_FLAG = 65536  # set on the cadences of the data gap, whose flux is NaN

_WRITER = TemplateWriter()


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


def _primary_cards(lc: KeplerLightCurve) -> dict[str, Any]:
    return {
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


def _lightcurve_columns(lc: KeplerLightCurve, quality_column: str) -> list[fits.Column]:
    """The 20 LIGHTCURVE columns of the archive's llc files, in their order."""
    n = lc.time_bkjd.size
    rng = np.random.default_rng(lc.kepler_id)
    e = np.float32
    centr = rng.normal(0, 0.002, n)
    nan_d, nan_e = np.full(n, np.nan), np.full(n, np.nan, e)
    return [
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


def _lightcurve_cards(lc: KeplerLightCurve) -> dict[str, Any]:
    """LIGHTCURVE header: the time system keywords a reader needs to turn TIME into BJD."""
    finite = lc.time_bkjd[np.isfinite(lc.time_bkjd)]
    return {
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
        "TIMEDEL": physics.KEPLER_CADENCE_DAYS,
        "PDCMETHD": "msMap",
    }


def kepler_hdulist(lc: KeplerLightCurve, quality_column: str = "SAP_QUALITY") -> fits.HDUList:
    """HDU list of a Kepler llc file: PRIMARY (KIC keys), LIGHTCURVE (20 columns), APERTURE."""
    primary = fits.PrimaryHDU()
    primary.header.update(_primary_cards(lc))
    table = fits.BinTableHDU.from_columns(_lightcurve_columns(lc, quality_column), name="LIGHTCURVE")
    table.header.update(_lightcurve_cards(lc))
    aperture = fits.ImageHDU(np.full((12, 11), 3, dtype=np.int32), name="APERTURE")
    return fits.HDUList([primary, table, aperture])


def write_kepler_llc(folder: Path, lc: KeplerLightCurve) -> Path:
    return _WRITER.write(
        folder / lc.filename,
        {0: _primary_cards(lc), 1: _lightcurve_cards(lc)},
        {1: {c.name: c.array for c in _lightcurve_columns(lc, "SAP_QUALITY")}},
        lambda: kepler_hdulist(lc),
    )


def kepler_lightcurve(
    kepler_id: int, kind: str, rng: np.random.Generator
) -> tuple[KeplerLightCurve, dict[str, Any]]:
    """One quarter (4354 cadences) of one variability class, with systematics, gaps and flags."""
    n = physics.KEPLER_N_CADENCES
    time = 169.765 + physics.KEPLER_CADENCE_DAYS * np.arange(n)
    period = physics.draw_period(kind, rng)
    signal, extra = physics.lightcurve_signal(time, kind, period, rng)
    kepmag = float(rng.uniform(11.0, 15.0))
    noise_rel = 50e-6 * 10 ** (0.2 * (kepmag - 11.0))
    flux0 = 2e5 * 10 ** (-0.4 * (kepmag - 12.0))
    span = (time - time[0]) / (time[-1] - time[0])
    trend = 1.0 + rng.normal(0, 2e-3) * span + rng.normal(0, 2e-3) * span**2
    trend -= rng.uniform(0, 3e-3) * np.exp(-(time - time[0]) / 0.7)  # thermal settling after a gap
    variability = rng.uniform(30e-6, 300e-6) * physics.red_noise(n, rng.uniform(50, 150), rng)
    rel = signal * trend * (1.0 + variability) + rng.normal(0, noise_rel, n)
    quality = np.zeros(n, dtype=np.int32)
    flagged = rng.random(n) < 0.01
    quality[flagged] = rng.choice(QUALITY_FLAGS, size=int(flagged.sum()))
    rel[quality == COSMIC_RAY_FLAG] += rng.uniform(5, 20) * noise_rel
    gap_start = int(rng.integers(n // 3, 2 * n // 3))
    gap = slice(gap_start, gap_start + 48)
    quality[gap] |= GAP_FLAG
    rel[gap] = np.nan
    cosmic = rng.random(n) < 0.002  # a few unflagged outliers, for the clipping to catch
    rel[cosmic] += 10 * noise_rel
    flux = flux0 * rel
    lc = KeplerLightCurve(
        kepler_id=kepler_id,
        timestamp="2009259160929",
        quarter=2,
        time_bkjd=time,
        pdcsap_flux=flux,
        pdcsap_flux_err=np.full(n, flux0 * noise_rel),
        sap_flux=flux * (1.0 + 1e-3 * span),
        sap_quality=quality,
        ra_deg=float(rng.uniform(280.0, 300.0)),
        dec_deg=float(rng.uniform(36.0, 52.0)),
        stellar={"KEPMAG": kepmag, "TEFF": float(rng.uniform(4500, 6500)), "LOGG": 4.4, "FEH": 0.0},
    )
    periodic = kind != "quiet"
    truth = {"class": kind, "period_days": period if periodic else None, "noise_ppm": noise_rel * 1e6}
    return lc, truth | extra


def write_labels_catalog(path: Path, lc_truth: dict[str, Any]) -> Path:
    """Reference classes and periods per KIC, as a vetted catalogue would give them (CSV)."""
    values = (
        [int(k) for k in lc_truth],
        [t["class"] for t in lc_truth.values()],
        [t["period_days"] if t["period_days"] else np.nan for t in lc_truth.values()],
    )
    table = Table(dict(zip(LABELS_COLUMNS, values, strict=True)))
    with atomic_path(path) as tmp:
        table.write(tmp, format="ascii.csv", overwrite=True)
    return path
