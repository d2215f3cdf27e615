"""Train, evaluate and gate one model per modality: torch model vs scikit-learn baseline, same split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from brainstar.domain.astro import baselines, domain_check, evaluation, inputs, models, photometry

CONFIGS: dict[str, models.TrainConfig] = {
    # Smaller batches and step, more patience than the others: on the M-to-A demo (Teff 3500-10000 K)
    # this took held-out log g MAE at S/N >= 50 from 0.090 to 0.086 dex on ~900 training spectra
    # (benchmarks/astro_quality.py); more or unwhitened PCA components, wider nets, input noise and
    # raw pixels all did worse.
    "spectral": models.TrainConfig(
        hidden=(128, 64),
        dropout=0.0,
        learning_rate=1e-3,
        epochs=600,
        batch_size=32,
        patience=100,
        pca_components=16,
    ),
    "lightcurve": models.TrainConfig(hidden=(128, 64), dropout=0.2, epochs=200, patience=40),
    "sed": models.TrainConfig(
        hidden=(64, 64), dropout=0.0, epochs=600, patience=80, weight_decay=1e-4, batch_size=128
    ),
}


@dataclass
class ModelResult:
    """Everything a model asset records: the bundle, held-out metrics of model and baseline, gates."""

    name: str
    bundle: dict[str, Any]
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    train_stats: dict[str, float]
    baseline_seconds: float
    n_rows: dict[str, int]
    gates: list[evaluation.Gate] = field(default_factory=list)
    # Test-set share flagged out of the training domain and calibration of the uncertainty.
    domain_check: dict[str, float] = field(default_factory=dict)
    # One row per test-set row: truth and prediction (see regression_predictions / lightcurve_predictions),
    # kept for the report's figures; not part of the card (summary()), which stays small.
    test_predictions: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metrics": self.metrics,
            "baseline_metrics": self.baseline_metrics,
            "train_stats": self.train_stats,
            "baseline_seconds": self.baseline_seconds,
            "n_rows": self.n_rows,
            "gates": [gate.as_dict() for gate in self.gates],
            "passed": self.passed,
            "domain_check": self.domain_check,
        }


def _parts(frame: pd.DataFrame, splits: np.ndarray) -> dict[str, pd.DataFrame]:
    parts = {name: frame[splits == name] for name in ("train", "val", "test")}
    empty = [name for name, part in parts.items() if len(part) == 0]
    if empty:
        raise ValueError(f"split(s) {', '.join(empty)} are empty; need more labelled rows")
    return parts


def _finish(
    name: str,
    bundle: dict[str, Any],
    stats: dict[str, float],
    metrics: dict[str, float],
    baseline_metrics: dict[str, float],
    baseline_seconds: float,
    parts: dict[str, pd.DataFrame],
    domain_summary: dict[str, float],
) -> ModelResult:
    result = ModelResult(
        name,
        bundle,
        metrics,
        baseline_metrics,
        stats,
        baseline_seconds,
        {k: len(v) for k, v in parts.items()},
        domain_check=domain_summary,
    )
    result.gates = evaluation.floor_gates(name, metrics) + evaluation.baseline_gates(
        name, metrics, baseline_metrics
    )
    return result


def regression_predictions(
    test: pd.DataFrame, targets: Sequence[str], truth: np.ndarray, predicted: np.ndarray, sigma: np.ndarray
) -> pd.DataFrame:
    """Test rows' truth, prediction and 1-sigma per target (``<target>_true/_pred/_sigma``), keyed by the
    row's position in the modality's feature table (``row``) and its ``source_id``; arrays (n, k)."""
    table = pd.DataFrame({"row": test.index.to_numpy(), "source_id": test["source_id"].to_numpy()})
    for i, target in enumerate(targets):
        table[f"{target}_true"] = truth[:, i]
        table[f"{target}_pred"] = predicted[:, i]
        table[f"{target}_sigma"] = sigma[:, i]
    return table


def lightcurve_predictions(
    test: pd.DataFrame,
    truth_class: np.ndarray,
    classes: np.ndarray,
    probabilities: np.ndarray,
    truth_period: np.ndarray,
    periods: np.ndarray,
) -> pd.DataFrame:
    """Test rows' true and predicted class (names), the predicted class's probability and the catalogue
    and predicted periods (days, NaN: none), keyed like :func:`regression_predictions`, with the file."""
    names = np.asarray(inputs.LC_CLASSES)
    return pd.DataFrame(
        {
            "row": test.index.to_numpy(),
            "source_id": test["source_id"].to_numpy(),
            "file": test["file"].to_numpy() if "file" in test.columns else "",
            "true_class": names[truth_class],
            "pred_class": names[classes],
            "probability": probabilities[np.arange(len(classes)), classes],
            "true_period_days": truth_period,
            "pred_period_days": periods,
        }
    )


def _regression(
    name: str,
    frame: pd.DataFrame,
    splits: np.ndarray,
    device: torch.device,
    x_of: Any,
    y_of: Any,
    targets: tuple[str, ...],
) -> ModelResult:
    parts = _parts(frame, splits)
    x = {k: x_of(v) for k, v in parts.items()}
    y = {k: y_of(v) for k, v in parts.items()}
    bundle, stats = models.train(
        "regression", x["train"], y["train"], x["val"], y["val"], device, CONFIGS[name]
    )
    bundle["targets"] = list(targets)
    predictor = models.Predictor(bundle)
    predicted, sigma = predictor.regress_with_sigma(x["test"])
    reasons = predictor.out_of_domain_reasons(
        x["test"], {target: predicted[:, i] for i, target in enumerate(targets)}
    )
    ridge, seconds = baselines.fit_ridge(np.vstack([x["train"], x["val"]]), np.vstack([y["train"], y["val"]]))
    baseline_pred = np.asarray(ridge.predict(x["test"])).reshape(len(x["test"]), -1)
    result = _finish(
        name,
        bundle,
        stats,
        evaluation.regression_metrics(y["test"], predicted, targets),
        evaluation.regression_metrics(y["test"], baseline_pred, targets),
        seconds,
        parts,
        evaluation.regression_domain_summary(y["test"], predicted, sigma, reasons, targets),
    )
    result.test_predictions = regression_predictions(parts["test"], targets, y["test"], predicted, sigma)
    return result


def train_spectral(frame: pd.DataFrame, splits: np.ndarray, device: torch.device) -> ModelResult:
    """Teff, log g, [Fe/H] from the normalised spectrum; baseline: ridge on the same pixels."""
    return _regression(
        "spectral", frame, splits, device, inputs.spectral_x, inputs.spectral_y, inputs.SPECTRAL_TARGETS
    )


def train_sed(frame: pd.DataFrame, splits: np.ndarray, device: torch.device) -> ModelResult:
    """Teff from Gaia magnitudes, colours and parallax; baseline: ridge on the same features.

    The bundle also carries a colour-only relation fitted on the same training and validation rows,
    which answers 2-parameter solutions (no parallax), flagged as such.
    """
    result = _regression("sed", frame, splits, device, inputs.sed_x, inputs.sed_y, ("teff_k",))
    fitted = frame[np.isin(splits, ("train", "val"))]
    result.bundle["colour_teff"] = photometry.fit_colour_teff(fitted, fitted["teff_k"].to_numpy())
    return result


def predicted_periods(frame: pd.DataFrame, classes: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """Chosen candidate period per row; NaN for rows classified as quiet. Shape (n,)."""
    candidates = inputs.period_candidates(frame)
    periods = candidates[np.arange(len(frame)), choice]
    return np.where(classes == inputs.LC_CLASSES.index("quiet"), np.nan, periods)


def train_lightcurve(frame: pd.DataFrame, splits: np.ndarray, device: torch.device) -> ModelResult:
    """Class (formats.LC_CLASSES) plus a period-candidate head; baseline: gradient boosting, period = BLS."""
    parts = _parts(frame, splits)
    x = {k: inputs.lc_x(v) for k, v in parts.items()}
    y = {k: np.column_stack([inputs.lc_class_y(v), inputs.period_choice_y(v)]) for k, v in parts.items()}
    n_classes, n_aux = len(inputs.LC_CLASSES), len(inputs.PERIOD_CANDIDATES)
    bundle, stats = models.train(
        "classification",
        x["train"],
        y["train"],
        x["val"],
        y["val"],
        device,
        CONFIGS["lightcurve"],
        n_classes,
        n_aux,
    )
    bundle["classes"] = list(inputs.LC_CLASSES)
    bundle["period_candidates"] = list(inputs.PERIOD_CANDIDATES)
    # The period is a label too: a period beyond the catalogue's range is an extrapolation.
    reference_periods = pd.concat([parts["train"], parts["val"]])["label_period"].to_numpy(dtype=np.float64)
    bundle["label_ranges"] = domain_check.label_ranges(reference_periods[:, None], ["period_days"])
    test = parts["test"]
    truth_class = y["test"][:, 0]
    truth_period = test["label_period"].to_numpy(dtype=np.float64)
    predictor = models.Predictor(bundle)
    classes, probabilities, choice = predictor.classify(x["test"])
    periods = predicted_periods(test, classes, choice)
    metrics = evaluation.classification_metrics(truth_class, classes, truth_period, periods)
    reasons = predictor.out_of_domain_reasons(x["test"], {"period_days": periods})
    booster, seconds = baselines.fit_boosting(
        np.vstack([x["train"], x["val"]]), np.concatenate([y["train"][:, 0], y["val"][:, 0]])
    )
    base_classes = booster.predict(x["test"])
    base_periods = predicted_periods(test, base_classes, np.zeros(len(test), dtype=np.int64))
    baseline_metrics = evaluation.classification_metrics(
        truth_class, base_classes, truth_period, base_periods
    )
    domain_summary = evaluation.classification_domain_summary(truth_class, probabilities, reasons)
    result = _finish("lightcurve", bundle, stats, metrics, baseline_metrics, seconds, parts, domain_summary)
    result.test_predictions = lightcurve_predictions(
        test, truth_class, classes, probabilities, truth_period, periods
    )
    return result
