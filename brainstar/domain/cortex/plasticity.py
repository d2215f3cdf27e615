"""Spike-timing-dependent plasticity and dopamine-modulated STDP (three-factor rule).

- Pair-based additive STDP with all-to-all trace interactions (Song, Miller & Abbott 2000,
  Nat Neurosci 3:919): tau+ = tau- = 20 ms, A+ = 0.005 g_max, A-/A+ = 1.05. The "bipoo" option
  keeps these amplitudes and uses the Bi & Poo exponential fit tau+ = 16.8 ms, tau- = 33.7 ms
  (Bi & Poo 2001 Annu Rev Neurosci 24:139, as cited by Pfister & Gerstner 2006, Table 4).
- Dopamine-modulated STDP after Izhikevich 2007 (Cereb Cortex 17:2443, ``daspnet.m``): STDP
  writes an eligibility trace c (tau_c = 1 s), the weight changes as ds/dt = (tonic + DA) c,
  DA decays with tau_d = 0.2 s and each reward adds 0.5; weights are clipped to [0, s_max = 4].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class StdpParams:
    """Additive pair STDP. Amplitudes in units of the maximal weight; times in ms."""

    a_plus: float
    a_minus: float
    tau_plus_ms: float
    tau_minus_ms: float


SONG2000 = StdpParams(a_plus=0.005, a_minus=0.005 * 1.05, tau_plus_ms=20.0, tau_minus_ms=20.0)
BI_POO = StdpParams(a_plus=0.005, a_minus=0.005 * 1.05, tau_plus_ms=16.8, tau_minus_ms=33.7)
RULES = {"song2000": SONG2000, "bipoo": BI_POO}


def stdp_window(delta_t_ms: np.ndarray, params: StdpParams) -> np.ndarray:
    """Analytic weight change for one pair at ``delta_t = t_post - t_pre`` (ms); (K,) -> (K,)."""
    dt = np.asarray(delta_t_ms, dtype=float)
    return np.where(
        dt > 0,
        params.a_plus * np.exp(-dt / params.tau_plus_ms),
        np.where(dt < 0, -params.a_minus * np.exp(dt / params.tau_minus_ms), 0.0),
    )


@numba.njit(cache=True)
def _stdp_online(
    pre: np.ndarray, post: np.ndarray, a_plus: float, a_minus: float, tau_p: float, tau_m: float, w0: float
) -> float:
    """Event-driven trace STDP over sorted spike times; returns the final weight (clipped to [0, 1])."""
    w = w0
    x_pre, y_post = 0.0, 0.0
    t_last = -1e18
    i, j = 0, 0
    while i < pre.size or j < post.size:
        take_pre = j >= post.size or (i < pre.size and pre[i] < post[j])
        t = pre[i] if take_pre else post[j]
        if t_last > -1e17:
            x_pre *= math.exp(-(t - t_last) / tau_p)
            y_post *= math.exp(-(t - t_last) / tau_m)
        t_last = t
        if take_pre:
            w = max(0.0, w - a_minus * y_post)
            x_pre += 1.0
            i += 1
        else:
            w = min(1.0, w + a_plus * x_pre)
            y_post += 1.0
            j += 1
    return w


def pairing_protocol(
    params: StdpParams,
    delta_t_ms: np.ndarray,
    n_pairs: int = 60,
    period_ms: float = 1000.0,
    jitter_ms: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Bi & Poo style protocol on one synapse: ``n_pairs`` pre/post pairs at 1 Hz for each delta_t.

    Spike times carry Gaussian jitter (``jitter_ms``, seeded) as in a recording. Returns the mean
    weight change per pair, (K,), starting from w = 0.5 so neither bound is reached.
    """
    rng = np.random.default_rng(seed)
    out = np.empty(len(delta_t_ms))
    base = np.arange(n_pairs) * period_ms + 100.0
    for k, dt in enumerate(delta_t_ms):
        pre = np.sort(base + rng.normal(0.0, jitter_ms, n_pairs))
        post = np.sort(base + dt + rng.normal(0.0, jitter_ms, n_pairs))
        w = _stdp_online(
            pre, post, params.a_plus, params.a_minus, params.tau_plus_ms, params.tau_minus_ms, 0.5
        )
        out[k] = (w - 0.5) / n_pairs
    return out


@dataclass(frozen=True)
class WindowFit:
    a_plus: float
    tau_plus_ms: float
    a_minus: float
    tau_minus_ms: float


