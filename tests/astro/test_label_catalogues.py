"""Stellar-label catalogues landed beside the files: read in real layouts, ranked, recorded per row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.table import MaskedColumn, Table

from brainstar.core.landing import survey_files
from brainstar.demo.astro import sspp
from brainstar.demo.astro.surveys import SSPP_CATALOG
from brainstar.domain.astro import features, label_catalogues, photometry, pipeline, readers
from brainstar.domain.astro.formats import LABELS_CATALOG

GAIA_ID = 4_295_806_720_123_456_789  # beyond 2**53: a float64 on the way would change its last digits


def _spectra(n: int = 3) -> pd.DataFrame:
    """Ingested-spectrum rows as the sdss table holds them (ELODIE labels on all of them)."""
    return pd.DataFrame(
        {
            "source_id": [GAIA_ID, GAIA_ID + 1, GAIA_ID + 2][:n],
            "plate": [266, 266, 267][:n],
            "mjd": [51630, 51630, 51631][:n],
            "fiberid": [1, 2, 3][:n],
            "teff_k": [5000.0, 6000.0, 7000.0][:n],
            "logg_cgs": [4.5, 4.0, 3.5][:n],
            "feh_dex": [0.0, -0.5, -1.0][:n],
        }
    )


def _write_per_star_ecsv(path: Path) -> None:
    """APOGEE-like names, one masked [Fe/H], and a Gaia id that only int64 keeps exact."""
    table = Table(
        {
            "APOGEE_ID": ["2M1", "2M2"],
            "GAIAEDR3_SOURCE_ID": np.array([GAIA_ID, GAIA_ID + 1], dtype=np.int64),
            "TEFF": [5111.0, 6222.0],
            "LOGG": [4.41, 3.92],
            "FE_H": MaskedColumn([0.11, -0.4], mask=[False, True]),
            "PARAM": np.zeros((2, 9)),  # allStar carries arrays; a label is a scalar
        }
    )
    table.write(path, format="ascii.ecsv")


def test_sspp_table_labels_spectra_and_its_sentinels_fall_back_to_elodie(tmp_path: Path) -> None:
    truth = {
        "spec-0266-51630-0001.fits": {"teff_k": 5050.0, "logg_cgs": 4.45, "feh_dex": 0.05},
        "spec-0266-51630-0002.fits": {"teff_k": 6050.0, "logg_cgs": 4.05, "feh_dex": -0.45},
    }
    path = sspp.write_sspp_params(tmp_path / "sppParams.fits", truth, np.random.default_rng(0), 0.0)
    table = Table.read(path)
    table["TEFFADOP"][1] = sspp.SSPP_MISSING  # the SSPP adopted no Teff for the second spectrum
    table.write(path, overwrite=True)

    catalogue = label_catalogues.read_catalogue(path)
    assert catalogue.key == label_catalogues.SPECTRUM_KEY and len(catalogue.labels) == 1
    assert any("-9999" in note or "outside" in note for note in catalogue.notes)
    labelled = label_catalogues.label_spectra(_spectra(), [catalogue])
    first = labelled.iloc[0]
    assert first["teff_k"] == pytest.approx(5050.0, abs=4 * sspp.SSPP_UNCERTAINTY["TEFFADOP"])
    assert first["teff_k"] != 5000.0  # not the ELODIE value
    assert labelled[label_catalogues.LABEL_SOURCE].tolist() == [
        "sppParams.fits (plate-mjd-fiber)",
        label_catalogues.ELODIE_SOURCE,
        label_catalogues.ELODIE_SOURCE,
    ]
    assert labelled.iloc[1]["teff_k"] == 6000.0  # a sentinel never becomes a label


def test_per_star_catalogue_in_ecsv_keeps_gaia_ids_exact_and_ranks_below_per_spectrum(tmp_path: Path) -> None:
    _write_per_star_ecsv(tmp_path / "allStar.ecsv")
    pd.DataFrame(
        {"PLATE": [266], "MJD": [51630], "FIBERID": [1], "TEFF": [4999.0], "LOGG": [4.6], "FEH": [0.2]}
    ).to_csv(tmp_path / "mine.csv", index=False)
    paths = label_catalogues.find_catalogues(tmp_path)
    catalogues = label_catalogues.read_catalogues(paths)
    assert [c.file for c in catalogues] == ["mine.csv", "allStar.ecsv"]  # per spectrum first
    per_star = catalogues[1]
    assert per_star.labels["source_id"].tolist() == [GAIA_ID]  # the masked [Fe/H] row is not a label

    labelled = label_catalogues.label_spectra(_spectra(), catalogues)
    assert labelled["teff_k"].tolist() == [4999.0, 6000.0, 7000.0]
    assert labelled[label_catalogues.LABEL_SOURCE].tolist() == [
        "mine.csv (plate-mjd-fiber)",
        label_catalogues.ELODIE_SOURCE,
        label_catalogues.ELODIE_SOURCE,
    ]
    # Per star, the catalogue's Teff answers the SED label ahead of the spectra's mean.
    teff = features.star_teff(labelled, label_catalogues.star_labels(catalogues))
    assert teff.loc[GAIA_ID, "teff_k"] == 5111.0
    assert teff.loc[GAIA_ID, label_catalogues.LABEL_SOURCE] == "allStar.ecsv (Gaia source_id)"
    assert teff.loc[GAIA_ID + 2, label_catalogues.LABEL_SOURCE] == "spectra: ELODIE (SPECOBJ)"


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ({"TEFF": [5000.0], "LOGG": [4.0], "FEH": [0.0]}, "no key column"),
        ({"source_id": [GAIA_ID], "TEFF": [5000.0], "LOGG": [4.0]}, "no feh_dex column"),
    ],
)
def test_a_catalogue_without_key_or_label_is_refused_naming_file_and_column(
    tmp_path: Path, columns: dict, problem: str
) -> None:
    path = tmp_path / "labels.csv"
    pd.DataFrame(columns).to_csv(path, index=False)
    with pytest.raises(label_catalogues.CatalogueError, match=rf"labels\.csv: .*{problem}"):
        label_catalogues.read_catalogue(path)


def test_unit_mixups_are_not_labels(tmp_path: Path) -> None:
    path = tmp_path / "log_teff.csv"
    pd.DataFrame({"source_id": [1, 2], "TEFF": [3.76, 5800.0], "LOGG": [4.4, 4.4], "FEH": [0.0, 0.0]}).to_csv(
        path, index=False
    )
    catalogue = label_catalogues.read_catalogue(path)
    assert catalogue.labels["source_id"].tolist() == [2]
    assert "outside" in catalogue.notes[0]


@pytest.mark.slow
def test_demo_feature_store_trains_on_sspp_labels_and_records_sources(
    astro_landing: Path, tmp_path: Path
) -> None:
    tables = {}
    for survey in ("sdss", "kepler", "gaia"):
        tables[survey] = tmp_path / f"{survey}.parquet"
        pipeline.ingest_survey(
            survey, survey_files(astro_landing, survey)[0], tables[survey], tmp_path / f"{survey}.json"
        )
    manifest = pipeline.build_feature_store(
        tables, astro_landing / LABELS_CATALOG, tmp_path / "store", photometry.GaiaCuts()
    )
    assert [c["file"] for c in manifest["label_catalogues"]] == [SSPP_CATALOG.name]
    # Two of the 20 field stars have 2-parameter solutions: no parallax, no RUWE, counted as such.
    assert (
        manifest["gaia_cut_failures"]["no RUWE"]
        == manifest["gaia_cut_failures"]["no parallax_over_error"]
        == 2
    )
    spectral_sources = manifest["spectral"]["label_sources"]
    sspp_rows = spectral_sources["sppParams.fits (plate-mjd-fiber)"]
    assert sspp_rows > 0.8 * manifest["spectral"]["rows"]  # about 10 % lack SSPP labels and keep ELODIE's
    assert spectral_sources.get(label_catalogues.ELODIE_SOURCE, 0) == manifest["spectral"]["rows"] - sspp_rows
    assert manifest["lightcurve"]["label_sources"] == {
        f"{LABELS_CATALOG.name} (KIC)": manifest["lightcurve"]["rows"]
    }
    assert set(manifest["sed"]["label_sources"]) <= {
        "spectra: sppParams.fits (plate-mjd-fiber)",
        f"spectra: {label_catalogues.ELODIE_SOURCE}",
    }


def test_a_real_archive_votable_without_labels_is_refused_by_name(real_gaia_votable: Path) -> None:
    """astropy's real Gaia DR3 query result has a key (SOURCE_ID) but no stellar labels."""
    path = real_gaia_votable
    table = readers.read_catalogue_table(path)
    assert table["SOURCE_ID"].tolist() == [3136752501901167744]  # int64, every digit kept
    with pytest.raises(label_catalogues.CatalogueError, match=rf"{path.name}: has no teff_k column"):
        label_catalogues.read_catalogue(path)
