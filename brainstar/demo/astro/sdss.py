"""Demo SDSS DR8+ spec files: a noisy, masked coadd with its full SPECOBJ row and SPZLINE table.

The layout is the real one (formats.SPECOBJ_COLUMNS, formats.SPZLINE_COLUMNS): 127 SPECOBJ
columns of which 14 are arrays, identifiers as strings, one SPZLINE row per fitted line.
Summary values are computed from the written spectrum where the pipeline computes them
(S/N, ugriz fluxes, chi statistics, coverage, masks); the rest carry the values the data
model gives for "not applicable" (0, -1, empty strings).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from brainstar.demo.astro import physics
from brainstar.demo.astro.fits_template import TemplateWriter
from brainstar.demo.astro.stars import DemoStar
from brainstar.domain.astro.formats import SPECOBJ_COLUMNS, SPZLINE_COLUMNS, SdssSpectrum
from brainstar.domain.astro.spectra import NOMINAL_WDISP

SDSS_BUNIT = "1E-17 erg/cm^2/s/Ang"
# Median S/N per native pixel of the demo's stellar spectra: uniform over this range, so that
# about half reach S/N 50 (the quality floors are set there) and a tenth lie below 20.
SPEC_SNR_RANGE = (10.0, 100.0)
# Line-spread function sigma (native pixels, the COADD wdisp column): most fibres have SDSS's
# nominal resolution; LOW_RES_SHARE of spectra (a defocused plate, a worn spectrograph) are worse.
NOMINAL_WDISP_RANGE = (0.9, 1.3)
LOW_RES_WDISP_RANGE = (1.6, 2.5)
LOW_RES_SHARE = 0.12
# Noise: var = (object + sky + read) / gain, object and sky in flux units (photon noise), read
# noise as the flux READ_NOISE_SHARE^2 x median(object + sky), the gain (counts per flux unit)
# solved so that the median object S/N is the drawn one. The sky continuum relative to the
# object's median is log-uniform: bright targets barely see it, faint ones are sky dominated.
SKY_TO_OBJECT_RANGE = (0.05, 1.0)
READ_NOISE_SHARE = 0.15
RV_SIGMA_KMS = 40.0  # radial-velocity spread of the demo stars (a disc population)
LABEL_NOISE = {"teff_k": 30.0, "logg_cgs": 0.05, "feh_dex": 0.03}
NOSKY_BIT, BRIGHTSKY_BIT = 1 << 22, 1 << 23
RUN2D = "26"  # SDSS-I/II plates reduced for DR8+
# Templates of the best fit (idlspec2d eigenspectra files), by CLASS.
TEMPLATE_FILES = {
    "STAR": "spEigenStar-55734.fits",
    "GALAXY": "spEigenGal-55740.fits",
    "QSO": "spEigenQSO-55732.fits",
}
# ugriz: (lower, upper) wavelength in A of each band's half-power range.
UGRIZ_A = ((3000.0, 4000.0), (4000.0, 5500.0), (5500.0, 6900.0), (6900.0, 8400.0), (8400.0, 9200.0))
NANOMAGGY_CGS = 3.631e-29  # erg/s/cm^2/Hz
C_A_PER_S = 2.99792458e18
# The 29 lines idlspec2d fits into SPZLINE: (LINENAME, vacuum rest wavelength in A).
SPZLINE_LINES: tuple[tuple[str, float], ...] = (
    ("Ly_alpha", 1215.67),
    ("N_V 1240", 1240.81),
    ("C_IV 1549", 1549.48),
    ("He_II 1640", 1640.42),
    ("C_III] 1908", 1908.73),
    ("Mg_II 2799", 2800.32),
    ("[O_II] 3725", 3727.09),
    ("[O_II] 3727", 3729.88),
    ("[Ne_III] 3868", 3869.86),
    ("H_epsilon", 3971.20),
    ("[Ne_III] 3970", 3968.59),
    ("H_delta", 4102.89),
    ("H_gamma", 4341.68),
    ("[O_III] 4363", 4364.44),
    ("He_II 4685", 4687.02),
    ("H_beta", 4862.68),
    ("[O_III] 4959", 4960.30),
    ("[O_III] 5007", 5008.24),
    ("He_II 5411", 5413.02),
    ("[O_I] 5577", 5578.89),
    ("[O_I] 6300", 6302.05),
    ("[S_III] 6312", 6313.81),
    ("[O_I] 6363", 6365.54),
    ("[N_II] 6548", 6549.86),
    ("H_alpha", 6564.61),
    ("[N_II] 6583", 6585.27),
    ("[S_II] 6716", 6718.29),
    ("[S_II] 6730", 6732.67),
    ("[Ar_III] 7135", 7137.77),
)
LINE_WINDOW_KMS = 300.0  # +-window of a line's area, in the line's frame
NOT_MEASURED = -2.0  # SPZLINE error code of a line outside the spectrum

_WRITER = TemplateWriter()


def _primary_cards(spec: SdssSpectrum) -> dict[str, Any]:
    return {
        "TELESCOP": "SDSS 2.5-M",
        "PLATEID": spec.plate,
        "MJD": spec.mjd,
        "FIBERID": spec.fiber,
        "VERS2D": "v5_13_2",
        "RUN2D": RUN2D,
        "COEFF0": float(spec.loglam[0]),
        "COEFF1": float(np.median(np.diff(spec.loglam))),
        "BUNIT": SDSS_BUNIT,
        "VACUUM": True,
        "PLUG_RA": spec.ra_deg,
        "PLUG_DEC": spec.dec_deg,
    }


def _coadd_columns(spec: SdssSpectrum) -> list[fits.Column]:
    flux = spec.flux.astype(np.float32)
    mask = spec.and_mask.astype(np.int32)
    return [
        fits.Column("flux", "E", array=flux),
        fits.Column("loglam", "E", array=spec.loglam.astype(np.float32)),
        fits.Column("ivar", "E", array=spec.ivar.astype(np.float32)),
        fits.Column("and_mask", "J", array=mask),
        fits.Column("or_mask", "J", array=mask),
        fits.Column("wdisp", "E", array=_or_default(spec.wdisp, NOMINAL_WDISP, flux.size)),
        fits.Column("sky", "E", array=_or_default(spec.sky, 0.0, flux.size)),
        fits.Column("model", "E", array=(flux if spec.model is None else spec.model).astype(np.float32)),
    ]


def _or_default(values: np.ndarray | None, default: float, size: int) -> np.ndarray:
    return np.full(size, default, np.float32) if values is None else values.astype(np.float32)


def _summary_columns(omit: Iterable[str]) -> list[tuple[str, str]]:
    left_out = set(omit)
    return [(name, form) for name, form in SPECOBJ_COLUMNS if name not in left_out]


def _specobj_values(spec: SdssSpectrum, omit: Iterable[str]) -> dict[str, list[Any]]:
    """One-row SPECOBJ columns {name: [value]} in file order; ``omit`` leaves columns out."""
    return {name: [spec.summary[name]] for name, _ in _summary_columns(omit)}


def _spzline_values(spec: SdssSpectrum) -> dict[str, list[Any]]:
    return {name: [line[name] for line in spec.lines] for name, _ in SPZLINE_COLUMNS}


def sdss_hdulist(
    spec: SdssSpectrum, summary_extname: str = "SPECOBJ", omit: Iterable[str] = ()
) -> fits.HDUList:
    """The HDU list of an SDSS DR8+ spec file: HDU0 header, HDU1 COADD, HDU2 summary, HDU3 SPZLINE."""
    primary = fits.PrimaryHDU()
    primary.header.update(_primary_cards(spec))
    coadd = fits.BinTableHDU.from_columns(_coadd_columns(spec), name="COADD")
    row = _specobj_values(spec, omit)
    summary = fits.BinTableHDU.from_columns(
        [fits.Column(name, form, array=row[name]) for name, form in _summary_columns(omit)],
        name=summary_extname,
    )
    lines = _spzline_values(spec)
    spzline = fits.BinTableHDU.from_columns(
        [fits.Column(name, form, array=lines[name]) for name, form in SPZLINE_COLUMNS], name="SPZLINE"
    )
    return fits.HDUList([primary, coadd, summary, spzline])


def write_sdss_spec(folder: Path, spec: SdssSpectrum, omit: Iterable[str] = ()) -> Path:
    """Write ``spec`` as ``folder/spec-PPPP-MMMMM-FFFF.fits``; ``omit`` drops SPECOBJ columns (e.g. Z)."""
    omit = tuple(omit)
    tables = {
        1: {c.name: c.array for c in _coadd_columns(spec)},
        2: _specobj_values(spec, omit),
        3: _spzline_values(spec),
    }
    return _WRITER.write(
        folder / spec.filename, {0: _primary_cards(spec)}, tables, lambda: sdss_hdulist(spec, omit=omit)
    )


# O I, Na I and OH night-sky emission (vacuum A); the first three leave residuals and are masked
# (BRIGHTSKY), the others only add noise (Na I would otherwise mask every star's Na D).
SKY_EMISSION_A = (5578.5, 6301.7, 6365.5, 5891.6, 6865.0, 7246.0, 7341.0, 7794.0, 7914.0, 7993.0)
SKY_EMISSION_A += (8344.6, 8399.2, 8430.2, 8465.4, 8885.8, 8919.6, 8943.4, 8988.4, 9001.4)


def sky_spectrum(loglam: np.ndarray, level: float) -> np.ndarray:
    """Night sky in flux units: a continuum rising to the red with median ``level``, plus emission lines."""
    wave = 10.0**loglam
    sky = (wave / 6000.0) ** 1.5
    for line in SKY_EMISSION_A:
        sky += (4.0 if line > 6800.0 else 8.0) * np.exp(-0.5 * ((wave - line) / 1.2) ** 2)
    return level * sky / np.median(sky)


def _observe(
    clean: np.ndarray, loglam: np.ndarray, snr: float, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """(flux, ivar, and_mask, sky) of a noise-free coadd: photon noise of object and sky plus read
    noise, ivar from that variance, sky-subtraction residuals at the bright lines, dead pixels."""
    level = float(np.median(clean))
    sky = sky_spectrum(loglam, level * float(np.exp(rng.uniform(*np.log(SKY_TO_OBJECT_RANGE)))))
    # Counts per flux unit chosen so that median(clean / sigma) = snr (the gain scales out of the ratio).
    read = READ_NOISE_SHARE**2 * float(np.median(clean + sky))
    shape = clean / np.sqrt(clean + sky + read)
    gain = (snr / float(np.median(shape))) ** 2
    sigma = np.sqrt((clean + sky + read) / gain)
    flux = clean + rng.normal(0.0, 1.0, clean.size) * sigma
    ivar = 1.0 / sigma**2
    and_mask = np.zeros(clean.size, dtype=np.int32)
    wave = 10.0**loglam
    for line in SKY_EMISSION_A[:3]:
        bright = np.abs(wave - line) < 3.0
        and_mask[bright] |= BRIGHTSKY_BIT
        flux[bright] += 20.0 * sigma[bright] * rng.uniform(0.5, 1.5)
    dead = rng.random(clean.size) < 0.005
    and_mask[dead] |= NOSKY_BIT
    ivar[dead] = 0.0
    flux[dead] = 0.0
    return flux, ivar, and_mask, sky


def draw_wdisp(rng: np.random.Generator) -> float:
    """Line-spread sigma (native pixels) at mid-spectrum: nominal, or low resolution for LOW_RES_SHARE."""
    low = rng.random() < LOW_RES_SHARE
    return float(rng.uniform(*(LOW_RES_WDISP_RANGE if low else NOMINAL_WDISP_RANGE)))


def _specobjid(plate: int, mjd: int, fiber: int) -> int:
    """SkyServer specObjID bit layout: plate, fiber, MJD - 50000, run2d (26 -> 26 << 10)."""
    return (plate << 50) | (fiber << 38) | ((mjd - 50000) << 24) | (int(RUN2D) << 10)


def _band_stats(
    wave: np.ndarray, values: np.ndarray, weights: np.ndarray, good: np.ndarray
) -> tuple[list[float], list[float]]:
    """(band means of ``values``, their inverse variances) over UGRIZ_A, from good pixels only."""
    means, ivars = [], []
    for low, high in UGRIZ_A:
        band = good & (wave >= low) & (wave < high)
        total = float(weights[band].sum())
        means.append(float(np.sum(values[band] * weights[band]) / total) if total > 0 else 0.0)
        ivars.append(total)
    return means, ivars


def _nanomaggies(flambda_1e17: float, wave_a: float) -> float:
    return flambda_1e17 * 1e-17 * wave_a**2 / C_A_PER_S / NANOMAGGY_CGS


def _pipeline_columns(
    loglam: np.ndarray, flux: np.ndarray, ivar: np.ndarray, and_mask: np.ndarray, model: np.ndarray
) -> dict[str, Any]:
    """What the 1D pipeline measures on a coadd: S/N, coverage, ugriz fluxes, chi statistics."""
    good = (ivar > 0) & np.isfinite(flux)
    wave = 10.0**loglam
    chi = np.where(good, (flux - model) * np.sqrt(ivar), 0.0)[good]
    centres = [0.5 * (low + high) for low, high in UGRIZ_A]
    sn = np.where(good, flux * np.sqrt(ivar), 0.0)
    in_band = [good & (wave >= low) & (wave < high) for low, high in UGRIZ_A]
    sn_band = [float(np.median(sn[band])) if band.any() else 0.0 for band in in_band]
    spectro, spectro_ivar = _band_stats(wave, flux, ivar, good)
    synthetic, _ = _band_stats(wave, model, ivar, good)
    to_nmgy = [_nanomaggies(1.0, c) for c in centres]
    sigmas = np.arange(1, 11)
    used = loglam[good]
    return {
        "WAVEMIN": float(10 ** used[0]),
        "WAVEMAX": float(10 ** used[-1]),
        "WCOVERAGE": float(used.size * np.median(np.diff(loglam))),
        "SN_MEDIAN_ALL": float(np.median(sn[good])),
        "SN_MEDIAN": sn_band,
        "RCHI2": float(np.mean(chi**2)),
        "DOF": int(chi.size - 10),
        "CHI68P": float(np.percentile(np.abs(chi), 68)),
        "FRACNSIGMA": [float(np.mean(np.abs(chi) > s)) for s in sigmas],
        "FRACNSIGHI": [float(np.mean(chi > s)) for s in sigmas],
        "FRACNSIGLO": [float(np.mean(chi < -s)) for s in sigmas],
        "SPECTROFLUX": [m * k for m, k in zip(spectro, to_nmgy, strict=True)],
        "SPECTROFLUX_IVAR": [i / k**2 if k else 0.0 for i, k in zip(spectro_ivar, to_nmgy, strict=True)],
        "SPECTROSYNFLUX": [m * k for m, k in zip(synthetic, to_nmgy, strict=True)],
        "SPECTROSYNFLUX_IVAR": [i / k**2 if k else 0.0 for i, k in zip(spectro_ivar, to_nmgy, strict=True)],
        "SPECTROSKYFLUX": [0.0] * 5,  # set from the sky model once it is known (_add_instrument)
        "ANYANDMASK": int(np.bitwise_or.reduce(and_mask)),
        "ANYORMASK": int(np.bitwise_or.reduce(and_mask)),
    }


def _not_applicable(form: str) -> Any:
    """The data model's value for a column that does not apply to a demo SDSS-I/II spectrum."""
    count = int(form[:-1]) if form[:-1].isdigit() else 1
    kind = form[-1]
    if kind == "A":
        return ""
    value: Any = 0.0 if kind in "ED" else 0
    return [value] * count if count > 1 else value


