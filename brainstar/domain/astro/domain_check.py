"""Is an input like the training data, and is the answer inside the training labels? (numpy only)

Method, and why:

* **Input distance**, not ensemble spread alone, decides ``in_domain``. Spread is the
  uncertainty (see :mod:`brainstar.domain.astro.models`), but a handful of networks trained
  on the same rows can agree on an input unlike any of them, so the flag asks the data
  directly. Inputs are standardised as the model standardises them, then compared with the
  model's reference rows (train + validation) on a principal-component basis:

  - ``distance``: Mahalanobis distance inside the leading principal subspace (Hotelling's
    T, the square root of T^2). It catches inputs with absurd values of what the training
    rows vary in (colours beyond any star, a spectrum with lines far stronger than seen).
  - ``residual``: the norm of what the subspace cannot represent (the SPE / Q statistic of
    process monitoring). It catches inputs with structure the training rows never had
    (pure noise, an emission line, a broken colour identity such as bp_rp != bp_g + g_rp),
    which a projection-based model would otherwise answer without noticing.

  Full-space Mahalanobis is not used: spectra have ~2000 pixels against a few hundred rows,
  so the full covariance is singular.

* Thresholds are the 99th percentiles of **out-of-fold** distances: the basis is refitted
  on 4/5 of the reference rows and the held-out fifth measured, five times. Distances of
  rows that shaped the basis are biased low (with as many components as rows, a training
  row's residual is zero), so in-sample percentiles would flag ordinary new stars.
* **Label range**: a prediction outside [min, max] of the reference labels is an
  extrapolation whatever the input distance says (the log g 5.47 of the issue).

An out-of-domain answer is still served; the flag and its reasons go with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PERCENTILE = 99.0
FOLDS = 5
VARIANCE_KEPT = 0.99  # components that explain 99 % of the reference variance span the subspace
# How each kind of reason starts (the evaluation counts them); label reasons start with the label name.
INPUT = "input "
DISTANCE = "input distance"
RESIDUAL = "input residual"


def _basis(x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre (d,), axes (d, k), score scales (k,)) of the principal subspace of ``x`` (n, d).

    ``n_components`` 0 picks k from VARIANCE_KEPT, capped at half the rows so that every axis is
    estimated from at least two rows.
    """
    centre = x.mean(axis=0)
    _, singular, vt = np.linalg.svd(x - centre, full_matrices=False)
    variance = singular**2
    if n_components <= 0:
        explained = np.cumsum(variance) / max(variance.sum(), 1e-300)
        n_components = int(np.searchsorted(explained, VARIANCE_KEPT) + 1)
        n_components = min(n_components, max(1, len(x) // 2))
    k = max(1, min(n_components, int((singular > singular[0] * 1e-9).sum()) if singular[0] > 0 else 1))
    # A constant column set (all rows equal) has no spread: unit scale keeps distances finite.
    scales = np.where(singular[:k] > 0, singular[:k] / np.sqrt(max(len(x) - 1, 1)), 1.0)
    return centre, vt[:k].T.copy(), scales


def _distances(
    centre: np.ndarray, axes: np.ndarray, scales: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    centred = x - centre
    scores = centred @ axes
    distance = np.sqrt(np.sum((scores / scales) ** 2, axis=1))
    residual = np.linalg.norm(centred - scores @ axes.T, axis=1)
    return distance, residual


def fit_input_domain(x: np.ndarray, n_components: int = 0, seed: int = 0) -> dict[str, Any]:
    """Statistics of the standardised reference inputs ``x`` (n, d) that :func:`input_distances` needs.

    Returns plain arrays and floats (the bundle stores them as tensors).
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        raise ValueError("the input-domain check needs at least two reference rows")
    order = np.random.default_rng(seed).permutation(len(x))
    folds = np.array_split(order, min(FOLDS, len(x)))
    held_distance, held_residual = [], []
    for fold in folds:
        rest = np.setdiff1d(order, fold)
        if len(rest) < 2:
            continue
        distance, residual = _distances(*_basis(x[rest], n_components), x[fold])
        held_distance.append(distance)
        held_residual.append(residual)
    centre, axes, scales = _basis(x, n_components)
    return {
        "centre": centre,
        "axes": axes,
        "scales": scales,
        "distance_threshold": float(np.percentile(np.concatenate(held_distance), PERCENTILE)),
        "residual_threshold": float(np.percentile(np.concatenate(held_residual), PERCENTILE)),
        "percentile": PERCENTILE,
        "n_reference": len(x),
    }


def input_distances(stats: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance, residual), each (n,), of standardised inputs ``x`` (n, d) from the reference rows."""
    return _distances(
        np.asarray(stats["centre"], dtype=np.float64),
        np.asarray(stats["axes"], dtype=np.float64),
        np.asarray(stats["scales"], dtype=np.float64),
        np.asarray(x, dtype=np.float64),
    )


def label_ranges(y: np.ndarray, names: list[str]) -> dict[str, list[float]]:
    """{name: [min, max]} of the finite reference labels, y (n, len(names))."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    out = {}
    for i, name in enumerate(names):
        finite = y[np.isfinite(y[:, i]), i]
        if len(finite):
            out[name] = [float(finite.min()), float(finite.max())]
    return out


def reasons(
    stats: dict[str, Any],
    x: np.ndarray,
    ranges: dict[str, list[float]],
    predictions: dict[str, np.ndarray],
) -> list[list[str]]:
    """Per row, why it is out of the training domain (empty list: in domain).

    ``x`` are standardised inputs (n, d); ``predictions`` maps label names to (n,) values
    (NaN, e.g. no period for a quiet star, is not checked).
    """
    distance, residual = input_distances(stats, x)
    pct = f"{stats['percentile']:g}th pct"
    out: list[list[str]] = []
    for i in range(len(distance)):
        row = []
        if not distance[i] <= stats["distance_threshold"]:  # NaN inputs fail too
            row.append(f"{DISTANCE} {distance[i]:.3g} > {pct} {stats['distance_threshold']:.3g} of training")
        if not residual[i] <= stats["residual_threshold"]:
            row.append(
                f"{RESIDUAL} off the training subspace {residual[i]:.3g} > {pct} "
                f"{stats['residual_threshold']:.3g} of training"
            )
        for name, (low, high) in ranges.items():
            value = float(predictions[name][i]) if name in predictions else float("nan")
            if value < low:
                row.append(f"{name} {value:.4g} below training min {low:.4g}")
            elif value > high:
                row.append(f"{name} {value:.4g} above training max {high:.4g}")
        out.append(row)
    return out
