"""Build -> simulate -> validate -> promote per module: a module whose gates pass is promoted
with its report; one whose required gate fails stops at its blocking check, and the other
partition is not affected."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import yaml

from brainstar.domain.brain_modules.catalogue import load_catalogue
from platform_assets.brain_modules.assets import PROMOTED, SIMULATION, VALIDATION, module_assets
from platform_assets.brain_modules.checks import module_checks
from resources import Warehouse

# The basal ganglia as published, and CA3 at 800 stored patterns: far above the capacity of
# 1000 cells at 5 % coding (the recall curve falls to ~0.3 there), so its completion gate fails.
MODULES = [
    {
        "name": "basal_ganglia",
        "builder": "basal_ganglia",
        "gates": ["bg_selection", "bg_switching", "bg_dopamine"],
    },
    {
        "name": "ca3_overloaded",
        "builder": "hippocampus_ca3",
        "params": {"n_patterns": 800},
        "gates": ["ca3_pattern_completion"],
    },
]


def _materialize(tmp_path: Path, module: str) -> tuple[dg.ExecuteInProcessResult, Warehouse]:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump({"modules": MODULES}))
    modules, assets = module_assets(load_catalogue(path))
    checks = module_checks(modules)
    warehouse = Warehouse(root=str(tmp_path / "warehouse"))
    result = dg.materialize(
        [*assets, *checks], resources={"warehouse": warehouse}, partition_key=module, raise_on_error=False
    )
    return result, warehouse


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def test_a_module_whose_gates_pass_is_promoted_with_its_report(tmp_path: Path) -> None:
    result, warehouse = _materialize(tmp_path, "basal_ganglia")
    assert _materialized(result) == {
        "brain_modules/module_model",
        "brain_modules/module_simulation",
        "brain_modules/module_validation",
        "brain_modules/promoted_module",
    }
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == "module_gates_pass"
    report = warehouse.file(VALIDATION, "report.html", "basal_ganglia").read_text()
    assert '<img alt="gpi_traces" src="data:image/png;base64,' in report and "FAIL" not in report
    registry = json.loads(warehouse.file(PROMOTED, "registry.json", "basal_ganglia").read_text())
    assert (
        registry["gates"] == ["bg_selection", "bg_switching", "bg_dopamine"] and len(registry["sha256"]) == 64
    )
    validation = next(
        m for m in result.get_asset_materialization_events() if m.asset_key == VALIDATION
    ).materialization.metadata
    assert validation["key_figure"].value.startswith("![key figure](data:image/png;base64,")


def test_a_failing_required_gate_blocks_promotion_and_says_why(tmp_path: Path) -> None:
    result, warehouse = _materialize(tmp_path, "ca3_overloaded")
    assert "brain_modules/module_validation" in _materialized(result)
    assert "brain_modules/promoted_module" not in _materialized(result)
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.description.startswith("ca3_pattern_completion FAILS: N=1000, a=0.05, P=800")
    gates = json.loads(warehouse.file(SIMULATION, "gates.json", "ca3_overloaded").read_text())
    assert gates[0]["measured"] < 0.9
    assert not warehouse.file(PROMOTED, "registry.json", "ca3_overloaded").exists()
    assert "FAIL" in warehouse.file(VALIDATION, "report.html", "ca3_overloaded").read_text()
