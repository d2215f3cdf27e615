"""PyTorch models (MLPs) for the three tasks, their training loop and a portable bundle format.

A bundle is a plain dict of tensors and primitives (``torch.load(weights_only=True)`` safe):
architecture, state dict, input/target standardisation, names. Training runs on the
given ``torch.device``; everything also runs on CPU.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


class MLP(nn.Module):
    """Fully connected network: inputs (n, n_in) -> outputs (n, sum(heads))."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], n_out: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for size in hidden:
            layers += [nn.Linear(width, size), nn.GELU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass(frozen=True)
class TrainConfig:
    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.1
    learning_rate: float = 2e-3
    weight_decay: float = 1e-3
    epochs: int = 400
    batch_size: int = 64
    patience: int = 60
    seed: int = 0
    input_noise: float = 0.0  # std of Gaussian noise added to standardised inputs while training
    # >0: project standardised inputs on the leading principal components of the training set
    # (a fixed first layer); spectra have ~2000 pixels and a few hundred training stars.
    pca_components: int = 0


@dataclass
class Standardiser:
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardiser:
        std = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std


def _loss(task: str, n_classes: int, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if task == "regression":
        return nn.functional.smooth_l1_loss(out, y, beta=0.5)
    loss = nn.functional.cross_entropy(out[:, :n_classes], y[:, 0].long())
    if out.shape[1] > n_classes:  # auxiliary head: period candidate choice, -1 = no usable candidate
        loss = loss + nn.functional.cross_entropy(out[:, n_classes:], y[:, 1].long(), ignore_index=-1)
    return loss


@contextmanager
def small_model_threads(device: torch.device) -> Iterator[None]:
    """One intra-op thread on CPU while training: these nets are tiny, and on a busy 2-core
    machine thread hand-offs cost 20x the arithmetic (measured 41 s vs 1.9 s)."""
    previous = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train(
    task: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    device: torch.device,
    config: TrainConfig,
    n_classes: int = 0,
    n_aux: int = 0,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Train an MLP with AdamW and early stopping on the validation loss -> (bundle, stats).

    ``task`` is "regression" (y (n, k) float, standardised internally) or "classification"
    (y (n,) class index, or (n, 2) with an auxiliary choice column for ``n_aux`` extra logits).
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    x_scale = Standardiser.fit(x_train)
    if config.pca_components:
        # Pixels share one unit: scaling each to unit variance would amplify noise-only pixels.
        x_scale = Standardiser(x_scale.mean, np.ones_like(x_scale.std))
    y_train = y_train.reshape(len(y_train), -1)
    y_val = y_val.reshape(len(y_val), -1)
    if task == "regression":
        y_scale = Standardiser.fit(y_train)
        yt, yv = y_scale(y_train), y_scale(y_val)
        n_out = y_train.shape[1]
    else:
        y_scale = Standardiser(np.zeros(1), np.ones(1))
        yt, yv = y_train, y_val
        n_out = n_classes + n_aux

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)

    projection = _pca_projection(x_scale(x_train), config.pca_components)
    xt, xv = tensor(x_scale(x_train) @ projection), tensor(x_scale(x_val) @ projection)
    ytt, yvt = tensor(yt), tensor(yv)
    model = MLP(projection.shape[1], config.hidden, n_out, config.dropout).to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    best_loss, best_state, best_epoch, epochs_run = np.inf, None, 0, 0
    start = time.perf_counter()
    with small_model_threads(device):
        for epoch in range(config.epochs):
            model.train()
            order = torch.randperm(len(xt), generator=generator).to(device)
            for batch in order.split(config.batch_size):
                xb = xt[batch]
                if config.input_noise:
                    xb = xb + config.input_noise * torch.randn_like(xb)
                optimiser.zero_grad()
                _loss(task, n_classes, model(xb), ytt[batch]).backward()
                optimiser.step()
            model.eval()
            with torch.no_grad():
                val_loss = float(_loss(task, n_classes, model(xv), yvt))
            epochs_run = epoch + 1
            if val_loss < best_loss - 1e-5:
                best_loss, best_epoch = val_loss, epoch
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            elif epoch - best_epoch >= config.patience:
                break
    bundle = {
        "task": task,
        "n_in": int(projection.shape[1]),
        "projection": torch.as_tensor(projection),
        "n_out": int(n_out),
        "n_classes": int(n_classes),
        "hidden": list(config.hidden),
        "dropout": float(config.dropout),
        "state_dict": best_state,
        "x_mean": torch.as_tensor(x_scale.mean),
        "x_std": torch.as_tensor(x_scale.std),
        "y_mean": torch.as_tensor(y_scale.mean),
        "y_std": torch.as_tensor(y_scale.std),
    }
    stats = {
        "train_seconds": time.perf_counter() - start,
        "epochs": float(epochs_run),
        "best_epoch": float(best_epoch + 1),
        "best_val_loss": float(best_loss),
    }
    return bundle, stats


def _pca_projection(x: np.ndarray, n_components: int) -> np.ndarray:
    """(n_features, k) whitening matrix onto the top-k principal axes of ``x``; identity when k is 0.

    Scores are scaled to unit variance so that faint components are not drowned by the first.
    """
    if n_components <= 0 or n_components >= min(x.shape):
        return np.eye(x.shape[1])
    _, singular, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    scale = singular[:n_components] / np.sqrt(len(x) - 1)
    return (vt[:n_components].T / scale).copy()


class Predictor:
    """A trained bundle ready to predict on numpy inputs (CPU unless told otherwise)."""

    def __init__(self, bundle: dict[str, Any], device: torch.device | None = None) -> None:
        self.bundle = bundle
        self.device = device or torch.device("cpu")
        self.model = MLP(bundle["n_in"], tuple(bundle["hidden"]), bundle["n_out"], bundle["dropout"])
        self.model.load_state_dict(bundle["state_dict"])
        self.model.to(self.device).eval()

    def raw(self, x: np.ndarray) -> np.ndarray:
        x = (np.asarray(x, dtype=np.float64) - self.bundle["x_mean"].numpy()) / self.bundle["x_std"].numpy()
        x = x @ self.bundle["projection"].numpy()
        with torch.no_grad():
            out = self.model(torch.as_tensor(x, dtype=torch.float32, device=self.device)).cpu().numpy()
        return out.astype(np.float64)

    def regress(self, x: np.ndarray) -> np.ndarray:
        """Predictions in target units, shape (n, n_targets)."""
        return self.raw(x) * self.bundle["y_std"].numpy() + self.bundle["y_mean"].numpy()

    def classify(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(class index (n,), class probabilities (n, n_classes), auxiliary choice index (n,))."""
        out = self.raw(x)
        k = self.bundle["n_classes"]
        logits = out[:, :k]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        aux = out[:, k:].argmax(axis=1) if out.shape[1] > k else np.zeros(len(out), dtype=np.int64)
        return probs.argmax(axis=1), probs, aux


def save_bundle(path: Any, bundle: dict[str, Any]) -> None:
    torch.save(bundle, path)


def load_bundle(path: Any) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)
