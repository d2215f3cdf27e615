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
from brainstar.demo.astro import physics, variability
from brainstar.demo.astro.fits_template import TemplateWriter
from brainstar.domain.astro.formats import LABELS_COLUMNS, MISSIONS, lightcurve_columns

KEPLER_BJDREFI = MISSIONS["Kepler"].bjdrefi
# SAP_QUALITY bits the demo sets (Kepler Archive Manual, KDMC-10008, table 2-3; the values
# lightcurves.DEFAULT_QUALITY_BITMASK is built from). TESS files get the same values here.
ATTITUDE_TWEAK = 1
SAFE_MODE = 2
COARSE_POINT = 4
EARTH_POINT = 8  # the spacecraft turned its antenna to Earth: monthly downlink
ZERO_CROSSING = 16  # a reaction wheel crossing zero speed: pointing jitter, not masked by default
DESAT = 32  # reaction-wheel desaturation (momentum dump)
APERTURE_COSMIC = 128  # cosmic ray in the optimal aperture
IMPULSIVE_OUTLIER = 2048  # outlier found by PDC
NO_DATA = 65536  # no flux recorded: the cadence is NaN
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


@dataclass(frozen=True)
class Schedule:
    """When a mission interrupts or disturbs its photometry, in days from the first cadence."""

    downlinks: tuple[tuple[float, float], ...]  # (earliest, latest) start of each data downlink
    downlink_days: float  # length of the downlink's gap (Earth point)
    dump_interval_days: float  # reaction-wheel momentum dumps
    safe_mode_probability: float  # chance of one safe-mode event in the observation


# Kepler quarter: two monthly downlinks (a day at Earth point each), momentum dumps every ~3 d,
# a safe mode in about one quarter in four. TESS sector: one downlink at perigee, dumps every 2.5 d.
KEPLER_SCHEDULE = Schedule(((29.0, 33.0), (59.0, 63.0)), 1.0, 3.0, 0.25)
TESS_SCHEDULE = Schedule(((13.2, 14.2),), 1.0, 2.5, 0.0)


@dataclass
class _Systematics:
    """Multiplicative instrument signal in SAP_FLUX, what PDC leaves of it, flags and unusable cadences."""

    sap: np.ndarray
    pdc: np.ndarray
    quality: np.ndarray
    no_data: np.ndarray  # bool: no flux recorded (gaps)


def _gap_slices(
    n: int, cadence: float, schedule: Schedule, rng: np.random.Generator
) -> list[tuple[slice, int]]:
    """(cadences, quality bits) of each data gap: downlinks and perhaps a safe mode."""
    gaps = []
    for low, high in schedule.downlinks:
        start = int(rng.uniform(low, high) / cadence)
        gaps.append((slice(start, start + round(schedule.downlink_days / cadence)), EARTH_POINT | NO_DATA))
    if rng.random() < schedule.safe_mode_probability:
        start = int(rng.uniform(0.1, 0.9) * n)
        gaps.append((slice(start, start + round(rng.uniform(1.5, 4.0) / cadence)), SAFE_MODE | NO_DATA))
    return [(gap, bits) for gap, bits in gaps if gap.start < n]


def _ramp(time: np.ndarray, start: float, amplitude: float, timescale: float) -> np.ndarray:
    """Thermal settling: an exponential that starts at ``start`` (zero before)."""
    after = time >= start
    return np.where(after, amplitude * np.exp(-np.clip(time - start, 0.0, None) / timescale), 0.0)


