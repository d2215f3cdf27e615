"""The blocking gate check of each module: its catalogue's required gates, per partition."""

import json

import dagster as dg

from platform_assets.brain_modules.assets import VALIDATION, gate_check_description, required_gates
from platform_assets.specs import quiet_partitioned_check_preview
from resources import Warehouse

quiet_partitioned_check_preview()


def module_checks(modules: dg.StaticPartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset=VALIDATION,
        partitions_def=modules,
        blocking=True,
        description="Every gate the module's catalogue entry requires passes (measured in the simulation).",
    )
    def module_gates_pass(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        gates = required_gates(warehouse, context.partition_key)
        return dg.AssetCheckResult(
            passed=all(g["passed"] for g in gates),
            severity=dg.AssetCheckSeverity.ERROR,
            description=gate_check_description(gates),
            metadata={
                "measured": dg.MetadataValue.json({g["name"]: g["measured"] for g in gates}),
                "reference": dg.MetadataValue.json({g["name"]: g["reference"] for g in gates}),
                "failed": ", ".join(g["name"] for g in gates if not g["passed"]) or "none",
                "gates": json.dumps([g["name"] for g in gates]),
            },
        )

    return [module_gates_pass]
