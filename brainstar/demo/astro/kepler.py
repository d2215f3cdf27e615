"""Demo Kepler llc and TESS SPOC lc files, and the reference catalogue of their classes.

Both follow the archive layout (formats.lightcurve_columns): PRIMARY with the target's
catalogue keywords, LIGHTCURVE with the 20 columns and their units and display formats,
APERTURE as an int32 image. Kepler files call the quality column SAP_QUALITY and count
TIME from BJD 2454833; TESS files call it QUALITY and count from BJD 2457000.
"""

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
from brainstar.domain.astro.formats import LABELS_COLUMNS, MISSIONS, lightcurve_columns

KEPLER_BJDREFI = MISSIONS["Kepler"].bjdrefi
QUALITY_FLAGS = (1, 4, 32, 128, 2048)  # SAP_QUALITY bits set on scattered cadences
COSMIC_RAY_FLAG = 128  # cosmic ray in the optimal aperture: the flux of those cadences is off
GAP_FLAG = 65536  # set on the cadences of the data gap, whose flux is NaN
TESS_SECTOR1_START_BTJD = 1325.29  # first cadence of sector 1 (BJD - 2457000)
TESS_SECTOR_DAYS = 27.88
TESS_STELLAR_KEYS = (
    "PMRA",
    "PMDEC",
    "PMTOTAL",
    "TESSMAG",
    "TEFF",
    "LOGG",
    "MH",
    "RADIUS",
)  # TIC values in the header
TESS_SCID = 120  # spacecraft configuration id of sector 1, the 4 digits before "-s_lc" in the file name

# Isolated demo targets: nothing but the target in the aperture (CROWDSAP = 1), and 98 % of the
# target's flux in it (FLFRCSAP).
APERTURE_CARDS = {"CROWDSAP": 1.0, "FLFRCSAP": 0.98}

_KEPLER_WRITER = TemplateWriter()
_TESS_WRITER = TemplateWriter()


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


@dataclass
class TessLightCurve:
    """One TESS 2-minute-cadence sector from the SPOC pipeline; arrays (n_cadences,), flux in e-/s."""

    tic_id: int
    timestamp: str  # YYYYDDDHHMMSS of the file name
    sector: int
    camera: int
    ccd: int
    time_btjd: np.ndarray
    pdcsap_flux: np.ndarray
    pdcsap_flux_err: np.ndarray
    sap_flux: np.ndarray
    quality: np.ndarray
    ra_deg: float
    dec_deg: float
    stellar: dict[str, float] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"tess{self.timestamp}-s{self.sector:04d}-{self.tic_id:016d}-{TESS_SCID:04d}-s_lc.fits"


def _table_columns(
    mission: str,
    time: np.ndarray,
    fluxes: tuple[np.ndarray, np.ndarray, np.ndarray],
    quality: np.ndarray,
    seed: int,
    quality_column: str | None = None,
) -> list[fits.Column]:
    """The 20 LIGHTCURVE columns of ``mission`` with their units and formats, in file order.

    ``fluxes`` is (SAP_FLUX, PDCSAP_FLUX, PDCSAP_FLUX_ERR); ``quality_column`` renames the
    quality column (for files made to be broken).
    """
    sap, pdcsap, error = fluxes
    n = time.size
    rng = np.random.default_rng(seed)
    e = np.float32
    centr = rng.normal(0, 0.002, n)
    arrays: dict[str, np.ndarray] = {
        "TIME": time,
        "TIMECORR": np.full(n, 1e-3, e),
        "CADENCENO": np.arange(n, dtype=np.int32) + 1105,
        "SAP_FLUX": sap.astype(e),
        "SAP_FLUX_ERR": error.astype(e),
        "SAP_BKG": np.full(n, 1500.0, e),
        "SAP_BKG_ERR": np.full(n, 3.0, e),
        "PDCSAP_FLUX": pdcsap.astype(e),
        "PDCSAP_FLUX_ERR": error.astype(e),
        MISSIONS[mission].quality_column: quality.astype(np.int32),
        "PSF_CENTR1": np.full(n, np.nan),  # PSF fitting is not run for most targets
        "PSF_CENTR1_ERR": np.full(n, np.nan, e),
        "PSF_CENTR2": np.full(n, np.nan),
        "PSF_CENTR2_ERR": np.full(n, np.nan, e),
        "MOM_CENTR1": 650.0 + centr,
        "MOM_CENTR1_ERR": np.full(n, 1e-4, e),
        "MOM_CENTR2": 420.0 - centr,
        "MOM_CENTR2_ERR": np.full(n, 1e-4, e),
        "POS_CORR1": centr.astype(e),
        "POS_CORR2": (-centr).astype(e),
    }
    columns = []
    for name, form, unit, disp in lightcurve_columns(mission):
        written = quality_column if quality_column and name == MISSIONS[mission].quality_column else name
        columns.append(fits.Column(written, form, unit=unit or None, disp=disp, array=arrays[name]))
    return columns


