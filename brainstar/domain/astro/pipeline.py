"""Dagster-free steps behind the astro assets: each reads and writes warehouse paths it is given."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from brainstar.core.atomic import write_json_atomic
from brainstar.domain.astro import features, ingest, label_catalogues, photometry, registry, split, training
from brainstar.domain.astro.modalities import CODE_VERSION, MODALITIES

SURVEY_ROWS = {"sdss": ingest.sdss_file_rows, "kepler": ingest.kepler_rows, "gaia": ingest.gaia_rows}
TRAINERS = {
    "spectral": training.train_spectral,
    "lightcurve": training.train_lightcurve,
    "sed": training.train_sed,
}


def ingest_survey(survey: str, paths: list[Path], table_path: Path, report_path: Path) -> dict[str, Any]:
    """Incrementally ingest one survey into ``table_path`` (Parquet) and a JSON report of bad files."""
    start = time.perf_counter()
    previous = features.read_table(table_path)[0] if table_path.is_file() else None
    # Files skipped before (galaxies, quasars) are known by signature, so an unchanged one is not read again.
    earlier_skips = json.loads(report_path.read_text()).get("skipped", []) if report_path.is_file() else []
    result = ingest.ingest(paths, previous, SURVEY_ROWS[survey], earlier_skips)
    if result.frame.empty:
        skipped = [(s.file, s.reason) for s in result.skipped]
        raise ValueError(
            f"no usable {survey} file among {len(paths)} in astro/{survey}; failures: {result.failures}; "
            f"skipped: {skipped}"
        )
    version = features.write_table(table_path, result.frame)
    report = {
        "survey": survey,
        "n_files": len(paths),
        "n_rows": len(result.frame),
        "n_read_files": result.n_read_files,
        "n_reused_files": result.n_reused_files,
        "failures": [{"file": name, "problem": problem} for name, problem in result.failures],
        "skipped": [skip.as_dict() for skip in result.skipped],
        "notes": [{"file": name, "note": note} for name, note in result.notes],
        "version": version,
        "wall_seconds": time.perf_counter() - start,
    }
    write_json_atomic(report_path, report)
    return report


def build_feature_store(
    tables: dict[str, Path], labels_csv: Path, out_dir: Path, cuts: photometry.GaiaCuts
) -> dict[str, Any]:
    """Three modality tables + manifest.json {modality: {rows, version, file}}."""
    spectra_raw, _ = features.read_table(tables["sdss"])
    kepler_raw, _ = features.read_table(tables["kepler"])
    gaia, _ = features.read_table(tables["gaia"])
    if not labels_csv.is_file():
        raise FileNotFoundError(f"{labels_csv}: light-curve reference catalogue is missing")
    labels = pd.read_csv(labels_csv)
    # Stellar-label catalogues land in the same folder as the light-curve catalogue.
    catalogues = label_catalogues.read_catalogues(
        label_catalogues.find_catalogues(labels_csv.parent, exclude=(labels_csv,))
    )
    spectral = features.spectral_table(spectra_raw, gaia, catalogues)
    frames = {
        "spectral": spectral,
        "lightcurve": features.lightcurve_table(kepler_raw, labels).assign(
            **{label_catalogues.LABEL_SOURCE: f"{labels_csv.name} (KIC)"}
        ),
        "sed": features.sed_table(gaia, spectral, cuts, label_catalogues.star_labels(catalogues)),
    }
    manifest: dict[str, Any] = {
        "cuts": vars(cuts),
        "label_catalogues": [catalogue.summary() for catalogue in catalogues],
        # Why Gaia rows left the SED table: a cut that removes most rows should be visible, not inferred.
        "gaia_cut_failures": {kind: int(rows.sum()) for kind, rows in cuts.failures(gaia).items()},
    }
    for modality, frame in frames.items():
        version = features.write_table(out_dir / f"{modality}.parquet", frame)
        manifest[modality] = {
            "rows": len(frame),
            "version": version,
            "file": f"{modality}.parquet",
            "label_sources": label_catalogues.source_counts(frame),
        }
    write_json_atomic(out_dir / "manifest.json", manifest)
    return manifest


def strata(modality: str, frame: pd.DataFrame) -> np.ndarray:
    if modality == "lightcurve":
        return frame["label_class"].to_numpy().astype(str)
    return split.teff_strata(frame["teff_k"].to_numpy())


def make_splits(store_dir: Path, out_path: Path, seed: int) -> pd.DataFrame:
    """splits.parquet: modality, row key, source_id, split for every feature-store row.

    One assignment over all modalities together: a star with a spectrum and Gaia
    photometry is in the same split for both models (its stratum is that of its first
    row, spectra first), so no model is tested on a star another model trained on.
    """
    parts = []
    for modality in MODALITIES:
        frame, _ = features.read_table(store_dir / f"{modality}.parquet")
        key = {"spectral": "specobjid", "lightcurve": "kepler_id", "sed": "source_id"}[modality]
        parts.append(
            pd.DataFrame(
                {
                    "modality": modality,
                    "key": features.int64_key(frame[key]),
                    "source_id": features.int64_key(frame["source_id"]),
                    "stratum": [f"{modality}:{s}" for s in strata(modality, frame)],
                }
            )
        )
    table = pd.concat(parts, ignore_index=True)
    table["split"] = split.assign(table["source_id"].to_numpy(), table["stratum"].to_numpy(), seed)
    features.write_table(out_path, table)
    return table


def sources_in_several_splits(table: pd.DataFrame) -> list[int]:
    """Source ids that appear in more than one split (across all modalities); must be empty."""
    counts = table.groupby("source_id")["split"].nunique()
    return [int(s) for s in counts[counts > 1].index]


def train_and_register(
    modality: str, store_dir: Path, splits_path: Path, where: registry.Location, device: torch.device
) -> dict[str, Any]:
    """Train model + baseline on the stored split, register the version (no alias), return its card.

    The registry (MLflow at ``where``) gets one run and one new version of the model named
    ``modality``; the card returned carries that ``version`` and the run's ``run_id``.
    """
    frame, data_version = features.read_table(store_dir / f"{modality}.parquet")
    splits, splits_version = features.read_table(splits_path)
    mine = splits[splits["modality"] == modality]
    if len(mine) != len(frame):
        raise ValueError(f"splits.parquet has {len(mine)} {modality} rows, the feature store {len(frame)}")
    result = TRAINERS[modality](frame, mine["split"].to_numpy(), device)
    learned_from = frame[np.isin(mine["split"].to_numpy(), ("train", "val"))]
    card = {
        **result.summary(),
        # Which labels the model learned from (a catalogue, the files' ELODIE fits): rows per source.
        "label_source": label_catalogues.source_counts(learned_from),
        "data_version": data_version,
        "splits_version": splits_version,
        "code_version": CODE_VERSION,
        "device": str(device),
        "created_unix": time.time(),
    }
    version = registry.register(where, modality, result.bundle, card)
    return registry.card(where, modality, version)


def load_card(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
