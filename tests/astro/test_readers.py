"""Readers take the files as the archives serve them; a bad file is named with the HDU or column at fault."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from brainstar.core.landing import survey_files
from brainstar.demo.astro import gaia, kepler, sdss
from brainstar.demo.astro.stars import draw_stars
from brainstar.domain.astro import formats, ingest, readers
from tests.conftest import tree_digest

READERS = {"sdss": readers.read_sdss_spec, "kepler": readers.read_lightcurve, "gaia": readers.read_gaia}
# What a content error must name: an HDU by number and name, or a column.
NAMES_HDU_OR_COLUMN = re.compile(r"HDU \d \([A-Z/]+\)|column")


def test_each_bad_file_is_named_with_its_problem(bad_landing: tuple[Path, dict[str, str]]) -> None:
    root, problems = bad_landing
    for relative, keyword in problems.items():
        path = root / relative
        with pytest.raises(readers.SurveyFileError) as caught:
            READERS[path.parent.name](path)
        message = str(caught.value)
        assert message.startswith(path.name), message
        assert keyword.lower() in message.lower(), message
        if keyword not in ("truncated", "FITS"):  # a file that is not FITS has no HDU to name
            assert NAMES_HDU_OR_COLUMN.search(message), message


def test_batch_skips_bad_files_and_reads_the_rest(bad_landing: tuple[Path, dict[str, str]]) -> None:
    root, problems = bad_landing
    before = tree_digest(root)
    for survey, reader in READERS.items():
        files, _ = survey_files(root, survey)
        batch = readers.read_batch(files, reader)
        bad = {f"astro/{survey}/{name}" for name, _ in batch.failures}
        assert bad == {p for p in problems if p.startswith(f"astro/{survey}/")}
        assert len(batch.records) == len(files) - len(bad)
    assert tree_digest(root) == before  # landing files are never modified


@pytest.fixture(scope="module")
def spectrum() -> formats.SdssSpectrum:
    return sdss.sdss_spectrum(
        draw_stars(np.random.default_rng(5), 1)[0], 300, 51700, 1, np.random.default_rng(6)
    )[0]


def test_specobj_arrays_stay_arrays_and_values_are_plain(
    tmp_path: Path, spectrum: formats.SdssSpectrum
) -> None:
    """Real SPECOBJ rows have 14 array columns: a reader that took every cell for a scalar failed on all."""
    record = readers.read_sdss_spec(sdss.write_sdss_spec(tmp_path, spectrum))
    arrays = {name: len(value) for name, value in record.summary.items() if isinstance(value, list)}
    assert arrays == {
        name: int(form[:-1]) for name, form in formats.SPECOBJ_COLUMNS if form[:-1] and form[-1] != "A"
    }
    assert all(isinstance(v, float) for v in record.summary["SPECTROFLUX"])
    assert record.summary["CLASS"] == "STAR" and record.object_class == "STAR"  # padding stripped
    assert record.specobjid == int(spectrum.summary["SPECOBJID"])  # stored as a string, as SkyServer ids are
    assert len(record.lines) == 29 and record.lines[0]["LINENAME"] == "Ly_alpha"
    json.dumps([record.summary, record.lines, record.header])  # JSON-able as read


def test_tables_astropy_must_decode_read_the_same(tmp_path: Path, spectrum: formats.SdssSpectrum) -> None:
    """A SPECOBJ with a column the fast decoder leaves to astropy (logical) gives the same values."""
    hdul = sdss.sdss_hdulist(spectrum)
    columns = [*hdul[2].columns, fits.Column("ELODIE_FLAG", "L", array=[True])]
    hdul[2] = fits.BinTableHDU.from_columns(columns, name="SPECOBJ")
    assert formats.bintable_dtype(hdul[2].header) is None
    hdul.writeto(tmp_path / "slow.fits")
    slow = readers.read_sdss_spec(tmp_path / "slow.fits")
    fast = readers.read_sdss_spec(sdss.write_sdss_spec(tmp_path, spectrum))
    assert slow.summary.pop("ELODIE_FLAG") is True
    assert slow.summary == fast.summary


def _break_sdss(spectrum: formats.SdssSpectrum, how: str) -> fits.HDUList:
    hdul = sdss.sdss_hdulist(spectrum)
    if how == "no PLATE":
        hdul[2] = fits.BinTableHDU.from_columns(
            [c for c in hdul[2].columns if c.name != "PLATE"], name="SPECOBJ"
        )
    elif how == "two rows":
        hdul[2] = fits.BinTableHDU.from_columns(hdul[2].columns, nrows=2, name="SPECOBJ")
    elif how == "no LINENAME":
        hdul[3] = fits.BinTableHDU.from_columns(
            [c for c in hdul[3].columns if c.name != "LINENAME"], name="SPZLINE"
        )
    elif how == "loglam reversed":
        hdul[1].data["loglam"] = hdul[1].data["loglam"][::-1].copy()
    elif how == "SPECOBJID not a number":
        hdul[2].data["SPECOBJID"] = ["n/a"]
    return hdul


@pytest.mark.parametrize(
    ("how", "named"),
    [
        ("no PLATE", "HDU 2 (SPECOBJ) lacks column(s) PLATE"),
        ("two rows", "HDU 2 (SPECOBJ) has 2 rows"),
        ("no LINENAME", "HDU 3 (SPZLINE) lacks column(s) LINENAME"),
        ("loglam reversed", "HDU 1 (COADD) column loglam"),
        ("SPECOBJID not a number", "HDU 2 (SPECOBJ) column SPECOBJID"),
    ],
)
def test_sdss_errors_name_the_hdu_and_column(
    tmp_path: Path, spectrum: formats.SdssSpectrum, how: str, named: str
) -> None:
    path = tmp_path / spectrum.filename
    _break_sdss(spectrum, how).writeto(path)
    with pytest.raises(readers.SurveyFileError) as caught:
        readers.read_sdss_spec(path)
    assert str(caught.value).startswith(f"{path.name}: {named}"), str(caught.value)


def test_kepler_and_tess_read_with_all_columns_and_keywords(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for lc, mission, target in (
        (kepler.kepler_lightcurve(1234567, "quiet", rng)[0], "Kepler", 1234567),
        (kepler.tess_lightcurve(261136679, "quiet", rng, n_cadences=1500)[0], "TESS", 261136679),
    ):
        writer = kepler.write_kepler_llc if mission == "Kepler" else kepler.write_tess_lc
        record = readers.read_lightcurve(writer(tmp_path, lc))
        assert (record.mission, record.kepler_id) == (mission, target)
        assert list(record.columns) == [name for name, *_ in formats.lightcurve_columns(mission)]
        assert record.units["TIME"] == formats.MISSIONS[mission].time_unit
        assert record.header["BJDREFI"] == formats.MISSIONS[mission].bjdrefi
        assert record.quality.shape == record.time.shape == record.flux.shape
        json.dumps(record.header)


def test_tess_quality_column_is_accepted_in_a_kepler_file(tmp_path: Path) -> None:
    lc, _ = kepler.kepler_lightcurve(1234567, "quiet", np.random.default_rng(0))
    path = tmp_path / lc.filename
    kepler.kepler_hdulist(lc, quality_column="QUALITY").writeto(path)
    record = readers.read_lightcurve(path)
    assert record.kepler_id == 1234567 and record.quality.shape == record.time.shape


def test_light_curve_without_a_target_id_names_the_header(tmp_path: Path) -> None:
    lc, _ = kepler.tess_lightcurve(5, "quiet", np.random.default_rng(0), n_cadences=500)
    hdul = kepler.tess_hdulist(lc)
    for hdu in hdul[:2]:
        del hdu.header["TICID"]
    hdul.writeto(tmp_path / lc.filename)
    with pytest.raises(
        readers.SurveyFileError, match=r"HDU 0 \(PRIMARY\) header has neither KEPLERID nor TICID"
    ):
        readers.read_lightcurve(tmp_path / lc.filename)


GAIA_WRITERS: dict[str, tuple[str, Callable]] = {
    "csv": ("query.csv", gaia.write_gaia_csv),
    "bulk ecsv": ("GaiaSource_000000-003111.csv", gaia.write_gaia_ecsv),
    "ecsv": ("query.ecsv", gaia.write_gaia_ecsv),
    "votable": ("query.vot", gaia.write_gaia_votable),
}


@pytest.fixture(scope="module")
def gaia_rows() -> list[dict]:
    rng = np.random.default_rng(2)
    return [
        gaia.gaia_row(star, rng, two_parameter=index in (1, 4))
        for index, star in enumerate(draw_stars(rng, 8))
    ]


def test_gaia_exports_read_to_one_frame_with_missing_values_kept(
    tmp_path: Path, gaia_rows: list[dict]
) -> None:
    """CSV, bulk ECSV (``null``), ECSV, VOTable (``SOURCE_ID``): one frame; 2-parameter rows stay NaN."""
    frames = {
        kind: readers.read_gaia(write(tmp_path / name, gaia.gaia_table(gaia_rows)))
        for kind, (name, write) in GAIA_WRITERS.items()
    }
    reference = frames["csv"].drop(columns="file")
    for frame in frames.values():
        pd.testing.assert_frame_equal(frame.drop(columns="file"), reference, check_dtype=False, rtol=1e-6)
    assert reference["source_id"].dtype == np.int64
    assert reference["source_id"].tolist() == [row["source_id"] for row in gaia_rows]
    position_only = reference["astrometric_params_solved"] == gaia.TWO_PARAMETER
    assert position_only.sum() == 2
    assert (
        reference.loc[position_only, ["parallax", "ruwe"]].isna().all().all()
    )  # never filled (e.g. RUWE 1.0)
    assert readers.gaia_missing(reference) == dict.fromkeys(gaia.POSITION_ONLY, 2)


def test_gaia_ingestion_notes_the_missing_values(tmp_path: Path, gaia_rows: list[dict]) -> None:
    path = gaia.write_gaia_ecsv(tmp_path / "GaiaSource_000000-003111.csv", gaia.gaia_table(gaia_rows))
    result = ingest.ingest([path], None, ingest.gaia_rows)
    assert len(result.frame) == len(gaia_rows) and result.failures == []
    assert ("GaiaSource_000000-003111.csv", "2 of 8 rows without parallax (left missing)") in result.notes
    assert result.frame["ruwe"].isna().sum() == 2


@pytest.mark.parametrize("kind", list(GAIA_WRITERS))
def test_gaia_source_id_beyond_int64_names_file_column_and_row(
    tmp_path: Path, gaia_rows: list[dict], kind: str
) -> None:
    name, write = GAIA_WRITERS[kind]
    path = write(tmp_path / name, gaia.gaia_table(gaia_rows))
    path.write_text(path.read_text().replace(str(gaia_rows[2]["source_id"]), "99999999999999999999"))
    with pytest.raises(readers.SurveyFileError) as caught:
        readers.read_gaia(path)
    message = str(caught.value)
    assert message.startswith(path.name) and "column source_id" in message and "row 3" in message, message


def test_upper_case_votable_style_names_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "upper.csv"
    header = ",".join(name.upper() for name in readers.GAIA_REQUIRED)
    path.write_text(header + "\n" + ",".join(["1"] + ["1.0"] * (len(readers.GAIA_REQUIRED) - 1)) + "\n")
    frame = readers.read_gaia(path)
    assert frame["source_id"].tolist() == [1]
