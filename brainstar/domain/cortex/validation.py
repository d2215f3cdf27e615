"""The experiments behind the gates, and the assembly of gates and report from stored results."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from brainstar.domain.cortex import gates, neuromodulation, plasticity, report
from brainstar.domain.cortex.config import ColumnConfig

STDP_LAGS_MS = np.concatenate([np.arange(-100.0, 0.0, 2.0), np.arange(2.0, 101.0, 2.0)])
# Izhikevich 2007 (daspnet.m): 800 + 200 neurons, 100 synapses each, one hour.
DISTAL_REWARD = {"t_sec": 3600, "n_exc": 800, "n_inh": 200, "m": 100, "seed": 1}
NEST_SYNAPSES = gates.DATA_DIR / "nest_synapse_trajectories.json"


def stdp_window(rule_name: str) -> dict[str, Any]:
    """The pairing-protocol window of a rule through the engine's synapse, beside NEST's."""
    rule = plasticity.STDP_RULES[rule_name]
    dw = plasticity.pairing_window(rule, STDP_LAGS_MS)
    fit = plasticity.fit_stdp_window(STDP_LAGS_MS, dw)
    reference = json.loads(NEST_SYNAPSES.read_text())
    pairing = reference["pairing"].get(rule_name)
    nest = None
    if pairing is not None:
        w0 = pairing["w0"]
        nest = {
            "simulator": reference["simulator"],
            "lags_ms": pairing["lags_ms"],
            "dw": [(w - w0) / w0 for w in pairing["final_weights"]],
            "ours_dw": plasticity.pairing_window(rule, np.asarray(pairing["lags_ms"])).tolist(),
        }
    return {
        "rule": rule_name,
        "lags_ms": STDP_LAGS_MS.tolist(),
        "dw": dw.tolist(),
        "fitted": {
            "tau_plus_ms": fit.tau_plus_ms,
            "tau_minus_ms": fit.tau_minus_ms,
            "a_plus": fit.a_plus,
            "a_minus": fit.a_minus,
        },
        "bi_poo": plasticity.BI_POO_TAU_MS,
        "nest": nest,
    }


def plasticity_suite(
    config: ColumnConfig, seed: int = 0, distal_reward_seconds: int = DISTAL_REWARD["t_sec"]
) -> dict[str, Any]:
    """STDP pairing window, Izhikevich distal reward, neuromodulator effects: JSON-ready."""
    protocol = {**DISTAL_REWARD, "t_sec": distal_reward_seconds}
    distal = plasticity.distal_reward_experiment(**protocol)
    return {
        "stdp": stdp_window(config.plasticity.stdp_rule),
        "distal_reward": {
            "protocol": protocol,
            "rewarded": distal.rewarded.tolist(),
            "rewarded_time_mean": distal.rewarded_time_mean,
            "others_time_mean": distal.others_time_mean.round(4).tolist(),
            "others_mean": distal.others_mean.tolist(),
            "others_median": distal.others_median.tolist(),
            "n_rewards": distal.n_rewards,
            "initial_others_mean": distal.initial_others_mean,
            "s_max": distal.s_max,
        },
        "neuromodulators": neuromodulation.measure_all(seed),
    }


def load_reference(config: ColumnConfig) -> dict[str, Any] | None:
    path = gates.find_reference(config.n_scaling, config.k_scaling, config.t_sim_ms, config.poisson_input)
    return None if path is None else json.loads(path.read_text())


def evaluate_gates(
    activity: dict[str, Any],
    plast: dict[str, Any],
    training: dict[str, Any],
    reference: dict[str, Any] | None,
) -> list[gates.Gate]:
    pops = list(activity["populations"])
    values = activity["populations"]
    distal = plast["distal_reward"]
    return [
        gates.rate_gate(pops, [values[p]["rate_hz"] for p in pops], reference),
        gates.irregularity_gate(pops, [values[p]["cv_isi"] for p in pops], reference),
        gates.asynchrony_gate(pops, [values[p]["correlation_2ms"] for p in pops], reference),
        gates.stdp_gate(plast["stdp"]),
        gates.distal_reward_gate(distal),
        gates.neuromodulator_gate(plast["neuromodulators"]),
        gates.digit_task_gate(training),
    ]


def _pairwise(
    activity: dict[str, Any], times: np.ndarray, senders: np.ndarray, offsets: np.ndarray
) -> list[np.ndarray]:
    from brainstar.domain.cortex.engine_numba import SpikeData
    from brainstar.domain.cortex.metrics import pairwise_correlations

    start = activity["config"]["warmup_ms"]
    spikes = SpikeData(
        times_ms=times,
        senders=senders,
        offsets=offsets,
        populations=tuple(activity["populations"]),
        t_start_ms=start,
        t_stop_ms=start + activity["config"]["t_sim_ms"],
        wall_seconds=0.0,
    )
    return pairwise_correlations(spikes)


def build_report_html(
    activity: dict[str, Any],
    spikes_path: Path,
    plast: dict[str, Any],
    training: dict[str, Any],
    reference: dict[str, Any] | None,
    gate_list: list[gates.Gate],
) -> str:
    pops = list(activity["populations"])
    with np.load(spikes_path) as data:
        times, senders, offsets, cv = (
            data["times_ms"],
            data["senders"],
            data["offsets"],
            data["cv_per_neuron"],
        )
    stdp = plast["stdp"]
    figures = [
        report._figure_html(
            report.raster(times, senders, offsets, pops), "Raster, first 200 ms after warm-up"
        ),
        report._figure_html(
            report.rates_vs_reference(pops, [activity["populations"][p]["rate_hz"] for p in pops], reference),
            "Population rates: this engine vs NEST on the same configuration and the full-scale NEST table",
        ),
        report._figure_html(report.cv_histograms(pops, cv, offsets), "Per-neuron CV of ISI"),
        report._figure_html(
            report.correlation_histograms(pops, _pairwise(activity, times, senders, offsets), reference),
            "Pairwise spike-count correlations (2 ms bins) of the subsample the asynchrony gate averages",
        ),
        report._figure_html(
            report.stdp_window_plot(stdp),
            f"STDP window ({stdp['rule']}), fitted tau+ {stdp['fitted']['tau_plus_ms']:.2f} ms, "
            f"tau- {stdp['fitted']['tau_minus_ms']:.2f} ms",
        ),
        report._figure_html(
            report.digit_learning_curves(training),
            "Digits learned in the column: validation accuracy of the fixed readout while it learns, "
            "and held-out accuracy per seed beside plasticity off and a logistic regression on the pixels",
        ),
        report._figure_html(
            report.weight_distributions(training),
            "Thalamocortical weights of the kept column before and after learning",
        ),
        report._figure_html(
            report.distal_reward_plot(
                np.asarray(plast["distal_reward"]["rewarded"]),
                np.asarray(plast["distal_reward"]["others_mean"]),
                plast["distal_reward"]["s_max"],
            ),
            "Izhikevich (2007) distal reward: the rewarded synapse vs the rest",
        ),
    ]
    summary = {
        "activity": {
            k: activity[k]
            for k in ("config", "n_neurons", "n_synapses", "sim_wall_seconds", "real_time_factor")
        },
        "neuromodulators": plast["neuromodulators"],
        "digits": {
            k: training[k] for k in ("trained_accuracy", "control_accuracy", "pixel_accuracy", "scale")
        },
    }
    return report.render(
        "Cortical column validation report", [asdict(g) for g in gate_list], figures, summary
    )
