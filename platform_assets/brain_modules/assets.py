"""Brain-module assets, one partition per catalogue entry: build -> simulate -> validate -> promote.

Thin wiring over ``brainstar.domain.brain_modules``; :func:`module_assets` builds them for a
catalogue, so the tests can run the same assets on a catalogue of their own.
"""

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from brainstar.core import pools
from brainstar.domain.brain_modules.catalogue import ModuleCatalogue
from platform_assets.metadata import key_figure, markdown_table
from platform_assets.operations.placement import runs_in
from platform_assets.operations.resource_usage import record_resource_usage
from resources import Warehouse

GROUP = "brain_modules"
MODEL = dg.AssetKey([GROUP, "module_model"])
SIMULATION = dg.AssetKey([GROUP, "module_simulation"])
VALIDATION = dg.AssetKey([GROUP, "module_validation"])
PROMOTED = dg.AssetKey([GROUP, "promoted_module"])
FIGURES = "figures"


def spec_path(warehouse: Warehouse, module: str) -> Path:
    return warehouse.file(MODEL, "spec.json", module)


def gates_path(warehouse: Warehouse, module: str) -> Path:
    return warehouse.file(SIMULATION, "gates.json", module)


def required_gates(warehouse: Warehouse, module: str) -> list[dict[str, Any]]:
    """The simulated module's gates that its catalogue entry requires, in the entry's order."""
    required = json.loads(spec_path(warehouse, module).read_text())["gates"]
    by_name = {g["name"]: g for g in json.loads(gates_path(warehouse, module).read_text())}
    return [by_name[name] for name in required]


def _figures(warehouse: Warehouse, module: str) -> dict[str, bytes]:
    folder = warehouse.asset_dir(SIMULATION, module) / FIGURES
    return {path.stem: path.read_bytes() for path in sorted(folder.glob("*.png"))}


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, Mapping):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    return value


def module_assets(
    catalogue: ModuleCatalogue,
) -> tuple[dg.StaticPartitionsDefinition, list[dg.AssetsDefinition]]:
    modules = dg.StaticPartitionsDefinition(catalogue.names)

    def stage(key: dg.AssetKey, kind: str, description: str, **options: Any) -> Any:
        """The decorator of one stage: partitioned by module, in the group."""
        return dg.asset(
            key=key,
            group_name=GROUP,
            partitions_def=modules,
            kinds={kind},
            description=description,
            **options,
        )

    @stage(MODEL, "python", "The module's catalogue entry resolved: its builder and every parameter value.")
    def module_model(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        entry = catalogue.entry(context.partition_key)
        params = entry.build_params()
        spec = {
            **entry.model_dump(),
            "builder_description": entry.model.description,
            "resolved_params": dataclasses.asdict(params),
        }
        path = warehouse.write_json(spec_path(warehouse, entry.name), spec)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "builder": entry.builder,
                "overrides": dg.MetadataValue.json(entry.params),
                "required_gates": ", ".join(entry.gates),
            }
        )

    @stage(
        SIMULATION,
        "numpy",
        "The module simulated with its resolved parameters: summary, every gate, figures.",
        deps=[MODEL],
        **runs_in(pools.PROCESSING),
    )
    @record_resource_usage
    def module_simulation(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        module = context.partition_key
        spec = json.loads(spec_path(warehouse, module).read_text())
        entry = catalogue.entry(module).model_copy(update={"params": spec["params"]})
        context.log.info(f"{module}: simulating {entry.builder}")
        run = entry.model.run(entry.build_params())
        gates = [_round(dataclasses.asdict(g)) for g in run.gates]
        warehouse.write_json(warehouse.file(SIMULATION, "summary.json", module), _round(run.summary))
        path = warehouse.write_json(gates_path(warehouse, module), gates)
        for stem, png in run.figures.items():
            target = warehouse.asset_dir(SIMULATION, module) / FIGURES / f"{stem}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            with warehouse.atomic_path(target) as tmp:
                tmp.write_bytes(png)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path.parent)),
                "gates_passed": f"{sum(g['passed'] for g in gates)}/{len(gates)}",
            }
        )

    @stage(
        VALIDATION,
        "html",
        "The module's validation report (gates and figures); its blocking check gates promotion.",
        deps=[SIMULATION],
    )
    def module_validation(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        from brainstar.domain.brain_modules import report

        module = context.partition_key
        entry = catalogue.entry(module)
        gates = required_gates(warehouse, module)
        figures = _figures(warehouse, module)
        target = warehouse.file(VALIDATION, "report.html", module)
        target.parent.mkdir(parents=True, exist_ok=True)
        with warehouse.atomic_path(target) as tmp:
            tmp.write_text(report.render(module, entry.description, gates, figures))
        metadata: dict[str, Any] = {
            "report": dg.MetadataValue.path(str(target)),
            "gates": markdown_table(
                ["gate", "result", "measured"],
                [
                    [g["name"], "pass" if g["passed"] else "FAIL", json.dumps(g["measured"])[:120]]
                    for g in gates
                ],
            ),
        }
        if figures:  # the builder's first figure is its key figure
            metadata["key_figure"] = key_figure(next(iter(figures.values())))
        return dg.MaterializeResult(metadata=metadata)

    @stage(
        PROMOTED,
        "json",
        "Registry entry of a module whose required gates all passed: content hash and gates.",
        deps=[VALIDATION],
    )
    def promoted_module(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        module = context.partition_key
        digest = hashlib.sha256()
        for path in (spec_path(warehouse, module), gates_path(warehouse, module)):
            digest.update(path.read_bytes())
        for png in _figures(warehouse, module).values():
            digest.update(png)
        gates = required_gates(warehouse, module)
        if not all(
            g["passed"] for g in gates
        ):  # the blocking check stops this first; never promote a failure
            raise RuntimeError(
                f"{module}: required gates failed: {[g['name'] for g in gates if not g['passed']]}"
            )
        entry = {"module": module, "sha256": digest.hexdigest(), "gates": [g["name"] for g in gates]}
        path = warehouse.write_json(warehouse.file(PROMOTED, "registry.json", module), entry)
        return dg.MaterializeResult(
            metadata={"path": dg.MetadataValue.path(str(path)), "sha256": entry["sha256"][:16]}
        )

    return modules, [module_model, module_simulation, module_validation, promoted_module]


def gate_check_description(gates: Sequence[Mapping[str, Any]]) -> str:
    failed = [g for g in gates if not g["passed"]]
    if not failed:
        return "every required gate passes: " + ", ".join(g["name"] for g in gates)
    return "; ".join(f"{g['name']} FAILS: {g['detail']}" for g in failed)
