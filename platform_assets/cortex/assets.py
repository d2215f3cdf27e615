"""Cortex assets: configure -> build -> train -> simulate -> validate -> promote (thin wiring).

The modules that compile numba kernels (network, simulation, metrics, validation) are imported
inside the asset bodies, so loading the code location compiles nothing.
"""

import hashlib
from dataclasses import asdict
from pathlib import Path

import dagster as dg
import numpy as np

from brainstar.core import pools
from brainstar.domain.cortex import params
from platform_assets.cortex import layout
from platform_assets.cortex.run_config import ColumnSettings, config_payload, read_config
from platform_assets.metadata import key_figure, markdown_table
from platform_assets.operations.placement import runs_in
from platform_assets.operations.resource_usage import record_resource_usage
from resources import TorchDevice, Warehouse

GROUP = "cortex"


@dg.asset(
    key=["cortex", "biological_config"],
    group_name=GROUP,
    kinds={"python"},
    description="Validated PD14 column configuration with its derived, scaled parameter tables.",
)
@record_resource_usage
def biological_config(config: ColumnSettings, warehouse: Warehouse) -> dg.MaterializeResult:
    column = config.column()
    derived = params.derive(column)
    payload = {
        **config_payload(config, column),
        "derived": {
            "populations": list(derived.populations),
            "num_neurons": derived.num_neurons.tolist(),
            "num_synapses": derived.num_synapses.tolist(),
            "weight_mean_pa": derived.weight_mean_pa.tolist(),
            "dc_amp_pa": derived.dc_amp_pa.tolist(),
        },
    }
    path = warehouse.write_json(layout.CONFIG.path(warehouse), payload)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "n_neurons": int(derived.num_neurons.sum()),
            "n_synapses": int(derived.num_synapses.sum()),
            "psc_exc_pa": float(derived.weight_mean_pa[1, 0]),
            "n_scaling": column.n_scaling,
            "k_scaling": column.k_scaling,
        }
    )


@dg.asset(
    key=["cortex", "column_network"],
    deps=[biological_config],
    group_name=GROUP,
    kinds={"numpy"},
    **runs_in(pools.PROCESSING),
    description="PD14 connectivity (fixed total synapse number per projection) as CSR arrays.",
)
@record_resource_usage
def column_network(warehouse: Warehouse) -> dg.MaterializeResult:
    from brainstar.domain.cortex import network

    built = network.build_network(read_config(warehouse).column)
    target = layout.NETWORK.path(warehouse)
    with warehouse.atomic_path(target) as tmp:
        network.save_network(str(tmp), built)
    excitatory = built.weights > 0
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "n_neurons": built.n_neurons,
            "n_synapses": built.n_synapses,
            "mean_exc_weight_pa": float(built.weights[excitatory].mean()),
            "mean_inh_weight_pa": float(built.weights[~excitatory].mean()),
            "mean_delay_ms": float(built.delays.mean() * built.dt_ms),
        }
    )


@dg.asset(
    key=["cortex", "trained_column"],
    deps=[biological_config, column_network],
    group_name=GROUP,
    kinds={"numba"},
    **runs_in(pools.PROCESSING),
    description=(
        "The column after learning digits in its own thalamocortical synapses (nearest-neighbour "
        "STDP under a class teacher), scored by a fixed readout against plasticity off; plus the "
        "STDP-window and distal-reward experiments."
    ),
)
@record_resource_usage
def trained_column(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    from brainstar.domain.cortex import column_learning, network, report, validation

    stored = read_config(warehouse)
    untrained = network.load_network(str(layout.NETWORK.path(warehouse)), stored.column)
    task = column_learning.task_for(
        stored.column,
        column_learning.sized(
            column_learning.DigitTask(), stored.digit_train_images, stored.digit_test_images
        ),
    )
    summary, kept = column_learning.evaluate(stored.training_seeds, task, untrained, context.log.info)
    target = layout.TRAINED.path(warehouse)
    with warehouse.atomic_path(target) as tmp:
        network.save_network(str(tmp), kept.column.network, plastic_weights=kept.weights_after)
    warehouse.write_json(layout.TRAINING.path(warehouse), summary)
    plast = validation.plasticity_suite(stored.column, distal_reward_seconds=stored.distal_reward_seconds)
    warehouse.write_json(layout.PLASTICITY.path(warehouse), plast)
    margins = np.asarray(summary["margin"])
    curves = report.metadata_png(report.digit_learning_curves(summary))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "key_figure": key_figure(curves),
            "digits": markdown_table(
                ["seed", "trained", "plasticity off", "pixels (logistic)"],
                [
                    [seed, f"{a:.3f}", f"{c:.3f}", f"{p:.3f}"]
                    for seed, a, c, p in zip(
                        summary["seeds"],
                        summary["trained_accuracy"],
                        summary["control_accuracy"],
                        summary["pixel_accuracy"],
                        strict=True,
                    )
                ],
            ),
            "trained_accuracy_min": round(float(np.min(summary["trained_accuracy"])), 3),
            "accuracy_margin_min": round(float(margins.min()), 3),
            "training_images": task.n_train,
            "plastic_synapses": summary["scale"]["plastic_synapses"],
            "stdp_tau_plus_fitted_ms": round(plast["stdp"]["fitted"]["tau_plus_ms"], 2),
            "stdp_tau_minus_fitted_ms": round(plast["stdp"]["fitted"]["tau_minus_ms"], 2),
            "distal_reward_time_mean_weight": round(float(plast["distal_reward"]["rewarded_time_mean"]), 3),
        }
    )


