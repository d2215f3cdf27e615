"""Reference activity for a (scaled) PD14 configuration, simulated by NEST with the INM-6 model.

Runs the maintained reference implementation (PyPI ``microcircuit`` 1.0 on ``nest-simulator``
3.10) for the given scaling, analyses spikes with our own metrics and writes a small JSON:
per-population rate, CV ISI and 2 ms pairwise correlation per seed, their mean and SD (ddof=1)
over seeds, the background type ("poisson" or "dc") and NEST's wall times. The microcircuit
package defaults to DC background; this tool defaults to Poisson, as ``ColumnConfig`` does.
With a single seed the SDs are undefined and stored as null (the benchmark uses one seed).

    .venv/bin/python tools/cortex_nest_reference.py --n-scaling 0.1 --k-scaling 0.1 --t-sim 10000 \
        --seeds 1,2,3,4,5 --threads 2 \
        --out brainstar/domain/cortex/reference_data/nest_reference_n0.1_k0.1_t10000.json
"""

from __future__ import annotations

import copy
import json
import shlex
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
    payload = {
        "simulator": f"NEST {nest.__version__} + microcircuit 1.0 (INM-6)",
        "command": shlex.join(["python", *sys.argv]),
        "background": "dc" if dc else "poisson",
        "config": {
            "n_scaling": n_scaling,
            "k_scaling": k_scaling,
            "t_sim_ms": t_sim_ms,
            "warmup_ms": warmup_ms,
            "threads": threads,
            "poisson_input": not dc,
        },
        "populations": list(POPULATIONS),
        **_seed_statistics(runs),
        "nest_wall_seconds_total": sum(r["build_wall_seconds"] + r["sim_wall_seconds"] for r in runs),
        "runs": runs,
    }
    write_json_atomic(out, payload)
    summary = [k for k in payload if k.endswith(("_mean", "_sd"))]
    click.echo(json.dumps({k: payload[k] for k in summary}, indent=1))


def _seed_statistics(runs: list[dict[str, object]]) -> dict[str, list[float] | list[None]]:
    """Mean and SD (ddof=1) over seeds of each per-population statistic; SD is null for one seed."""
    out: dict[str, list[float] | list[None]] = {}
    for key in ("rate_hz", "cv_isi", "correlation_2ms"):
        values = np.array([r[key] for r in runs], dtype=float)
        out[f"{key}_mean"] = np.nanmean(values, axis=0).tolist()
        # One seed says nothing about seed-to-seed spread: null, not a misleading zero.
        out[f"{key}_sd"] = (
            np.nanstd(values, axis=0, ddof=1).tolist() if len(runs) > 1 else [None] * values.shape[1]
        )
    return out


if __name__ == "__main__":
    main()
