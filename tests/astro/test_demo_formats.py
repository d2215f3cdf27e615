"""The demo writers produce the real survey data models, readable by astropy's own readers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.timeseries import TimeSeries

from brainstar.core.landing import survey_files
from brainstar.demo.astro import kepler, sdss
from brainstar.domain.astro import formats, readers
from brainstar.domain.astro.spectra import C_KMS
from tests.astro.conftest import SMALL


def test_every_file_follows_the_landing_contract(astro_landing: Path) -> None:
    counts = {}
    for survey in ("sdss", "kepler", "gaia"):
        files, rejected = survey_files(astro_landing, survey)
        assert rejected == []
        counts[survey] = len(files)
    assert counts == {
        "sdss": SMALL.n_spec_stars + SMALL.n_repeat_spectra + SMALL.n_nonstellar_spectra,
        "kepler": len(formats.LC_CLASSES) * SMALL.n_lc_per_class,
        "gaia": 2,
    }


def test_sdss_layout_matches_the_dr8_data_model(astro_landing: Path) -> None:
    path = survey_files(astro_landing, "sdss")[0][0]
    with fits.open(path) as hdul:
        assert [hdu.name for hdu in hdul] == ["PRIMARY", "COADD", "SPECOBJ", "SPZLINE"]
        assert hdul[0].header["TELESCOP"] == "SDSS 2.5-M"
        assert hdul[1].columns.names == [
            "flux",
            "loglam",
            "ivar",
            "and_mask",
            "or_mask",
            "wdisp",
            "sky",
            "model",
        ]
        specobj = [(c.name, c.format) for c in hdul[2].columns]
        assert specobj == list(formats.SPECOBJ_COLUMNS) and len(hdul[2].data) == 1
        arrays = {
            c.name: c.format.repeat for c in hdul[2].columns if c.format.repeat > 1 and "A" not in c.format
        }
        assert len(arrays) == 14 and arrays["SPECTROFLUX"] == 5 and arrays["SN_MEDIAN"] == 5
        assert [(c.name, c.format) for c in hdul[3].columns] == list(formats.SPZLINE_COLUMNS)
        assert len(hdul[3].data) == len(sdss.SPZLINE_LINES) == 29
        loglam = hdul[1].data["loglam"]
        assert np.allclose(np.diff(loglam), 1e-4, atol=2e-7)
        assert hdul[0].header["COEFF0"] == np.float32(loglam[0])
        # The pipeline columns are computed from the written coadd, not filled in.
        good = hdul[1].data["ivar"] > 0
        sn = np.median((hdul[1].data["flux"] * np.sqrt(hdul[1].data["ivar"]))[good])
        assert hdul[2].data["SN_MEDIAN_ALL"][0] == pytest.approx(sn, rel=1e-5)


def test_templated_files_equal_files_astropy_builds(tmp_path: Path, astro_landing: Path) -> None:
    """The fast template writer gives byte-for-byte what building each HDU list would give."""
    for path in survey_files(astro_landing, "sdss")[0][1:3]:
        record = readers.read_sdss_spec(path)
        spec = formats.SdssSpectrum(  # what was written, read back, built the ordinary way
            record.plate,
            record.mjd,
            record.fiber,
            record.specobjid,
            record.ra_deg,
            record.dec_deg,
            record.loglam,
            record.flux,
            record.ivar,
            record.and_mask,
            record.summary,
            record.lines,
            wdisp=record.wdisp,
            sky=record.sky,
        )
        with fits.open(path) as written:
            spec.model = written[1].data["model"].astype(np.float64)
        sdss.sdss_hdulist(spec).writeto(tmp_path / path.name)
        with fits.open(path) as a, fits.open(tmp_path / path.name) as b:
            # COEFF0/1 were computed from the float64 grid, the rebuild from its float32 copy.
            difference = fits.FITSDiff(a, b, ignore_keywords=["COEFF0", "COEFF1"])
            assert difference.identical, difference.report()


@pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning")  # the real files use these units too
def test_kepler_file_reads_with_astropy_kepler_reader(astro_landing: Path) -> None:
    path = survey_files(astro_landing, "kepler")[0][0]
    series = TimeSeries.read(path, format="kepler.fits")
    assert len(series) == 4354
    assert "sap_quality" in series.colnames
    with fits.open(path) as hdul:
        layout = [(c.name, c.format, c.unit or "", c.disp) for c in hdul[1].columns]
        assert layout == list(formats.lightcurve_columns("Kepler"))
        assert hdul[1].header["BJDREFI"] == 2454833 and hdul[1].header["CDPP6_0"] > 0


@pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning")
def test_tess_file_reads_with_astropy_tess_reader(tmp_path: Path) -> None:
    lc, _ = kepler.tess_lightcurve(261136679, "pulsator", np.random.default_rng(0), n_cadences=2000)
    path = kepler.write_tess_lc(tmp_path, lc)
    assert path.name == "tess2018206045859-s0001-0000000261136679-0120-s_lc.fits"
    series = TimeSeries.read(path, format="tess.fits")
    assert len(series) == 2000 and "quality" in series.colnames
    with fits.open(path) as hdul:
        assert [(c.name, c.format, c.unit or "", c.disp) for c in hdul[1].columns] == list(
            formats.lightcurve_columns("TESS")
        )
        assert {k: hdul[0].header[k] for k in ("TICID", "SECTOR")} == {"TICID": 261136679, "SECTOR": 1}
        assert {"CAMERA", "CCD", "TESSMAG", "TEFF", "LOGG", "MH", "RADIUS"} <= set(hdul[0].header)


def test_gaia_bulk_files_are_ecsv_with_null(astro_landing: Path) -> None:
    path = survey_files(astro_landing, "gaia")[0][0]
    text = path.read_text()
    assert text.startswith("# %ECSV") and ",null" in text
    table = Table.read(path, format="ascii.ecsv", fill_values=[("null", "0")])
    assert set(readers.GAIA_REQUIRED) <= set(table.colnames)
    assert table["teff_gspphot"].mask.any()  # GSP-Phot is missing for most sources, as in DR3


def test_truth_matches_what_the_files_say(astro_landing: Path, astro_truth: dict[str, Any]) -> None:
    for path in survey_files(astro_landing, "sdss")[0][:5]:
        record = readers.read_sdss_spec(path)
        truth = astro_truth["sdss"][path.name]
        # Catalogue labels carry the stated label noise (30 K) around the true Teff.
        assert abs(record.summary["ELODIE_TEFF"] - truth["teff_k"]) < 200
        assert record.summary["Z"] * C_KMS == pytest.approx(truth["rv_kms"], abs=0.01)
    classes = [t["class"] for t in astro_truth["kepler"].values()]
    assert {c: classes.count(c) for c in set(classes)} == {
        c: SMALL.n_lc_per_class for c in formats.LC_CLASSES
    }


def test_same_seed_same_data(tmp_path: Path, astro_landing: Path) -> None:
    from brainstar.demo.astro.surveys import DemoSizes, write_astro_surveys

    tiny = DemoSizes(n_spec_stars=3, n_repeat_spectra=0, n_field_stars=0, n_lc_per_class=1)
    a = write_astro_surveys(tmp_path / "a", 5, tiny)
    b = write_astro_surveys(tmp_path / "b", 5, tiny)
    assert a == b
    name = next(iter(a["sdss"]))
    fa = fits.getdata(tmp_path / "a" / "astro" / "sdss" / name, 1)["flux"]
    fb = fits.getdata(tmp_path / "b" / "astro" / "sdss" / name, 1)["flux"]
    assert np.array_equal(fa, fb)
