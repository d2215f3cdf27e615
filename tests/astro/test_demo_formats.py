"""The demo writer produces the real survey formats, readable by astropy's own readers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.timeseries import TimeSeries

from brainstar.core.landing import survey_files
from brainstar.domain.astro import readers
from tests.astro.conftest import SMALL


def test_every_file_follows_the_landing_contract(astro_landing: Path) -> None:
    counts = {}
    for survey in ("sdss", "kepler", "gaia"):
        files, rejected = survey_files(astro_landing, survey)
        assert rejected == []
        counts[survey] = len(files)
    assert counts == {
        "sdss": SMALL.n_spec_stars + SMALL.n_repeat_spectra,
        "kepler": 4 * SMALL.n_lc_per_class,
        "gaia": 2,
    }


def test_sdss_layout_matches_dr17(astro_landing: Path) -> None:
    path = survey_files(astro_landing, "sdss")[0][0]
    with fits.open(path) as hdul:
        assert hdul[0].header["TELESCOP"] == "SDSS 2.5-M"
        assert hdul[1].name == "COADD"
        assert hdul[1].columns.names[:4] == ["flux", "loglam", "ivar", "and_mask"]
        assert hdul[2].name == "SPECOBJ" and len(hdul[2].data) == 1
        loglam = hdul[1].data["loglam"]
        assert np.allclose(np.diff(loglam), 1e-4, atol=2e-7)
        assert hdul[0].header["COEFF0"] == np.float32(loglam[0])


@pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning")  # the real files use these units too
def test_kepler_file_reads_with_astropy_kepler_reader(astro_landing: Path) -> None:
    path = survey_files(astro_landing, "kepler")[0][0]
    series = TimeSeries.read(path, format="kepler.fits")
    assert len(series) == 4354
    assert "sap_quality" in series.colnames


def test_gaia_csv_has_gaia_source_columns_and_empty_nulls(astro_landing: Path) -> None:
    path = survey_files(astro_landing, "gaia")[0][0]
    table = Table.read(path, format="ascii.csv")
    assert set(readers.GAIA_REQUIRED) <= set(table.colnames)
    assert table["teff_gspphot"].mask.any()  # GSP-Phot is missing for most sources, as in DR3


def test_truth_matches_what_the_files_say(astro_landing: Path, astro_truth: dict[str, Any]) -> None:
    for path in survey_files(astro_landing, "sdss")[0][:5]:
        record = readers.read_sdss_spec(path)
        truth = astro_truth["sdss"][path.name]
        # Catalogue labels carry the stated label noise (30 K) around the true Teff.
        assert abs(record.summary["ELODIE_TEFF"] - truth["teff_k"]) < 200
    classes = [t["class"] for t in astro_truth["kepler"].values()]
    assert {c: classes.count(c) for c in set(classes)} == {
        c: SMALL.n_lc_per_class for c in ("transit", "eclipsing_binary", "pulsator", "quiet")
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
