"""Acetylcholine, norepinephrine and serotonin as measurable effects on small LIF simulations.

Directions come from the literature; the magnitudes below are model parameters (no published
number is claimed for them), and each effect is *measured* from a simulation, not asserted:

- ACh (Hasselmo 2006, Curr Opin Neurobiol 16:710; Hasselmo & Bower 1992): presynaptic suppression of
  recurrent (intracortical) excitation more than afferent input, and enhanced plasticity. Measured:
  afferent / recurrent input-charge ratio of a recurrent E population, and the STDP weight change
  of the pairing protocol. Both must rise with ACh.
- NE (Servan-Schreiber, Printz & Cohen 1990, Science 249:892; Aston-Jones & Cohen 2005, Annu Rev
  Neurosci 28:403): multiplicative gain on input. Measured: slope of the simulated f-I curve in the
  fluctuation-driven range below rheobase (150-350 pA; rheobase 375 pA) where cortex operates. Must rise.
- 5-HT (Doya 2002, Neural Netw 15:495: serotonin sets the discount factor gamma; Miyazaki et al. 2014
  Curr Biol 24:2033: DRN 5-HT stimulation raises waiting for delayed reward). Modelled as a longer
  eligibility time constant tau_c of DA-STDP. Measured: credit (weight change) given to a synapse
  whose reward arrives 2 s after pairing, and the per-second discount exp(-1 s / tau_c). Must rise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from brainstar.domain.cortex.config import NeuronParams, PlasticityConfig
from brainstar.domain.cortex.engine_numba import propagators, run_plain
from brainstar.domain.cortex.network import ColumnNetwork
from brainstar.domain.cortex.plasticity import (
    DaStdpParams,
    StdpRule,
    pairing_window,
    three_factor_simulated,
)


@dataclass(frozen=True)
class NeuromodulatorGains:
    """Effect size at level 1 (level 0 = no effect; effects are linear in the level)."""

    ach_recurrent_suppression: float = 0.5  # recurrent E weights x (1 - 0.5 level)
    ach_learning_boost: float = 1.0  # STDP amplitudes x (1 + level)
    ne_gain: float = 0.5  # input currents x (1 + 0.5 level)
    serotonin_tau_c_stretch: float = 1.0  # tau_c x (1 + level)


GAINS = NeuromodulatorGains()


def modulated_stdp(rule: StdpRule, ach: float, gains: NeuromodulatorGains = GAINS) -> StdpRule:
    """ACh scales the learning rate (NEST's lambda: both sides of the window)."""
    factor = 1.0 + gains.ach_learning_boost * ach
    return replace(rule, synapse=replace(rule.synapse, lambda_=rule.synapse.lambda_ * factor))


def modulated_da_stdp(
    params: DaStdpParams, serotonin: float, gains: NeuromodulatorGains = GAINS
) -> DaStdpParams:
    return replace(params, tau_c_ms=params.tau_c_ms * (1.0 + gains.serotonin_tau_c_stretch * serotonin))


def modulate_network(
    network: ColumnNetwork, plasticity: PlasticityConfig, gains: NeuromodulatorGains = GAINS
) -> ColumnNetwork:
    """The column under tonic acetylcholine and norepinephrine (levels from ``plasticity``).

    ACh suppresses recurrent excitation: every intracortical excitatory weight x (1 - s * ACh);
    the external (afferent) drive is untouched, which is what raises the afferent / recurrent
    ratio. NE is a multiplicative gain on all input: recurrent and external weights and the DC
    current x (1 + g * NE). Serotonin acts on learning only (``modulated_da_stdp``).
    """
    ach, ne = plasticity.acetylcholine, plasticity.norepinephrine
    if ach == 0.0 and ne == 0.0:
        return network
    weights = network.weights.copy()
    weights[weights > 0] *= 1.0 - gains.ach_recurrent_suppression * ach
    gain = 1.0 + gains.ne_gain * ne
    weights *= gain
    return replace(
        network,
        weights=weights.astype(network.weights.dtype),
        weight_ext_pa=network.weight_ext_pa * gain,
        dc_pa=network.dc_pa * gain,
    )


def _empty_csr(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.uint8)


def _simulate(
    csr: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    dc: np.ndarray,
    lam: np.ndarray,
    w_ext: float,
    t_ms: float,
    seed: int,
    neuron: NeuronParams,
    dt: float = 0.1,
) -> np.ndarray:
    """Spike counts per neuron over ``t_ms`` (first 100 ms discarded)."""
    prop = propagators(neuron, dt)
    n = dc.size
    v0 = np.random.default_rng(seed).uniform(0.0, prop.theta, n)
    n_warm = round(100.0 / dt)
    _, ids = run_plain(csr, v0, dc, lam, w_ext, prop, n_warm + round(t_ms / dt), n_warm, seed, dt)
    return np.bincount(ids, minlength=n)


def fi_slope(ne_level: float, gains: NeuromodulatorGains = GAINS, seed: int = 0) -> float:
    """Slope (Hz/pA) of the f-I curve of LIF neurons with Poisson noise, input scaled by NE gain."""
    neuron = NeuronParams()
    currents = np.repeat(np.linspace(150.0, 350.0, 9), 20)  # pA, below the 375 pA rheobase
    gain = 1.0 + gains.ne_gain * ne_level
    lam = np.full(currents.size, 500 * 8.0 * 1e-4)  # 500 inputs at 8 Hz, per 0.1 ms step
    t_ms = 2000.0
    counts = _simulate(_empty_csr(currents.size), gain * currents, lam, 20.0 * gain, t_ms, seed, neuron)
    rates = counts / (t_ms * 1e-3)
    return float(np.polyfit(currents, rates, 1)[0])


def afferent_recurrent_ratio(ach_level: float, gains: NeuromodulatorGains = GAINS, seed: int = 0) -> float:
    """Afferent / recurrent excitatory input charge in a recurrent E population under ACh.

    400 LIF neurons, 10% random E->E connectivity of 0.15 mV PSPs plus 2000 afferent Poisson
    inputs at 8 Hz (PD14 values); ACh scales only the recurrent weights.
    """
    from brainstar.domain.cortex.params import psc_over_psp

    neuron = NeuronParams()
    rng = np.random.default_rng(seed)
    n, p = 400, 0.1
    w = 0.15 * psc_over_psp(neuron)
    w_rec = w * (1.0 - gains.ach_recurrent_suppression * ach_level)
    adjacency = rng.random((n, n)) < p
    pre, post = np.nonzero(adjacency)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=n))]).astype(np.int64)
    csr = (
        indptr,
        post.astype(np.int32),
        np.full(post.size, w_rec, np.float32),
        np.full(post.size, 15, np.uint8),
    )
    lam = np.full(n, 2000 * 8.0 * 1e-4)
    t_ms = 1000.0
    counts = _simulate(csr, np.zeros(n), lam, w, t_ms, seed, neuron)
    out_degree = np.diff(indptr)
    recurrent_charge = float(np.sum(counts * out_degree) * w_rec) + 1e-12
    afferent_charge = float(lam.sum() * round(t_ms / 0.1) * w)
    return afferent_charge / recurrent_charge