# Fraction of each cadence the detector integrates (INT_TIME / FRAMETIM): DEADC in the headers.
DEAD_TIME_CORRECTION = {
    "Kepler": 6.0198 / 6.5388,
    "TESS": 1.98 / 2.0 * 0.8,
}  # TESS also loses 20 % to cosmic-ray mitigation


def _utc(mission: str, day: float) -> str:
    """ISO UTC date of a TIME value (BJD - BJDREFI), as DATE-OBS / DATE-END give it."""
    from astropy.time import Time

    return str(Time(MISSIONS[mission].bjdrefi + day, format="jd", scale="tdb").utc.isot)[:23]


def _time_cards(mission: str, time: np.ndarray) -> dict[str, Any]:
    """LIGHTCURVE time-system and exposure keywords: what a reader needs to turn TIME into BJD."""
    finite = time[np.isfinite(time)]
    spec = MISSIONS[mission]
    elapsed = float(finite.max() - finite.min())
    dead = DEAD_TIME_CORRECTION[mission]
    return {
        "EXPOSURE": elapsed * dead,
        "TIMEREF": "SOLARSYSTEM",
        "TASSIGN": "SPACECRAFT",
        "TIMESYS": "TDB",
        "BJDREFI": spec.bjdrefi,
        "BJDREFF": 0.0,
        "TIMEUNIT": "d",
        "TELAPSE": elapsed,
        "LIVETIME": elapsed * dead,
        "TSTART": float(finite.min()),
        "TSTOP": float(finite.max()),
        "DATE-OBS": _utc(mission, float(finite.min())),
        "DATE-END": _utc(mission, float(finite.max())),
        "DEADC": dead,
        "TIMEPIXR": 0.5,
        "TIERRELA": 5.78e-07 if mission == "Kepler" else 1.16e-05,
        "TIMEDEL": spec.cadence_days,
        "BACKAPP": True,
        "DEADAPP": True,
        "VIGNAPP": True,
    }


def _cdpp_ppm(flux: np.ndarray, cadences: int) -> float | None:
    """Combined differential photometric precision (ppm) on ``cadences``-long bins, from the flux.

    None (an empty header card, as SPOC writes for metrics it could not compute) without
    at least two full bins of finite flux.
    """
    finite = flux[np.isfinite(flux)]
    usable = finite.size // cadences * cadences
    if usable < 2 * cadences:
        return None
    relative = finite / np.median(finite) - 1.0
    binned = relative[:usable].reshape(-1, cadences).mean(axis=1)
    return float(1e6 * np.std(binned))


def _kepler_primary_cards(lc: KeplerLightCurve) -> dict[str, Any]:
    return {
        "ORIGIN": "NASA/Ames",
        "CREATOR": "17226 FluxExporter2PipelineModule",
        "PROCVER": "svn+ssh://murzim/repo/soc/tags/release/9.0.4 50441",
        "FILEVER": "6.1",
        "TIMVERSN": "OGIP/93-003",
        "TELESCOP": "Kepler",
        "INSTRUME": "Kepler Photometer",
        "OBJECT": f"KIC {lc.kepler_id}",
        "KEPLERID": lc.kepler_id,
        "CHANNEL": 1 + lc.kepler_id % 84,
        "QUARTER": lc.quarter,
        "DATA_REL": 25,
        "OBSMODE": "long cadence",
        "RADESYS": "ICRS",
        "RA_OBJ": lc.ra_deg,
        "DEC_OBJ": lc.dec_deg,
        "EQUINOX": 2000.0,
        **{key: lc.stellar[key] for key in ("KEPMAG", "TEFF", "LOGG", "FEH", "RADIUS") if key in lc.stellar},
    }


