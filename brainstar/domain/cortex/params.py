"""Potjans & Diesmann (2014) microcircuit parameters, validation of a column, and its scaled tables.

Every table carries its source. "PD14" is Potjans TC, Diesmann M (2014) Cereb Cortex 24(3):785-806,
doi:10.1093/cercor/bhs358; "INM-6" is the maintained reference implementation
``INM-6/microcircuit-PD14-model`` (PyPI ``microcircuit`` 1.0, ``network_params.py`` and
``helpers.py``), whose numbers were read and re-typed here, not imported.

Six-layer mapping. PD14 models four cortical layers, each with one excitatory (E) and one
inhibitory (I) population: L2/3 (layers 2 and 3 lumped, as in the Binzegger et al. 2004 anatomy
PD14 builds on), L4, L5 and L6. Layer 1 has no neurons in PD14. Here L1 is an optional, sparse,
purely inhibitory population ("L1I"); because PD14 publishes no numbers for it, every L1 number
(neuron count, external in-degree, connection probabilities) must be supplied by the user together
with its source in :class:`Layer1Config`, and nothing about L1 is defaulted.

The configuration dataclasses (:class:`ColumnConfig` and its parts) and the connectivity tables
they default to are defined in the numpy-free :mod:`brainstar.domain.cortex.config`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from brainstar.domain.cortex.config import ColumnConfig, ConfigError, Layer1Config, NeuronParams

POPULATIONS: tuple[str, ...] = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
LAYER_OF: dict[str, str] = {
    "L1I": "L1",
    "L23E": "L2/3",
    "L23I": "L2/3",
    "L4E": "L4",
    "L4I": "L4",
    "L5E": "L5",
    "L5I": "L5",
    "L6E": "L6",
    "L6I": "L6",
}

# Full-scale mean rates (Hz) of the NEST 3 reference run; INM-6 network_params.full_mean_rates.
# Used for the DC compensation of down-scaled in-degrees and as the published reference.
FULL_MEAN_RATES_HZ: tuple[float, ...] = (0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829)

# Irregularity at full scale with Poisson input: NetPyNE port, Romaro et al. 2021 Neural Comput
# 33:1993, Table A.3 (mean CV of ISI per population).
FULL_CV_ISI: tuple[float, ...] = (0.938, 0.916, 0.891, 0.873, 0.847, 0.809, 0.924, 0.819)


# "Optimized" initial membrane potentials (mean, SD per population, mV); INM-6 V0_type "optimized".
V0_MEAN_MV: tuple[float, ...] = (-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43)
V0_STD_MV: tuple[float, ...] = (5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48)


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(name, f"must be a positive finite number, got {value!r}")


def _probabilities(name: str, values: np.ndarray) -> None:
    if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values > 1):
        bad = values[~((values >= 0) & (values <= 1))]
        raise ConfigError(name, f"probabilities must lie in [0, 1], found {bad.tolist()}")


def validate(config: ColumnConfig) -> None:
    """Reject impossible configurations before anything is built or simulated."""
    for name in ("n_scaling", "k_scaling", "t_sim_ms", "dt_ms"):
        _positive(name, getattr(config, name))
    if config.warmup_ms < 0:
        raise ConfigError("warmup_ms", f"must be >= 0, got {config.warmup_ms}")
    if config.threads < 1:
        raise ConfigError("threads", f"must be >= 1, got {config.threads}")
    n_pops = len(POPULATIONS)
    counts = np.asarray(config.full_num_neurons)
    if counts.shape != (n_pops,):
        raise ConfigError("full_num_neurons", f"needs {n_pops} entries, got {counts.shape}")
    if np.any(counts < 0):
        raise ConfigError("full_num_neurons", f"negative neuron count in {counts.tolist()}")
    k_ext = np.asarray(config.k_ext)
    if k_ext.shape != (n_pops,) or np.any(k_ext < 0):
        raise ConfigError("k_ext", f"needs {n_pops} non-negative in-degrees, got {k_ext.tolist()}")
    probs = np.asarray(config.conn_probs, dtype=float)
    if probs.shape != (n_pops, n_pops):
        raise ConfigError("conn_probs", f"needs shape ({n_pops}, {n_pops}), got {probs.shape}")
    _probabilities("conn_probs", probs)
    for name, value in vars(config.neuron).items():
        if name.startswith(("c_m", "tau", "t_ref")):
            _positive(f"neuron.{name}", value)
    if config.neuron.v_th_mv <= config.neuron.v_reset_mv:
        raise ConfigError("neuron.v_th_mv", "threshold must lie above the reset potential")
    if config.neuron.tau_syn_ms == config.neuron.tau_m_ms:
        raise ConfigError("neuron.tau_syn_ms", "must differ from tau_m_ms (exact-integration propagator)")
    syn = config.synapse
    for name in ("delay_exc_ms", "delay_inh_ms", "delay_poisson_ms"):
        _positive(f"synapse.{name}", getattr(syn, name))
        if config.dt_ms > getattr(syn, name):
            raise ConfigError(
                "dt_ms",
                f"time step {config.dt_ms} ms is larger than synapse.{name} = {getattr(syn, name)} ms",
            )
    if syn.weight_rel_std < 0 or syn.delay_rel_std < 0:
        raise ConfigError("synapse.weight_rel_std", "relative SDs must be >= 0")
    if syn.bg_rate_hz < 0:
        raise ConfigError("synapse.bg_rate_hz", f"must be >= 0, got {syn.bg_rate_hz}")
    scaled = np.round(counts * config.n_scaling).astype(int)
    for pop, full, n in zip(POPULATIONS, counts, scaled, strict=True):
        if full > 0 and n == 0:
            raise ConfigError("n_scaling", f"{config.n_scaling} leaves population {pop} with zero neurons")
    if config.layer1 is not None:
        _validate_layer1(config.layer1, config.n_scaling)
    plast = config.plasticity
    if plast.stdp_rule not in ("song2000", "bipoo"):
        raise ConfigError("plasticity.stdp_rule", f"must be 'song2000' or 'bipoo', got {plast.stdp_rule!r}")
    for name in ("acetylcholine", "norepinephrine", "serotonin"):
        level = getattr(plast, name)
        if not 0.0 <= level <= 1.0:
            raise ConfigError(f"plasticity.{name}", f"level must lie in [0, 1], got {level}")


def _validate_layer1(l1: Layer1Config, n_scaling: float) -> None:
    if not l1.source.strip():
        raise ConfigError("layer1.source", "PD14 has no layer-1 data: name the source of these numbers")
    if l1.n_full < 0:
        raise ConfigError("layer1.n_full", f"negative neuron count {l1.n_full}")
    if round(l1.n_full * n_scaling) == 0:
        raise ConfigError("n_scaling", f"{n_scaling} leaves population L1I with zero neurons")
    if l1.k_ext < 0:
        raise ConfigError("layer1.k_ext", f"negative in-degree {l1.k_ext}")
    for name in ("p_to", "p_from"):
        values = np.asarray(getattr(l1, name), dtype=float)
        if values.shape != (len(POPULATIONS),):
            raise ConfigError(f"layer1.{name}", f"needs {len(POPULATIONS)} entries, got {values.shape}")
        _probabilities(f"layer1.{name}", values)


# --- derived quantities -------------------------------------------------------------------------


def psc_over_psp(neuron: NeuronParams) -> float:
    """PSC amplitude (pA) giving a 1 mV peak PSP for ``iaf_psc_exp`` (585.39 pA/mV for PD14).

    Peak of the PSP kernel of an exponential current into a leaky membrane; INM-6
    ``helpers.postsynaptic_potential_to_current``, after Hanuschkin et al. 2010.
    """
    tau_m, tau_s, c_m = neuron.tau_m_ms, neuron.tau_syn_ms, neuron.c_m_pf
    sub = 1.0 / (tau_s - tau_m)
    pre = tau_m * tau_s / c_m * sub
    frac = (tau_m / tau_s) ** sub
    return 1.0 / (pre * (frac**tau_m - frac**tau_s))


def num_synapses_from_conn_probs(conn_probs: np.ndarray, n_post: np.ndarray, n_pre: np.ndarray) -> np.ndarray:
    """Total synapse count per projection (fixed_total_number with multapses), PD14 eq. 1.

    ``K = log(1 - C) / log((N_pre N_post - 1) / (N_pre N_post))``; rows are targets.
    """
    prod = np.outer(n_post, n_pre).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.log(1.0 - conn_probs) / np.log((prod - 1.0) / prod)
    return np.nan_to_num(k, nan=0.0, posinf=0.0)


@dataclass(frozen=True)
class DerivedParams:
    """Scaled, simulation-ready numbers. Arrays are per population (targets along rows)."""

    populations: tuple[str, ...]
    num_neurons: np.ndarray  # (P,) int
    num_synapses: np.ndarray  # (P, P) int, rows = targets
    ext_indegrees: np.ndarray  # (P,) int
    weight_mean_pa: np.ndarray  # (P, P) PSC amplitude, negative for inhibitory sources
    weight_ext_pa: float
    delay_mean_ms: np.ndarray  # (P, P)
    dc_amp_pa: np.ndarray  # (P,) constant input current
    v0_mean_mv: np.ndarray
    v0_std_mv: np.ndarray
    reference_rates_hz: np.ndarray  # (P,), NaN where no published reference exists


def derive(config: ColumnConfig) -> DerivedParams:
    """Apply the PD14 / INM-6 down-scaling rule (model description remarks 1-3).

    Neuron counts scale by N_scaling, synapse counts by N_scaling*K_scaling, K_ext by K_scaling;
    weights by 1/sqrt(K_scaling), with a DC current ``0.001 tau_syn (1 - sqrt(K)) sum J K nu``
    restoring the mean input lost with the synapses (full-scale in-degrees and rates).
    """
    validate(config)
    pops = list(POPULATIONS)
    full_n = np.asarray(config.full_num_neurons, dtype=float)
    probs = np.asarray(config.conn_probs, dtype=float)
    k_ext = np.asarray(config.k_ext, dtype=float)
    is_exc = np.array([p.endswith("E") for p in pops])
    v0_mean, v0_std = list(V0_MEAN_MV), list(V0_STD_MV)
    rates = list(FULL_MEAN_RATES_HZ)
    if config.layer1 is not None:
        l1 = config.layer1
        pops.append("L1I")
        full_n = np.append(full_n, l1.n_full)
        k_ext = np.append(k_ext, l1.k_ext)
        grown = np.zeros((len(pops), len(pops)))
        grown[:-1, :-1] = probs
        grown[:-1, -1] = l1.p_to
        grown[-1, :-1] = l1.p_from
        probs = grown
        is_exc = np.append(is_exc, False)
        # L1 has no optimized initial condition or reference rate: use the INM-6 "original" V0.
        v0_mean.append(-58.0)
        v0_std.append(10.0)
        rates.append(float("nan"))
    syn, neuron = config.synapse, config.neuron
    factor = psc_over_psp(neuron)
    psp = np.where(is_exc[None, :], syn.psp_exc_mv, syn.psp_exc_mv * syn.g) * np.ones((len(pops), 1))
    psp[0, 2] = syn.l4e_to_l23e_factor * syn.psp_exc_mv
    weight = psp * factor
    weight_ext = syn.psp_exc_mv * factor
    full_syn = num_synapses_from_conn_probs(probs, full_n, full_n)
    ext_indegrees = np.round(k_ext * config.k_scaling).astype(np.int64)
    if config.poisson_input:
        dc = np.zeros(len(pops))
    else:
        # DC equivalent of the Poisson drive; INM-6 helpers.dc_input_compensating_poisson (unscaled K_ext).
        dc = syn.bg_rate_hz * k_ext * weight_ext * neuron.tau_syn_ms * 0.001
    if config.k_scaling != 1.0:
        sqrt_k = math.sqrt(config.k_scaling)
        indegree = full_syn / np.where(full_n > 0, full_n, 1.0)[:, None]
        known_rates = np.nan_to_num(np.asarray(rates))
        input_rec = np.sum(weight * indegree * known_rates[None, :], axis=1)
        dc = dc + 0.001 * neuron.tau_syn_ms * (1.0 - sqrt_k) * input_rec
        if config.poisson_input:
            dc = dc + 0.001 * neuron.tau_syn_ms * (1.0 - sqrt_k) * weight_ext * k_ext * syn.bg_rate_hz
        weight = weight / sqrt_k
        weight_ext = weight_ext / sqrt_k
    delay = np.where(is_exc[None, :], syn.delay_exc_ms, syn.delay_inh_ms) * np.ones((len(pops), 1))
    return DerivedParams(
        populations=tuple(pops),
        num_neurons=np.round(full_n * config.n_scaling).astype(np.int64),
        num_synapses=np.round(full_syn * config.n_scaling * config.k_scaling).astype(np.int64),
        ext_indegrees=ext_indegrees,
        weight_mean_pa=weight,
        weight_ext_pa=float(weight_ext),
        delay_mean_ms=delay,
        dc_amp_pa=dc,
        v0_mean_mv=np.asarray(v0_mean),
        v0_std_mv=np.asarray(v0_std),
        reference_rates_hz=np.asarray(rates),
    )
