"""Model quality on held-out demo data against the floors, each model beside its baseline.

Builds one demo landing zone in a temporary folder, twice the default demo (so that the
S/N >= 50 test set holds well over 100 spectra and the light-curve test split ~150 curves),
ingests it with the pipeline code, builds the feature store and the stored
split, and trains each model directly (``training.train_*``; no registry). Errors are measured
against the demo's ground truth (the parameters the spectra and photometry were drawn from),
not against the labels the models learned from, which carry catalogue noise.

- spectral: MAE of Teff, log g, [Fe/H] over test spectra with S/N >= 50 per native pixel and
  over all of them; ridge on the same pixels as the baseline. Floors: 70 K, 0.1 dex, 0.1 dex,
  The Cannon's level at comparable resolution (Ness et al. 2015, ~70 K / 0.1 / 0.1 at S/N >= 50).
- sed: MAE of Teff from Gaia photometry and parallax; ridge baseline. Floor 80 K.
- lightcurve: macro-F1 over the five classes, F1 per class and period recovery; gradient
  boosting on the same features as the baseline. Floor 0.95.

The floors are floors, not targets. ``python -m benchmarks.astro_quality [seed]`` uses another
demo seed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmarks.harness import Table
from brainstar.core.landing import survey_files
from brainstar.demo.astro.surveys import DemoSizes, write_astro_surveys
from brainstar.domain.astro import baselines, features, inputs, photometry, pipeline, training
from brainstar.domain.astro.formats import LABELS_CATALOG, LC_CLASSES

SNR_CUT = 50.0
SPECTRAL_FLOORS = {"teff_k": 70.0, "logg_cgs": 0.1, "feh_dex": 0.1}  # held-out MAE at S/N >= SNR_CUT
SED_TEFF_FLOOR = 80.0  # K, held-out MAE
MACRO_F1_FLOOR = 0.95
UNITS = {"teff_k": "K", "logg_cgs": "dex", "feh_dex": "dex"}
# Twice the default demo: a test split of ~150 light curves resolves macro-F1 to ~0.01.
SIZES = DemoSizes(n_spec_stars=2000, n_repeat_spectra=100, n_field_stars=100, n_lc_per_class=200)
SEED = 0
COLUMNS = ["model", "metric", "test rows", "n", "model", "baseline", "floor", "met"]


def build_demo(root: Path, sizes: DemoSizes = SIZES, seed: int = SEED) -> dict[str, Any]:
    """Demo files, ingested tables, feature store and splits under ``root``; returns paths, truth, timings."""
    landing, warehouse = root / "landing", root / "warehouse"
    start = time.perf_counter()
    truth = write_astro_surveys(landing, seed=seed, sizes=sizes)
    timings = {"write_s": time.perf_counter() - start}
    tables = {}
    for survey in ("sdss", "kepler", "gaia"):
        start = time.perf_counter()
        tables[survey] = warehouse / f"{survey}.parquet"
        pipeline.ingest_survey(
            survey, survey_files(landing, survey)[0], tables[survey], root / f"{survey}.json"
        )
        timings[f"ingest_{survey}_s"] = time.perf_counter() - start
    store = warehouse / "store"
    pipeline.build_feature_store(tables, landing / LABELS_CATALOG, store, photometry.GaiaCuts())
    pipeline.make_splits(store, warehouse / "splits.parquet", seed=seed)
    return {"store": store, "splits": warehouse / "splits.parquet", "truth": truth, "timings": timings}


def modality_split(store: Path, splits_path: Path, modality: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The modality's feature table and its split labels, row for row."""
    frame, _ = features.read_table(store / f"{modality}.parquet")
    splits, _ = features.read_table(splits_path)
    mine = splits[splits["modality"] == modality]
    if len(mine) != len(frame):
        raise ValueError(f"splits has {len(mine)} {modality} rows, the feature store {len(frame)}")
    return frame, mine["split"].to_numpy()


