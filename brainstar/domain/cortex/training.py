"""Training a column readout on handwritten digits with dopamine-modulated STDP.

Task: sklearn ``load_digits`` (8x8 images, 10 classes). Each pixel drives one L4 input as a
Poisson spike train (rate proportional to intensity) for ``present_ms``. L2/3 excitatory neurons
(LIF, 1 ms steps) receive plastic L4 -> L2/3 synapses and compete through a shared inhibitory
pool (soft winner-take-all, the role of L2/3 I cells). Each L2/3 neuron is assigned to one class;
the column's decision is the class whose neurons fired most. The reward is 1 when that decision
is correct and 0 otherwise; dopamine (reward minus its running expectation) gates the STDP
eligibility traces (three-factor rule, Izhikevich 2007) - the reward-modulated STDP classifier
scheme of Mozafari et al. 2018 (IEEE TNNLS 29:6178). Homeostatic thresholds (Diehl & Cook 2015)
keep every neuron in the competition. After training, weights are frozen and a linear readout
(logistic regression on L2/3 spike counts) is fitted on the training images and scored on
held-out images. The control is the same network, same initial weights, plasticity off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from brainstar.domain.cortex.config import PlasticityConfig


@dataclass(frozen=True)
class TrainingConfig:
    n_hidden_per_class: int = 3
    present_ms: int = 50
    max_rate_hz: float = 200.0
    tau_m_ms: float = 10.0
    threshold: float = 1.0
    inhibition: float = 0.6  # subtracted from every other L2/3 neuron per L2/3 spike (WTA pool)
    tau_trace_ms: float = 20.0  # STDP traces (Song et al. 2000)
    a_plus: float = 1.0
    # LTP-dominated (A-/A+ = 0.5, unlike Song 2000's 1.05) so that rate correlation, not only
    # precise timing, leaves eligibility: with A- > A+ uncorrelated Poisson inputs cancel out and
    # the rule could not learn from 50 ms rate-coded presentations (measured: chance reward rate).
    a_minus: float = 0.5
    tau_c_ms: float = 1000.0  # eligibility (Izhikevich 2007)
    learning_rate: float = 0.001
    epochs: int = 3
    batch: int = 10
    w_init_mean: float = 0.03
    homeostasis: float = 0.02  # threshold change per batch per unit of excess win frequency
    test_fraction: float = 0.3


@dataclass(frozen=True)
class TrainingResult:
    seed: int
    trained_accuracy: float
    control_accuracy: float
    reward_rate_per_epoch: list[float]  # fraction of rewarded decisions per epoch
    weights: np.ndarray  # (64, H) trained L4 -> L2/3 weights


def load_digit_rates(max_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(S, 64) Poisson rates in Hz and (S,) labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0 * max_rate_hz, digits.target.astype(np.int64)


def run_column(
    weights: np.ndarray,
    rates_hz: np.ndarray,
    cfg: TrainingConfig,
    rng: np.random.Generator,
    learn: bool = False,
    threshold: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Present a batch (B, 64) at once; return L2/3 counts (B, H) and eligibility (B, 64, H) if ``learn``."""
    b, n_in = rates_hz.shape
    h = weights.shape[1]
    decay_m = np.exp(-1.0 / cfg.tau_m_ms)
    decay_t = np.exp(-1.0 / cfg.tau_trace_ms)
    v = np.zeros((b, h))
    counts = np.zeros((b, h))
    x_pre = np.zeros((b, n_in))
    y_post = np.zeros((b, h))
    pre_hist, x_hist, post_hist, y_hist = [], [], [], []
    p_spike = rates_hz * 1e-3
    theta = np.full(h, cfg.threshold) if threshold is None else threshold
    for _ in range(cfg.present_ms):
        pre = (rng.random((b, n_in)) < p_spike).astype(float)
        v = v * decay_m + pre @ weights
        post = (v >= theta).astype(float)
        n_post = post.sum(axis=1, keepdims=True)
        v = np.where(post > 0, 0.0, v - cfg.inhibition * (n_post - post))
        v = np.maximum(v, -cfg.threshold)
        counts += post
        x_pre = x_pre * decay_t + pre
        y_post = y_post * decay_t + post
        if learn:
            pre_hist.append(pre)
            x_hist.append(x_pre)
            post_hist.append(post)
            y_hist.append(y_post)
    if not learn:
        return counts, np.zeros((0, n_in, h))
    # Eligibility left at reward time (end of presentation): pair terms decayed with tau_c.
    decay_c = np.exp(-(cfg.present_ms - np.arange(cfg.present_ms)) / cfg.tau_c_ms)[:, None, None]
    elig = cfg.a_plus * np.einsum("tbi,tbh->bih", np.asarray(x_hist) * decay_c, np.asarray(post_hist))
    elig -= cfg.a_minus * np.einsum("tbi,tbh->bih", np.asarray(pre_hist) * decay_c, np.asarray(y_hist))
    return counts, elig


def _winner_update(dopamine: np.ndarray, elig: np.ndarray, winner: np.ndarray) -> np.ndarray:
    """Sum over the batch of dopamine x eligibility of each sample's winning neuron; (64, H)."""
    update = np.zeros(elig.shape[1:])
    for b in range(elig.shape[0]):
        update[:, winner[b]] += dopamine[b] * elig[b, :, winner[b]]
    return update


def class_vote(counts: np.ndarray, n_per_class: int) -> np.ndarray:
    """Decision of the column: the class whose L2/3 group fired most (ties broken by lowest class)."""
    return counts.reshape(counts.shape[0], -1, n_per_class).sum(axis=2).argmax(axis=1)


