"""Blocking gates on the validation report: each reads gates.json and reports measured/reference/tolerance."""

import json

import dagster as dg

from platform_assets.cortex.assets import GATES_FILE, validation_report
from resources import Warehouse

# check name -> (gate names in gates.json, one-line description)
GATES = {
    "rates_match_reference": (
        ("rates",),
        "Population rates within tolerance of NEST on the same configuration.",
    ),
    "irregular_and_asynchronous": (
        ("irregularity", "asynchrony"),
        "Asynchronous irregular state: CV ISI in 0.7-1.0 and small pairwise correlations.",
    ),
    "stdp_window": (("stdp_window",), "Fitted STDP time constants within 10% of the configured rule."),
    "dopamine_distal_reward": (
        ("dopamine_distal_reward",),
        "Izhikevich distal reward: rewarded synapse reaches its cap, the rest stay near baseline.",
    ),
    "neuromodulator_directions": (
        ("neuromodulator_directions",),
        "ACh, NE and 5-HT each change their measured quantity in the documented direction.",
    ),
    "training_beats_control": (
        ("training_margin",),
        "DA-STDP-trained column beats the plasticity-off control on held-out digits.",
    ),
}


def _gate_result(warehouse: Warehouse, names: tuple[str, ...]) -> dg.AssetCheckResult:
    gates = {g["name"]: g for g in json.loads(warehouse.file(validation_report.key, GATES_FILE).read_text())}
    chosen = [gates[name] for name in names]
    return dg.AssetCheckResult(
        passed=all(g["passed"] for g in chosen),
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(f"{g['name']}: {g['detail']}" for g in chosen),
        metadata={
            "measured": dg.MetadataValue.json({g["name"]: g["measured"] for g in chosen}),
            "reference": dg.MetadataValue.json({g["name"]: g["reference"] for g in chosen}),
            "tolerance": dg.MetadataValue.text("; ".join(g["tolerance"] for g in chosen)),
        },
    )


def _gate_check(name: str, gate_names: tuple[str, ...], description: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=validation_report, name=name, blocking=True, description=description)
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        return _gate_result(warehouse, gate_names)

    return _check


ALL_CHECKS = [_gate_check(name, gate_names, text) for name, (gate_names, text) in GATES.items()]
