"""One entry point, ``simulate(config)``, producing exactly the JSON the CLI writes."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from brainstar.domain.cortex import metrics
from brainstar.domain.cortex.config import ColumnConfig, ConfigError
from brainstar.domain.cortex.engine_numba import EngineRun, SpikeData, simulate_network
from brainstar.domain.cortex.network import ColumnNetwork, build_network

ENGINES = ("numba", "torch", "cuda")


def run_engine(
    config: ColumnConfig, network: ColumnNetwork, engine: str = "numba", device: str | None = None
) -> SpikeData:
    """Simulate a built network with the chosen engine (warm-up discarded)."""
    if engine not in ENGINES:
        raise ConfigError("engine", f"must be one of {ENGINES}, got {engine!r}")
    from brainstar.domain.cortex import plastic_network
    from brainstar.domain.cortex.neuromodulation import modulate_network  # imports numba kernels

    network = modulate_network(network, config.plasticity)
    if network.plastic is None:
        projections = plastic_network.column_projections(config.plasticity)
        network = plastic_network.make_plastic(
            network, projections, plastic_network.column_tau_minus_ms(config.plasticity)
        )
    elif not config.plasticity.in_column:
        network = plastic_network.frozen(network)  # a trained column, simulated as it is
    run = EngineRun.of(config)
    if engine == "numba":
        spikes = simulate_network(network, run, threads=config.threads)
    elif engine == "cuda":
        from brainstar.domain.cortex.engine_cuda import simulate_network_cuda

        spikes = simulate_network_cuda(network, run)
    else:
        from brainstar.domain.cortex.engine_torch import simulate_network_torch

        spikes = simulate_network_torch(network, run, device=device or "cpu")
    if spikes.plastic_weights is None:
        return spikes
    return replace(spikes, learned=plastic_network.plastic_summary(network, spikes.plastic_weights))


def summarize_run(
    config: ColumnConfig, network: ColumnNetwork, spikes: SpikeData, engine: str, build_seconds: float | None
) -> dict[str, Any]:
    """The CLI / asset JSON: per-population rate, CV ISI, spike count, correlation and wall times."""
    return {
        "engine": engine,
        "config": {
            "n_scaling": config.n_scaling,
            "k_scaling": config.k_scaling,
            "t_sim_ms": config.t_sim_ms,
            "warmup_ms": config.warmup_ms,
            "dt_ms": config.dt_ms,
            "seed": config.seed,
            "poisson_input": config.poisson_input,
            "threads": config.threads,
            "layer1": config.layer1 is not None,
        },
        "n_neurons": network.n_neurons,
        "n_synapses": network.n_synapses,
        "populations": metrics.summarize(column_spikes(spikes, network)),
        "plasticity": spikes.learned or {},
        "build_wall_seconds": build_seconds,
        "sim_wall_seconds": spikes.wall_seconds,
        "real_time_factor": spikes.wall_seconds / ((config.t_sim_ms + config.warmup_ms) * 1e-3),
    }


def column_spikes(spikes: SpikeData, network: ColumnNetwork) -> SpikeData:
    """The spikes of the column's own populations: sources (thalamus, a trained column's
    teacher) are its inputs, not its activity."""
    n_populations = len(network.column_populations)
    offsets = spikes.offsets[: n_populations + 1]
    keep = spikes.senders < offsets[-1]
    return replace(
        spikes,
        times_ms=spikes.times_ms[keep],
        senders=spikes.senders[keep],
        offsets=offsets,
        populations=spikes.populations[:n_populations],
    )


def simulate(
    config: ColumnConfig, engine: str = "numba", device: str | None = None, trained: Path | None = None
) -> dict[str, Any]:
    """Validate (before anything is built), build - or load the ``trained`` column file -,
    simulate and summarise ``config``."""
    config.validate()
    if engine not in ENGINES:
        raise ConfigError("engine", f"must be one of {ENGINES}, got {engine!r}")
    start = time.perf_counter()
    network = build_network(config) if trained is None else load_trained(trained, config)
    build_seconds = time.perf_counter() - start
    spikes = run_engine(config, network, engine, device)
    return summarize_run(config, network, spikes, engine, build_seconds)


def load_trained(path: Path, config: ColumnConfig) -> ColumnNetwork:
    """A column written by ``save_network`` (the pipeline's trained column), checked against
    ``config``: a file that is not one, or one of another scaling, is refused by name."""
    from brainstar.domain.cortex.network import load_network

    try:
        network = load_network(str(path), config)
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError("trained", f"{path} is not a saved column ({error})") from error
    expected = column_size(config)
    if network.n_neurons - network.n_sources != expected:
        raise ConfigError(
            "trained",
            f"{path} holds {network.n_neurons - network.n_sources} column neurons; "
            f"this configuration has {expected} (use the scaling it was trained at)",
        )
    return network


def column_size(config: ColumnConfig) -> int:
    """Neurons of the column ``config`` builds (sources not included)."""
    from brainstar.domain.cortex.params import derive

    return int(derive(config).num_neurons.sum())
