"""Stellar-label catalogues landed beside the survey files: real labels replace the template ones.

A lab that has stellar parameters for its stars (SDSS ``sppParams``, an APOGEE ``allStar``,
LAMOST, a table of its own) drops the file into ``astro/catalogs/`` (CSV, ECSV, VOTable or
FITS). A catalogue is keyed either by spectrum (``PLATE, MJD, FIBERID``) or by star (a Gaia
``source_id`` column under one of :data:`SOURCE_ID_NAMES`), and gives Teff, log g and [Fe/H]
under one of the names in :data:`LABEL_NAMES` (the first name a file has wins, so sppParams'
adopted ``TEFFADOP`` beats its other estimates). Sentinels (-9999, masked, empty) and values
outside :data:`PHYSICAL_RANGES` are missing, never labels.

Precedence per spectrum, highest first: a per-spectrum catalogue, a per-star catalogue,
the ELODIE template fit carried in the file's SPECOBJ row. A source supplies a row only with
all three labels (a model needs all three; mixing Teff from one source with [Fe/H] from
another would mix their systematics). Every row records which source it came from
(``label_source``), so the feature store and the model card can say what a model learned from.

Light-curve classes come from their own catalogue keyed by KIC (``formats.LABELS_CATALOG``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from brainstar.domain.astro import readers

SPECTRAL_LABELS = ("teff_k", "logg_cgs", "feh_dex")
# Catalogue column names per label (lower-cased), most preferred first: sppParams, APOGEE, LAMOST, plain.
LABEL_NAMES: dict[str, tuple[str, ...]] = {
    "teff_k": ("teffadop", "teff_adop", "teff_k", "teff"),
    "logg_cgs": ("loggadop", "logg_adop", "logg_cgs", "logg"),
    "feh_dex": ("fehadop", "feh_adop", "feh_dex", "fe_h", "feh", "m_h"),
}
SPECTRUM_KEY = ("plate", "mjd", "fiberid")
SOURCE_ID_NAMES = ("source_id", "gaia_source_id", "gaiadr3_source_id", "gaiaedr3_source_id", "dr3_source_id")
# Outside these a value is a sentinel or a unit mix-up (log10 Teff, [Fe/H] in per cent), not a label.
PHYSICAL_RANGES = {"teff_k": (2000.0, 60000.0), "logg_cgs": (-1.0, 6.0), "feh_dex": (-5.0, 1.5)}
CATALOGUE_SUFFIXES = (".csv", ".ecsv", ".vot", ".xml", ".fits", ".fit", ".fits.gz")
ELODIE_SOURCE = "ELODIE (SPECOBJ)"
LABEL_SOURCE = "label_source"


class CatalogueError(ValueError):
    """A catalogue that cannot serve as labels; the message starts with the file name."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path.name}: {problem}")


@dataclass
class LabelCatalogue:
    """One catalogue's usable rows: its key columns plus the three labels, one row per key."""

    file: str
    key: tuple[str, ...]  # SPECTRUM_KEY or ("source_id",)
    labels: pd.DataFrame
    n_rows: int
    notes: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        by = "plate-mjd-fiber" if self.key == SPECTRUM_KEY else "Gaia source_id"
        return f"{self.file} ({by})"

    def summary(self) -> dict[str, object]:
        return {
            "file": self.file,
            "key": "-".join(self.key),
            "rows": self.n_rows,
            "usable_rows": len(self.labels),
            "notes": self.notes,
        }


def find_catalogues(folder: Path, exclude: tuple[Path, ...] = ()) -> list[Path]:
    """Label catalogue files in ``folder`` (sorted, so precedence among equals is by name)."""
    if not folder.is_dir():
        return []
    skip = {path.resolve() for path in exclude}
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.name.lower().endswith(CATALOGUE_SUFFIXES) and path.resolve() not in skip
    )


def _first_present(columns: pd.Index, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in columns), None)


def _catalogue_key(path: Path, frame: pd.DataFrame) -> tuple[tuple[str, ...], pd.DataFrame]:
    if all(name in frame.columns for name in SPECTRUM_KEY):
        keys = frame[list(SPECTRUM_KEY)].apply(pd.to_numeric, errors="coerce")
        return SPECTRUM_KEY, keys
    name = _first_present(frame.columns, SOURCE_ID_NAMES)
    if name is None:
        wanted = f"{'+'.join(SPECTRUM_KEY)} or one of {', '.join(SOURCE_ID_NAMES)}"
        raise CatalogueError(path, f"has no key column ({wanted}); columns: {', '.join(frame.columns[:12])}")
    return ("source_id",), pd.DataFrame({"source_id": pd.to_numeric(frame[name], errors="coerce")})


