"""Train, evaluate and gate one model per modality: torch model vs scikit-learn baseline, same split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from brainstar.domain.astro import baselines, evaluation, inputs, models

CONFIGS: dict[str, models.TrainConfig] = {
    "spectral": models.TrainConfig(hidden=(128, 64), dropout=0.0, epochs=400, patience=60, pca_components=16),
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
) -> ModelResult:
    result = ModelResult(
        name,
        bundle,
        metrics,
        baseline_metrics,
        stats,
        baseline_seconds,
        {k: len(v) for k, v in parts.items()},
    )
    result.gates = evaluation.floor_gates(name, metrics) + evaluation.baseline_gates(
        name, metrics, baseline_metrics
    )
    return result


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
    predicted = models.Predictor(bundle).regress(x["test"])
    ridge, seconds = baselines.fit_ridge(np.vstack([x["train"], x["val"]]), np.vstack([y["train"], y["val"]]))
    baseline_pred = np.asarray(ridge.predict(x["test"])).reshape(len(x["test"]), -1)
    return _finish(
        name,
        bundle,
        stats,
        evaluation.regression_metrics(y["test"], predicted, targets),
        evaluation.regression_metrics(y["test"], baseline_pred, targets),
        seconds,
        parts,
    )


def train_spectral(frame: pd.DataFrame, splits: np.ndarray, device: torch.device) -> ModelResult:
    """Teff, log g, [Fe/H] from the normalised spectrum; baseline: ridge on the same pixels."""
    return _regression(
        "spectral", frame, splits, device, inputs.spectral_x, inputs.spectral_y, inputs.SPECTRAL_TARGETS
    )


def train_sed(frame: pd.DataFrame, splits: np.ndarray, device: torch.device) -> ModelResult:
    """Teff from Gaia magnitudes, colours and parallax; baseline: ridge on the same features."""
    return _regression("sed", frame, splits, device, inputs.sed_x, inputs.sed_y, ("teff_k",))


def predicted_periods(frame: pd.DataFrame, classes: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """Chosen candidate period per row; NaN for rows classified as quiet. Shape (n,)."""
    candidates = inputs.period_candidates(frame)
    periods = candidates[np.arange(len(frame)), choice]
    return np.where(classes == inputs.LC_CLASSES.index("quiet"), np.nan, periods)


def train_lightcurve(frame: pd.DataFrame, splits: np.ndarray, device: torch.device) -> ModelResult:
    """Class (4) plus a period-candidate head; baseline: gradient boosting, period = BLS period."""
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
    test = parts["test"]
    truth_class = y["test"][:, 0]
    truth_period = test["label_period"].to_numpy(dtype=np.float64)
    classes, _, choice = models.Predictor(bundle).classify(x["test"])
    metrics = evaluation.classification_metrics(
        truth_class, classes, truth_period, predicted_periods(test, classes, choice)
    )
    booster, seconds = baselines.fit_boosting(
        np.vstack([x["train"], x["val"]]), np.concatenate([y["train"][:, 0], y["val"][:, 0]])
    )
    base_classes = booster.predict(x["test"])
    base_periods = predicted_periods(test, base_classes, np.zeros(len(test), dtype=np.int64))
    baseline_metrics = evaluation.classification_metrics(
        truth_class, base_classes, truth_period, base_periods
    )
    return _finish("lightcurve", bundle, stats, metrics, baseline_metrics, seconds, parts)
