"""Cortex assets: configure -> build -> train -> simulate -> validate -> promote (thin wiring)."""

import hashlib
import json

import dagster as dg
import numpy as np

from brainstar.core import pools
from brainstar.domain.cortex import metrics, network, params, simulation, training, validation
from platform_assets.metadata import markdown_table
from platform_assets.operations.k8s import gpu_op_tags
from resources import TorchDevice, Warehouse

GROUP = "cortex"
OWNERS = ["team:cortex"]
CONFIG_FILE = "config.json"
NETWORK_FILE = "network.npz"
TRAINING_FILE = "training.json"
WEIGHTS_FILE = "weights.npz"
PLASTICITY_FILE = "plasticity.json"
ACTIVITY_FILE = "activity.json"
SPIKES_FILE = "spikes.npz"
GATES_FILE = "gates.json"
REPORT_FILE = "report.html"
PROMOTED_FILE = "promoted.json"


class ColumnSettings(dg.Config):
    """Run configuration of the column. Defaults: N_scaling = K_scaling = 0.1, 10 s after 0.5 s."""

    n_scaling: float = 0.1
    k_scaling: float = 0.1
    t_sim_ms: float = 10_000.0
    warmup_ms: float = 500.0
    seed: int = 55
    threads: int = 2
    poisson_input: bool = True
    stdp_rule: str = "bipoo"
    stdp: bool = True
    dopamine: bool = True
    acetylcholine: float = 0.0  # tonic levels in [0, 1]: see brainstar/domain/cortex/neuromodulation.py
    norepinephrine: float = 0.0
    serotonin: float = 0.0
    training_seeds: list[int] = [0, 1, 2]
    distal_reward_seconds: int = 1200


def _config(warehouse: Warehouse) -> params.ColumnConfig:
    path = warehouse.file(["cortex", "biological_config"], CONFIG_FILE)
    return params.config_from_dict(json.loads(path.read_text())["column"])


@dg.asset(
    key=["cortex", "biological_config"],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python"},
    description="Validated PD14 column configuration with its derived, scaled parameter tables.",
    code_version="1",
)
def biological_config(config: ColumnSettings, warehouse: Warehouse) -> dg.MaterializeResult:
    column = params.ColumnConfig(
        n_scaling=config.n_scaling,
        k_scaling=config.k_scaling,
        t_sim_ms=config.t_sim_ms,
        warmup_ms=config.warmup_ms,
        seed=config.seed,
        threads=config.threads,
        poisson_input=config.poisson_input,
        plasticity=params.PlasticityConfig(
            stdp=config.stdp,
            stdp_rule=config.stdp_rule,
            dopamine=config.dopamine,
            acetylcholine=config.acetylcholine,
            norepinephrine=config.norepinephrine,
            serotonin=config.serotonin,
        ),
    ).validate()
    derived = params.derive(column)
    payload = {
        "column": params.config_to_dict(column),
        "training_seeds": config.training_seeds,
        "distal_reward_seconds": config.distal_reward_seconds,
        "derived": {
            "populations": list(derived.populations),
            "num_neurons": derived.num_neurons.tolist(),
            "num_synapses": derived.num_synapses.tolist(),
            "weight_mean_pa": derived.weight_mean_pa.tolist(),
            "dc_amp_pa": derived.dc_amp_pa.tolist(),
        },
    }
    path = warehouse.write_json(warehouse.file(["cortex", "biological_config"], CONFIG_FILE), payload)
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
    owners=OWNERS,
    kinds={"numpy"},
    pool=pools.PROCESSING,
    description="PD14 connectivity (fixed total synapse number per projection) as CSR arrays.",
    code_version="1",
)
def column_network(warehouse: Warehouse) -> dg.MaterializeResult:
    config = _config(warehouse)
    built = network.build_network(config)
    target = warehouse.file(["cortex", "column_network"], NETWORK_FILE)
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
    deps=[column_network],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "scikitlearn"},
    pool=pools.GPU,
    op_tags=gpu_op_tags(),
    description="L4->L2/3 synapses trained on digits with DA-STDP, plus the plasticity experiments.",
    code_version="1",
)
def trained_column(warehouse: Warehouse) -> dg.MaterializeResult:
    config = _config(warehouse)
    stored = json.loads(warehouse.file(["cortex", "biological_config"], CONFIG_FILE).read_text())
    seeds = tuple(stored["training_seeds"])
    result = training.evaluate_seeds(seeds, training.config_for(config.plasticity))
    weights = result.pop("_weights")
    folder = ["cortex", "trained_column"]
    with warehouse.atomic_path(warehouse.file(folder, WEIGHTS_FILE)) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **{f"seed_{s}": w for s, w in zip(seeds, weights, strict=True)})
    warehouse.write_json(warehouse.file(folder, TRAINING_FILE), result)
    plast = validation.plasticity_suite(config, distal_reward_seconds=stored["distal_reward_seconds"])
    warehouse.write_json(warehouse.file(folder, PLASTICITY_FILE), plast)
    return dg.MaterializeResult(
        metadata={
            "trained_accuracy_mean": float(np.mean(result["trained_accuracy"])),
            "control_accuracy_mean": float(np.mean(result["control_accuracy"])),
            "accuracy_margin_mean": result["margin_mean"],
            "stdp_tau_plus_fitted_ms": plast["stdp"]["fitted"]["tau_plus_ms"],
            "stdp_tau_minus_fitted_ms": plast["stdp"]["fitted"]["tau_minus_ms"],
            "distal_reward_max_weight": float(max(plast["distal_reward"]["rewarded"])),
        }
    )


