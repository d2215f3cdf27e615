"""scikit-learn baselines on the same inputs and split as the torch models."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

RIDGE_ALPHAS = np.logspace(-2, 4, 13)


def fit_ridge(x: np.ndarray, y: np.ndarray) -> tuple[Any, float]:
    """Standardised ridge regression, alpha by efficient leave-one-out CV -> (model, fit seconds)."""
    start = time.perf_counter()
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS)).fit(x, y)
    return model, time.perf_counter() - start


def fit_boosting(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[Any, float]:
    """Histogram gradient boosting classifier -> (model, fit seconds)."""
    start = time.perf_counter()
    model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=seed).fit(x, y)
    return model, time.perf_counter() - start