def train_da_stdp(
    weights: np.ndarray, rates: np.ndarray, labels: np.ndarray, cfg: TrainingConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Reward-modulated STDP over ``cfg.epochs`` passes; returns weights, thresholds, reward rates."""
    w = weights.copy()
    theta = np.full(w.shape[1], cfg.threshold)
    reward_rates = []
    expected = 1.0 / 10  # running reward expectation, starts at chance
    for _ in range(cfg.epochs):
        order = rng.permutation(len(labels))
        rewarded = 0
        for start in range(0, len(order), cfg.batch):
            idx = order[start : start + cfg.batch]
            counts, elig = run_column(w, rates[idx], cfg, rng, learn=True, threshold=theta)
            correct = class_vote(counts, cfg.n_hidden_per_class) == labels[idx]
            silent = counts.sum(axis=1) == 0
            reward = (correct & ~silent).astype(float)
            # Dopamine reports the reward-prediction error (Schultz, Dayan & Montague 1997): rare
            # successes early on are strongly reinforced, and failures weigh more as skill grows.
            dopamine = reward - expected
            expected += 0.05 * (reward.mean() - expected)
            rewarded += int(reward.sum())
            # Only the most active L2/3 neuron keeps an eligibility trace: the inhibitory pool
            # silences the rest (winner-take-all, as in Mozafari et al. 2018).
            winner = counts.argmax(axis=1)
            w += cfg.learning_rate * _winner_update(dopamine, elig, winner)
            # Homeostatic thresholds (Diehl & Cook 2015) stop one neuron from winning every input.
            wins = np.bincount(winner, minlength=w.shape[1]) / len(idx)
            theta += cfg.homeostasis * (wins - 1.0 / w.shape[1])
            np.clip(w, 0.0, None, out=w)
            # Synaptic scaling keeps each neuron's total input fixed (Turrigiano 2008), so that
            # learning redistributes rather than inflates drive.
            w *= weights.sum(axis=0, keepdims=True) / np.maximum(w.sum(axis=0, keepdims=True), 1e-12)
        reward_rates.append(rewarded / len(order))
    return w, theta, reward_rates


def readout_accuracy(
    weights: np.ndarray,
    rates: np.ndarray,
    labels: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    cfg: TrainingConfig,
    seed: int,
    threshold: np.ndarray | None = None,
) -> float:
    """Held-out accuracy of a linear readout (logistic regression) of frozen L2/3 spike counts."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed + 10_000)
    counts, _ = run_column(weights, rates, cfg, rng, threshold=threshold)
    model = LogisticRegression(max_iter=2000)
    model.fit(counts[train_idx], labels[train_idx])
    return float(model.score(counts[test_idx], labels[test_idx]))


def train_and_evaluate(seed: int, cfg: TrainingConfig | None = None) -> TrainingResult:
    cfg = cfg or TrainingConfig()
    rng = np.random.default_rng(seed)
    rates, labels = load_digit_rates(cfg.max_rate_hz)
    n_hidden = 10 * cfg.n_hidden_per_class
    weights = rng.uniform(0.0, 2.0 * cfg.w_init_mean, (rates.shape[1], n_hidden))
    order = rng.permutation(len(labels))
    n_test = round(cfg.test_fraction * len(labels))
    test_idx, train_idx = order[:n_test], order[n_test:]
    trained, theta, reward_rates = train_da_stdp(weights, rates[train_idx], labels[train_idx], cfg, rng)
    return TrainingResult(
        seed=seed,
        trained_accuracy=readout_accuracy(trained, rates, labels, train_idx, test_idx, cfg, seed, theta),
        control_accuracy=readout_accuracy(weights, rates, labels, train_idx, test_idx, cfg, seed),
        reward_rate_per_epoch=reward_rates,
        weights=trained,
    )


def config_for(plasticity: PlasticityConfig, base: TrainingConfig | None = None) -> TrainingConfig:
    """The training under the column's switches: no DA-STDP means no learning (zero epochs);
    ACh scales the STDP amplitudes and serotonin stretches the eligibility trace, with the
    gains of ``neuromodulation.GAINS``."""
    from brainstar.domain.cortex.neuromodulation import GAINS

    base = base or TrainingConfig()
    if not (plasticity.stdp and plasticity.dopamine):
        return replace(base, epochs=0)
    boost = 1.0 + GAINS.ach_learning_boost * plasticity.acetylcholine
    return replace(
        base,
        a_plus=base.a_plus * boost,
        a_minus=base.a_minus * boost,
        tau_c_ms=base.tau_c_ms * (1.0 + GAINS.serotonin_tau_c_stretch * plasticity.serotonin),
    )


def evaluate_seeds(seeds: tuple[int, ...] = (0, 1, 2), cfg: TrainingConfig | None = None) -> dict:
    """Trained vs control held-out accuracy over seeds; the margin is the mean paired difference."""
    cfg = cfg or TrainingConfig()
    results = [train_and_evaluate(s, cfg) for s in seeds]
    trained = np.array([r.trained_accuracy for r in results])
    control = np.array([r.control_accuracy for r in results])
    diff = trained - control
    return {
        "seeds": list(seeds),
        "trained_accuracy": trained.tolist(),
        "control_accuracy": control.tolist(),
        "margin_mean": float(diff.mean()),
        "margin_min": float(diff.min()),
        "reward_rate_per_epoch": [r.reward_rate_per_epoch for r in results],
        "config": asdict(cfg),
        "_weights": [r.weights for r in results],
    }
