"""Demo survey files in the real formats, generated from :mod:`physics` with known truth.

``write_astro_surveys`` is the domain's demo-data writer (brainstar.domain.demo_landing WRITERS):
SDSS spectra of 500 stars (50 of them observed twice, so grouping by star matters),
200 Kepler quarters (50 each of transit / eclipsing binary / pulsator / quiet), a
reference catalogue of light-curve classes (like the KOI and Kepler EB catalogues), and
Gaia ``gaia_source`` rows for the spectroscopic stars plus field stars, in two CSVs.
Spectra have a median continuum S/N per pixel drawn from 15-60 (see ``SPEC_SNR_RANGE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.table import Table

from brainstar.core.atomic import atomic_path
from brainstar.domain.astro import formats, physics


@dataclass(frozen=True)
class DemoSizes:
    """How many objects the demo writes; tests use smaller ones."""

    n_spec_stars: int = 500
    n_repeat_spectra: int = 50
    n_field_stars: int = 100
    n_lc_per_class: int = 50


SPEC_SNR_RANGE = (15.0, 60.0)
LABEL_NOISE = {"teff_k": 30.0, "logg_cgs": 0.05, "feh_dex": 0.03}
LABELS_CATALOG = Path("astro") / "catalogs" / "kepler_variability_labels.csv"
NOSKY_BIT, BRIGHTSKY_BIT = 1 << 22, 1 << 23
SKY_LINES_A = (5578.5, 6301.7, 6365.5)


@dataclass(frozen=True)
class DemoStar:
    source_id: int
    ra_deg: float
    dec_deg: float
    params: physics.StellarParams
    distance_pc: float
    av_mag: float


def draw_stars(rng: np.random.Generator, n: int) -> list[DemoStar]:
    ids = np.sort(rng.choice(2**40, size=n, replace=False)) + 3_600_000_000_000_000_000
    stars = []
    for source_id in ids:
        distance = float(np.exp(rng.uniform(np.log(100.0), np.log(1500.0))))
        av = float(0.6 * distance / 1000.0 * rng.uniform(0.3, 1.7))
        ra, dec = float(rng.uniform(180.0, 190.0)), float(rng.uniform(0.0, 10.0))
        stars.append(DemoStar(int(source_id), ra, dec, physics.draw_stellar_params(rng), distance, av))
    return stars


def gaia_row(star: DemoStar, rng: np.random.Generator) -> dict[str, Any]:
    """Observed Gaia astrometry and photometry of a star, with reddening and noise."""
    p = star.params
    colour0 = physics.intrinsic_bp_rp(p.teff_k, p.feh_dex)
    g0 = physics.absolute_g(p) + 5.0 * np.log10(star.distance_pc / 10.0)
    g = g0 + physics.A_G_PER_AV * star.av_mag
    colour = colour0 + (physics.A_BP_PER_AV - physics.A_RP_PER_AV) * star.av_mag
    rp = g - (0.08 + 0.47 * colour)
    binary = rng.random() < 0.08
    mag_err = 0.002 + 0.01 * 10 ** (0.2 * (g - 19.0))
    plx_err = 0.015 + 0.1 * 10 ** (0.2 * (g - 19.0))
    parallax = 1000.0 / star.distance_pc + rng.normal(0, plx_err)
    g_obs, rp_obs = g + rng.normal(0, mag_err), rp + rng.normal(0, mag_err)
    colour_obs = colour + rng.normal(0, 1.4 * mag_err)
    has_gsp = rng.random() < 0.3
    return {
        "source_id": star.source_id,
        "ra": star.ra_deg + rng.normal(0, 0.05 / 3600),
        "dec": star.dec_deg + rng.normal(0, 0.05 / 3600),
        "parallax": parallax,
        "parallax_error": plx_err,
        "parallax_over_error": parallax / plx_err,
        "phot_g_mean_mag": g_obs,
        "phot_bp_mean_mag": rp_obs + colour_obs,
        "phot_rp_mean_mag": rp_obs,
        "bp_rp": colour_obs,
        "ruwe": float(rng.uniform(1.5, 4.0) if binary else rng.normal(1.0, 0.05)),
        "teff_gspphot": p.teff_k + rng.normal(0, 150) if has_gsp else None,
        "logg_gspphot": p.logg_cgs + rng.normal(0, 0.2) if has_gsp else None,
        "mh_gspphot": p.feh_dex + rng.normal(0, 0.3) if has_gsp else None,
    }


def sdss_spectrum(
    star: DemoStar, plate: int, mjd: int, fiber: int, rng: np.random.Generator
) -> tuple[formats.SdssSpectrum, dict[str, float]]:
    """A noisy, masked coadd of ``star`` with its SPECOBJ row; returns (spectrum, truth)."""
    loglam = physics.sdss_loglam()
    rv = float(rng.normal(0.0, 40.0))
    continuum, absorption = physics.model_spectrum(star.params, loglam, rv)
    response = 1.0 + 0.15 * np.sin((loglam - 3.58) * 9.0 + rng.uniform(0, 6.28))  # flux calibration
    scale = float(10 ** rng.uniform(1.0, 2.0))
    clean = scale * continuum * response * absorption
    snr = float(rng.uniform(*SPEC_SNR_RANGE))
    sigma = np.median(clean) / snr * np.sqrt(np.clip(clean / np.median(clean), 0.05, None))
    flux = clean + rng.normal(0.0, 1.0, clean.size) * sigma
    ivar = 1.0 / sigma**2
    and_mask = np.zeros(clean.size, dtype=np.int32)
    wave = 10.0**loglam
    for line in SKY_LINES_A:
        sky = np.abs(wave - line) < 3.0
        and_mask[sky] |= BRIGHTSKY_BIT
        flux[sky] += 20.0 * sigma[sky] * rng.uniform(0.5, 1.5)
    dead = rng.random(clean.size) < 0.005
    and_mask[dead] |= NOSKY_BIT
    ivar[dead] = 0.0
    flux[dead] = 0.0
    labels = {key: getattr(star.params, key) + rng.normal(0, err) for key, err in LABEL_NOISE.items()}
    specobjid = (plate << 50) | (fiber << 38) | ((mjd - 50000) << 24) | (26 << 10)
    summary = {
        "CLASS": "STAR",
        "SUBCLASS": physics.spectral_type(star.params.teff_k),
        "Z": rv / physics.C_KMS,
        "Z_ERR": 5.0 / physics.C_KMS,
        "ZWARNING": 0,
        "SN_MEDIAN_ALL": snr,
        "ELODIE_TEFF": labels["teff_k"],
        "ELODIE_LOGG": labels["logg_cgs"],
        "ELODIE_FEH": labels["feh_dex"],
    }
    spec = formats.SdssSpectrum(
        plate, mjd, fiber, specobjid, star.ra_deg, star.dec_deg, loglam, flux, ivar, and_mask, summary
    )
    return spec, {"source_id": star.source_id, "snr": snr, "rv_kms": rv, **vars(star.params)}


def kepler_lightcurve(
    kepler_id: int, kind: str, rng: np.random.Generator
) -> tuple[formats.KeplerLightCurve, dict[str, Any]]:
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
    quality[flagged] = rng.choice([1, 4, 32, 128, 2048], size=int(flagged.sum()))
    rel[quality == 128] += rng.uniform(5, 20) * noise_rel  # cosmic rays in the aperture
    gap_start = int(rng.integers(n // 3, 2 * n // 3))
    gap = slice(gap_start, gap_start + 48)
    quality[gap] |= 65536
    rel[gap] = np.nan
    cosmic = rng.random(n) < 0.002  # a few unflagged outliers, for the clipping to catch
    rel[cosmic] += 10 * noise_rel
    flux = flux0 * rel
    lc = formats.KeplerLightCurve(
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


def write_astro_surveys(landing_root: Path, seed: int, sizes: DemoSizes = DemoSizes()) -> dict[str, Any]:
    """Write the demo SDSS, Kepler and Gaia files under ``landing_root/astro``; return the truth."""
    rng = np.random.default_rng([seed, 1729])
    root = landing_root / "astro"
    for survey in ("sdss", "kepler", "gaia"):
        (root / survey).mkdir(parents=True, exist_ok=True)
    n_spec = sizes.n_spec_stars
    stars = draw_stars(rng, n_spec + sizes.n_field_stars)
    spec_stars = stars[:n_spec]
    observed = [*spec_stars, *(spec_stars[i] for i in rng.choice(n_spec, sizes.n_repeat_spectra, False))]
    spectra_truth: dict[str, Any] = {}
    for index, star in enumerate(observed):
        plate, fiber = 266 + index // 600, 1 + index % 600
        mjd = 51630 + (index // 600) + (7 if index >= n_spec else 0)
        spec, truth = sdss_spectrum(star, plate, mjd, fiber, rng)
        formats.write_sdss_spec(root / "sdss", spec)
        spectra_truth[spec.filename] = truth
    rows = [gaia_row(star, rng) for star in stars]
    half = len(rows) // 2
    for name, chunk in (
        ("GaiaSource_000000-003111.csv", rows[:half]),
        ("GaiaSource_003112-006224.csv", rows[half:]),
    ):
        formats.write_gaia_csv(root / "gaia" / name, formats.gaia_table(chunk))
    lc_truth: dict[str, Any] = {}
    n_lc = sizes.n_lc_per_class
    kepler_ids = rng.choice(np.arange(1_000_000, 13_000_000), 4 * n_lc, replace=False)
    kinds = [kind for kind in physics.LC_CLASSES for _ in range(n_lc)]
    for kepler_id, kind in zip(kepler_ids, kinds, strict=True):
        lc, truth = kepler_lightcurve(int(kepler_id), kind, rng)
        formats.write_kepler_llc(root / "kepler", lc)
        lc_truth[str(int(kepler_id))] = truth
    write_labels_catalog(landing_root / LABELS_CATALOG, lc_truth)
    return {
        "sdss": spectra_truth,
        "kepler": lc_truth,
        "gaia": {
            str(star.source_id): {**vars(star.params), "distance_pc": star.distance_pc} for star in stars
        },
        "spectral_snr_range": list(SPEC_SNR_RANGE),
    }


def write_labels_catalog(path: Path, lc_truth: dict[str, Any]) -> Path:
    """Reference classes and periods per KIC, as a vetted catalogue would give them (CSV)."""
    table = Table(
        {
            "kepid": [int(k) for k in lc_truth],
            "class": [t["class"] for t in lc_truth.values()],
            "period_days": [t["period_days"] if t["period_days"] else np.nan for t in lc_truth.values()],
        }
    )
    with atomic_path(path) as tmp:
        table.write(tmp, format="ascii.csv", overwrite=True)
    return path


def write_bad_astro_files(landing_root: Path, seed: int = 0) -> dict[str, str]:
    """Deliberately broken files (for tests only) -> {relative path: the problem}; never in the demo."""
    rng = np.random.default_rng([seed, 99])
    root = landing_root / "astro"
    for survey in ("sdss", "kepler", "gaia"):
        (root / survey).mkdir(parents=True, exist_ok=True)
    star = draw_stars(rng, 1)[0]
    problems: dict[str, str] = {}

    spec, _ = sdss_spectrum(star, 3001, 55555, 1, rng)
    full = root / "sdss" / spec.filename
    formats.write_sdss_spec(root / "sdss", spec)
    full.write_bytes(full.read_bytes()[:5000])
    problems[f"astro/sdss/{spec.filename}"] = "truncated"

    spec, _ = sdss_spectrum(star, 3001, 55555, 2, rng)
    hdus = formats.sdss_hdulist(spec)
    coadd = hdus[1].columns
    hdus[1] = fits.BinTableHDU.from_columns([c for c in coadd if c.name != "ivar"], name="COADD")
    hdus.writeto(root / "sdss" / spec.filename)
    problems[f"astro/sdss/{spec.filename}"] = "ivar"

    spec, _ = sdss_spectrum(star, 3001, 55555, 3, rng)
    formats.sdss_hdulist(spec)[:2].writeto(root / "sdss" / spec.filename)
    problems[f"astro/sdss/{spec.filename}"] = "HDU 2"

    (root / "sdss" / "spec-3001-55555-0004.fits").write_text("this is not FITS\n")
    problems["astro/sdss/spec-3001-55555-0004.fits"] = "FITS"

    lc, _ = kepler_lightcurve(99000001, "quiet", rng)
    lc.pdcsap_flux[:] = np.nan
    formats.write_kepler_llc(root / "kepler", lc)
    problems[f"astro/kepler/{lc.filename}"] = "PDCSAP_FLUX"

    lc, _ = kepler_lightcurve(99000002, "quiet", rng)
    formats.kepler_hdulist(lc, quality_column="FLAGS").writeto(root / "kepler" / lc.filename)
    problems[f"astro/kepler/{lc.filename}"] = "QUALITY"

    table = formats.gaia_table([gaia_row(star, rng)])
    table.remove_column("parallax")
    formats.write_gaia_csv(root / "gaia" / "broken_no_parallax.csv", table)
    problems["astro/gaia/broken_no_parallax.csv"] = "parallax"
    return problems