def ridge_predictions(
    frame: pd.DataFrame,
    splits: np.ndarray,
    x_of: Callable[[pd.DataFrame], np.ndarray],
    y_of: Callable[[pd.DataFrame], np.ndarray],
) -> np.ndarray:
    """The baseline's test predictions, fitted as the trainers fit it (train + val). Shape (n_test, k)."""
    fitted = frame[np.isin(splits, ("train", "val"))]
    ridge, _ = baselines.fit_ridge(x_of(fitted), y_of(fitted))
    test = frame[splits == "test"]
    return np.asarray(ridge.predict(x_of(test))).reshape(len(test), -1)


def spectral_errors(
    frame: pd.DataFrame, splits: np.ndarray, truth: dict[str, Any], device: torch.device
) -> tuple[pd.DataFrame, training.ModelResult]:
    """Test rows with the demo's S/N, wdisp and true labels, model and ridge predictions."""
    result = training.train_spectral(frame, splits, device)
    test = frame[splits == "test"]
    table = result.test_predictions.copy()
    table["snr_truth"] = [truth[name]["snr"] for name in test["file"]]
    table["wdisp_truth"] = [truth[name]["wdisp"] for name in test["file"]]
    ridge = ridge_predictions(frame, splits, inputs.spectral_x, inputs.spectral_y)
    for i, target in enumerate(inputs.SPECTRAL_TARGETS):
        table[f"{target}_truth"] = [truth[name][target] for name in test["file"]]
        table[f"{target}_ridge"] = ridge[:, i]
    return table, result


def sed_errors(
    frame: pd.DataFrame, splits: np.ndarray, truth: dict[str, Any], device: torch.device
) -> tuple[pd.DataFrame, training.ModelResult]:
    """Test stars with their true Teff, model and ridge predictions."""
    result = training.train_sed(frame, splits, device)
    table = result.test_predictions.copy()
    table["teff_k_truth"] = [truth[str(int(source))]["teff_k"] for source in table["source_id"]]
    table["teff_k_ridge"] = ridge_predictions(frame, splits, inputs.sed_x, inputs.sed_y)[:, 0]
    return table, result


def _mae(table: pd.DataFrame, target: str, column: str) -> float:
    return float(np.mean(np.abs(table[f"{target}_{column}"] - table[f"{target}_truth"])))


def add_spectral_rows(out: Table, table: pd.DataFrame) -> None:
    """One row per label and S/N range: model MAE, baseline MAE, floor, met (floors at S/N >= 50 only)."""
    high = table[table["snr_truth"] >= SNR_CUT]
    for target, floor in SPECTRAL_FLOORS.items():
        for label, rows, floored in ((f"S/N >= {SNR_CUT:.0f}", high, True), ("all S/N", table, False)):
            model, baseline = _mae(rows, target, "pred"), _mae(rows, target, "ridge")
            out.add(
                "spectral",
                f"{target} MAE ({UNITS[target]})",
                label,
                len(rows),
                model,
                baseline,
                f"<= {floor:g}" if floored else "-",
                ("pass" if model <= floor else "FAIL") if floored else "-",
            )


def add_sed_rows(out: Table, table: pd.DataFrame) -> None:
    model, baseline = _mae(table, "teff_k", "pred"), _mae(table, "teff_k", "ridge")
    verdict = "pass" if model <= SED_TEFF_FLOOR else "FAIL"
    out.add("sed", "teff_k MAE (K)", "all", len(table), model, baseline, f"<= {SED_TEFF_FLOOR:g}", verdict)


def _per_class_f1(truth: np.ndarray, predicted: np.ndarray) -> list[float]:
    from sklearn.metrics import f1_score

    scores = f1_score(truth, predicted, labels=list(LC_CLASSES), average=None, zero_division=0)
    return [float(v) for v in scores]


def _boosting_classes(frame: pd.DataFrame, splits: np.ndarray) -> np.ndarray:
    """The baseline's test predictions (class names), refitted as train_lightcurve fits it."""
    fitted = frame[np.isin(splits, ("train", "val"))]
    booster, _ = baselines.fit_boosting(inputs.lc_x(fitted), inputs.lc_class_y(fitted))
    return np.asarray(LC_CLASSES)[booster.predict(inputs.lc_x(frame[splits == "test"]))]


