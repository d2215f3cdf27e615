"""The astro demo landing zone: survey files in the archives' formats, drawn from :mod:`physics`.

``write_astro_surveys`` is the domain's demo-data writer (brainstar.demo.landing WRITERS):
SDSS spectra of 1000 stars (100 of them observed twice, so grouping by star matters),
500 Kepler quarters (100 each of transit / eclipsing binary / pulsator / rotation / quiet), a
reference catalogue of light-curve classes (like the KOI and Kepler EB catalogues), an SSPP
parameter table (``sppParams``) with adopted labels for about 90 % of the spectra, and
Gaia ``gaia_source`` rows for the spectroscopic stars plus field stars (every tenth field star
with a 2-parameter solution: no parallax, no RUWE), in two bulk-download ECSV chunks.
The stars are SDSS-like stellar targets, M to A types (Teff 3500-9900 K, log g 0.5-5, [Fe/H]
-2.5..+0.5; ``stellar_spectra.POPULATION``). Spectra have a median S/N per native pixel drawn
uniformly from 10-100 (``sdss.SPEC_SNR_RANGE``: about half at S/N >= 50, where the quality floors
are stated), photon, sky and read noise with the ivar to match, and a line-spread sigma (the
COADD ``wdisp``) of 0.9-1.3 native pixels, or 1.6-2.5 for 12 % of them (``sdss.LOW_RES_SHARE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from brainstar.demo.astro import gaia, kepler, sdss, sspp
from brainstar.demo.astro.stars import DemoStar, draw_stars
from brainstar.domain.astro.formats import LABELS_CATALOG, LC_CLASSES

SURVEYS = ("sdss", "kepler", "gaia")
SSPP_CATALOG = LABELS_CATALOG.parent / sspp.SSPP_FILE  # stellar labels beside the light-curve catalogue
SDSS_FIBERS_PER_PLATE = 600
TWO_PARAMETER_EVERY = 10  # every 10th field star has a position-only Gaia solution (no parallax, no RUWE)


@dataclass(frozen=True, kw_only=True)  # four counts: by name only, never mixed up by position
class DemoSizes:
    """How many objects the demo writes; tests use smaller ones."""

    n_spec_stars: int = 1000
    """Stars with an SDSS spectrum (and a Gaia row): enough for the spectral model to meet its floors
    over the M-to-A population (benchmarks/astro_quality.py)."""
    n_repeat_spectra: int = 100
    """Of those, how many have a second spectrum on a later plate."""
    n_field_stars: int = 100
    """Stars with a Gaia row only."""
    n_lc_per_class: int = 100
    """Kepler quarters per variability class. 100 gives a test split of 15 per class, where one
    misclassified star costs ~0.013 of macro-F1 (~0.025 with 50, 8 per class): the 0.95 floor is
    then four errors away instead of two, and the gate measures the model more than the draw."""
    n_nonstellar_spectra: int = 0
    """SDSS spectra of galaxies and quasars (alternating), which stellar ingestion must skip."""


def _survey_folders(landing_root: Path) -> Path:
    root = landing_root / "astro"
    for survey in SURVEYS:
        (root / survey).mkdir(parents=True, exist_ok=True)
    return root


def _write_spectra(
    folder: Path, spec_stars: list[DemoStar], n_repeat: int, rng: np.random.Generator
) -> dict[str, Any]:
    """One spectrum per star, then repeats of ``n_repeat`` of them 7 nights later; returns truth by file."""
    n_spec = len(spec_stars)
    observed = [*spec_stars, *(spec_stars[i] for i in rng.choice(n_spec, n_repeat, False))]
    truth: dict[str, Any] = {}
    for index, star in enumerate(observed):
        plate, fiber = 266 + index // SDSS_FIBERS_PER_PLATE, 1 + index % SDSS_FIBERS_PER_PLATE
        mjd = 51630 + (index // SDSS_FIBERS_PER_PLATE) + (7 if index >= n_spec else 0)
        spec, spec_truth = sdss.sdss_spectrum(star, plate, mjd, fiber, rng)
        sdss.write_sdss_spec(folder, spec)
        truth[spec.filename] = spec_truth
    return truth


NONSTELLAR_PLATE = 9001  # a plate of its own, so the stars' plates and fibres stay as they were


def _write_nonstellar(folder: Path, n: int, seed: int) -> dict[str, Any]:
    """``n`` galaxy and quasar spectra from their own random stream (the other demo data do not change)."""
    rng = np.random.default_rng([seed, 2718])
    truth: dict[str, Any] = {}
    for index in range(n):
        position = (float(rng.uniform(180.0, 190.0)), float(rng.uniform(0.0, 10.0)))
        kind = ("GALAXY", "QSO")[index % 2]
        spec, spec_truth = sdss.nonstellar_spectrum(kind, NONSTELLAR_PLATE, 55000, 1 + index, position, rng)
        sdss.write_sdss_spec(folder, spec)
        truth[spec.filename] = spec_truth
    return truth


def _write_lightcurves(folder: Path, n_per_class: int, rng: np.random.Generator) -> dict[str, Any]:
    """``n_per_class`` quarters of each class on distinct KIC ids; returns truth by KIC id."""
    kepler_ids = rng.choice(np.arange(1_000_000, 13_000_000), len(LC_CLASSES) * n_per_class, replace=False)
    kinds = [kind for kind in LC_CLASSES for _ in range(n_per_class)]
    truth: dict[str, Any] = {}
    for kepler_id, kind in zip(kepler_ids, kinds, strict=True):
        lc, lc_truth = kepler.kepler_lightcurve(int(kepler_id), kind, rng)
        kepler.write_kepler_llc(folder, lc)
        truth[str(int(kepler_id))] = lc_truth
    return truth


def write_astro_surveys(landing_root: Path, seed: int, sizes: DemoSizes = DemoSizes()) -> dict[str, Any]:
    """Write the demo SDSS, Kepler and Gaia files under ``landing_root/astro``; return the truth."""
    rng = np.random.default_rng([seed, 1729])
    root = _survey_folders(landing_root)
    stars = draw_stars(rng, sizes.n_spec_stars + sizes.n_field_stars)
    spectra_truth = _write_spectra(root / "sdss", stars[: sizes.n_spec_stars], sizes.n_repeat_spectra, rng)
    spectra_truth |= _write_nonstellar(root / "sdss", sizes.n_nonstellar_spectra, seed)
    field_index = np.arange(len(stars)) - sizes.n_spec_stars
    two_parameter = (field_index >= 0) & (field_index % TWO_PARAMETER_EVERY == TWO_PARAMETER_EVERY - 1)
    rows = [
        gaia.gaia_row(star, rng, bool(position_only))
        for star, position_only in zip(stars, two_parameter, strict=True)
    ]
    gaia.write_gaia_source(root / "gaia", rows)
    # The light curves have a random stream of their own: the same for any number of stars.
    lc_truth = _write_lightcurves(root / "kepler", sizes.n_lc_per_class, np.random.default_rng([seed, 2024]))
    # Its own random stream, so adding the catalogue changed none of the other demo files.
    sspp.write_sspp_params(landing_root / SSPP_CATALOG, spectra_truth, np.random.default_rng([seed, 314]))
    kepler.write_labels_catalog(landing_root / LABELS_CATALOG, lc_truth)
    return {
        "sdss": spectra_truth,
        "kepler": lc_truth,
        "gaia": {
            str(star.source_id): {**vars(star.params), "distance_pc": star.distance_pc} for star in stars
        },
        "spectral_snr_range": list(sdss.SPEC_SNR_RANGE),
    }


def _write_bad_sdss(folder: Path, star: DemoStar, rng: np.random.Generator) -> dict[str, str]:
    problems: dict[str, str] = {}

    spec, _ = sdss.sdss_spectrum(star, 3001, 55555, 1, rng)
    full = folder / spec.filename
    sdss.write_sdss_spec(folder, spec)
    full.write_bytes(full.read_bytes()[:5000])
    problems[f"astro/sdss/{spec.filename}"] = "truncated"

    spec, _ = sdss.sdss_spectrum(star, 3001, 55555, 2, rng)
    hdus = sdss.sdss_hdulist(spec)
    coadd = hdus[1].columns
    hdus[1] = fits.BinTableHDU.from_columns([c for c in coadd if c.name != "ivar"], name="COADD")
    hdus.writeto(folder / spec.filename)
    problems[f"astro/sdss/{spec.filename}"] = "ivar"

    spec, _ = sdss.sdss_spectrum(star, 3001, 55555, 3, rng)
    sdss.sdss_hdulist(spec)[:2].writeto(folder / spec.filename)
    problems[f"astro/sdss/{spec.filename}"] = "HDU 2"

    (folder / "spec-3001-55555-0004.fits").write_text("this is not FITS\n")
    problems["astro/sdss/spec-3001-55555-0004.fits"] = "FITS"
    return problems


def _write_bad_kepler(folder: Path, rng: np.random.Generator) -> dict[str, str]:
    problems: dict[str, str] = {}

    lc, _ = kepler.kepler_lightcurve(99000001, "quiet", rng)
    lc.pdcsap_flux[:] = np.nan
    kepler.write_kepler_llc(folder, lc)
    problems[f"astro/kepler/{lc.filename}"] = "PDCSAP_FLUX"

    lc, _ = kepler.kepler_lightcurve(99000002, "quiet", rng)
    kepler.kepler_hdulist(lc, quality_column="FLAGS").writeto(folder / lc.filename)
    problems[f"astro/kepler/{lc.filename}"] = "QUALITY"
    return problems


def _write_bad_gaia(folder: Path, star: DemoStar, rng: np.random.Generator) -> dict[str, str]:
    table = gaia.gaia_table([gaia.gaia_row(star, rng)])
    table.remove_column("parallax")
    gaia.write_gaia_csv(folder / "broken_no_parallax.csv", table)
    return {"astro/gaia/broken_no_parallax.csv": "parallax"}


def write_bad_astro_files(landing_root: Path, seed: int = 0) -> dict[str, str]:
    """Deliberately broken files (for tests only) -> {relative path: the problem}; never in the demo."""
    rng = np.random.default_rng([seed, 99])
    root = _survey_folders(landing_root)
    star = draw_stars(rng, 1)[0]
    return {
        **_write_bad_sdss(root / "sdss", star, rng),
        **_write_bad_kepler(root / "kepler", rng),
        **_write_bad_gaia(root / "gaia", star, rng),
    }
