"""The readers and writers against real archive files and layouts copied from real files.

Real files installed in the venv: astropy ships one Gaia DR3 archive query result as a
VOTable (``astropy/io/misc/tests/data``). No installed package ships an SDSS, Kepler or
TESS file, so those are checked against layouts taken from real files (the TESS column
table and keywords below are those of a SPOC sector-1 ``*_lc.fits``) and against the
variations of the SDSS data model across releases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from brainstar.demo.astro import kepler, sdss
from brainstar.demo.astro.stars import draw_stars
from brainstar.domain.astro import formats, readers

# LIGHTCURVE of tess2018206045859-s0001-0000000261136679-0120-s_lc.fits (pi Men): TTYPE TFORM TUNIT TDISP.
REAL_TESS_COLUMNS = """
TIME D 'BJD - 2457000, days' D14.7
TIMECORR E d E14.7
CADENCENO J - I10
SAP_FLUX E e-/s E14.7
SAP_FLUX_ERR E e-/s E14.7
SAP_BKG E e-/s E14.7
SAP_BKG_ERR E e-/s E14.7
PDCSAP_FLUX E e-/s E14.7
PDCSAP_FLUX_ERR E e-/s E14.7
QUALITY J - B16.16
PSF_CENTR1 D pixel F10.5
PSF_CENTR1_ERR E pixel E14.7
PSF_CENTR2 D pixel F10.5
PSF_CENTR2_ERR E pixel E14.7
MOM_CENTR1 D pixel F10.5
MOM_CENTR1_ERR E pixel E14.7
MOM_CENTR2 D pixel F10.5
MOM_CENTR2_ERR E pixel E14.7
POS_CORR1 E pixels E14.7
POS_CORR2 E pixels E14.7
"""
# Keywords of that file the readers or a user of the light curve rely on.
REAL_TESS_PRIMARY = [
    "ORIGIN",
    "CREATOR",
    "PROCVER",
    "FILEVER",
    "TIMVERSN",
    "TELESCOP",
    "INSTRUME",
    "DATA_REL",
    "OBJECT",
    "TICID",
    "SECTOR",
    "CAMERA",
    "CCD",
    "PXTABLE",
    "RADESYS",
    "RA_OBJ",
    "DEC_OBJ",
    "EQUINOX",
    "PMRA",
    "PMDEC",
    "PMTOTAL",
    "TESSMAG",
    "TEFF",
    "LOGG",
    "MH",
    "RADIUS",
    "TICVER",
    "CRMITEN",
    "CRBLKSZ",
    "CRSPOC",
    "TSTART",
    "TSTOP",
    "DATE-OBS",
    "DATE-END",
]
REAL_TESS_LIGHTCURVE = [
    "TELESCOP",
    "INSTRUME",
    "OBJECT",
    "TICID",
    "RADESYS",
    "RA_OBJ",
    "DEC_OBJ",
    "EQUINOX",
    "EXPOSURE",
    "TIMEREF",
    "TASSIGN",
    "TIMESYS",
    "BJDREFI",
    "BJDREFF",
    "TIMEUNIT",
    "TELAPSE",
    "LIVETIME",
    "TSTART",
    "TSTOP",
    "DATE-OBS",
    "DATE-END",
    "DEADC",
    "TIMEPIXR",
    "TIERRELA",
    "INT_TIME",
    "READTIME",
    "FRAMETIM",
    "NUM_FRM",
    "TIMEDEL",
    "BACKAPP",
    "DEADAPP",
    "VIGNAPP",
    "CDPP0_5",
    "CDPP1_0",
    "CDPP2_0",
    "CROWDSAP",
    "FLFRCSAP",
    "PDCMETHD",
]


def _real_tess_columns() -> list[tuple[str, str, str, str]]:
    rows = []
    for entry in REAL_TESS_COLUMNS.strip().splitlines():
        name, form, rest = entry.split(maxsplit=2)
        unit, disp = rest.rsplit(maxsplit=1)
        rows.append((name, form, "" if unit == "-" else unit.strip("'"), disp))
    return rows


def test_real_gaia_archive_votable(real_gaia_votable: Path) -> None:
    """``SELECT TOP 1 source_id, ra, dec, parallax FROM gaiadr3.gaia_source`` as the archive returned it."""
    path = real_gaia_votable
    with pytest.raises(readers.SurveyFileError) as caught:
        readers.read_gaia(path)  # a 4-column query lacks what ingestion needs, and says which
    assert str(caught.value) == (
        f"{path.name}: lacks column(s) parallax_error, parallax_over_error, phot_g_mean_mag, "
        "phot_bp_mean_mag, phot_rp_mean_mag, bp_rp, ruwe"
    )
    frame = readers.read_gaia(path, required=("source_id", "ra", "dec", "parallax"))
    assert list(frame.columns) == [
        "source_id",
        "ra",
        "dec",
        "parallax",
        "file",
    ]  # FIELD ID SOURCE_ID, lower-cased
    assert frame["source_id"].dtype == np.int64 and frame["source_id"].tolist() == [3136752501901167744]
    assert frame["parallax"].tolist() == [0.30639294800127265]


def test_tess_layout_is_the_real_spoc_one(tmp_path: Path) -> None:
    assert list(formats.lightcurve_columns("TESS")) == _real_tess_columns()
    lc, _ = kepler.tess_lightcurve(261136679, "quiet", np.random.default_rng(1), n_cadences=800)
    with fits.open(kepler.write_tess_lc(tmp_path, lc)) as hdul:
        assert [(c.name, c.format, c.unit or "", c.disp) for c in hdul[1].columns] == _real_tess_columns()
        assert set(REAL_TESS_PRIMARY) <= set(hdul[0].header)
        assert set(REAL_TESS_LIGHTCURVE) <= set(hdul[1].header)
        assert [hdu.name for hdu in hdul] == ["PRIMARY", "LIGHTCURVE", "APERTURE"]


def test_empty_header_cards_read_as_missing(tmp_path: Path) -> None:
    """Real SPOC headers leave metrics they could not compute empty (``PDC_VAR =``)."""
    lc, _ = kepler.tess_lightcurve(42, "quiet", np.random.default_rng(2), n_cadences=800)
    hdul = kepler.tess_hdulist(lc)
    hdul[1].header["PDC_VAR"] = fits.card.UNDEFINED
    hdul.writeto(tmp_path / lc.filename)
    record = readers.read_lightcurve(tmp_path / lc.filename)
    assert "PDC_VAR" in record.header and record.header["PDC_VAR"] is None


@pytest.fixture(scope="module")
def spectrum() -> formats.SdssSpectrum:
    return sdss.sdss_spectrum(
        draw_stars(np.random.default_rng(3), 1)[0], 300, 51700, 1, np.random.default_rng(4)
    )[0]


def _with_summary(spectrum: formats.SdssSpectrum, columns: list[fits.Column], extname: str) -> fits.HDUList:
    hdul = sdss.sdss_hdulist(spectrum)
    hdul[2] = fits.BinTableHDU.from_columns(columns, name=extname)
    return hdul


@pytest.mark.parametrize("release", ["126 columns", "128 columns (DR14)", "BOSS (SPALL)", "without SPZLINE"])
def test_spec_files_of_other_releases_read(
    tmp_path: Path, spectrum: formats.SdssSpectrum, release: str
) -> None:
    """The summary row changes between releases (126-128 columns, SPECOBJ or SPALL): read by index, name."""
    columns = list(sdss.sdss_hdulist(spectrum)[2].columns)
    if release.startswith("126"):
        hdul = _with_summary(spectrum, [c for c in columns if c.name != "SEGUE1_TARGET2"], "SPECOBJ")
    elif release.startswith("128"):
        hdul = _with_summary(spectrum, [*columns, fits.Column("EBOSS_TARGET0", "K", array=[0])], "SPECOBJ")
    elif release.startswith("BOSS"):
        hdul = _with_summary(spectrum, columns, "SPALL")
    else:
        hdul = sdss.sdss_hdulist(spectrum)[:3]
    hdul.writeto(tmp_path / spectrum.filename)
    record = readers.read_sdss_spec(tmp_path / spectrum.filename)
    assert record.summary["SPECTROFLUX"] == pytest.approx(spectrum.summary["SPECTROFLUX"], rel=1e-6)
    assert record.object_class == "STAR" and (record.plate, record.fiber) == (300, 1)
    assert len(record.lines) == (0 if release.startswith("without") else 29)