def specobj_row(
    spec: SdssSpectrum, model: np.ndarray, object_class: str, subclass: str, z: float, labels: dict[str, Any]
) -> dict[str, Any]:
    """Every SPECOBJ column of one spectrum (formats.SPECOBJ_COLUMNS), as the spec file's HDU 2 holds it."""
    ra, dec = np.radians(spec.ra_deg), np.radians(spec.dec_deg)
    specobjid = _specobjid(spec.plate, spec.mjd, spec.fiber)
    row = {name: _not_applicable(form) for name, form in SPECOBJ_COLUMNS}
    row.update(
        {
            "SURVEY": "sdss" if object_class != "STAR" else "segue1",
            "INSTRUMENT": "SDSS",
            "PROGRAMNAME": "legacy" if object_class != "STAR" else "segue",
            "PLATEQUALITY": "good",
            "SNTURNOFF": -9999.0,
            "SPECPRIMARY": 1,
            "SPECSDSS": 1,
            "SPECOBJID": str(specobjid),
            "PLATEID": str(_specobjid(spec.plate, spec.mjd, 0)),  # the plate's id: fiber bits zero
            "NSPECOBS": 1,
            "FIRSTRELEASE": "dr8",
            "RUN2D": RUN2D,
            "DESIGNID": -1,
            "CX": float(np.cos(dec) * np.cos(ra)),
            "CY": float(np.cos(dec) * np.sin(ra)),
            "CZ": float(np.sin(dec)),
            "SOURCETYPE": object_class,
            "TARGETTYPE": "SCIENCE",
            "SPECTROGRAPHID": 1 if spec.fiber <= 320 else 2,
            "PLATE": spec.plate,
            "TILE": spec.plate,
            "MJD": spec.mjd,
            "FIBERID": spec.fiber,
            "PLUG_RA": spec.ra_deg,
            "PLUG_DEC": spec.dec_deg,
            "CLASS": object_class,
            "SUBCLASS": subclass,
            "Z": z,
            "Z_ERR": 5.0 / physics.C_KMS if object_class == "STAR" else 2e-5,
            "ZWARNING": 0,
            "TFILE": TEMPLATE_FILES[object_class],
            "NPOLY": 3,
            **_pipeline_columns(spec.loglam, spec.flux, spec.ivar, spec.and_mask, model),
            **labels,
        }
    )
    row["CALIBFLUX"] = list(row["SPECTROFLUX"])  # spectrophotometry is calibrated onto these
    row["CALIBFLUX_IVAR"] = list(row["SPECTROFLUX_IVAR"])
    return row


