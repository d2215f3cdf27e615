"""Reference weight trajectories of NEST's plastic synapses for given spike trains.

For each scenario NEST 3.10 (the ``bench`` extra) runs spike generators into parrot neurons, with
the plastic synapse from the pre parrot onto port 1 of the post parrot (so that it never makes the
post parrot fire) and, for ``stdp_dopamine_synapse``, a third parrot into a volume transmitter. A
``weight_recorder`` reads the weight each time the pre parrot's spike is sent; a
``spike_recorder`` reads the parrots' actual spike times. The JSON keeps both, so that a test can
drive our synapse code with exactly NEST's spike times and compare the weights.

    .venv/bin/python tools/cortex_nest_synapses.py \
        --out brainstar/domain/cortex/reference_data/nest_synapse_trajectories.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

RESOLUTION_MS = 0.1
GENERATOR_DELAY_MS = 1.0  # generator -> parrot, and dopamine parrot -> volume transmitter


def spike_trains(
    seed: int, t_ms: float, rate_hz: float, lead_ms: float, causal: float = 0.7
) -> tuple[np.ndarray, np.ndarray]:
    """Pre and post trains: independent Poisson spikes plus post spikes that follow (fraction
    ``causal``) or precede a third of the pre spikes by up to ``lead_ms``, so that pairs at short
    lags on both sides occur often and the weight moves both ways."""
    rng = np.random.default_rng(seed)

    def poisson(rate: float) -> np.ndarray:
        n = rng.poisson(rate * t_ms * 1e-3)
        return rng.uniform(10.0, t_ms - 10.0, n)

    pre = poisson(rate_hz)
    paired = rng.choice(pre, size=pre.size // 3, replace=False)
    lags = np.where(rng.random(paired.size) < causal, 1.0, -1.0) * rng.uniform(1.0, lead_ms, paired.size)
    post = np.concatenate([poisson(rate_hz), paired + lags])
    grid = lambda x: np.unique(np.round(np.clip(x, 1.0, t_ms - 1.0) / RESOLUTION_MS) * RESOLUTION_MS)  # noqa: E731
    return grid(pre), grid(post)


def run_scenario(
    model: str,
    params: dict,
    tau_minus_ms: float,
    delay_ms: float,
    w0: float,
    pre: np.ndarray,
    post: np.ndarray,
    dopamine: np.ndarray,
    t_ms: float,
    deliver_interval: int = 1,
) -> dict:
    import nest

    nest.ResetKernel()
    nest.set(resolution=RESOLUTION_MS, local_num_threads=1, print_time=False)
    generators = nest.Create("spike_generator", 3, params=[{"spike_times": x} for x in (pre, post, dopamine)])
    parrots = nest.Create("parrot_neuron", 3, params={"tau_minus": tau_minus_ms})
    nest.Connect(generators, parrots, "one_to_one", syn_spec={"delay": GENERATOR_DELAY_MS})
    recorder = nest.Create("weight_recorder")
    spikes = nest.Create("spike_recorder")
    nest.Connect(parrots, spikes)
    synapse = dict(params, weight_recorder=recorder)
    if model == "stdp_dopamine_synapse":
        transmitter = nest.Create("volume_transmitter", params={"deliver_interval": deliver_interval})
        nest.Connect(parrots[2], transmitter, syn_spec={"delay": GENERATOR_DELAY_MS})
        synapse["volume_transmitter"] = transmitter
    nest.CopyModel(model, "recorded", synapse)
    nest.Connect(
        parrots[0],
        parrots[1],
        syn_spec={"synapse_model": "recorded", "receptor_type": 1, "delay": delay_ms, "weight": w0},
    )
    nest.Simulate(t_ms + 50.0)
    events = spikes.get("events")
    senders, times = np.asarray(events["senders"]), np.asarray(events["times"])
    ids = parrots.tolist()
    weights = recorder.get("events")
    return {
        "model": model,
        "params": params,
        "tau_minus_ms": tau_minus_ms,
        "delay_ms": delay_ms,
        "w0": w0,
        "deliver_interval": deliver_interval,
        "min_delay_ms": float(nest.min_delay),
        "pre_ms": np.sort(times[senders == ids[0]]).round(4).tolist(),
        "post_ms": np.sort(times[senders == ids[1]]).round(4).tolist(),
        # Dopamine reaches the volume transmitter one connection delay after its parrot fires.
        "dopamine_ms": (np.sort(times[senders == ids[2]]) + GENERATOR_DELAY_MS).round(4).tolist(),
        "weight_times_ms": np.asarray(weights["times"]).round(4).tolist(),
        "weights": np.asarray(weights["weights"]).tolist(),
    }


def pairing_protocol(
    model: str, params: dict, tau_minus_ms: float, delay_ms: float, lags: list[float]
) -> dict:
    """Bi & Poo's protocol: 60 pairs at 1 Hz per lag (t_post - t_pre at the soma); final weights."""
    n_pairs, period = 60, 1000.0
    base = 100.0 + np.arange(n_pairs) * period
    finals = []
    for lag in lags:
        pre, post = base, base + lag
        # Each pair is timed at the neurons: pre and post parrots fire at these times.
        run = run_scenario(
            model, params, tau_minus_ms, delay_ms, 50.0,
            pre - GENERATOR_DELAY_MS, post - GENERATOR_DELAY_MS, np.zeros(0), n_pairs * period + 200.0,
        )  # fmt: skip
        finals.append(run["weights"][-1])
    return {
        "model": model,
        "params": params,
        "tau_minus_ms": tau_minus_ms,
        "delay_ms": delay_ms,
        "n_pairs": n_pairs,
        "period_ms": period,
        "w0": 50.0,
        "lags_ms": lags,
        "final_weights": finals,
    }


