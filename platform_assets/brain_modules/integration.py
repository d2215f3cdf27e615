"""integrate_brain_modules: the promoted column and basal ganglia closed into one loop with a
thalamic relay, learning a bandit (``brainstar.domain.brain_modules.loop``), and its gate."""

import dataclasses
import json
from pathlib import Path

import dagster as dg
from pydantic import Field

from brainstar.core import pools
from brainstar.domain.brain_modules import loop
from brainstar.domain.brain_modules.catalogue import ModuleCatalogue, ModuleEntry
from platform_assets.brain_modules.assets import GROUP, PROMOTED
from platform_assets.metadata import key_figure, markdown_table
from platform_assets.operations.placement import runs_in
from platform_assets.operations.resource_usage import record_resource_usage
from resources import Warehouse

INTEGRATED = dg.AssetKey([GROUP, "integrate_brain_modules"])
# The builders whose promoted modules the loop is made of.
LOOP_BUILDERS = ("cortical_column", "basal_ganglia")
_DEFAULTS = loop.LoopParams()


class LoopSettings(dg.Config):
    n_train: int = Field(default=_DEFAULTS.n_train, ge=1, description="Training trials per seed.")
    n_test: int = Field(
        default=_DEFAULTS.n_test, ge=1, description="Held-out trials per seed (learning frozen)."
    )
    seeds: list[int] = Field(
        default=list(_DEFAULTS.seeds), min_length=1, description="Seeds (>= 3 for the gate)."
    )


def _loop_modules(catalogue: ModuleCatalogue, warehouse: Warehouse) -> dict[str, tuple[ModuleEntry, dict]]:
    """Per loop builder, its first catalogue entry and that entry's registry record; a module not
    in the catalogue or not promoted fails the step with the list."""
    found, problems = {}, []
    for builder in LOOP_BUILDERS:
        entry = next((m for m in catalogue.modules if m.builder == builder), None)
        if entry is None:
            problems.append(f"no catalogue entry uses the builder {builder}")
            continue
        registry = warehouse.file(PROMOTED, "registry.json", entry.name)
        if not registry.exists():
            problems.append(f"{entry.name} is not promoted (no {registry})")
            continue
        found[builder] = (entry, json.loads(registry.read_text()))
    if problems:
        raise RuntimeError("integrate_brain_modules needs the promoted modules: " + "; ".join(problems))
    return found


def gates_path(warehouse: Warehouse) -> Path:
    return warehouse.file(INTEGRATED, "gates.json")


def integration_assets(catalogue: ModuleCatalogue) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    @dg.asset(
        key=INTEGRATED,
        deps=[PROMOTED],
        group_name=GROUP,
        kinds={"numpy"},
        **runs_in(pools.PROCESSING),
        description=(
            "The promoted column and basal ganglia in one loop (L5 -> striatum, GPi -> thalamic relay "
            "-> column, dopamine RPE -> corticostriatal weights) learning a three-armed bandit."
        ),
    )
    @record_resource_usage
    def integrate_brain_modules(
        context: dg.AssetExecutionContext, config: LoopSettings, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        from brainstar.domain.brain_modules import report
        from brainstar.domain.brain_modules.loop_report import bandit_learning_png

        modules = _loop_modules(catalogue, warehouse)
        column = modules["cortical_column"][0].build_params()
        params = loop.LoopParams(
            n_scaling=column.n_scaling, k_scaling=column.k_scaling,
            basal_ganglia=modules["basal_ganglia"][0].build_params(),
            n_train=config.n_train, n_test=config.n_test, seeds=tuple(config.seeds),
        )  # fmt: skip
        summary = loop.evaluate(params, progress=context.log.info)
        summary["modules"] = {entry.name: record["sha256"] for entry, record in modules.values()}
        gate = loop.bandit_gate(summary)
        warehouse.write_json(warehouse.file(INTEGRATED, "loop.json"), summary)
        warehouse.write_json(gates_path(warehouse), [dataclasses.asdict(gate)])
        png = bandit_learning_png(summary)
        figure = warehouse.file(INTEGRATED, "bandit_learning.png")
        with warehouse.atomic_path(figure) as tmp:
            tmp.write_bytes(png)
        page = warehouse.file(INTEGRATED, "report.html")
        with warehouse.atomic_path(page) as tmp:
            tmp.write_text(
                report.render(
                    "integrate_brain_modules",
                    "Column, basal ganglia and thalamic relay in one loop, learning a three-armed bandit.",
                    [dataclasses.asdict(gate)],
                    {"bandit_learning": png},
                )
            )
        rows = [
            [s["seed"], f"{s['learning']['best_arm_test']:.2f}", f"{s['control']['best_arm_test']:.2f}"]
            for s in summary["seeds"]
        ]
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(figure.parent)),
                "report": dg.MetadataValue.path(str(page)),
                "key_figure": key_figure(png),
                "best_arm_held_out": markdown_table(["seed", "learning", "no learning"], rows),
                "modules": dg.MetadataValue.json(summary["modules"]),
            }
        )

    @dg.asset_check(
        asset=INTEGRATED,
        blocking=True,
        description=(
            f"The loop picks the best arm on >= {loop.BANDIT_MIN_BEST_ARM:.0%} of held-out trials and "
            f">= {loop.BANDIT_MIN_MARGIN * 100:.0f} points more than without learning, on >= 3 seeds."
        ),
    )
    def loop_learns_bandit(warehouse: Warehouse) -> dg.AssetCheckResult:
        [gate] = json.loads(gates_path(warehouse).read_text())
        return dg.AssetCheckResult(
            passed=gate["passed"],
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{gate['name']}: {gate['detail']}",
            metadata={
                "measured": dg.MetadataValue.json(gate["measured"]),
                "reference": dg.MetadataValue.json(gate["reference"]),
            },
        )

    return integrate_brain_modules, loop_learns_bandit
