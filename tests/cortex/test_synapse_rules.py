"""Plastic synapses against NEST: stored NEST 3.10 trajectories, and the engine against the replay.

The reference file holds, per scenario, the spike times NEST's parrot neurons actually emitted and
the weights NEST's ``weight_recorder`` read at every pre spike
(``tools/cortex_nest_synapses.py`` made it). Our synapse code is driven with the same spikes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from brainstar.domain.cortex import synapse_rules as rules
from brainstar.domain.cortex.config import ColumnConfig
from brainstar.domain.cortex.engine_numba import ColumnSimulator, EngineRun
from brainstar.domain.cortex.network import build_network
from brainstar.domain.cortex.plastic_network import PlasticProjection, make_plastic
from brainstar.domain.cortex.plasticity import STDP_RULES, pairing_window
from brainstar.domain.cortex.synapse_replay import replay

REFERENCE = Path(rules.__file__).parent / "reference_data" / "nest_synapse_trajectories.json"
NEST = json.loads(REFERENCE.read_text())
BI_POO = rules.StdpSynapseParams(tau_plus_ms=16.8, lambda_=0.05, alpha=1.05, mu_plus=0.0, mu_minus=0.0)


def nest_params(scenario: dict) -> rules.StdpSynapseParams | rules.DopamineSynapseParams:
    """Our parameter object for a scenario's NEST synapse model and its (non-default) parameters."""
    given = scenario["params"]
    if scenario["model"] == "stdp_dopamine_synapse":
        names = {"A_plus": "a_plus", "A_minus": "a_minus", "tau_plus": "tau_plus_ms", "tau_c": "tau_c_ms",
                 "tau_n": "tau_n_ms", "b": "b", "Wmin": "w_min", "Wmax": "w_max"}  # fmt: skip
        return rules.DopamineSynapseParams(
            deliver_interval=scenario["deliver_interval"], **{names[k]: v for k, v in given.items()}
        )
    names = {"tau_plus": "tau_plus_ms", "lambda": "lambda_", "alpha": "alpha", "mu_plus": "mu_plus",
             "mu_minus": "mu_minus", "Wmax": "w_max"}  # fmt: skip
    pairing = "nearest" if scenario["model"] == "stdp_nn_symm_synapse" else "all_to_all"
    return rules.StdpSynapseParams(pairing=pairing, **{names[k]: v for k, v in given.items()})


def replay_scenario(scenario: dict, params: rules.StdpSynapseParams | rules.DopamineSynapseParams):
    return replay(
        np.asarray(scenario["pre_ms"]),
        np.asarray(scenario["post_ms"]),
        scenario["delay_ms"],
        scenario["w0"],
        params,
        scenario["tau_minus_ms"],
        np.asarray(scenario["dopamine_ms"]),
        scenario["min_delay_ms"],
    )


@pytest.mark.parametrize("name", sorted(NEST["scenarios"]))
def test_weight_trajectory_matches_nest_within_one_percent(name: str) -> None:
    scenario = NEST["scenarios"][name]
    ours = replay_scenario(scenario, nest_params(scenario))
    nest_w = np.asarray(scenario["weights"])
    np.testing.assert_allclose(ours.times_ms, scenario["weight_times_ms"], atol=1e-9)
    excursion = np.abs(nest_w - scenario["w0"]).max()
    assert excursion > 1.0, "the scenario must move the weight to test anything"
    assert np.abs(ours.weights - nest_w).max() <= 0.01 * excursion


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("stdp_additive", {"tau_plus_ms": 20.0}),  # Song et al.'s 20 ms instead of Bi & Poo's 16.8 ms
        ("stdp_nearest", {"pairing": "all_to_all"}),
        ("dopamine", {"tau_n_ms": 150.0}),
    ],
)
def test_a_different_rule_does_not_match_nest(name: str, change: dict) -> None:
    scenario = NEST["scenarios"][name]
    ours = replay_scenario(scenario, replace(nest_params(scenario), **change))
    nest_w = np.asarray(scenario["weights"])
    assert np.abs(ours.weights - nest_w).max() > 0.01 * np.abs(nest_w - scenario["w0"]).max()


@pytest.mark.parametrize("rule", sorted(NEST["pairing"]))
def test_pairing_window_matches_nest(rule: str) -> None:
    """Bi & Poo's protocol through our synapse (plasticity.pairing_window) and through NEST's."""
    pairing = NEST["pairing"][rule]
    ours = pairing_window(STDP_RULES[rule], np.asarray(pairing["lags_ms"]))
    assert STDP_RULES[rule].synapse == nest_params({"model": "stdp_synapse", "params": pairing["params"]})
    theirs = (np.asarray(pairing["final_weights"]) - pairing["w0"]) / pairing["w0"]
    assert np.abs(ours - theirs).max() <= 0.01 * np.abs(theirs).max()