def _systematics(
    time: np.ndarray, cadence: float, schedule: Schedule, rng: np.random.Generator
) -> _Systematics:
    """Kepler-like instrument effects on one observation; PDC removes most of each, not all.

    SAP carries a slow trend (differential velocity aberration over the quarter and focus
    drift), a thermal ramp after the first cadence and after every gap (larger after a safe
    mode), and a small flux step at each momentum dump; the dump cadence is flagged Desat and
    the cadences re-acquiring fine point after a gap Coarse point. PDC keeps 5-20 % of the
    smooth terms and 10-40 % of the ramps and steps.
    """
    n = time.size
    quality = np.zeros(n, dtype=np.int32)
    no_data = np.zeros(n, dtype=bool)
    span = (time - time[0]) / max(time[-1] - time[0], cadence)
    smooth = rng.normal(0, 1e-2) * span + rng.normal(0, 5e-3) * span**2
    smooth += rng.uniform(0, 5e-4) * np.sin(
        2 * np.pi * (time - time[0]) / rng.uniform(10.0, 40.0) + rng.uniform(0, 6.3)
    )
    ramps = _ramp(time, time[0], rng.choice([-1, 1]) * rng.uniform(1e-3, 5e-3), rng.uniform(0.5, 2.0))
    for gap, bits in _gap_slices(n, cadence, schedule, rng):
        quality[gap] |= bits
        no_data[gap] = True
        resume = min(gap.stop, n - 1)
        quality[resume : resume + int(rng.integers(2, 5))] |= COARSE_POINT
        strength = 3.0 if bits & SAFE_MODE else 1.0
        amplitude = rng.choice([-1, 1]) * strength * rng.uniform(1e-3, 5e-3)
        ramps += _ramp(time, time[resume], amplitude, strength * rng.uniform(0.5, 1.5))
    steps = np.zeros(n)
    for dump_time in np.arange(
        time[0] + rng.uniform(0, schedule.dump_interval_days), time[-1], schedule.dump_interval_days
    ):
        index = int(np.searchsorted(time, dump_time))
        quality[index] |= DESAT
        steps[index:] += rng.normal(0, 2e-4)
    for _ in range(int(rng.integers(0, 3))):  # attitude tweaks: a flagged cadence and a small step
        index = int(rng.integers(0, n))
        quality[index] |= ATTITUDE_TWEAK
        steps[index:] += rng.normal(0, 3e-4)
    kept_smooth, kept_ramps = rng.uniform(0.05, 0.2), rng.uniform(0.1, 0.4)
    sap = 1.0 + smooth + ramps + steps
    pdc = 1.0 + kept_smooth * smooth + kept_ramps * (ramps + steps)
    return _Systematics(sap, pdc, quality, no_data)


def _outliers(relative: np.ndarray, quality: np.ndarray, noise_rel: float, rng: np.random.Generator) -> None:
    """Cosmic rays (flagged ApertureCosmic), impulsive outliers (flagged) and a few unflagged ones, in place.

    Zero-crossing episodes (flagged, not masked by default) get extra pointing jitter.
    """
    n = relative.size
    cosmic = rng.random(n) < 0.005
    quality[cosmic] |= APERTURE_COSMIC
    relative[cosmic] += rng.uniform(5, 20, int(cosmic.sum())) * noise_rel
    impulsive = rng.random(n) < 0.002
    quality[impulsive] |= IMPULSIVE_OUTLIER
    relative[impulsive] += rng.choice([-1, 1], int(impulsive.sum())) * rng.uniform(5, 15) * noise_rel
    unflagged = rng.random(n) < 0.001  # for the clipping to catch
    relative[unflagged] += 10 * noise_rel
    for _ in range(int(rng.integers(1, 4))):
        start = int(rng.integers(0, n))
        episode = slice(start, start + int(rng.integers(8, 30)))
        quality[episode] |= ZERO_CROSSING
        relative[episode] += rng.normal(0, noise_rel, relative[episode].size)


@dataclass
class _Simulated:
    relative: np.ndarray  # PDCSAP flux / mean, NaN in the gaps
    sap_relative: np.ndarray  # SAP flux / the PDC mean: FLFRCSAP of the star, uncorrected systematics
    quality: np.ndarray
    noise_rel: float
    variable: variability.Variable
    magnitude: float