def spzline_rows(spec: SdssSpectrum, z: float) -> list[dict[str, Any]]:
    """The SPZLINE table of a spectrum: per line, the flux above the local continuum at its redshift.

    Lines outside the spectrum carry the error code -2 (idlspec2d's "not measured").
    """
    wave = 10.0**spec.loglam
    good = (spec.ivar > 0) & np.isfinite(spec.flux)
    rows = []
    for name, rest in SPZLINE_LINES:
        centre = rest * (1.0 + z)
        half = centre * LINE_WINDOW_KMS / physics.C_KMS
        core = good & (np.abs(wave - centre) < half)
        side = good & (np.abs(wave - centre) >= half) & (np.abs(wave - centre) < 4 * half)
        row = {
            "PLATE": spec.plate,
            "MJD": spec.mjd,
            "FIBERID": spec.fiber,
            "LINENAME": name,
            "LINEWAVE": rest,
        }
        if core.sum() < 3 or side.sum() < 3:
            rows.append({**row, "LINEZ": z, **_unmeasured()})
            continue
        level = float(np.median(spec.flux[side]))
        dwave = np.gradient(wave)[core]
        area = float(np.sum((spec.flux[core] - level) * dwave))
        area_err = float(np.sqrt(np.sum(dwave**2 / spec.ivar[core])))
        level_err = float(np.std(spec.flux[side]) / np.sqrt(side.sum()))
        chi2 = float(np.sum((spec.flux[core] - level) ** 2 * spec.ivar[core]))
        left = int(np.sum(core & (wave < centre)))
        ew = area / level if level > 0 else 0.0
        relative = np.hypot(area_err / abs(area), level_err / level) if area and level > 0 else np.nan
        rows.append(
            {
                **row,
                "LINEZ": z,
                "LINEZ_ERR": 1e-5,
                "LINESIGMA": 69.0,  # one native pixel (km/s): the instrumental width the fit starts from
                "LINESIGMA_ERR": 0.0,
                "LINEAREA": area,
                "LINEAREA_ERR": area_err,
                "LINEEW": ew,
                "LINEEW_ERR": float(abs(ew) * relative) if np.isfinite(relative) else -1.0,
                "LINECONTLEVEL": level,
                "LINECONTLEVEL_ERR": level_err,
                "LINENPIXLEFT": left,
                "LINENPIXRIGHT": int(core.sum()) - left,
                "LINEDOF": float(core.sum() - 3),
                "LINECHI2": chi2,
            }
        )
    return rows


