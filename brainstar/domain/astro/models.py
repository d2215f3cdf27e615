"""PyTorch models (MLPs) for the three tasks, their training loop and a portable bundle format.

A bundle is a plain dict of tensors and primitives (``torch.load(weights_only=True)`` safe):
architecture, state dicts, input/target standardisation, names, and what the answers'
honesty needs: the training-domain statistics of :mod:`brainstar.domain.astro.domain_check`,
the reference label ranges and the uncertainty calibration. Training runs on the given
``torch.device``; everything also runs on CPU.

Uncertainty comes from a small deep ensemble (Lakshminarayanan et al. 2017): ``members``
networks from different seeds (initialisation and batch order), each early-stopped on its
own. Regression: sigma = spread (std over members) times a per-target factor chosen on the
validation rows so that 68.3 % of their errors lie within 1 sigma (the spread of a few
networks measures model disagreement only, not the noise in the labels, so it is too small
uncalibrated). Classification: the members' mean probabilities; the answer reports max
probability, entropy and member disagreement. MC dropout was the alternative; it needs
dropout in the network, and the spectral and SED nets train better without (dropout 0),
while five members cost five trainings of nets that take ~1-2 s each on one CPU thread
(measured: ``train_seconds`` in every card counts all members).
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

from brainstar.domain.astro import domain_check


class NonFiniteLoss(ValueError):
    """Training stopped because a loss became NaN or infinite; nothing from that run is kept."""


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
    # Deep-ensemble size: the spread of 5 members gives the uncertainty at 5x one net's training time.
    members: int = 5


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


def _fit_member(
    task: str,
    n_classes: int,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    n_out: int,
    device: torch.device,
    config: TrainConfig,
    seed: int,
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """One network with AdamW and early stopping on the validation loss -> (best state dict, stats)."""
    xt, ytt, xv, yvt = data
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = MLP(xt.shape[1], config.hidden, n_out, config.dropout).to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    best_loss, best_state, best_epoch, epochs_run = np.inf, None, 0, 0
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(xt), generator=generator).to(device)
        # Collected on the device and read once per epoch: a read per batch would sync a GPU each step.
        diverged = torch.zeros((), dtype=torch.bool, device=device)
        for batch in order.split(config.batch_size):
            xb = xt[batch]
            if config.input_noise:
                xb = xb + config.input_noise * torch.randn_like(xb)
            optimiser.zero_grad()
            loss = _loss(task, n_classes, model(xb), ytt[batch])
            diverged |= ~torch.isfinite(loss.detach())
            loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(_loss(task, n_classes, model(xv), yvt))
        if bool(diverged) or not np.isfinite(val_loss):
            which = "training" if bool(diverged) else "validation"
            raise NonFiniteLoss(
                f"the {which} loss went non-finite in epoch {epoch + 1} (ensemble member seed {seed}): "
                "non-finite inputs or labels, or a diverging step; no model is kept from it"
            )
        epochs_run = epoch + 1
        if val_loss < best_loss - 1e-5:
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= config.patience:
            break
    if best_state is None:  # zero epochs asked for: the initial weights are all there is
        best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return best_state, {"epochs": epochs_run, "best_epoch": best_epoch + 1, "best_val_loss": best_loss}


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
    """Train a deep ensemble of ``config.members`` MLPs -> (bundle, stats).

    ``task`` is "regression" (y (n, k) float, standardised internally) or "classification"
    (y (n,) class index, or (n, 2) with an auxiliary choice column for ``n_aux`` extra logits).
    The bundle also holds the input-domain statistics of train + validation rows, the
    regression label range ``y_range`` (2, k) and the uncertainty calibration ``sigma_scale``.
    """
    if config.members < 2:
        raise ValueError("the uncertainty needs an ensemble of at least two members")
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
    data = (
        tensor(x_scale(x_train) @ projection),
        tensor(yt),
        tensor(x_scale(x_val) @ projection),
        tensor(yv),
    )
    start = time.perf_counter()
    states, member_stats = [], []
    with small_model_threads(device):
        for member in range(config.members):
            state, member_stat = _fit_member(
                task, n_classes, data, n_out, device, config, config.seed + member
            )
            states.append(state)
            member_stats.append(member_stat)
    seconds = time.perf_counter() - start
    reference = x_scale(np.vstack([x_train, x_val]))
    bundle = {
        "task": task,
        "n_in": int(projection.shape[1]),
        "projection": torch.as_tensor(projection),
        "n_out": int(n_out),
        "n_classes": int(n_classes),
        "hidden": list(config.hidden),
        "dropout": float(config.dropout),
        # Member 0 keeps the single-model key, so bundles written before ensembles still load.
        "state_dict": states[0],
        "extra_state_dicts": states[1:],
        "x_mean": torch.as_tensor(x_scale.mean),
        "x_std": torch.as_tensor(x_scale.std),
        "y_mean": torch.as_tensor(y_scale.mean),
        "y_std": torch.as_tensor(y_scale.std),
        "domain": {
            k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v
            for k, v in domain_check.fit_input_domain(reference, config.pca_components, config.seed).items()
        },
    }
    if task == "regression":
        y_reference = np.vstack([y_train, y_val])
        bundle["y_range"] = torch.as_tensor(np.stack([y_reference.min(axis=0), y_reference.max(axis=0)]))
        bundle["sigma_scale"] = torch.as_tensor(_sigma_scale(Predictor(bundle), x_val, y_val))
    stats = {
        "train_seconds": seconds,
        "members": float(config.members),
        "epochs": float(np.mean([s["epochs"] for s in member_stats])),
        "best_epoch": float(np.mean([s["best_epoch"] for s in member_stats])),
        "best_val_loss": float(np.mean([s["best_val_loss"] for s in member_stats])),
    }
    return bundle, stats


ONE_SIGMA = 0.6827  # fraction of a normal distribution within 1 sigma


def _sigma_scale(predictor: Predictor, x_val: np.ndarray, y_val: np.ndarray) -> np.ndarray:
    """Per target, the factor on the ensemble spread that puts 68.3 % of validation errors within 1 sigma."""
    mean, spread = predictor.mean_and_spread(x_val)
    ratio = np.abs(mean - y_val) / np.maximum(spread, 1e-12)
    return np.quantile(ratio, ONE_SIGMA, axis=0)


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
    """A trained bundle (an ensemble) ready to predict on numpy inputs (CPU unless told otherwise)."""

    def __init__(self, bundle: dict[str, Any], device: torch.device | None = None) -> None:
        self.bundle = bundle
        self.device = device or torch.device("cpu")
        self.members = []
        for state in [bundle["state_dict"], *bundle.get("extra_state_dicts", [])]:
            model = MLP(bundle["n_in"], tuple(bundle["hidden"]), bundle["n_out"], bundle["dropout"])
            model.load_state_dict(state)
            self.members.append(model.to(self.device).eval())

    def standardised(self, x: np.ndarray) -> np.ndarray:
        """Inputs as the model standardises them, before the projection; shape (n, n_features)."""
        return (np.asarray(x, dtype=np.float64) - self.bundle["x_mean"].numpy()) / self.bundle[
            "x_std"
        ].numpy()

    def member_outputs(self, x: np.ndarray) -> np.ndarray:
        """Raw outputs of every member, shape (members, n, n_out)."""
        z = torch.as_tensor(self.standardised(x) @ self.bundle["projection"].numpy(), dtype=torch.float32)
        with torch.no_grad():
            out = [model(z.to(self.device)).cpu().numpy() for model in self.members]
        return np.stack(out).astype(np.float64)

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Members' mean raw output, shape (n, n_out)."""
        return self.member_outputs(x).mean(axis=0)

    def mean_and_spread(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and uncalibrated spread (std over members) in target units, each (n, n_targets)."""
        out = self.member_outputs(x) * self.bundle["y_std"].numpy() + self.bundle["y_mean"].numpy()
        return out.mean(axis=0), out.std(axis=0, ddof=1) if len(out) > 1 else np.full(out.shape[1:], np.nan)

    def regress(self, x: np.ndarray) -> np.ndarray:
        """Predictions in target units, shape (n, n_targets)."""
        return self.raw(x) * self.bundle["y_std"].numpy() + self.bundle["y_mean"].numpy()

    def regress_with_sigma(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predictions, calibrated 1-sigma uncertainty), each (n, n_targets); sigma NaN for old bundles."""
        mean, spread = self.mean_and_spread(x)
        scale = self.bundle["sigma_scale"].numpy() if "sigma_scale" in self.bundle else np.nan
        return mean, spread * scale

    def classify(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(class index (n,), class probabilities (n, n_classes), auxiliary choice index (n,)).

        Probabilities are the members' mean; the auxiliary choice is the argmax of the members' mean
        auxiliary probabilities.
        """
        probs, aux = self.member_probabilities(x)
        probs, aux = probs.mean(axis=0), aux.mean(axis=0)
        choice = aux.argmax(axis=1) if aux.shape[1] else np.zeros(len(probs), dtype=np.int64)
        return probs.argmax(axis=1), probs, choice

    def member_probabilities(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class and auxiliary probabilities per member: (members, n, n_classes), (members, n, n_aux)."""
        out = self.member_outputs(x)
        k = self.bundle["n_classes"]
        return _softmax(out[..., :k]), _softmax(out[..., k:])

    def label_ranges(self) -> dict[str, list[float]]:
        """{label: [min, max]} of the reference labels: regression targets and any extra (e.g. period)."""
        ranges = dict(self.bundle.get("label_ranges", {}))
        if "y_range" in self.bundle:
            low, high = self.bundle["y_range"].numpy()
            names = self.bundle.get("targets") or [f"target_{i}" for i in range(len(low))]
            ranges |= {name: [float(a), float(b)] for name, a, b in zip(names, low, high, strict=True)}
        return ranges

    def out_of_domain_reasons(self, x: np.ndarray, predictions: dict[str, np.ndarray]) -> list[list[str]]:
        """Per row, why the input or its answer lies outside the training domain (empty: in domain)."""
        if "domain" not in self.bundle:
            return [["the model bundle has no training-domain statistics; retrain it"] for _ in range(len(x))]
        stats = {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in self.bundle["domain"].items()}
        return domain_check.reasons(stats, self.standardised(x), self.label_ranges(), predictions)


def _softmax(logits: np.ndarray) -> np.ndarray:
    if logits.shape[-1] == 0:
        return logits
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return probs / probs.sum(axis=-1, keepdims=True)


def classification_uncertainty(member_probs: np.ndarray) -> dict[str, np.ndarray]:
    """Per row, from member probabilities (members, n, k): 1 - max mean probability, entropy of the mean
    (bits), and the fraction of members whose vote differs from the ensemble's class."""
    mean = member_probs.mean(axis=0)
    entropy = -np.sum(np.where(mean > 0, mean * np.log2(np.where(mean > 0, mean, 1.0)), 0.0), axis=1)
    disagreement = (member_probs.argmax(axis=2) != mean.argmax(axis=1)).mean(axis=0)
    return {
        "one_minus_max_probability": 1.0 - mean.max(axis=1),
        "entropy_bits": entropy,
        "member_disagreement": disagreement,
    }


def save_bundle(path: Any, bundle: dict[str, Any]) -> None:
    torch.save(bundle, path)


def load_bundle(path: Any) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)