def fit_stdp_window(delta_t_ms: np.ndarray, dw: np.ndarray) -> WindowFit:
    """Least-squares fit of A exp(-|dt|/tau) to each side of a measured window."""
    from scipy.optimize import curve_fit

    def kernel(x: np.ndarray, a: float, tau: float) -> np.ndarray:
        return a * np.exp(-x / tau)

    dt = np.asarray(delta_t_ms, dtype=float)
    pos, neg = dt > 0, dt < 0
    (ap, tp), _ = curve_fit(kernel, dt[pos], dw[pos], p0=(max(dw[pos].max(), 1e-9), 20.0))
    (am, tm), _ = curve_fit(kernel, -dt[neg], -dw[neg], p0=(max((-dw[neg]).max(), 1e-9), 20.0))
    return WindowFit(a_plus=float(ap), tau_plus_ms=float(tp), a_minus=float(am), tau_minus_ms=float(tm))


# --- dopamine-modulated STDP --------------------------------------------------------------------


@dataclass(frozen=True)
class DaStdpParams:
    """Izhikevich 2007 (``daspnet.m``) values; ``tau_c_ms`` may be stretched by serotonin."""

    a_plus: float = 0.1
    a_minus: float = 0.15
    trace_decay_per_ms: float = 0.95  # STDP traces: tau = 20 ms
    tau_c_ms: float = 1000.0
    tau_d_ms: float = 200.0
    da_per_reward: float = 0.5
    tonic_da: float = 0.002
    s_max: float = 4.0


def three_factor_weight_change(
    c0: float, reward_delay_ms: float, da_amount: float, tau_c_ms: float, tau_d_ms: float
) -> float:
    """Closed form of integral c(t) d(t) dt for an eligibility jump c0 at 0 and DA jump at the delay."""
    return (
        c0 * da_amount * math.exp(-reward_delay_ms / tau_c_ms) * tau_c_ms * tau_d_ms / (tau_c_ms + tau_d_ms)
    )


def three_factor_simulated(
    c0: float, reward_delay_ms: float, da_amount: float, tau_c_ms: float, tau_d_ms: float, dt_ms: float = 0.1
) -> float:
    """The same weight change, integrated step by step (checks the closed form and vice versa)."""
    steps = int((reward_delay_ms + 12 * max(tau_c_ms, tau_d_ms)) / dt_ms)
    t = np.arange(steps) * dt_ms
    c = c0 * np.exp(-t / tau_c_ms)
    d = np.where(t >= reward_delay_ms, da_amount * np.exp(-(t - reward_delay_ms) / tau_d_ms), 0.0)
    return float(np.sum(c * d) * dt_ms)


@dataclass(frozen=True)
class DistalRewardResult:
    """Weights sampled once per second: ``rewarded`` (T,), ``others_mean`` / ``others_median`` (T,)."""

    rewarded: np.ndarray
    others_mean: np.ndarray
    others_median: np.ndarray
    n_rewards: int
    initial_others_mean: float
    s_max: float