def _unmeasured() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(
        ("LINEZ_ERR", "LINESIGMA_ERR", "LINEAREA_ERR", "LINEEW_ERR", "LINECONTLEVEL_ERR"), NOT_MEASURED
    )
    values.update(dict.fromkeys(("LINESIGMA", "LINEAREA", "LINEEW", "LINECONTLEVEL", "LINEDOF"), 0.0))
    values.update({"LINENPIXLEFT": 0, "LINENPIXRIGHT": 0, "LINECHI2": -1.0})
    return values


def _assemble(
    plate: int,
    mjd: int,
    fiber: int,
    position: tuple[float, float],
    observed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    model: np.ndarray,
    identity: tuple[str, str, float],
    labels: dict[str, Any],
) -> SdssSpectrum:
    loglam, flux, ivar, and_mask = observed
    object_class, subclass, z = identity
    spec = SdssSpectrum(
        plate, mjd, fiber, _specobjid(plate, mjd, fiber), *position, loglam, flux, ivar, and_mask
    )
    spec.summary = specobj_row(spec, model, object_class, subclass, z, labels)
    spec.model = model
    spec.lines = spzline_rows(spec, z)
    return spec


def sdss_spectrum(
    star: DemoStar,
    plate: int,
    mjd: int,
    fiber: int,
    rng: np.random.Generator,
    rv_kms: float | None = None,
    snr: float | None = None,
    wdisp: float | None = None,
) -> tuple[SdssSpectrum, dict[str, float]]:
    """A noisy, masked coadd of ``star`` with its SPECOBJ row; returns (spectrum, truth).

    ``rv_kms``, ``snr`` (median S/N per native pixel) and ``wdisp`` (line-spread sigma in native
    pixels) are drawn (N(0, RV_SIGMA_KMS), U(SPEC_SNR_RANGE), :func:`draw_wdisp`) unless given.
    SPECOBJ Z is the true velocity / c, as the pipeline's redshift of a star is.
    """
    loglam = physics.sdss_loglam()
    rv = float(rng.normal(0.0, RV_SIGMA_KMS)) if rv_kms is None else float(rv_kms)
    wdisp = draw_wdisp(rng) if wdisp is None else float(wdisp)
    continuum, absorption = physics.model_spectrum(star.params, loglam, rv, wdisp)
    response = 1.0 + 0.15 * np.sin((loglam - 3.58) * 9.0 + rng.uniform(0, 6.28))  # flux calibration
    scale = float(10 ** rng.uniform(1.0, 2.0))
    clean = scale * continuum * response * absorption
    snr = float(rng.uniform(*SPEC_SNR_RANGE)) if snr is None else float(snr)
    flux, ivar, and_mask, sky = _observe(clean, loglam, snr, rng)
    labels = {key: getattr(star.params, key) + rng.normal(0, err) for key, err in LABEL_NOISE.items()}
    elodie = {
        "ELODIE_SPTYPE": physics.spectral_type(star.params.teff_k),
        "ELODIE_TEFF": labels["teff_k"],
        "ELODIE_LOGG": labels["logg_cgs"],
        "ELODIE_FEH": labels["feh_dex"],
        "ELODIE_Z": rv / physics.C_KMS,
        "ELODIE_Z_ERR": 5.0 / physics.C_KMS,
        "ELODIE_RCHI2": 1.0,
        "ELODIE_DOF": int(np.sum(ivar > 0) - 1),
    }
    spec = _assemble(
        plate,
        mjd,
        fiber,
        (star.ra_deg, star.dec_deg),
        (loglam, flux, ivar, and_mask),
        clean,
        ("STAR", physics.spectral_type(star.params.teff_k), rv / physics.C_KMS),
        elodie,
    )
    _add_instrument(spec, sky, wdisp)
    truth = {"source_id": star.source_id, "snr": snr, "rv_kms": rv, "wdisp": wdisp, **vars(star.params)}
    return spec, truth


