"""Choosing which projections of a built column learn, and with which NEST rule.

A projection (source population -> target population) named in a :class:`PlasticProjection` has
its synapses moved from the static CSR into :class:`~network.PlasticSynapses`, keeping each
synapse's drawn weight and delay. Only excitatory projections may learn: NEST's STDP synapses
require the weight and its bound to share a sign, and Bi & Poo's window is that of excitatory
synapses onto excitatory cells (no plasticity onto GABAergic cells, Bi & Poo 1998).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from brainstar.domain.cortex.config import ConfigError, PlasticityConfig
from brainstar.domain.cortex.network import ColumnNetwork, PlasticSynapses
from brainstar.domain.cortex.synapse_rules import KIND_DOPAMINE, DopamineSynapseParams, StdpSynapseParams


@dataclass(frozen=True)
class PlasticProjection:
    """``source -> target`` learns with ``rule``; its weight bound is ``w_max_ratio`` times the
    projection's mean drawn weight (the rule's own ``w_max`` is replaced by that)."""

    source: str
    target: str
    rule: StdpSynapseParams | DopamineSynapseParams
    w_max_ratio: float = 2.0

    @property
    def name(self) -> str:
        return f"{self.source}->{self.target}"


def rule_row(rule: StdpSynapseParams | DopamineSynapseParams, w_max: float) -> np.ndarray:
    """The rule as a row of the engine's rule table (columns KIND ... W_MIN of ``engine_numba``)."""
    if isinstance(rule, DopamineSynapseParams):
        return np.array(
            [KIND_DOPAMINE, rule.tau_plus_ms, 0.0, 0.0, 0.0, 0.0, w_max, rule.a_plus, rule.a_minus,
             rule.tau_c_ms, rule.tau_n_ms, rule.b, rule.w_min]
        )  # fmt: skip
    return np.array(
        [float(rule.rule), rule.tau_plus_ms, rule.lambda_, rule.alpha, rule.mu_plus, rule.mu_minus, w_max,
         0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    )  # fmt: skip


# Plastic inside the column: the feed-forward L4E -> L2/3E and the recurrent L2/3E -> L2/3E
# projections, excitatory onto excitatory cells as in Bi & Poo's (and Markram's) pairs.
COLUMN_PLASTIC = (("L4E", "L23E"), ("L23E", "L23E"))


def column_projections(plasticity: PlasticityConfig) -> tuple[PlasticProjection, ...]:
    """The column's plastic projections under the switches (none unless ``in_column``): the
    configured STDP window, its learning rate raised by acetylcholine (``neuromodulation``)."""
    from brainstar.domain.cortex.neuromodulation import modulated_stdp
    from brainstar.domain.cortex.plasticity import STDP_RULES

    if not (plasticity.in_column and plasticity.stdp):
        return ()
    rule = modulated_stdp(STDP_RULES[plasticity.stdp_rule], plasticity.acetylcholine)
    return tuple(PlasticProjection(source, target, rule.synapse) for source, target in COLUMN_PLASTIC)


def column_tau_minus_ms(plasticity: PlasticityConfig) -> float:
    """The post-synaptic trace time constant of the configured window."""
    from brainstar.domain.cortex.plasticity import STDP_RULES

    return STDP_RULES[plasticity.stdp_rule].tau_minus_ms


def frozen(network: ColumnNetwork, weights: np.ndarray | None = None) -> ColumnNetwork:
    """The network with its plastic synapses made static at ``weights`` (default: their own)."""
    plastic = network.plastic
    if plastic is None:
        return network
    n = network.n_neurons
    w = plastic.weights0 if weights is None else np.asarray(weights)
    pre = np.concatenate(
        [np.repeat(np.arange(n), np.diff(network.indptr)), np.repeat(np.arange(n), np.diff(plastic.indptr))]
    )
    targets = np.concatenate([network.targets, plastic.targets])
    order = np.lexsort((targets, pre))  # rows by pre, each sorted by target (engine contract)
    return replace(
        network,
        indptr=_csr_from(pre, n),
        targets=targets[order],
        weights=np.concatenate([network.weights, w.astype(network.weights.dtype)])[order],
        delays=np.concatenate([network.delays, plastic.delays])[order],
        plastic=None,
    )


def plastic_summary(network: ColumnNetwork, weights: np.ndarray) -> dict[str, dict[str, float]]:
    """Per plastic projection: synapse count and mean weight before and now (pA)."""
    plastic = network.plastic
    if plastic is None:
        return {}
    out = {}
    for index, name in enumerate(plastic.projections):
        member = plastic.projection == index
        out[name] = {
            "n_synapses": int(member.sum()),
            "mean_weight_start_pa": float(plastic.weights0[member].mean()),
            "mean_weight_end_pa": float(weights[member].mean()),
            "w_max_pa": float(plastic.table[index, 6]),
        }
    return out


def _csr_from(pre: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=n))]).astype(np.int64)


def make_plastic(
    network: ColumnNetwork, projections: tuple[PlasticProjection, ...], tau_minus_ms: float = 20.0
) -> ColumnNetwork:
    """The same network with the synapses of ``projections`` plastic (weights and delays kept)."""
    if not projections:
        return network
    names = list(network.populations)
    n = network.n_neurons
    pre = np.repeat(np.arange(n, dtype=np.int64), np.diff(network.indptr))
    which = np.full(pre.size, -1, dtype=np.int64)
    table, deliver = [], 0
    for index, projection in enumerate(projections):
        for end in (projection.source, projection.target):
            if end not in names:
                raise ConfigError("plasticity.projections", f"{projection.name}: no population {end!r}")
        s, t = names.index(projection.source), names.index(projection.target)
        chosen = (
            (pre >= network.offsets[s])
            & (pre < network.offsets[s + 1])
            & (network.targets >= network.offsets[t])
            & (network.targets < network.offsets[t + 1])
        )
        if not chosen.any():
            raise ConfigError("plasticity.projections", f"{projection.name} has no synapses at this scale")
        if (network.weights[chosen] <= 0).any():
            raise ConfigError("plasticity.projections", f"{projection.name} is not excitatory")
        which[chosen] = index
        table.append(
            rule_row(projection.rule, projection.w_max_ratio * float(network.weights[chosen].mean()))
        )
        if isinstance(projection.rule, DopamineSynapseParams):
            deliver = projection.rule.deliver_interval
    plastic = which >= 0
    keep = ~plastic
    synapses = PlasticSynapses(
        indptr=_csr_from(pre[plastic], n),
        targets=network.targets[plastic],
        delays=network.delays[plastic],
        weights0=network.weights[plastic].astype(np.float64),
        rule=which[plastic].astype(np.uint8),
        table=np.vstack(table),
        projection=which[plastic].astype(np.uint8),
        projections=tuple(p.name for p in projections),
        tau_minus_ms=tau_minus_ms,
        deliver_interval=deliver,
    )
    return replace(
        network,
        indptr=_csr_from(pre[keep], n),
        targets=network.targets[keep],
        weights=network.weights[keep],
        delays=network.delays[keep],
        plastic=synapses,
    )