def _simulate(
    time: np.ndarray, kind: str, magnitude: float, schedule: Schedule, rng: np.random.Generator
) -> _Simulated:
    """Relative flux of one variability class with stellar noise, systematics, flags, gaps and outliers."""
    n = time.size
    cadence = float(np.median(np.diff(time))) if n > 1 else physics.KEPLER_CADENCE_DAYS
    magnitude = float(rng.uniform(11.0, 15.0)) if np.isnan(magnitude) else magnitude
    noise_rel = 50e-6 * 10 ** (0.2 * (magnitude - 11.0))
    variable = variability.draw_variable(kind, time, noise_rel, rng)
    signal = variability.observe(variable, time, cadence)
    granulation = rng.uniform(20e-6, 100e-6) * variability.red_noise(n, rng.uniform(2, 12), rng)
    activity = rng.uniform(20e-6, 150e-6) * variability.red_noise(n, rng.uniform(50, 150), rng)
    astrophysical = signal * (1.0 + granulation + activity)
    instrument = _systematics(time, cadence, schedule, rng)
    white = rng.normal(0, noise_rel, n)
    rel = astrophysical * instrument.pdc + white
    sap = APERTURE_CARDS["FLFRCSAP"] * astrophysical * instrument.sap + white
    _outliers(rel, instrument.quality, noise_rel, rng)
    rel[instrument.no_data] = np.nan
    sap[instrument.no_data] = np.nan
    return _Simulated(rel, sap, instrument.quality, noise_rel, variable, magnitude)


def _truth(simulated: _Simulated) -> dict[str, Any]:
    variable = simulated.variable
    return {
        "class": variable.kind,
        "period_days": variable.period_days,
        "noise_ppm": simulated.noise_rel * 1e6,
    } | variable.truth


def kepler_lightcurve(
    kepler_id: int, kind: str, rng: np.random.Generator
) -> tuple[KeplerLightCurve, dict[str, Any]]:
    """One quarter (4354 cadences) of one variability class, with systematics, gaps and flags."""
    n = physics.KEPLER_N_CADENCES
    time = 169.765 + physics.KEPLER_CADENCE_DAYS * np.arange(n)
    simulated = _simulate(time, kind, np.nan, KEPLER_SCHEDULE, rng)
    kepmag = simulated.magnitude
    flux0 = 2e5 * 10 ** (-0.4 * (kepmag - 12.0))
    lc = KeplerLightCurve(
        kepler_id=kepler_id,
        timestamp="2009259160929",
        quarter=2,
        time_bkjd=time,
        pdcsap_flux=flux0 * simulated.relative,
        pdcsap_flux_err=np.full(n, flux0 * simulated.noise_rel),
        sap_flux=flux0 * simulated.sap_relative,
        sap_quality=simulated.quality,
        ra_deg=float(rng.uniform(280.0, 300.0)),
        dec_deg=float(rng.uniform(36.0, 52.0)),
        stellar={"KEPMAG": kepmag, "TEFF": float(rng.uniform(4500, 6500)), "LOGG": 4.4, "FEH": 0.0},
    )
    return lc, _truth(simulated)


def tess_lightcurve(
    tic_id: int, kind: str, rng: np.random.Generator, n_cadences: int | None = None
) -> tuple[TessLightCurve, dict[str, Any]]:
    """One sector of 2-minute cadences (a full 27.9-day sector unless ``n_cadences`` is given)."""
    cadence = MISSIONS["TESS"].cadence_days
    n = int(TESS_SECTOR_DAYS / cadence) if n_cadences is None else n_cadences
    time = TESS_SECTOR1_START_BTJD + cadence * np.arange(n)
    tessmag = float(rng.uniform(7.0, 11.0))
    simulated = _simulate(time, kind, tessmag + 4.0, TESS_SCHEDULE, rng)  # ~Kepler-like S/N
    flux0 = 1.5e4 * 10 ** (-0.4 * (tessmag - 10.0))  # e-/s of a Tmag 10 star: 15,000
    lc = TessLightCurve(
        tic_id=tic_id,
        timestamp="2018206045859",
        sector=1,
        camera=int(rng.integers(1, 5)),
        ccd=int(rng.integers(1, 5)),
        time_btjd=time,
        pdcsap_flux=flux0 * simulated.relative,
        pdcsap_flux_err=np.full(n, flux0 * simulated.noise_rel),
        sap_flux=flux0 * simulated.sap_relative,
        quality=simulated.quality,
        ra_deg=float(rng.uniform(0.0, 360.0)),
        dec_deg=float(rng.uniform(-90.0, -30.0)),  # sector 1 looked at the southern ecliptic
        stellar=_tic_values(tessmag, rng),
    )
    return lc, _truth(simulated)


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
