"""Blocking gates on the validation report: one op reads gates.json once and reports every gate.

Each check reports the measured value, the reference and the tolerance of the gates it covers.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from platform_assets.cortex import layout
from resources import Warehouse

# check name -> (gate names in gates.json, one-line description)
GATES = {
    "rates_match_reference": (
        ("rates",),
        "Population rates within tolerance of NEST on the same configuration.",
    ),
    "irregular_and_asynchronous": (
        ("irregularity", "asynchrony"),
        "Asynchronous irregular state: CV ISI and pairwise correlations as NEST's on the same configuration.",
    ),
    "stdp_window": (
        ("stdp_window",),
        "Pairing-protocol window through the engine's synapse: as NEST's, with Bi & Poo's signs and taus.",
    ),
    "dopamine_distal_reward": (
        ("dopamine_distal_reward",),
        "Izhikevich distal reward: the rewarded synapse stays near its cap, top 0.1%; the rest stay.",
    ),
    "neuromodulator_directions": (
        ("neuromodulator_directions",),
        "ACh, NE and 5-HT each change their measured quantity in the documented direction.",
    ),
    "column_learns_digits": (
        ("digits_learned",),
        "Digits learned in the column's own synapses: fixed-readout held-out accuracy >= 0.85 and "
        ">= 20 points over plasticity off, on three seeds.",
    ),
}

SPECS = [
    dg.AssetCheckSpec(name, asset=layout.GATES.key, description=description, blocking=True)
    for name, (_, description) in GATES.items()
]


def gate_result(check_name: str, gates: Mapping[str, Mapping[str, Any]]) -> dg.AssetCheckResult:
    """The result of one check from the gates it covers (``gates`` by gate name)."""
    chosen = [gates[name] for name in GATES[check_name][0]]
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=layout.GATES.key,
        passed=all(g["passed"] for g in chosen),
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(f"{g['name']}: {g['detail']}" for g in chosen),
        metadata={
            "measured": dg.MetadataValue.json({g["name"]: g["measured"] for g in chosen}),
            "reference": dg.MetadataValue.json({g["name"]: g["reference"] for g in chosen}),
            "tolerance": dg.MetadataValue.text("; ".join(g["tolerance"] for g in chosen)),
        },
    )


def gate_results(gate_list: Sequence[Mapping[str, Any]]) -> Iterator[dg.AssetCheckResult]:
    gates = {g["name"]: g for g in gate_list}
    for name in GATES:
        yield gate_result(name, gates)


@dg.multi_asset_check(specs=SPECS, name="cortex_validation_gates")
def validation_gates(warehouse: Warehouse) -> Iterator[dg.AssetCheckResult]:
    yield from gate_results(layout.GATES.read_json(warehouse))


ALL_CHECKS = [validation_gates]