def _kepler_lightcurve_cards(lc: KeplerLightCurve) -> dict[str, Any]:
    """LIGHTCURVE header of a Kepler quarter: target, time system, exposure and CDPP keywords."""
    per_hour = round(1.0 / 24.0 / MISSIONS["Kepler"].cadence_days)  # long cadences per hour
    return {
        "EXTVER": 1,
        "TELESCOP": "Kepler",
        "INSTRUME": "Kepler Photometer",
        "OBJECT": f"KIC {lc.kepler_id}",
        "KEPLERID": lc.kepler_id,
        "RADESYS": "ICRS",
        "RA_OBJ": lc.ra_deg,
        "DEC_OBJ": lc.dec_deg,
        "EQUINOX": 2000.0,
        **_time_cards("Kepler", lc.time_bkjd),
        "INT_TIME": 6.0198,
        "FRAMETIM": 6.5388,
        "NUM_FRM": 270,
        "CDPP3_0": _cdpp_ppm(lc.pdcsap_flux, 3 * per_hour),
        "CDPP6_0": _cdpp_ppm(lc.pdcsap_flux, 6 * per_hour),
        "CDPP12_0": _cdpp_ppm(lc.pdcsap_flux, 12 * per_hour),
        **APERTURE_CARDS,
        "PDCMETHD": "msMAP",
    }


def _aperture(name: str = "APERTURE") -> fits.ImageHDU:
    """Optimal-aperture bitmask image (bit 1 collected, bit 2 in the optimal aperture)."""
    return fits.ImageHDU(np.full((12, 11), 3, dtype=np.int32), name=name)


def _hdulist(
    primary_cards: dict[str, Any], table_cards: dict[str, Any], columns: list[fits.Column]
) -> fits.HDUList:
    primary = fits.PrimaryHDU()
    primary.header.update(primary_cards)
    table = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
    table.header.update(table_cards)
    return fits.HDUList([primary, table, _aperture()])


def _kepler_columns(lc: KeplerLightCurve, quality_column: str | None = None) -> list[fits.Column]:
    fluxes = (lc.sap_flux, lc.pdcsap_flux, lc.pdcsap_flux_err)
    return _table_columns("Kepler", lc.time_bkjd, fluxes, lc.sap_quality, lc.kepler_id, quality_column)


def kepler_hdulist(lc: KeplerLightCurve, quality_column: str = "SAP_QUALITY") -> fits.HDUList:
    """HDU list of a Kepler llc file: PRIMARY (KIC keys), LIGHTCURVE (20 columns), APERTURE."""
    columns = _kepler_columns(lc, quality_column)
    return _hdulist(_kepler_primary_cards(lc), _kepler_lightcurve_cards(lc), columns)


def write_kepler_llc(folder: Path, lc: KeplerLightCurve) -> Path:
    return _KEPLER_WRITER.write(
        folder / lc.filename,
        {0: _kepler_primary_cards(lc), 1: _kepler_lightcurve_cards(lc)},
        {1: {c.name: c.array for c in _kepler_columns(lc)}},
        lambda: kepler_hdulist(lc),
    )


