"""Demo SDSS DR17 spec files: a noisy, masked coadd per star with its SPECOBJ row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from brainstar.demo.astro import physics
from brainstar.demo.astro.fits_template import TemplateWriter
from brainstar.demo.astro.stars import DemoStar
from brainstar.domain.astro.formats import SdssSpectrum

SDSS_BUNIT = "1E-17 erg/cm^2/s/Ang"
SUMMARY_FORMATS = {"SPECOBJID": "K", "CLASS": "6A", "SUBCLASS": "21A", "PLUG_RA": "D", "PLUG_DEC": "D"}
SPEC_SNR_RANGE = (15.0, 60.0)
LABEL_NOISE = {"teff_k": 30.0, "logg_cgs": 0.05, "feh_dex": 0.03}
NOSKY_BIT, BRIGHTSKY_BIT = 1 << 22, 1 << 23
SKY_LINES_A = (5578.5, 6301.7, 6365.5)

_WRITER = TemplateWriter()


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


def write_sdss_spec(folder: Path, spec: SdssSpectrum) -> Path:
    cards, columns, row = _sdss_parts(spec)
    tables = {1: {c.name: c.array for c in columns}, 2: {k: [v] for k, v in row.items()}}
    return _WRITER.write(folder / spec.filename, {0: cards}, tables, lambda: sdss_hdulist(spec))


def sdss_spectrum(
    star: DemoStar, plate: int, mjd: int, fiber: int, rng: np.random.Generator
) -> tuple[SdssSpectrum, dict[str, float]]:
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
    spec = SdssSpectrum(
        plate, mjd, fiber, specobjid, star.ra_deg, star.dec_deg, loglam, flux, ivar, and_mask, summary
    )
    return spec, {"source_id": star.source_id, "snr": snr, "rv_kms": rv, **vars(star.params)}