@dg.asset(
    key=["cortex", "column_activity"],
    deps=[biological_config, trained_column],
    group_name=GROUP,
    kinds={"numba"},
    # The GPU pool and node because, on a CUDA TorchDevice, the torch engine reruns the simulation.
    **runs_in(pools.GPU),
    description="Spontaneous activity of the trained column (numba engine): rates, CV ISI, correlations.",
)
@record_resource_usage
def column_activity(warehouse: Warehouse, torch_device: TorchDevice) -> dg.MaterializeResult:
    from brainstar.domain.cortex import metrics, simulation

    config = read_config(warehouse).column
    # The trained column with its learned weights frozen; its thalamus and teacher stay silent.
    built = simulation.load_trained(layout.TRAINED.path(warehouse), config)
    spikes = simulation.column_spikes(simulation.run_engine(config, built, "numba"), built)
    summary = simulation.summarize_run(config, built, spikes, "numba", None)
    warehouse.write_json(layout.ACTIVITY.path(warehouse), summary)
    with warehouse.atomic_path(layout.SPIKES.path(warehouse)) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            times_ms=spikes.times_ms,
            senders=spikes.senders,
            offsets=spikes.offsets,
            cv_per_neuron=metrics.cv_isi_per_neuron(spikes),
        )
    pops = summary["populations"]
    crosscheck: dict[str, dg.MetadataValue] = {}
    if torch_device.device.type == "cuda":
        # On a GPU, rerun with the torch engine and record its rates next to numba's.
        gpu = simulation.summarize_run(
            config,
            built,
            simulation.run_engine(config, built, "torch", str(torch_device.device)),
            "torch",
            None,
        )
        warehouse.write_json(layout.ACTIVITY_TORCH.path(warehouse), gpu)
        crosscheck = {
            "torch_max_rate_difference_hz": max(
                abs(gpu["populations"][p]["rate_hz"] - v["rate_hz"]) for p, v in pops.items()
            ),
            "torch_sim_wall_seconds": gpu["sim_wall_seconds"],
            **torch_device.metadata(),
        }
    return dg.MaterializeResult(
        metadata={
            **crosscheck,
            **{f"rate_{p}_hz": v["rate_hz"] for p, v in pops.items()},
            "sim_wall_seconds": summary["sim_wall_seconds"],
            "real_time_factor": summary["real_time_factor"],
            "n_spikes": int(spikes.senders.size),
        }
    )


@dg.asset(
    key=["cortex", "validation_report"],
    deps=[biological_config, trained_column, column_activity],
    group_name=GROUP,
    kinds={"html", "matplotlib"},
    **runs_in(pools.PROCESSING),
    description="Gates against NEST and published biology, and the HTML report with plots.",
)
@record_resource_usage
def validation_report(warehouse: Warehouse) -> dg.MaterializeResult:
    from brainstar.domain.cortex import report, validation

    activity = layout.ACTIVITY.read_json(warehouse)
    plast = layout.PLASTICITY.read_json(warehouse)
    trained = layout.TRAINING.read_json(warehouse)
    reference = validation.load_reference(read_config(warehouse).column)
    gate_list = validation.evaluate_gates(activity, plast, trained, reference)
    warehouse.write_json(layout.GATES.path(warehouse), [asdict(g) for g in gate_list])
    page = validation.build_report_html(
        activity,
        layout.SPIKES.path(warehouse),
        plast,
        trained,
        reference,
        gate_list,
    )
    target = layout.REPORT.path(warehouse)
    with warehouse.atomic_path(target) as tmp:
        tmp.write_text(page)
    pops = list(activity["populations"])
    rates = report.metadata_png(
        report.rates_vs_reference(pops, [activity["populations"][p]["rate_hz"] for p in pops], reference)
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "key_figure": key_figure(rates),
            "gates_passed": sum(g.passed for g in gate_list),
            "gates_total": len(gate_list),
            "failed_gates": dg.MetadataValue.json([g.name for g in gate_list if not g.passed]),
            "reference": dg.MetadataValue.text(reference["simulator"] if reference else "none"),
            "gates": markdown_table(
                ["gate", "result", "detail", "tolerance"],
                [[g.name, "passed" if g.passed else "FAILED", g.detail, g.tolerance] for g in gate_list],
            ),
        }
    )


@dg.asset(
    key=["cortex", "promoted_column"],
    # It hashes the config and the trained column it names, not only the report.
    deps=[biological_config, trained_column, validation_report],
    group_name=GROUP,
    kinds={"python"},
    description="Manifest of the trained column that passed every gate (never written if one failed).",
)
@record_resource_usage
def promoted_column(warehouse: Warehouse) -> dg.MaterializeResult:
    gate_list = layout.GATES.read_json(warehouse)
    failed = [g["name"] for g in gate_list if not g["passed"]]
    if failed:
        # Blocking checks already stop this asset; this guards direct materialization.
        raise dg.Failure(f"column not promoted, failed gates: {', '.join(failed)}")
    files = {
        "config": layout.CONFIG,
        "column": layout.TRAINED,
        "report": layout.REPORT,
    }
    manifest = {name: _fingerprint(file.path(warehouse)) for name, file in files.items()}
    path = warehouse.write_json(layout.PROMOTED.path(warehouse), manifest)
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "gates_passed": len(gate_list)}
    )


def _fingerprint(path: Path) -> dict[str, str]:
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


ASSETS = [
    biological_config,
    column_network,
    trained_column,
    column_activity,
    validation_report,
    promoted_column,
]
