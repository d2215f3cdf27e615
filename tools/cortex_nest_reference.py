"""Reference activity for a (scaled) PD14 configuration, simulated by NEST with the INM-6 model.

Runs the maintained reference implementation (PyPI ``microcircuit`` 1.0 on ``nest-simulator``
3.10) for the given scaling, analyses spikes with our own metrics and writes a small JSON:
per-population rate / CV ISI per seed, the mean and SD over seeds, and NEST's wall times.

    .venv/bin/python tools/cortex_nest_reference.py --n-scaling 0.1 --k-scaling 0.1 --t-sim 10000 \
        --seeds 1,2,3 --threads 2 \
        --out brainstar/domain/cortex/reference_data/nest_reference_n0.1_k0.1_t10000.json
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run_nest(
    n_scaling: float,
    k_scaling: float,
    t_sim_ms: float,
    warmup_ms: float,
    seed: int,
    threads: int,
    poisson: bool,
) -> dict[str, object]:
    """One NEST run; returns rates, CVs, spike counts and timings."""
    import nest
    from microcircuit.network import Network
    from microcircuit.network_params import default_net_dict
    from microcircuit.sim_params import default_sim_dict
    from microcircuit.stimulus_params import default_stim_dict

    from brainstar.domain.cortex import metrics
    from brainstar.domain.cortex.engine_numba import SpikeData

    net = copy.deepcopy(default_net_dict)
    net.update(N_scaling=n_scaling, K_scaling=k_scaling, bg_input_type="poisson" if poisson else "dc")
    with tempfile.TemporaryDirectory() as folder:
        sim = copy.deepcopy(default_sim_dict)
        sim.update(
            t_presim=warmup_ms,
            t_sim=t_sim_ms,
            rng_seed=seed,
            local_num_threads=threads,
            data_path=folder + "/",
            print_time=False,
            store_metadata=False,
            rec_dev=["spike_recorder"],
        )
        start = time.perf_counter()
        network = Network(sim, net, copy.deepcopy(default_stim_dict))
        network.create()
        network.connect()
        build = time.perf_counter() - start
        # Record only after the warm-up, as our engine does.
        network.spike_recorders.start = warmup_ms
        start = time.perf_counter()
        nest.Simulate(warmup_ms + t_sim_ms)
        sim_seconds = time.perf_counter() - start
        sizes = network.num_neurons
        first_ids = np.array([pop[0].global_id for pop in network.pops])
        times, senders = [], []
        for path in Path(folder).glob("spike_recorder*.dat"):
            data = np.loadtxt(path, skiprows=3, ndmin=2)
            if data.size:
                senders.append(data[:, 0].astype(np.int64))
                times.append(data[:, 1])
    sender = np.concatenate(senders) if senders else np.zeros(0, np.int64)
    pop_index = np.searchsorted(first_ids, sender, side="right") - 1
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    local_id = offsets[pop_index] + (sender - first_ids[pop_index])
    spikes = SpikeData(
        times_ms=np.concatenate(times) if times else np.zeros(0),
        senders=local_id.astype(np.int32),
        offsets=offsets,
        populations=tuple(net["populations"]),
        t_start_ms=warmup_ms,
        t_stop_ms=warmup_ms + t_sim_ms,
        wall_seconds=sim_seconds,
    )
    return {
        "seed": seed,
        "rate_hz": metrics.population_rates_hz(spikes).tolist(),
        "cv_isi": metrics.mean_cv_isi(spikes).tolist(),
        "correlation_2ms": metrics.mean_pairwise_correlation(spikes).tolist(),
        "build_wall_seconds": build,
        "sim_wall_seconds": sim_seconds,
    }


@click.command()
@click.option("--n-scaling", type=float, default=0.1, show_default=True)
@click.option("--k-scaling", type=float, default=1.0, show_default=True)
@click.option("--t-sim", "t_sim_ms", type=float, default=1000.0, show_default=True)
@click.option("--warmup", "warmup_ms", type=float, default=500.0, show_default=True)
@click.option("--seeds", default="1,2,3", show_default=True, help="Comma-separated RNG seeds.")
@click.option("--threads", type=int, default=2, show_default=True)
@click.option("--dc/--poisson", "dc", default=False, help="Background as DC instead of Poisson.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def main(
    n_scaling: float,
    k_scaling: float,
    t_sim_ms: float,
    warmup_ms: float,
    seeds: str,
    threads: int,
    dc: bool,
    out: Path,
) -> None:
    import nest

    from brainstar.core.atomic import write_json_atomic
    from brainstar.domain.cortex.params import POPULATIONS

    seed_list = [int(s) for s in seeds.split(",")]
    runs = [run_nest(n_scaling, k_scaling, t_sim_ms, warmup_ms, s, threads, not dc) for s in seed_list]
    rates = np.array([r["rate_hz"] for r in runs])
    cvs = np.array([r["cv_isi"] for r in runs])
    payload = {
        "simulator": f"NEST {nest.__version__} + microcircuit 1.0 (INM-6)",
        "command": " ".join(["python", *sys.argv]),
        "config": {
            "n_scaling": n_scaling,
            "k_scaling": k_scaling,
            "t_sim_ms": t_sim_ms,
            "warmup_ms": warmup_ms,
            "threads": threads,
            "poisson_input": not dc,
        },
        "populations": list(POPULATIONS),
        "rate_hz_mean": rates.mean(axis=0).tolist(),
        "rate_hz_sd": rates.std(axis=0, ddof=1).tolist() if len(runs) > 1 else [0.0] * rates.shape[1],
        "cv_isi_mean": np.nanmean(cvs, axis=0).tolist(),
        "runs": runs,
    }
    write_json_atomic(out, payload)
    click.echo(json.dumps({k: payload[k] for k in ("rate_hz_mean", "rate_hz_sd", "cv_isi_mean")}, indent=1))


if __name__ == "__main__":
    main()
