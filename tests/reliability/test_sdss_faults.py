"""Malformed SDSS spec files: each is refused by name, the good spectra are ingested as alone.

Each case writes one bad ``spec-3001-55555-0001.fits`` (derived from a good demo spectrum) into
a survey folder holding two good spectra, and ingests the folder (corpus.check_file_fault).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from tests.reliability.corpus import (
    FileFault,
    bytes_of,
    check_file_fault,
    check_tolerated,
    first,
    fits_of,
    params,
    then,
    with_card,
)

GOOD, BAD = "spec-*.fits", "spec-3001-55555-0001.fits"


def hdus(change: Callable[[fits.HDUList], None]) -> Callable[[Path], Path]:
    return fits_of(GOOD, BAD, change)


def raw(change: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    return bytes_of(GOOD, BAD, change)


def coadd(column: str, values: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], Path]:
    """Set a COADD column to ``values(its current values)``."""

    def change(hdul: fits.HDUList) -> None:
        data = hdul[1].data[column]
        data[:] = values(data)

    return hdus(change)


def table_without(index: int, *names: str) -> Callable[[fits.HDUList], None]:
    def change(hdul: fits.HDUList) -> None:
        kept = [column for column in hdul[index].columns if column.name not in names]
        hdul[index] = fits.BinTableHDU.from_columns(kept, name=hdul[index].name)

    return change


def table_rows(index: int, rows: slice) -> Callable[[fits.HDUList], None]:
    def change(hdul: fits.HDUList) -> None:
        hdul[index] = fits.BinTableHDU(hdul[index].data[rows], header=hdul[index].header)

    return change


def plate_as_text(hdul: fits.HDUList) -> None:
    columns = [c for c in hdul[2].columns if c.name != "PLATE"]
    hdul[2] = fits.BinTableHDU.from_columns(
        [*columns, fits.Column("PLATE", "A5", array=np.array(["p266"]))], name="SPECOBJ"
    )


def swap_hdus(hdul: fits.HDUList) -> None:
    hdul[1], hdul[2] = hdul[2], hdul[1]


def image_as_coadd(hdul: fits.HDUList) -> None:
    hdul[1] = fits.ImageHDU(np.zeros((4, 4), dtype=np.float32), name="COADD")


def kepler_file(folder: Path) -> Path:
    """A good Kepler light curve under an SDSS spec file name."""
    path = folder / BAD
    path.write_bytes(first(folder.parent / "kepler", "kplr*.fits").read_bytes())
    return path


NOT_READABLE = r"not a readable FITS file \(OSError: "
SDSS_FAULTS = [
    FileFault("truncated_half", raw(lambda d: d[: len(d) // 2]), r"truncated or corrupted FITS file"),
    FileFault(
        "truncated_in_primary_header", raw(lambda d: d[:1000]), NOT_READABLE + r"Empty or corrupt FITS file"
    ),
    FileFault("zero_bytes", raw(lambda d: b""), NOT_READABLE + r"Empty or corrupt FITS file"),
    FileFault("text_file", raw(lambda d: b"SDSS spectrum, see the web page\n" * 100), NOT_READABLE),
    FileFault(
        "binary_garbage", raw(lambda d: bytes(range(256)) * 100), NOT_READABLE + r"No SIMPLE card found"
    ),
    FileFault(
        "hdus_in_wrong_order",
        hdus(swap_hdus),
        r"HDU 1 \(SPECOBJ\) lacks column\(s\) flux, loglam, ivar, and_mask",
    ),
    FileFault("image_in_place_of_coadd", hdus(image_as_coadd), r"HDU 1 \(COADD\) is not a binary table"),
    FileFault(
        "only_two_hdus",
        hdus(lambda hdul: hdul.__delitem__(slice(2, None))),
        r"has 2 HDUs; HDU 2 \(SPECOBJ/SPALL\) summary is missing",
    ),
    FileFault(
        "coadd_lacks_loglam", hdus(table_without(1, "loglam")), r"HDU 1 \(COADD\) lacks column\(s\) loglam$"
    ),
    FileFault(
        "coadd_lacks_flux_and_ivar",
        hdus(table_without(1, "flux", "ivar")),
        r"HDU 1 \(COADD\) lacks column\(s\) flux, ivar$",
    ),
    FileFault("coadd_without_rows", hdus(table_rows(1, slice(0, 0))), r"HDU 1 \(COADD\) has no rows"),
    FileFault(
        "flux_all_nan",
        coadd("flux", lambda v: np.full_like(v, np.nan)),
        r"HDU 1 \(COADD\) columns flux/ivar: no pixel with finite flux and ivar > 0",
    ),
    FileFault("ivar_all_zero", coadd("ivar", np.zeros_like), r"no pixel with finite flux and ivar > 0"),
    FileFault(
        "ivar_negative", coadd("ivar", lambda v: -np.abs(v) - 1), r"no pixel with finite flux and ivar > 0"
    ),
    FileFault(
        "loglam_decreasing",
        coadd("loglam", lambda v: v[::-1].copy()),
        r"HDU 1 \(COADD\) column loglam is not finite and increasing",
    ),
    FileFault(
        "loglam_nan_pixel",
        coadd("loglam", lambda v: np.where(np.arange(v.size) == 100, np.nan, v)),
        r"column loglam is not finite and increasing",
    ),
    FileFault(
        "loglam_in_linear_angstrom",
        coadd("loglam", lambda v: 10.0**v),
        r"column loglam spans 38\d\d to 9\d\d\d, outside 3\.0-4\.7: not log10\(wavelength / Angstrom\)",
    ),
    FileFault(
        "loglam_negative",
        coadd("loglam", lambda v: np.linspace(-3.0, -2.0, v.size)),
        r"column loglam spans -3 to -2, outside 3\.0-4\.7",
    ),
    FileFault(
        "specobj_lacks_mjd", hdus(table_without(2, "MJD")), r"HDU 2 \(SPECOBJ\) lacks column\(s\) MJD$"
    ),
    FileFault(
        "specobj_without_rows",
        hdus(table_rows(2, slice(0, 0))),
        r"HDU 2 \(SPECOBJ\) has 0 rows; the SPECOBJ/SPALL summary has one",
    ),
    FileFault(
        "specobj_plate_is_text",
        hdus(plate_as_text),
        r"HDU 2 \(SPECOBJ\) column PLATE is not an integer \('p266'\)",
    ),
    FileFault(
        "coadd_bitpix_16",
        then(raw(lambda d: d), with_card(1, "BITPIX", 16)),
        r"truncated or corrupted FITS file \(File may have been truncated",
    ),
    FileFault(
        "coadd_naxis2_absurd",
        then(raw(lambda d: d), with_card(1, "NAXIS2", 10**15)),
        NOT_READABLE,
    ),
    FileFault(
        "kepler_light_curve_named_as_sdss",
        kepler_file,
        r"HDU 1 \(LIGHTCURVE\) lacks column\(s\) flux, loglam, ivar, and_mask",
    ),
]


@pytest.mark.parametrize("fault", params(SDSS_FAULTS))
def test_a_malformed_sdss_file_is_refused_by_name_and_the_good_spectra_are_ingested(
    fault: FileFault,
    fault_astro_landing: Path,
    fault_astro_good: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    check_file_fault(fault, "sdss", fault_astro_landing, tmp_path / "warehouse", fault_astro_good("sdss"))


def test_a_gzip_compressed_spectrum_under_a_fits_name_gives_its_rows(
    fault_astro_landing: Path, tmp_path: Path
) -> None:
    """astropy opens it as it is; reading its table from the bytes on disk gave "data truncated"."""
    like = first(fault_astro_landing / "astro" / "sdss", GOOD).name
    write = bytes_of(GOOD, BAD, lambda data: gzip.compress(data, mtime=0))
    check_tolerated(write, "sdss", like, fault_astro_landing, tmp_path / "warehouse")