def _simulator(engine: str, network, config: ColumnConfig):
    if engine == "numba":
        return ColumnSimulator(network, EngineRun.of(config), threads=2)
    from brainstar.domain.cortex.engine_torch import TorchColumnSimulator

    return TorchColumnSimulator(network, EngineRun.of(config), device="cpu", dtype="float64")


@pytest.mark.parametrize("engine", ["numba", "torch"])
def test_engine_synapses_follow_the_replay_of_their_own_spikes(engine: str) -> None:
    """In a running column, every plastic synapse ends where the replay of its pre and post
    spikes (and the dopamine) puts it: all three rules, both engines, weights within bounds."""
    config = ColumnConfig(n_scaling=0.02, k_scaling=0.1, t_sim_ms=600.0, warmup_ms=0.0, seed=3)
    projections = (
        PlasticProjection("L4E", "L23E", BI_POO),
        PlasticProjection("L23E", "L23E", rules.StdpSynapseParams(pairing="nearest")),
        PlasticProjection("L4E", "L6E", rules.DopamineSynapseParams(deliver_interval=3)),
    )
    network = make_plastic(build_network(config), projections, tau_minus_ms=33.7)
    simulator = _simulator(engine, network, config)
    dopamine = np.round(np.random.default_rng(0).uniform(0.0, 600.0, 15), 1)
    steps, ids = simulator.advance(600.0, dopamine_ms=dopamine)
    assert simulator.history_misses == 0
    plastic, weights = network.plastic, simulator.plastic_weights
    times = (steps + 1) * network.dt_ms
    pre_of = np.repeat(np.arange(network.n_neurons), np.diff(plastic.indptr))
    counts = np.bincount(ids, minlength=network.n_neurons)
    moved = {name: 0 for name in plastic.projections}
    for index, projection in enumerate(projections):
        members = np.flatnonzero(plastic.projection == index)
        # The synapses with the most pre-post pairs, where the rules have the most to get right.
        busiest = members[np.argsort(counts[pre_of[members]] * counts[plastic.targets[members]])[-25:]]
        for k in busiest:
            params = replace(projection.rule, w_max=plastic.table[plastic.rule[k], 6])
            ours = replay(
                times[ids == pre_of[k]], times[ids == plastic.targets[k]], plastic.delays[k] * network.dt_ms,
                plastic.weights0[k], params, 33.7, dopamine, min_delay_ms=network.dt_ms, t_stop_ms=600.0,
            )  # fmt: skip
            assert weights[k] == pytest.approx(ours.final_weight, rel=1e-9, abs=1e-9)
            moved[projection.name] += not np.isclose(weights[k], plastic.weights0[k])
        assert (weights[members] >= 0).all() and (weights[members] <= plastic.table[index, 6] + 1e-9).all()
    assert all(count > 0 for count in moved.values()), moved


def test_a_plastic_column_without_learning_matches_the_static_one() -> None:
    """Moving synapses into the plastic CSR with a rule that cannot change them (lambda 0) leaves
    the spike trains bit-identical: the plastic path delivers the same weights at the same time."""
    config = ColumnConfig(n_scaling=0.02, k_scaling=0.1, t_sim_ms=300.0, warmup_ms=0.0, seed=4)
    network = build_network(config)
    frozen = make_plastic(network, (PlasticProjection("L4E", "L23E", replace(BI_POO, lambda_=0.0)),))
    run = EngineRun.of(config)
    static = ColumnSimulator(network, run, threads=2).advance(300.0)
    plastic = ColumnSimulator(frozen, run, threads=2).advance(300.0)
    assert static[1].size > 100
    np.testing.assert_array_equal(static[0], plastic[0])
    np.testing.assert_array_equal(static[1], plastic[1])


def test_scenarios_outlast_the_history_ring() -> None:
    """The silent-pre scenarios pair a pre spike with more post spikes than the ring holds, so
    their agreement with NEST above covers the read-ahead of the history."""
    for name in ("stdp_silent_pre", "stdp_nearest_silent_pre"):
        scenario = NEST["scenarios"][name]
        pre, post = np.asarray(scenario["pre_ms"]), np.asarray(scenario["post_ms"])
        gaps = np.searchsorted(post, pre[1:]) - np.searchsorted(post, pre[:-1])
        assert gaps.max() > rules.HISTORY


def test_a_dopamine_synapse_that_falls_behind_the_history_is_refused() -> None:
    """A volume transmitter that never delivers leaves its synapse reading a window the ring has
    overwritten: the replay refuses rather than learning from less."""
    params = rules.DopamineSynapseParams(deliver_interval=10**9)
    pre = np.array([10.0, 10.0 + 5 * rules.HISTORY + 100.0])
    post = 12.0 + 5.0 * np.arange(rules.HISTORY + 10)
    with pytest.raises(RuntimeError, match="overflowed"):
        replay(pre, post, 1.0, 50.0, params, 20.0, min_delay_ms=1.0)
