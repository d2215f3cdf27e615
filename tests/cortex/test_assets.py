"""Asset graph: a failing gate blocks promotion; a passing set of gates promotes with a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from brainstar.core import pools
from platform_assets.cortex import assets, checks, layout
from platform_assets.cortex.definitions import defs
from resources import TorchDevice, Warehouse, default_resources


def test_definitions_load() -> None:
    merged = dg.Definitions.merge(defs, dg.Definitions(resources=default_resources()))
    keys = {key.to_user_string() for key in merged.resolve_asset_graph().get_all_asset_keys()}
    assert len(merged.resolve_asset_graph().asset_check_keys) == len(checks.GATES)
    assert keys == {
        "cortex/biological_config",
        "cortex/column_network",
        "cortex/trained_column",
        "cortex/column_activity",
        "cortex/validation_report",
        "cortex/promoted_column",
    }


@pytest.mark.slow
def test_failed_gate_blocks_promotion(tmp_path: Path) -> None:
    # No NEST reference exists for N_scaling 0.03: the rates gate must fail and block promotion.
    settings = {
        "n_scaling": 0.03, "k_scaling": 0.1, "t_sim_ms": 300.0, "warmup_ms": 100.0,
        "training_seeds": [0], "distal_reward_seconds": 20, "digit_train_images": 20, "digit_test_images": 20,
    }  # fmt: skip
    warehouse = Warehouse(root=str(tmp_path))
    result = dg.materialize(
        [*assets.ASSETS, *checks.ALL_CHECKS],
        resources={"warehouse": warehouse, "torch_device": TorchDevice(requested="cpu")},
        run_config={"ops": {"cortex__biological_config": {"config": settings}}},
        raise_on_error=False,
    )
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert "cortex/validation_report" in materialized
    assert "cortex/promoted_column" not in materialized
    report = layout.REPORT.path(warehouse).read_text()
    assert '<img src="data:image/png;base64,' in report and "FAIL" in report
    gates = layout.GATES.read_json(warehouse)
    rates = next(g for g in gates if g["name"] == "rates")
    assert not rates["passed"] and "no NEST reference" in rates["detail"]
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations["rates_match_reference"] is False
    assert evaluations["column_learns_digits"] is False  # one seed, 20 images: far from the gate
    # column_activity simulated the trained column: the file trained_column wrote, sources silent.
    activity = layout.ACTIVITY.read_json(warehouse)
    assert "TC" not in activity["populations"] and activity["n_neurons"] > sum(
        p["n_neurons"] for p in activity["populations"].values()
    )
    assert not layout.PROMOTED.path(warehouse).exists()


def _fake_upstream(warehouse: Warehouse, passed: bool) -> None:
    for file in (layout.CONFIG, layout.TRAINED, layout.REPORT):
        path = file.path(warehouse)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file.name)
    gates = [
        {"name": "rates", "passed": True, "measured": 1, "reference": 1, "tolerance": "t", "detail": "d"},
        {
            "name": "stdp_window",
            "passed": passed,
            "measured": 1,
            "reference": 1,
            "tolerance": "t",
            "detail": "d",
        },
    ]
    warehouse.write_json(layout.GATES.path(warehouse), gates)


def test_promotion_writes_a_manifest_only_when_all_gates_pass(tmp_path: Path) -> None:
    warehouse = Warehouse(root=str(tmp_path))
    _fake_upstream(warehouse, passed=True)
    result = dg.materialize([assets.promoted_column], resources={"warehouse": warehouse})
    assert result.success
    manifest = json.loads(layout.PROMOTED.path(warehouse).read_text())
    assert set(manifest) == {"config", "column", "report"}
    assert all(len(entry["sha256"]) == 64 for entry in manifest.values())

    _fake_upstream(warehouse, passed=False)
    layout.PROMOTED.path(warehouse).unlink()
    failed = dg.materialize(
        [assets.promoted_column], resources={"warehouse": warehouse}, raise_on_error=False
    )
    assert not failed.success
    assert not layout.PROMOTED.path(warehouse).exists()


def test_lineage_names_exactly_the_files_each_asset_reads() -> None:
    parents = {
        spec.key.path[-1]: {dep.asset_key.path[-1] for dep in spec.deps}
        for asset in assets.ASSETS
        for spec in asset.specs
    }
    assert parents == {
        "biological_config": set(),
        "column_network": {"biological_config"},
        "trained_column": {"biological_config", "column_network"},
        "column_activity": {"biological_config", "trained_column"},
        "validation_report": {"biological_config", "trained_column", "column_activity"},
        "promoted_column": {"biological_config", "trained_column", "validation_report"},
    }


def test_only_the_torch_simulation_claims_the_gpu() -> None:
    pools_by_asset = {asset.key.path[-1]: asset.op.pool for asset in assets.ASSETS}
    assert [name for name, pool in pools_by_asset.items() if pool == pools.GPU] == ["column_activity"]
    assert pools_by_asset["trained_column"] == pools.PROCESSING