def _labels(path: Path, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The three labels as float64, sentinels and unphysical values NaN, and what was dropped."""
    out = pd.DataFrame(index=frame.index)
    notes = []
    for label, names in LABEL_NAMES.items():
        name = _first_present(frame.columns, names)
        if name is None:
            raise CatalogueError(path, f"has no {label} column (one of {', '.join(names)})")
        values = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
        low, high = PHYSICAL_RANGES[label]
        outside = values.notna() & ~values.between(low, high)
        if outside.any():
            notes.append(
                f"{int(outside.sum())} {name} value(s) outside {low:g}..{high:g} (sentinel) left missing"
            )
        out[label] = values.where(~outside)
    return out, notes


def read_catalogue(path: Path) -> LabelCatalogue:
    """Usable label rows of one catalogue; :class:`CatalogueError` when it has no key or a label column."""
    try:
        frame = readers.read_catalogue_table(path)
    except readers.SurveyFileError as error:
        raise CatalogueError(path, error.problem) from error
    frame.columns = [str(name).lower() for name in frame.columns]
    key, keys = _catalogue_key(path, frame)
    labels, notes = _labels(path, frame)
    table = pd.concat([keys, labels], axis=1).dropna()
    incomplete = len(frame) - len(table)
    if incomplete:
        notes.append(f"{incomplete} of {len(frame)} row(s) without all three labels or a key not used")
    table[list(key)] = table[list(key)].astype(np.int64)
    duplicates = int(table.duplicated(list(key)).sum())
    if duplicates:
        notes.append(f"{duplicates} repeated key(s): their labels averaged")
        table = table.groupby(list(key), as_index=False)[list(SPECTRAL_LABELS)].mean()
    return LabelCatalogue(path.name, key, table.reset_index(drop=True), len(frame), notes)


def read_catalogues(paths: list[Path]) -> list[LabelCatalogue]:
    """Catalogues in precedence order: per-spectrum ones before per-star ones."""
    catalogues = [read_catalogue(path) for path in paths]
    return sorted(catalogues, key=lambda c: c.key != SPECTRUM_KEY)


def _fill(frame: pd.DataFrame, catalogue: LabelCatalogue, open_rows: pd.Series) -> pd.Series:
    """Write the catalogue's labels into ``open_rows`` it covers; returns the rows it filled."""
    key = list(catalogue.key)
    matched = frame[key].merge(catalogue.labels, on=key, how="left")
    covered = open_rows.to_numpy() & matched["teff_k"].notna().to_numpy()
    for label in SPECTRAL_LABELS:
        frame.loc[covered, label] = matched.loc[covered, label].to_numpy()
    frame.loc[covered, LABEL_SOURCE] = catalogue.source
    return pd.Series(covered, index=frame.index)


def label_spectra(spectra: pd.DataFrame, catalogues: list[LabelCatalogue]) -> pd.DataFrame:
    """Spectra with labels from the highest-precedence source that has all three, and ``label_source``.

    ``spectra`` carries plate, mjd, fiberid, source_id and the ELODIE labels (NaN where none).
    """
    frame = spectra.copy()
    elodie = frame[list(SPECTRAL_LABELS)].notna().all(axis=1)
    frame[LABEL_SOURCE] = np.where(elodie, ELODIE_SOURCE, None)
    open_rows = pd.Series(True, index=frame.index)
    for catalogue in catalogues:
        open_rows &= ~_fill(frame, catalogue, open_rows)
    return frame


def star_labels(catalogues: list[LabelCatalogue]) -> pd.DataFrame:
    """Per-star Teff from the per-star catalogues (first wins): source_id, teff_k, label_source."""
    parts = [
        catalogue.labels[["source_id", "teff_k"]].assign(**{LABEL_SOURCE: catalogue.source})
        for catalogue in catalogues
        if catalogue.key == ("source_id",)
    ]
    if not parts:
        return pd.DataFrame(columns=["source_id", "teff_k", LABEL_SOURCE])
    return pd.concat(parts, ignore_index=True).drop_duplicates("source_id")


def source_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many rows each label source gave (for manifests and model cards)."""
    if LABEL_SOURCE not in frame.columns:
        return {}
    return {str(source): int(n) for source, n in frame[LABEL_SOURCE].value_counts().items()}