@numba.njit(cache=True)
def _daspnet(
    n_exc: int,
    n_inh: int,
    post: np.ndarray,
    t_sec: int,
    seed: int,
    a_plus: float,
    a_minus: float,
    trace_decay: float,
    c_decay_10ms: float,
    da_decay: float,
    da_per_reward: float,
    tonic: float,
    s_max: float,
    n1: int,
    syn1: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    np.random.seed(seed)
    n = n_exc + n_inh
    m = post.shape[1]
    a = np.empty(n)
    d = np.empty(n)
    a[:n_exc], a[n_exc:] = 0.02, 0.1
    d[:n_exc], d[n_exc:] = 8.0, 2.0
    v = np.full(n, -65.0)
    u = 0.2 * v
    s = np.empty((n, m))
    s[:n_exc], s[n_exc:] = 1.0, -1.0
    s[n1, syn1] = 0.0
    sd = np.zeros((n, m))
    trace = np.zeros(n)
    # incoming synapse lists for LTP at post-synaptic spikes
    in_count = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for j in range(m):
            in_count[post[i, j]] += 1
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        in_ptr[i + 1] = in_ptr[i] + in_count[i]
    fill = in_ptr[:-1].copy()
    in_pre = np.empty(n * m, dtype=np.int64)
    in_syn = np.empty(n * m, dtype=np.int64)
    for i in range(n):
        for j in range(m):
            q = post[i, j]
            in_pre[fill[q]] = i
            in_syn[fill[q]] = j
            fill[q] += 1
    n2 = post[n1, syn1]
    da = 0.0
    last_n1 = -(10**9)
    pending = np.full(64, -1, dtype=np.int64)
    n_rewards = 0
    rewarded = np.empty(t_sec)
    others_mean = np.empty(t_sec)
    others_median = np.empty(t_sec)
    mask = np.ones((n_exc, m), dtype=np.bool_)
    mask[n1, syn1] = False
    current = np.zeros(n)
    for sec in range(t_sec):
        for ms in range(1000):
            now = sec * 1000 + ms
            for i in range(n):
                current[i] = 13.0 * (np.random.random() - 0.5)
            current[np.random.randint(n)] += 20.0
            for i in range(n):
                if v[i] < 30.0:
                    continue
                v[i] = -65.0
                u[i] += d[i]
                trace[i] = a_plus
                for k in range(in_ptr[i], in_ptr[i + 1]):  # LTP: pre before this post spike
                    sd[in_pre[k], in_syn[k]] += trace[in_pre[k]]
                for j in range(m):  # deliver (1 ms delay) and LTD: post before this pre spike
                    q = post[i, j]
                    current[q] += s[i, j]
                    sd[i, j] -= (a_minus / a_plus) * trace[q]
                if i == n1:
                    last_n1 = now
                if i == n2 and 0 < now - last_n1 < 20:
                    for r in range(pending.size):
                        if pending[r] < 0:
                            pending[r] = now + 1000 + np.random.randint(1, 2001)
                            break
            for _ in range(2):  # two 0.5 ms half-steps for numerical stability (daspnet.m)
                for i in range(n):
                    v[i] += 0.5 * ((0.04 * v[i] + 5.0) * v[i] + 140.0 - u[i] + current[i])
            for i in range(n):
                u[i] += a[i] * (0.2 * v[i] - u[i])
                trace[i] *= trace_decay
            da *= da_decay
            for r in range(pending.size):
                if pending[r] == now:
                    da += da_per_reward
                    pending[r] = -1
                    n_rewards += 1
            if ms % 10 == 0:
                for i in range(n_exc):
                    for j in range(m):
                        s[i, j] = min(s_max, max(0.0, s[i, j] + (tonic + da) * sd[i, j]))
                sd *= c_decay_10ms
        rewarded[sec] = s[n1, syn1]
        others = s[:n_exc].ravel()[mask.ravel()]
        others_mean[sec] = others.mean()
        others_median[sec] = np.median(others)
    return rewarded, others_mean, others_median, n_rewards


def distal_reward_experiment(
    t_sec: int = 600,
    n_exc: int = 800,
    n_inh: int = 200,
    m: int = 100,
    seed: int = 1,
    params: DaStdpParams | None = None,
) -> DistalRewardResult:
    """Izhikevich 2007 distal-reward protocol on a random network of Izhikevich neurons.

    One excitatory synapse n1 -> n2 starts at 0; each time n2 fires within 20 ms after n1, a
    dopamine reward follows after a random 1-3 s delay. Excitatory targets are any neuron,
    inhibitory targets excitatory neurons only (``daspnet.m``).
    """
    params = params or DaStdpParams()
    rng = np.random.default_rng(seed)
    n = n_exc + n_inh
    post = np.empty((n, m), dtype=np.int64)
    for i in range(n):
        pool = n if i < n_exc else n_exc
        post[i] = rng.choice(np.delete(np.arange(pool), i) if i < pool else np.arange(pool), m, replace=False)
    n1 = int(rng.integers(n_exc))
    syn1 = int(np.flatnonzero(post[n1] < n_exc)[0])  # an E -> E synapse
    rewarded, mean, median, n_rewards = _daspnet(
        n_exc,
        n_inh,
        post,
        t_sec,
        seed,
        params.a_plus,
        params.a_minus,
        params.trace_decay_per_ms,
        math.exp(-10.0 / params.tau_c_ms),
        math.exp(-1.0 / params.tau_d_ms),
        params.da_per_reward,
        params.tonic_da,
        params.s_max,
        n1,
        syn1,
    )
    return DistalRewardResult(
        rewarded=rewarded,
        others_mean=mean,
        others_median=median,
        n_rewards=int(n_rewards),
        initial_others_mean=1.0,
        s_max=params.s_max,
    )
