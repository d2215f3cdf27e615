"""The CUDA engine against the numba engine, its kernels run in numba's CUDA simulator.

``NUMBA_ENABLE_CUDASIM`` is read when numba is first imported, so the simulated runs happen in
a subprocess (:func:`compare`, :func:`compare_plastic`); this process keeps the real
``numba.cuda``. The network is tiny (about 150 neurons, 30 to 40 ms) because every simulated CUDA
thread is a Python thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from brainstar.domain.cortex import synapse_rules as rules
from brainstar.domain.cortex.config import ColumnConfig, ConfigError, NeuronParams
from brainstar.domain.cortex.network import ColumnNetwork, build_network
from brainstar.domain.cortex.plastic_network import PlasticProjection, make_plastic
from brainstar.domain.cortex.simulation import column_size
from brainstar.domain.cortex.synapse_replay import replay

ROOT = Path(__file__).resolve().parents[2]


def _network(config: ColumnConfig, thalamus_hz: float, thalamus_k: float = 0.5) -> ColumnNetwork:
    """The column with membranes started near threshold and three times the DC, so that it is busy
    from the first milliseconds (recurrent delivery and refractoriness are exercised)."""
    net = build_network(config)
    rng = np.random.default_rng(1)
    e_l, v_th = config.neuron.e_l_mv, config.neuron.v_th_mv
    net = replace(net, v0_mv=rng.uniform(e_l + 5.0, v_th, net.n_neurons), dc_pa=net.dc_pa * 3.0)
    if thalamus_hz:
        from brainstar.domain.cortex.sources import add_thalamus

        net = add_thalamus(net, config, seed=2, n_neurons=20, k_scaling=thalamus_k)
    return net


def compare(poisson: bool, loop: str, thalamus_hz: float) -> None:
    """Run in the simulator: both engines on the same network; prints their spikes as JSON."""
    warnings.simplefilter("ignore", RuntimeWarning)  # numpy scalars warn on the hash's wrap-around
    from brainstar.domain.cortex import engine_cuda
    from brainstar.domain.cortex.engine_numba import ColumnSimulator, EngineRun, timed_run

    config = ColumnConfig(
        n_scaling=0.002,
        k_scaling=0.05,
        t_sim_ms=35.0,
        warmup_ms=5.0,
        seed=4,
        poisson_input=poisson,
        threads=1,
    )
    net = _network(config, thalamus_hz)
    run = EngineRun.of(config)
    out = {}
    for name, simulator in (
        ("numba", ColumnSimulator(net, run)),
        ("cuda", engine_cuda.CudaColumnSimulator(net, run, loop=loop, chunk_steps=150)),
    ):
        simulator.source_rate_hz[:] = thalamus_hz
        spikes = timed_run(simulator, net, run)
        out[name] = {"times": spikes.times_ms.tolist(), "senders": spikes.senders.tolist()}
    out["simulated"] = engine_cuda.SIMULATED
    print(json.dumps(out))


def _simulated(poisson: bool, loop: str, thalamus_hz: float = 0.0) -> dict:
    return _in_simulator(f"compare({poisson}, {loop!r}, {thalamus_hz})")


def _in_simulator(call: str) -> dict:
    """The JSON that ``call`` (a function of this module) prints, run in numba's CUDA simulator."""
    # Every simulated thread takes the simulator's one atomic lock many times per step; at
    # Python's default GIL switch interval (5 ms) the threads queue on it eight times slower than
    # at 10 us (measured: 1 ms of the read-ahead column 64 s against 8 s at 100 us, 5 s at 10 us).
    code = f"import sys; sys.setswitchinterval(1e-5); from tests.cortex.test_engine_cuda import *; {call}"
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        # 5-90 s each alone on two cores.
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["simulated"], "the subprocess did not run numba's CUDA simulator"
    return result


@pytest.mark.parametrize("loop", ["device", "host"])
def test_dc_background_spikes_equal_the_numba_engine(loop: str) -> None:
    result = _simulated(poisson=False, loop=loop)
    numba, cuda = result["numba"], result["cuda"]
    assert len(numba["senders"]) > 50
    assert cuda["senders"] == numba["senders"]
    assert cuda["times"] == numba["times"]


