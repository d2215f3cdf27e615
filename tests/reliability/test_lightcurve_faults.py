"""Malformed Kepler llc and TESS lc files: each is refused by name, the good ones are ingested as alone.

Each case writes one bad file (derived from a good demo quarter or sector) into a survey folder
holding a good Kepler and a good TESS light curve, and ingests the folder (corpus.check_file_fault).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from tests.reliability.corpus import FileFault, bytes_of, check_file_fault, first, fits_of, params

KEPLER, TESS = "kplr*_llc.fits", "tess*_lc.fits"
BAD_KEPLER = "kplr009999999-2009259160929_llc.fits"
BAD_TESS = "tess2018206045859-s0001-0000000099999999-0120-s_lc.fits"
KEPLER_CADENCES = 4354


def hdus(change: Callable[[fits.HDUList], None], tess: bool = False) -> Callable[[Path], Path]:
    return fits_of(TESS, BAD_TESS, change) if tess else fits_of(KEPLER, BAD_KEPLER, change)


def raw(change: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    return bytes_of(KEPLER, BAD_KEPLER, change)


def column(
    name: str, values: Callable[[np.ndarray], np.ndarray], tess: bool = False
) -> Callable[[Path], Path]:
    def change(hdul: fits.HDUList) -> None:
        data = hdul[1].data[name]
        data[:] = values(data)

    return hdus(change, tess)


def rows(keep: slice) -> Callable[[Path], Path]:
    def change(hdul: fits.HDUList) -> None:
        hdul[1] = fits.BinTableHDU(hdul[1].data[keep], header=hdul[1].header)

    return hdus(change)


def without_column(name: str) -> Callable[[Path], Path]:
    def change(hdul: fits.HDUList) -> None:
        kept = [c for c in hdul[1].columns if c.name != name]
        hdul[1] = fits.BinTableHDU.from_columns(kept, header=hdul[1].header, name="LIGHTCURVE")

    return hdus(change)


def target_id(value: object) -> Callable[[Path], Path]:
    """Set (or, with None, remove) KEPLERID in both headers: the LIGHTCURVE one would stand in."""

    def change(hdul: fits.HDUList) -> None:
        for hdu in hdul[:2]:
            if value is None:
                hdu.header.remove("KEPLERID", ignore_missing=True)
            else:
                hdu.header["KEPLERID"] = value

    return hdus(change)


def sdss_file(folder: Path) -> Path:
    """A good SDSS spectrum under a Kepler file name."""
    path = folder / BAD_KEPLER
    path.write_bytes(first(folder.parent / "sdss", "spec-*.fits").read_bytes())
    return path


NOT_READABLE = r"not a readable FITS file \(OSError: "
NO_USABLE = rf"no usable cadence among {KEPLER_CADENCES}: "
LIGHTCURVE_FAULTS = [
    FileFault("truncated_half", raw(lambda d: d[: len(d) // 2]), r"truncated or corrupted FITS file"),
    FileFault("zero_bytes", raw(lambda d: b""), NOT_READABLE + r"Empty or corrupt FITS file"),
    FileFault("binary_garbage", raw(lambda d: b"\x00\x01" * 4000), NOT_READABLE + r"No SIMPLE card found"),
    FileFault(
        "primary_only", hdus(lambda hdul: hdul.__delitem__(slice(1, None))), r"has no HDU 1 \(LIGHTCURVE\)"
    ),
    FileFault(
        "lightcurve_hdu_missing",
        hdus(lambda hdul: hdul.__delitem__(1)),
        r"HDU 1 \(APERTURE\) is not a binary table",
    ),
    FileFault("lacks_time", without_column("TIME"), r"HDU 1 \(LIGHTCURVE\) lacks column\(s\) TIME$"),
    FileFault(
        "lacks_quality",
        without_column("SAP_QUALITY"),
        r"HDU 1 \(LIGHTCURVE\) has neither column SAP_QUALITY \(Kepler\) nor QUALITY \(TESS\)",
    ),
    FileFault("no_rows", rows(slice(0, 0)), r"HDU 1 \(LIGHTCURVE\) has no rows"),
    FileFault(
        "too_few_cadences",
        rows(slice(0, 60)),
        r"only \d+ usable cadences after the quality mask and settling",
    ),
    FileFault(
        "constant_flux",
        column("PDCSAP_FLUX", lambda v: np.full_like(v, 1000.0)),
        r"constant flux \(1000 in all \d+ usable cadences\): not a light curve",
    ),
    FileFault(
        "flux_all_nan",
        column("PDCSAP_FLUX", lambda v: np.full_like(v, np.nan)),
        r"HDU 1 \(LIGHTCURVE\) column PDCSAP_FLUX has no finite value",
    ),
    FileFault(
        "flux_all_inf",
        column("PDCSAP_FLUX", lambda v: np.full_like(v, np.inf)),
        r"column PDCSAP_FLUX has no finite value",
    ),
    FileFault(
        "every_cadence_quality_flagged",
        column("SAP_QUALITY", lambda v: np.full_like(v, 1)),
        NO_USABLE + rf"\d+ with a non-finite PDCSAP_FLUX, {KEPLER_CADENCES} with a quality flag in bitmask",
    ),
    FileFault(
        "time_all_nan",
        column("TIME", lambda v: np.full_like(v, np.nan)),
        NO_USABLE + rf"{KEPLER_CADENCES} with a non-finite TIME",
    ),
    FileFault(
        "time_all_equal",
        column("TIME", lambda v: np.full_like(v, v[0])),
        r"only 0 usable cadences after the quality mask and settling",
    ),
    FileFault(
        "no_target_id",
        target_id(None),
        r"HDU 0 \(PRIMARY\) header has neither KEPLERID nor TICID",
    ),
    FileFault(
        "target_id_is_text",
        target_id("kic-9999999"),
        r"header keyword KEPLERID = 'kic-9999999' is not an integer target id",
    ),
    FileFault(
        "sdss_spectrum_named_as_kepler",
        sdss_file,
        r"HDU 1 \(COADD\) has neither column SAP_QUALITY \(Kepler\) nor QUALITY \(TESS\)",
    ),
    FileFault(
        "tess_flux_all_nan",
        column("PDCSAP_FLUX", lambda v: np.full_like(v, np.nan), tess=True),
        r"HDU 1 \(LIGHTCURVE\) column PDCSAP_FLUX has no finite value",
    ),
    FileFault(
        "tess_every_cadence_quality_flagged",
        column("QUALITY", lambda v: np.full_like(v, 32), tess=True),
        r"no usable cadence among \d+: .*\d+ with a quality flag in bitmask",
    ),
]


@pytest.mark.parametrize("fault", params(LIGHTCURVE_FAULTS))
def test_a_malformed_light_curve_is_refused_by_name_and_the_good_ones_are_ingested(
    fault: FileFault,
    fault_astro_landing: Path,
    fault_astro_good: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    check_file_fault(fault, "kepler", fault_astro_landing, tmp_path / "warehouse", fault_astro_good("kepler"))