def _tess_primary_cards(lc: TessLightCurve) -> dict[str, Any]:
    return {
        "ORIGIN": "NASA/Ames",
        "CREATOR": "26493 LightCurveExporterPipelineModule",
        "PROCVER": "spoc-5.0.10-20200904",
        "FILEVER": "1.0",
        "TIMVERSN": "OGIP/93-003",
        "TELESCOP": "TESS",
        "INSTRUME": "TESS Photometer",
        "DATA_REL": 42,
        "OBJECT": f"TIC {lc.tic_id}",
        "TICID": lc.tic_id,
        "SECTOR": lc.sector,
        "CAMERA": lc.camera,
        "CCD": lc.ccd,
        "PXTABLE": 128,
        "RADESYS": "ICRS",
        "RA_OBJ": lc.ra_deg,
        "DEC_OBJ": lc.dec_deg,
        "EQUINOX": 2000.0,
        **{
            k: v
            for k, v in _time_cards("TESS", lc.time_btjd).items()
            if k in ("TSTART", "TSTOP", "DATE-OBS", "DATE-END")
        },
        **{key: lc.stellar[key] for key in TESS_STELLAR_KEYS if key in lc.stellar},
        "TICVER": "8.1",
        "CRMITEN": True,  # on-board cosmic-ray mitigation
        "CRBLKSZ": 10,
        "CRSPOC": False,
    }