def stdp_change(ach_level: float, rule: StdpRule, gains: NeuromodulatorGains = GAINS) -> float:
    """Relative weight change after the pairing protocol at t_post - t_pre = +10 ms, under ACh."""
    return float(pairing_window(modulated_stdp(rule, ach_level, gains), np.array([10.0]))[0])


def serotonin_credit(
    level: float, reward_delay_ms: float = 2000.0, gains: NeuromodulatorGains = GAINS
) -> dict:
    """Credit a paired synapse gets from a reward ``reward_delay_ms`` later, and the discount per second."""
    params = modulated_da_stdp(DaStdpParams(), level, gains)
    credit = three_factor_simulated(
        params.a_plus, reward_delay_ms, params.da_per_reward, params.tau_c_ms, params.tau_d_ms
    )
    return {
        "credit": credit,
        "discount_per_s": float(np.exp(-1000.0 / params.tau_c_ms)),
        "tau_c_ms": params.tau_c_ms,
    }


def measure_all(seed: int = 0) -> dict[str, dict[str, float]]:
    """Each modulator at level 0 and 1: the measured quantity and whether it moved in its direction."""
    from brainstar.domain.cortex.plasticity import STDP_RULES

    ach = [afferent_recurrent_ratio(level, seed=seed) for level in (0.0, 1.0)]
    ach_lr = [stdp_change(level, STDP_RULES["song2000"]) for level in (0.0, 1.0)]
    ne = [fi_slope(level, seed=seed) for level in (0.0, 1.0)]
    ht = [serotonin_credit(level)["credit"] for level in (0.0, 1.0)]
    return {
        "acetylcholine_afferent_recurrent_ratio": {"low": ach[0], "high": ach[1], "expected": "increase"},
        "acetylcholine_stdp_dw_relative": {"low": ach_lr[0], "high": ach_lr[1], "expected": "increase"},
        "norepinephrine_fi_slope_hz_per_pa": {"low": ne[0], "high": ne[1], "expected": "increase"},
        "serotonin_delayed_credit_2s": {"low": ht[0], "high": ht[1], "expected": "increase"},
    }
