"""The experiments behind the gates, and the assembly of gates and report from stored results."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from brainstar.domain.cortex import gates, neuromodulation, plasticity, report
from brainstar.domain.cortex.config import ColumnConfig

STDP_DELTAS_MS = np.concatenate([np.arange(-100.0, 0.0, 2.0), np.arange(2.0, 101.0, 2.0)])
DISTAL_REWARD = {"t_sec": 1200, "n_exc": 200, "n_inh": 50, "m": 100, "seed": 1}


def plasticity_suite(
    config: ColumnConfig, seed: int = 0, distal_reward_seconds: int = 1200
) -> dict[str, Any]:
    """STDP pairing protocol + fit, Izhikevich distal reward, neuromodulator effects: JSON-ready."""
    rule = plasticity.RULES[config.plasticity.stdp_rule]
    dw = plasticity.pairing_protocol(rule, STDP_DELTAS_MS, seed=seed)
    fit = plasticity.fit_stdp_window(STDP_DELTAS_MS, dw)
    protocol = {**DISTAL_REWARD, "t_sec": distal_reward_seconds}
    distal = plasticity.distal_reward_experiment(**protocol)
    return {
        "stdp": {
            "rule": config.plasticity.stdp_rule,
            "delta_t_ms": STDP_DELTAS_MS.tolist(),
            "dw": dw.tolist(),
            "configured": {"tau_plus_ms": rule.tau_plus_ms, "tau_minus_ms": rule.tau_minus_ms},
            "fitted": {
                "tau_plus_ms": fit.tau_plus_ms,
                "tau_minus_ms": fit.tau_minus_ms,
                "a_plus": fit.a_plus,
                "a_minus": fit.a_minus,
            },
        },
        "distal_reward": {
            "protocol": protocol,
            "rewarded": distal.rewarded.tolist(),
            "others_mean": distal.others_mean.tolist(),
            "others_median": distal.others_median.tolist(),
            "n_rewards": distal.n_rewards,
            "initial_others_mean": distal.initial_others_mean,
            "s_max": distal.s_max,
        },
        "neuromodulators": neuromodulation.measure_all(seed),
    }


def load_reference(config: ColumnConfig) -> dict[str, Any] | None:
    path = gates.find_reference(config.n_scaling, config.k_scaling, config.t_sim_ms)
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
        gates.asynchrony_gate(pops, [values[p]["correlation_2ms"] for p in pops]),
        gates.stdp_gate(plast["stdp"]["fitted"], plast["stdp"]["configured"]),
        gates.distal_reward_gate(
            np.asarray(distal["rewarded"]),
            distal["others_mean"][-1],
            distal["initial_others_mean"],
            distal["s_max"],
        ),
        gates.neuromodulator_gate(plast["neuromodulators"]),
        gates.training_gate(training["trained_accuracy"], training["control_accuracy"]),
    ]


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
    bipoo_dt = np.linspace(-100, 100, 401)
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
            report.stdp_window_plot(
                np.asarray(stdp["delta_t_ms"]),
                np.asarray(stdp["dw"]),
                (bipoo_dt, plasticity.stdp_window(bipoo_dt, plasticity.BI_POO)),
                "Bi & Poo fit (tau+ 16.8 ms, tau- 33.7 ms)",
            ),
            f"STDP window ({stdp['rule']}), fitted tau+ {stdp['fitted']['tau_plus_ms']:.2f} ms, "
            f"tau- {stdp['fitted']['tau_minus_ms']:.2f} ms",
        ),
        report._figure_html(
            report.learning_curves(
                training["reward_rate_per_epoch"], training["trained_accuracy"], training["control_accuracy"]
            ),
            "Digits: reward rate during DA-STDP training, and held-out readout accuracy vs plasticity off",
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
        "training_margin_mean": training["margin_mean"],
    }
    return report.render(
        "Cortical column validation report", [asdict(g) for g in gate_list], figures, summary
    )