def add_lightcurve_rows(out: Table, frame: pd.DataFrame, splits: np.ndarray, device: torch.device) -> float:
    """Macro-F1 (floored), F1 per class and period recovery; returns the training seconds."""
    result = training.train_lightcurve(frame, splits, device)
    predictions = result.test_predictions
    truth = predictions["true_class"].to_numpy()
    model_f1 = _per_class_f1(truth, predictions["pred_class"].to_numpy())
    base_f1 = _per_class_f1(truth, _boosting_classes(frame, splits))
    if not np.isclose(np.mean(base_f1), result.baseline_metrics["macro_f1"]):
        raise RuntimeError("the refitted baseline differs from the one train_lightcurve measured")
    n = len(predictions)
    macro = result.metrics["macro_f1"]
    verdict = "pass" if macro >= MACRO_F1_FLOOR else "FAIL"
    out.add(
        "lightcurve",
        "macro-F1",
        "all",
        n,
        macro,
        result.baseline_metrics["macro_f1"],
        f">= {MACRO_F1_FLOOR}",
        verdict,
    )
    for name, model, baseline in zip(LC_CLASSES, model_f1, base_f1, strict=True):
        out.add("lightcurve", f"F1 {name}", "class", int(np.sum(truth == name)), model, baseline, "-", "-")
    out.add(
        "lightcurve",
        "period within 2 %",
        "periodic",
        int(np.isfinite(predictions["true_period_days"]).sum()),
        result.metrics["period_recovery"],
        result.baseline_metrics["period_recovery"],
        "-",
        "-",
    )
    return float(result.train_stats["train_seconds"])


def run(seed: int = SEED) -> Table:
    device = torch.device("cpu")  # the floors are about accuracy; CPU keeps runs comparable
    out = Table("astro: held-out model quality against the floors (errors against the demo's truth)", COLUMNS)
    with tempfile.TemporaryDirectory() as folder:
        built = build_demo(Path(folder), SIZES, seed)
        truth = built["truth"]
        frame, splits = modality_split(built["store"], built["splits"], "spectral")
        spectral, spectral_result = spectral_errors(frame, splits, truth["sdss"], device)
        add_spectral_rows(out, spectral)
        frame, splits = modality_split(built["store"], built["splits"], "sed")
        sed, sed_result = sed_errors(frame, splits, truth["gaia"], device)
        add_sed_rows(out, sed)
        frame, splits = modality_split(built["store"], built["splits"], "lightcurve")
        lightcurve_seconds = add_lightcurve_rows(out, frame, splits, device)
    timings = built["timings"]
    low_res = spectral["wdisp_truth"] > 1.5
    out.notes.append(
        f"demo seed {seed}: {SIZES.n_spec_stars} spectroscopic stars (+{SIZES.n_repeat_spectra} repeats), "
        f"{SIZES.n_lc_per_class} light curves per class, written in {timings['write_s']:.0f} s; ingestion "
        f"SDSS {timings['ingest_sdss_s']:.0f} s, Kepler {timings['ingest_kepler_s']:.0f} s; training on "
        f"{device}: spectral {spectral_result.train_stats['train_seconds']:.0f} s, SED "
        f"{sed_result.train_stats['train_seconds']:.0f} s, light curves {lightcurve_seconds:.0f} s "
        f"({int(spectral_result.train_stats['members'])}-member ensembles)."
    )
    out.notes.append(
        f"{int(low_res.sum())} of {len(spectral)} test spectra at low resolution (wdisp > 1.5 pixels): "
        f"their Teff MAE {_mae(spectral[low_res], 'teff_k', 'pred'):.0f} K. Spectral labels: sppParams "
        "where adopted, else ELODIE; the errors here are against the truth."
    )
    return out


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else SEED).render())