def _add_instrument(spec: SdssSpectrum, sky: np.ndarray, wdisp: float) -> None:
    """The COADD sky and wdisp columns, and SPECOBJ's sky flux in the ugriz bands (nanomaggies)."""
    spec.sky = sky
    spec.wdisp = np.full(spec.loglam.size, wdisp)
    wave = 10.0**spec.loglam
    good = (spec.ivar > 0) & np.isfinite(spec.flux)
    means, _ = _band_stats(wave, sky, np.ones_like(sky), good)
    centres = [0.5 * (low + high) for low, high in UGRIZ_A]
    spec.summary["SPECTROSKYFLUX"] = [_nanomaggies(m, c) for m, c in zip(means, centres, strict=True)]


GALAXY_DISPERSION_KMS = 150.0  # stellar velocity dispersion of the demo galaxies
NATIVE_PIXEL_KMS = physics.C_KMS * np.log(10.0) * physics.SDSS_DLOGLAM  # 69 km/s
# Emission lines of the non-stellar demo objects: (vacuum rest A, relative strength, sigma in km/s).
GALAXY_EMISSION = (
    (3728.5, 1.0, 120.0),
    (4862.68, 0.5, 120.0),
    (5008.24, 0.8, 120.0),
    (6564.61, 1.6, 120.0),
    (6585.27, 0.5, 120.0),
)
QSO_EMISSION = (
    (1549.48, 2.0, 3000.0),
    (1908.73, 1.0, 3000.0),
    (2800.32, 1.2, 2500.0),
    (4862.68, 0.8, 2500.0),
    (6564.61, 2.0, 2500.0),
)


