"""Held-out metrics and the promotion gates: beat the baseline and meet the floors.

These floors gate promotion on whatever data a lab lands (all S/N, RMSE), so they are anchored
on what published pipelines reach on real spectra (docs/astro-formats.md section 2): SSPP
external errors of 117 K / 0.26 dex / 0.22 dex, GSP-Phot 110 K and colour-Teff scatter
60-80 K, transit classifiers at ~96 % accuracy. The stricter demo-quality floors (MAE at
S/N >= 50: 70 K / 0.1 / 0.1 dex, SED 80 K, light-curve macro-F1 0.95) are measured against
the demo's truth in benchmarks/astro_quality.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from brainstar.domain.astro import domain_check

# metric -> (limit, direction): "max" means measured <= limit passes, "min" means >= limit.
FLOORS: dict[str, dict[str, tuple[float, str]]] = {
    "spectral": {
        "teff_k_rmse": (150.0, "max"),
        "logg_cgs_rmse": (0.30, "max"),
        "feh_dex_rmse": (0.20, "max"),
    },
    "lightcurve": {"accuracy": (0.85, "min"), "macro_f1": (0.85, "min"), "period_recovery": (0.80, "min")},
    "sed": {"teff_k_rmse": (200.0, "max")},
}
# The metric whose comparison with the baseline decides "beats the baseline", and its direction.
PRIMARY: dict[str, list[tuple[str, str]]] = {
    "spectral": [("teff_k_rmse", "max"), ("logg_cgs_rmse", "max"), ("feh_dex_rmse", "max")],
    "lightcurve": [("macro_f1", "min"), ("period_recovery", "min")],
    "sed": [("teff_k_rmse", "max")],
}


@dataclass(frozen=True)
class Gate:
    name: str
    measured: float
    reference: float
    direction: str  # "max": measured must be <= reference; "min": >= reference
    passed: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """RMSE, bias and MAE per target; y arrays (n, k) in target units."""
    out: dict[str, float] = {}
    for i, name in enumerate(names):
        error = y_pred[:, i] - y_true[:, i]
        out[f"{name}_rmse"] = float(np.sqrt(np.mean(error**2)))
        out[f"{name}_bias"] = float(np.mean(error))
        out[f"{name}_mae"] = float(np.mean(np.abs(error)))
    return out


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, period_true: np.ndarray, period_pred: np.ndarray
) -> dict[str, float]:
    """Accuracy, macro F1 and the fraction of periodic stars whose period is within 2 %."""
    # Imported here: the code location reads FLOORS when it loads and must not pay for scikit-learn.
    from sklearn.metrics import accuracy_score, f1_score

    periodic = np.isfinite(period_true)
    recovered = np.abs(period_pred[periodic] / period_true[periodic] - 1.0) < 0.02
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro")),
        "period_recovery": float(recovered.mean()) if periodic.any() else float("nan"),
    }


def _passes(measured: float, reference: float, direction: str) -> bool:
    if not np.isfinite(measured):
        return False
    return measured <= reference if direction == "max" else measured >= reference


def floor_gates(model: str, metrics: dict[str, float]) -> list[Gate]:
    return [
        Gate(f"floor:{name}", metrics[name], limit, direction, _passes(metrics[name], limit, direction))
        for name, (limit, direction) in FLOORS[model].items()
    ]


def baseline_gates(model: str, metrics: dict[str, float], baseline: dict[str, float]) -> list[Gate]:
    """Beating the baseline: no primary metric worse than the baseline's, at least one strictly better.

    One gate per primary metric (not worse) plus ``beats_baseline:any`` (strictly better
    somewhere), so a tie at a saturated metric such as 100 % accuracy is not a failure by
    itself, but a model that is merely as good as its baseline is.
    """
    gates = []
    better_somewhere = False
    for name, direction in PRIMARY[model]:
        measured, reference = metrics[name], baseline[name]
        gates.append(
            Gate(
                f"not_worse_than_baseline:{name}",
                measured,
                reference,
                direction,
                _passes(measured, reference, direction),
            )
        )
        better_somewhere |= bool(measured < reference if direction == "max" else measured > reference)
    gates.append(Gate("beats_baseline:any", float(better_somewhere), 1.0, "min", better_somewhere))
    return gates


def _flag_summary(reasons: list[list[str]]) -> dict[str, float]:
    """How much of the test set the domain check flags, in total and per kind of reason."""
    n = max(len(reasons), 1)

    def share(prefix: str) -> float:
        return sum(any(r.startswith(prefix) for r in row) for row in reasons) / n

    flagged = sum(bool(row) for row in reasons)
    return {
        "test_out_of_domain_fraction": flagged / n,
        "test_n_out_of_domain": float(flagged),
        "test_flagged_by_input_distance": share(domain_check.DISTANCE),
        "test_flagged_by_input_residual": share(domain_check.RESIDUAL),
        "test_flagged_by_label_range": sum(
            any(not r.startswith(domain_check.INPUT) for r in row) for row in reasons
        )
        / n,
    }


def regression_domain_summary(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sigma: np.ndarray,
    reasons: list[list[str]],
    names: tuple[str, ...],
) -> dict[str, float]:
    """Test-set share flagged out of domain, and per target the calibration of the 1-sigma uncertainty:
    the fraction of |error| <= sigma (0.683 if calibrated, lower if sigma is too small) and the
    median sigma. Arrays (n, k) in target units."""
    out = _flag_summary(reasons)
    for i, name in enumerate(names):
        error = np.abs(y_pred[:, i] - y_true[:, i])
        out[f"test_{name}_within_1_sigma"] = float(np.mean(error <= sigma[:, i]))
        out[f"test_{name}_median_sigma"] = float(np.median(sigma[:, i]))
    return out


def classification_domain_summary(
    y_true: np.ndarray, probabilities: np.ndarray, reasons: list[list[str]], bins: int = 10
) -> dict[str, float]:
    """Test-set share flagged out of domain, and the calibration of the class probabilities:
    mean confidence (max probability) against accuracy, and the expected calibration error
    (confidence-binned |accuracy - confidence|, weighted by bin size; 0 if calibrated)."""
    out = _flag_summary(reasons)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = sum(
        abs(correct[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
        for b in range(bins)
        if np.any(which == b)
    )
    out["test_mean_confidence"] = float(confidence.mean())
    out["test_accuracy_of_confident_answer"] = float(correct.mean())
    out["test_expected_calibration_error"] = float(gap)
    return out