def _tess_lightcurve_cards(lc: TessLightCurve) -> dict[str, Any]:
    per_hour = round(1.0 / 24.0 / MISSIONS["TESS"].cadence_days)  # 2-minute cadences per hour
    return {
        "EXTVER": 1,
        "TELESCOP": "TESS",
        "INSTRUME": "TESS Photometer",
        "OBJECT": f"TIC {lc.tic_id}",
        "TICID": lc.tic_id,
        "RADESYS": "ICRS",
        "RA_OBJ": lc.ra_deg,
        "DEC_OBJ": lc.dec_deg,
        "EQUINOX": 2000.0,
        **_time_cards("TESS", lc.time_btjd),
        "INT_TIME": 1.98,
        "READTIME": 0.02,
        "FRAMETIM": 2.0,
        "NUM_FRM": 60,
        "CDPP0_5": _cdpp_ppm(lc.pdcsap_flux, per_hour // 2),
        "CDPP1_0": _cdpp_ppm(lc.pdcsap_flux, per_hour),
        "CDPP2_0": _cdpp_ppm(lc.pdcsap_flux, 2 * per_hour),
        **APERTURE_CARDS,
        "PDCMETHD": "msMAP",
    }


def _tess_columns(lc: TessLightCurve, quality_column: str | None = None) -> list[fits.Column]:
    fluxes = (lc.sap_flux, lc.pdcsap_flux, lc.pdcsap_flux_err)
    return _table_columns("TESS", lc.time_btjd, fluxes, lc.quality, lc.tic_id, quality_column)


def tess_hdulist(lc: TessLightCurve, quality_column: str = "QUALITY") -> fits.HDUList:
    """HDU list of a TESS SPOC lc file: PRIMARY (TIC keys), LIGHTCURVE (20 columns), APERTURE."""
    return _hdulist(_tess_primary_cards(lc), _tess_lightcurve_cards(lc), _tess_columns(lc, quality_column))


def write_tess_lc(folder: Path, lc: TessLightCurve) -> Path:
    return _TESS_WRITER.write(
        folder / lc.filename,
        {0: _tess_primary_cards(lc), 1: _tess_lightcurve_cards(lc)},
        {1: {c.name: c.array for c in _tess_columns(lc)}},
        lambda: tess_hdulist(lc),
    )


@dataclass
class _Simulated:
    relative: np.ndarray  # flux / mean, NaN in the gap
    quality: np.ndarray
    noise_rel: float
    period: float
    extra: dict[str, float]


def _simulate(
    time: np.ndarray, kind: str, magnitude: float, gap_cadences: int, rng: np.random.Generator
) -> _Simulated:
    """Relative flux of one variability class with systematics, flags, a gap and outliers."""
    n = time.size
    period = physics.draw_period(kind, rng)
    signal, extra = physics.lightcurve_signal(time, kind, period, rng)
    magnitude = float(rng.uniform(11.0, 15.0)) if np.isnan(magnitude) else magnitude
    noise_rel = 50e-6 * 10 ** (0.2 * (magnitude - 11.0))
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
    gap = slice(gap_start, gap_start + gap_cadences)
    quality[gap] |= GAP_FLAG
    rel[gap] = np.nan
    cosmic = rng.random(n) < 0.002  # a few unflagged outliers, for the clipping to catch
    rel[cosmic] += 10 * noise_rel
    return _Simulated(rel, quality, noise_rel, period, {"magnitude": magnitude, **extra})


def _truth(kind: str, simulated: _Simulated) -> dict[str, Any]:
    extra = {k: v for k, v in simulated.extra.items() if k != "magnitude"}
    periodic = kind != "quiet"
    return {
        "class": kind,
        "period_days": simulated.period if periodic else None,
        "noise_ppm": simulated.noise_rel * 1e6,
    } | extra


def kepler_lightcurve(
    kepler_id: int, kind: str, rng: np.random.Generator
) -> tuple[KeplerLightCurve, dict[str, Any]]:
    """One quarter (4354 cadences) of one variability class, with systematics, gaps and flags."""
    n = physics.KEPLER_N_CADENCES
    time = 169.765 + physics.KEPLER_CADENCE_DAYS * np.arange(n)
    simulated = _simulate(time, kind, np.nan, 48, rng)
    kepmag = simulated.extra["magnitude"]
    flux0 = 2e5 * 10 ** (-0.4 * (kepmag - 12.0))
    span = (time - time[0]) / (time[-1] - time[0])
    flux = flux0 * simulated.relative
    lc = KeplerLightCurve(
        kepler_id=kepler_id,
        timestamp="2009259160929",
        quarter=2,
        time_bkjd=time,
        pdcsap_flux=flux,
        pdcsap_flux_err=np.full(n, flux0 * simulated.noise_rel),
        sap_flux=flux * (1.0 + 1e-3 * span),
        sap_quality=simulated.quality,
        ra_deg=float(rng.uniform(280.0, 300.0)),
        dec_deg=float(rng.uniform(36.0, 52.0)),
        stellar={"KEPMAG": kepmag, "TEFF": float(rng.uniform(4500, 6500)), "LOGG": 4.4, "FEH": 0.0},
    )
    return lc, _truth(kind, simulated)


def tess_lightcurve(
    tic_id: int, kind: str, rng: np.random.Generator, n_cadences: int | None = None
) -> tuple[TessLightCurve, dict[str, Any]]:
    """One sector of 2-minute cadences (a full 27.9-day sector unless ``n_cadences`` is given)."""
    cadence = MISSIONS["TESS"].cadence_days
    n = int(TESS_SECTOR_DAYS / cadence) if n_cadences is None else n_cadences
    time = TESS_SECTOR1_START_BTJD + cadence * np.arange(n)
    tessmag = float(rng.uniform(7.0, 11.0))
    simulated = _simulate(time, kind, tessmag + 4.0, round(1.0 / cadence), rng)  # ~Kepler-like S/N
    flux0 = 1.5e4 * 10 ** (-0.4 * (tessmag - 10.0))  # e-/s of a Tmag 10 star: 15,000
    flux = flux0 * simulated.relative
    lc = TessLightCurve(
        tic_id=tic_id,
        timestamp="2018206045859",
        sector=1,
        camera=int(rng.integers(1, 5)),
        ccd=int(rng.integers(1, 5)),
        time_btjd=time,
        pdcsap_flux=flux,
        pdcsap_flux_err=np.full(n, flux0 * simulated.noise_rel),
        sap_flux=flux * 0.98,  # the optimal aperture catches ~98 % of the star (FLFRCSAP)
        quality=simulated.quality,
        ra_deg=float(rng.uniform(0.0, 360.0)),
        dec_deg=float(rng.uniform(-90.0, -30.0)),  # sector 1 looked at the southern ecliptic
        stellar=_tic_values(tessmag, rng),
    )
    return lc, _truth(kind, simulated)


def _tic_values(tessmag: float, rng: np.random.Generator) -> dict[str, float]:
    """The TIC values SPOC copies into the primary header (proper motion in mas/yr)."""
    pmra, pmdec = (float(v) for v in rng.normal(0.0, 20.0, 2))
    return {
        "PMRA": pmra,
        "PMDEC": pmdec,
        "PMTOTAL": float(np.hypot(pmra, pmdec)),
        "TESSMAG": tessmag,
        "TEFF": float(rng.uniform(4500, 6500)),
        "LOGG": 4.4,
        "MH": 0.0,
        "RADIUS": 1.0,
    }


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