def nonstellar_spectrum(
    object_class: str,
    plate: int,
    mjd: int,
    fiber: int,
    position: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[SdssSpectrum, dict[str, float]]:
    """An emission-line galaxy (z 0.03-0.2) or a quasar (z 0.5-2) as SDSS classifies them.

    Their SPECOBJ rows carry ELODIE_TEFF/LOGG/FEH = 0, the pipeline's value when no ELODIE
    star was fitted; returns (spectrum, truth).
    """
    loglam = physics.sdss_loglam()
    wave = 10.0**loglam
    if object_class == "GALAXY":
        z = float(rng.uniform(0.03, 0.2))
        # Its stars' velocity dispersion broadens the absorption lines beyond the instrument's.
        broadening = float(np.hypot(NOMINAL_WDISP, GALAXY_DISPERSION_KMS / NATIVE_PIXEL_KMS))
        continuum, absorption = physics.model_spectrum(
            physics.StellarParams(4800.0, 2.5, 0.0), loglam - np.log10(1 + z), wdisp=broadening
        )
        base, lines, subclass = 20.0 * continuum * absorption, GALAXY_EMISSION, "STARFORMING"
    elif object_class == "QSO":
        z = float(rng.uniform(0.5, 2.0))
        base, lines, subclass = 20.0 * (wave / 5000.0) ** -1.5, QSO_EMISSION, "BROADLINE"
    else:
        raise ValueError(f"object_class must be GALAXY or QSO, not {object_class!r}")
    clean = base.copy()
    for rest, strength, sigma_kms in lines:
        centre = rest * (1 + z)
        sigma = centre * sigma_kms / physics.C_KMS
        clean += strength * float(np.median(base)) * np.exp(-0.5 * ((wave - centre) / sigma) ** 2)
    snr = float(rng.uniform(*SPEC_SNR_RANGE))
    flux, ivar, and_mask, sky = _observe(clean, loglam, snr, rng)
    spec = _assemble(
        plate, mjd, fiber, position, (loglam, flux, ivar, and_mask), clean, (object_class, subclass, z), {}
    )
    _add_instrument(spec, sky, NOMINAL_WDISP)
    return spec, {"class": object_class, "z": z, "snr": snr}