def test_poisson_background_and_thalamus_match_the_numba_engine() -> None:
    """Both engines draw from the same counter-based hash, so in the simulator even the Poisson
    spikes coincide; the rates of the column and of the thalamus are then checked too."""
    result = _simulated(poisson=True, loop="host", thalamus_hz=200.0)
    numba, cuda = result["numba"], result["cuda"]
    senders = np.array(cuda["senders"])
    n_column = column_size(ColumnConfig(n_scaling=0.002))
    assert (senders >= n_column).sum() > 20, "the thalamus did not fire"
    assert (senders < n_column).sum() > 50
    assert cuda["senders"] == numba["senders"]
    np.testing.assert_allclose(cuda["times"], numba["times"], rtol=0, atol=1e-9)


# Strong learning rates, so that weights move within tens of milliseconds: Bi & Poo's additive
# window, a nearest-neighbour rule and a dopamine synapse whose volume transmitter delivers every
# three steps (dopamine arrives both at and between delivery points, on the step grid, where the
# engines stamp it, so that the replay sees the same times).
PLASTIC_PROJECTIONS = (
    PlasticProjection(
        "L4E",
        "L23E",
        rules.StdpSynapseParams(tau_plus_ms=16.8, lambda_=0.05, alpha=1.05, mu_plus=0.0, mu_minus=0.0),
    ),
    PlasticProjection("L23E", "L23E", rules.StdpSynapseParams(pairing="nearest", lambda_=0.05)),
    PlasticProjection(
        "L4E", "L6E", rules.DopamineSynapseParams(a_plus=5.0, a_minus=7.5, tau_n_ms=20.0, deliver_interval=3)
    ),
)
TAU_MINUS_MS = 33.7
PLASTIC_MS = 30.0
DOPAMINE_MS = (3.0, 7.1, 12.3, 20.0, 21.0)


def _plastic_network() -> tuple[ColumnNetwork, ColumnConfig]:
    config = ColumnConfig(
        n_scaling=0.002, k_scaling=0.05, t_sim_ms=PLASTIC_MS, warmup_ms=0.0, seed=4, poisson_input=False
    )
    return make_plastic(_network(config, 0.0), PLASTIC_PROJECTIONS, TAU_MINUS_MS), config


# The thalamus fires, falls silent while L4E and L6E fire at their maximum rate (huge DC, short
# refractory period), then fires again: its STDP synapses must pair their next spikes with more
# post spikes than the history ring holds, which only the read-ahead keeps.
READ_AHEAD_CHUNKS = ((500.0, 3.0), (0.0, 32.0), (500.0, 3.0))  # (thalamus Hz, ms)


def _read_ahead_network() -> tuple[ColumnNetwork, ColumnConfig]:
    config = ColumnConfig(
        n_scaling=0.002,
        k_scaling=0.01,
        warmup_ms=0.0,
        seed=4,
        poisson_input=False,
        neuron=NeuronParams(t_ref_ms=0.3),
    )
    net = _network(config, thalamus_hz=1.0, thalamus_k=0.15)
    dc = net.dc_pa.copy()
    for name in ("L4E", "L6E"):
        index = net.populations.index(name)
        dc[net.offsets[index] : net.offsets[index + 1]] = 1e5
    projections = (
        PlasticProjection("TC", "L4E", PLASTIC_PROJECTIONS[0].rule),
        PlasticProjection("TC", "L6E", PLASTIC_PROJECTIONS[1].rule),
    )
    return make_plastic(replace(net, dc_pa=dc), projections, TAU_MINUS_MS), config


def compare_plastic(scenario: str, loop: str) -> None:
    """Run in the simulator: both engines on a plastic column (``column``: :func:`_plastic_network`
    with dopamine; ``read_ahead``: :func:`_read_ahead_network` in its chunks); prints spikes, final
    weights and history misses as JSON."""
    warnings.simplefilter("ignore", RuntimeWarning)
    from brainstar.domain.cortex import engine_cuda
    from brainstar.domain.cortex.engine_numba import ColumnSimulator, EngineRun

    if scenario == "column":
        (net, config), chunks = _plastic_network(), ((0.0, PLASTIC_MS),)
    else:
        (net, config), chunks = _read_ahead_network(), READ_AHEAD_CHUNKS
    run = EngineRun.of(config)
    out = {}
    for name, simulator in (
        ("numba", ColumnSimulator(net, run)),
        ("cuda", engine_cuda.CudaColumnSimulator(net, run, loop=loop, chunk_steps=120)),
    ):
        steps, ids = [], []
        for thalamus_hz, ms in chunks:
            simulator.source_rate_hz[:] = thalamus_hz
            chunk = simulator.advance(ms, dopamine_ms=np.array(DOPAMINE_MS) if scenario == "column" else None)
            steps.extend(chunk[0].tolist())
            ids.extend(chunk[1].tolist())
        out[name] = {
            "steps": steps,
            "senders": ids,
            "weights": simulator.plastic_weights.tolist(),
            "misses": simulator.history_misses,
        }
    out["simulated"] = engine_cuda.SIMULATED
    print(json.dumps(out))