@click.command()
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def main(out: str) -> None:
    import nest

    t_ms = 10_000.0
    pre, post = spike_trains(seed=7, t_ms=t_ms, rate_hz=15.0, lead_ms=15.0)
    da_pre, da_post = spike_trains(seed=8, t_ms=t_ms, rate_hz=15.0, lead_ms=15.0)
    dopamine = np.unique(
        np.round(np.random.default_rng(9).uniform(50, t_ms - 50, 25) / RESOLUTION_MS) * RESOLUTION_MS
    )
    silent_pre = np.round(
        np.concatenate([np.arange(100.0, 1000.0, 97.0), np.arange(4000.0, 5000.0, 83.0)]), 1
    )
    busy_post = np.round(np.arange(1000.0, 4000.0, 15.0) + 2.0, 1)
    bipoo = {"tau_plus": 16.8, "lambda": 0.01, "alpha": 1.05, "mu_plus": 0.0, "mu_minus": 0.0, "Wmax": 100.0}
    strong = dict(bipoo, **{"lambda": 0.1})
    scenarios = {
        "stdp_additive": run_scenario("stdp_synapse", bipoo, 33.7, 1.5, 50.0, pre, post, np.zeros(0), t_ms),
        "stdp_multiplicative": run_scenario(
            "stdp_synapse", {}, 20.0, 1.5, 50.0, pre, post, np.zeros(0), t_ms
        ),
        "stdp_nearest": run_scenario(
            "stdp_nn_symm_synapse", bipoo, 33.7, 1.5, 50.0, pre, post, np.zeros(0), t_ms
        ),
        "stdp_bounds": run_scenario(
            "stdp_synapse", dict(bipoo, **{"lambda": 0.2}), 33.7, 2.0, 90.0, pre, post, np.zeros(0), t_ms
        ),
        # The pre neuron falls silent for 3 s while the post neuron fires 200 times: every one of
        # those post spikes is still paired with the pre spikes around the silence.
        "stdp_silent_pre": run_scenario(
            "stdp_synapse", strong, 33.7, 1.5, 50.0, silent_pre, busy_post, np.zeros(0), t_ms
        ),
        "stdp_nearest_silent_pre": run_scenario(
            "stdp_nn_symm_synapse", strong, 33.7, 1.5, 50.0, silent_pre, busy_post, np.zeros(0), t_ms
        ),
        "dopamine": run_scenario(
            "stdp_dopamine_synapse", {"Wmax": 1000.0}, 20.0, 1.5, 100.0, da_pre, da_post, dopamine, t_ms
        ),
        "dopamine_interval": run_scenario(
            "stdp_dopamine_synapse",
            {"Wmax": 1000.0},
            20.0,
            1.5,
            100.0,
            da_pre,
            da_post,
            dopamine,
            t_ms,
            deliver_interval=7,
        ),
    }
    lags = [-80.0, -50.0, -30.0, -20.0, -10.0, -5.0, -2.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 80.0]
    payload = {
        "command": "python tools/cortex_nest_synapses.py --out " + out,
        "simulator": f"NEST {nest.__version__}",
        "resolution_ms": RESOLUTION_MS,
        "scenarios": scenarios,
        # lambda 0.002: 60 pairs move the weight by at most 12 of 50, so no bound shapes the window.
        # The two windows of brainstar.domain.cortex.plasticity.STDP_RULES.
        "pairing": {
            "bipoo": pairing_protocol("stdp_synapse", dict(bipoo, **{"lambda": 0.002}), 33.7, 1.5, lags),
            "song2000": pairing_protocol(
                "stdp_synapse", dict(bipoo, **{"lambda": 0.002, "tau_plus": 20.0}), 20.0, 1.5, lags
            ),
        },
    }
    Path(out).write_text(json.dumps(payload, indent=1) + "\n")
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