@dg.asset(
    key=["cortex", "column_activity"],
    deps=[trained_column],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"numba"},
    pool=pools.GPU,
    op_tags=gpu_op_tags(),
    description="Spontaneous activity of the column (numba engine): rates, CV ISI, correlations.",
    code_version="1",
)
def column_activity(warehouse: Warehouse, torch_device: TorchDevice) -> dg.MaterializeResult:
    config = _config(warehouse)
    built = network.load_network(str(warehouse.file(["cortex", "column_network"], NETWORK_FILE)), config)
    spikes = simulation.run_engine(config, built, "numba")
    summary = simulation.summarize_run(config, built, spikes, "numba", None)
    folder = ["cortex", "column_activity"]
    warehouse.write_json(warehouse.file(folder, ACTIVITY_FILE), summary)
    with warehouse.atomic_path(warehouse.file(folder, SPIKES_FILE)) as tmp, open(tmp, "wb") as handle:
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
        warehouse.write_json(warehouse.file(folder, "activity_torch.json"), gpu)
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
    deps=[column_activity],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"html", "matplotlib"},
    pool=pools.PROCESSING,
    description="Gates against NEST and published biology, and the HTML report with plots.",
    code_version="1",
)
def validation_report(warehouse: Warehouse) -> dg.MaterializeResult:
    config = _config(warehouse)
    activity = json.loads(warehouse.file(["cortex", "column_activity"], ACTIVITY_FILE).read_text())
    plast = json.loads(warehouse.file(["cortex", "trained_column"], PLASTICITY_FILE).read_text())
    trained = json.loads(warehouse.file(["cortex", "trained_column"], TRAINING_FILE).read_text())
    reference = validation.load_reference(config)
    gate_list = validation.evaluate_gates(activity, plast, trained, reference)
    folder = ["cortex", "validation_report"]
    warehouse.write_json(warehouse.file(folder, GATES_FILE), [g.as_dict() for g in gate_list])
    page = validation.build_report_html(
        activity,
        warehouse.file(["cortex", "column_activity"], SPIKES_FILE),
        plast,
        trained,
        reference,
        gate_list,
    )
    target = warehouse.file(folder, REPORT_FILE)
    with warehouse.atomic_path(target) as tmp:
        tmp.write_text(page)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
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
    deps=[validation_report],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python"},
    description="Manifest of the column that passed every gate (never written if one failed).",
    code_version="1",
)
def promoted_column(warehouse: Warehouse) -> dg.MaterializeResult:
    gate_list = json.loads(warehouse.file(["cortex", "validation_report"], GATES_FILE).read_text())
    failed = [g["name"] for g in gate_list if not g["passed"]]
    if failed:
        # Blocking checks already stop this asset; this guards direct materialization.
        raise dg.Failure(f"column not promoted, failed gates: {', '.join(failed)}")
    files = {
        "config": warehouse.file(["cortex", "biological_config"], CONFIG_FILE),
        "network": warehouse.file(["cortex", "column_network"], NETWORK_FILE),
        "weights": warehouse.file(["cortex", "trained_column"], WEIGHTS_FILE),
        "report": warehouse.file(["cortex", "validation_report"], REPORT_FILE),
    }
    manifest = {
        name: {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        for name, path in files.items()
    }
    path = warehouse.write_json(warehouse.file(["cortex", "promoted_column"], PROMOTED_FILE), manifest)
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "gates_passed": len(gate_list)}
    )


ASSETS = [
    biological_config,
    column_network,
    trained_column,
    column_activity,
    validation_report,
    promoted_column,
]