def _same_run(result: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CUDA engine's spikes (steps, senders) and final plastic weights, checked equal to the
    numba engine's.

    Weights must be equal, not close: in the simulator both engines run the same compiled rule
    functions on the same spikes in the same per-synapse order, and a weight depends on nothing
    else (tolerance 0).
    """
    numba, cuda = result["numba"], result["cuda"]
    assert len(numba["senders"]) > 60
    assert cuda["steps"] == numba["steps"]
    assert cuda["senders"] == numba["senders"]
    assert cuda["misses"] == numba["misses"] == 0
    np.testing.assert_array_equal(cuda["weights"], numba["weights"])
    return np.array(cuda["steps"]), np.array(cuda["senders"]), np.array(cuda["weights"])


@pytest.mark.parametrize("loop", ["device", "host"])
def test_plastic_column_matches_the_numba_engine_and_the_replay(loop: str) -> None:
    """All three rules on the device: the same spikes and the same learned weights as the numba
    engine (:func:`_same_run`), and every sampled synapse where the replay of its own spikes puts
    it (1e-9 relative, as for the numba engine: the replay integrates the dopamine synapse over
    other intervals, its own events, which rounds differently)."""
    steps, ids, weights = _same_run(_in_simulator(f"compare_plastic('column', {loop!r})"))
    network, _ = _plastic_network()
    plastic = network.plastic
    times = (steps + 1) * network.dt_ms
    pre_of = np.repeat(np.arange(network.n_neurons), np.diff(plastic.indptr))
    counts = np.bincount(ids, minlength=network.n_neurons)
    for index, projection in enumerate(PLASTIC_PROJECTIONS):
        members = np.flatnonzero(plastic.projection == index)
        moved = ~np.isclose(weights[members], plastic.weights0[members], rtol=1e-12, atol=0.0)
        assert moved.sum() >= 5, f"{projection.name}: too few synapses learned to test anything"
        # The synapses with the most pre-post pairs, where the rules have the most to get right.
        for k in members[np.argsort(counts[pre_of[members]] * counts[plastic.targets[members]])[-8:]]:
            ours = replay(
                times[ids == pre_of[k]], times[ids == plastic.targets[k]], plastic.delays[k] * network.dt_ms,
                plastic.weights0[k], replace(projection.rule, w_max=plastic.table[index, rules.W_MAX]),
                TAU_MINUS_MS, np.array(DOPAMINE_MS), min_delay_ms=network.dt_ms, t_stop_ms=PLASTIC_MS,
            )  # fmt: skip
            assert weights[k] == pytest.approx(ours.final_weight, rel=1e-9, abs=1e-9), projection.name


@pytest.mark.slow
def test_history_read_ahead_matches_the_numba_engine() -> None:
    """STDP synapses whose post neurons fire more often than the history ring holds between two
    pre spikes: the same weights as the numba engine, no history read missed."""
    steps, ids, weights = _same_run(_in_simulator("compare_plastic('read_ahead', 'host')"))
    network, _ = _read_ahead_network()
    plastic = network.plastic
    assert (~np.isclose(weights, plastic.weights0, rtol=1e-12, atol=0.0)).sum() > 100
    pre_of = np.repeat(np.arange(network.n_neurons), np.diff(plastic.indptr))
    between = 0  # most post spikes between two pre spikes of one synapse
    for k in range(plastic.n_synapses):
        pre, post = steps[ids == pre_of[k]], steps[ids == plastic.targets[k]]
        if pre.size > 1:
            between = max(between, int(np.diff(np.searchsorted(post, pre)).max()))
    assert between > rules.HISTORY


def test_missing_device_and_unknown_loop_are_clear_errors() -> None:
    from numba import cuda

    from brainstar.domain.cortex.engine_cuda import CudaColumnSimulator
    from brainstar.domain.cortex.engine_numba import EngineRun

    config = ColumnConfig(n_scaling=0.002, k_scaling=0.1)
    net, run = build_network(config), EngineRun.of(config)
    with (
        mock.patch.object(cuda, "is_available", return_value=False),
        pytest.raises(ConfigError, match=r"numba sees none .*make install GPU=1.*NUMBA_ENABLE_CUDASIM=1"),
    ):
        CudaColumnSimulator(net, run)
    with pytest.raises(ConfigError, match=r"loop.*'gpu'"):
        CudaColumnSimulator(net, run, loop="gpu")
