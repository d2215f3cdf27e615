"""The cortex - basal ganglia - thalamus loop: it learns the best arm, its control does not, and
its gate fails where it must; the integration asset refuses modules that were not promoted."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import yaml

from brainstar.domain.brain_modules import loop
from brainstar.domain.brain_modules.catalogue import load_catalogue
from platform_assets.brain_modules.assets import PROMOTED
from platform_assets.brain_modules.integration import INTEGRATED, integration_assets
from resources import Warehouse

# Half the pipeline's column (N 0.01), for time: the loop learns there too (measured).
SMALL = replace(loop.LoopParams(), n_scaling=0.01, n_test=30, seeds=(0,))


def _summary(learned: list[float], control: list[float]) -> dict:
    seeds = [
        {"seed": n, "learning": {"best_arm_test": a}, "control": {"best_arm_test": c}}
        for n, (a, c) in enumerate(zip(learned, control, strict=True))
    ]
    return {"seeds": seeds, "chance": 1 / 3, "best_arm": 2}


def test_gate_passes_on_three_learned_seeds_and_fails_otherwise() -> None:
    assert loop.bandit_gate(_summary([0.9, 0.95, 0.8], [0.3, 0.4, 0.35])).passed
    low = loop.bandit_gate(_summary([0.9, 0.55, 0.8], [0.3, 0.2, 0.35]))
    assert not low.passed and low.detail == "seed 1: 0.55 vs control 0.20"
    assert not loop.bandit_gate(_summary([0.9, 0.9, 0.8], [0.3, 0.7, 0.35])).passed  # margin 0.2
    assert not loop.bandit_gate(_summary([0.9, 0.9], [0.3, 0.3])).passed  # two seeds


@pytest.mark.slow
def test_the_loop_learns_the_best_arm_and_its_control_does_not() -> None:
    _, learned = loop.run_seed(SMALL, 0, learning=True)
    _, control = loop.run_seed(SMALL, 0, learning=False)
    assert np.mean(learned == SMALL.best_arm) >= 0.9
    assert np.mean(control == SMALL.best_arm) <= 0.5
    # The arms reversed: it follows the reward, not a channel the column happens to favour.
    reversed_arms = replace(SMALL, reward_probabilities=SMALL.reward_probabilities[::-1])
    _, learned = loop.run_seed(reversed_arms, 0, learning=True)
    assert reversed_arms.best_arm == 0 and np.mean(learned == 0) >= 0.9


def test_without_dopamine_learning_nothing_is_learned() -> None:
    params = replace(SMALL, n_train=30, n_test=5)
    column = loop.build_loop_column(params, 0)
    weights, critic = np.full(params.n_arms, params.w_init), np.full(1, params.critic_init)
    trials = [
        loop.run_trial(column, weights, critic, params, np.random.default_rng(0), 0.0) for _ in range(30)
    ]
    assert {t.weights for t in trials} == {(params.w_init,) * params.n_arms}
    assert len({t.choice for t in trials}) > 1  # the column's noise explores


def _integrate(tmp_path: Path, promoted: list[str]) -> tuple[dg.ExecuteInProcessResult, Warehouse]:
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(
        yaml.safe_dump(
            {
                "modules": [
                    {
                        "name": "column",
                        "builder": "cortical_column",
                        "params": {"n_scaling": 0.01},
                        "gates": ["rates"],
                    },
                    {"name": "bg", "builder": "basal_ganglia", "gates": ["bg_selection"]},
                ]
            }
        )
    )
    warehouse = Warehouse(root=str(tmp_path / "warehouse"))
    for module in promoted:
        record = warehouse.file(PROMOTED, "registry.json", module)
        record.parent.mkdir(parents=True)
        record.write_text(json.dumps({"module": module, "sha256": module * 8}))
    asset, check = integration_assets(load_catalogue(catalogue))
    result = dg.materialize(
        [asset, check],
        resources={"warehouse": warehouse},
        run_config={
            "ops": {
                "brain_modules__integrate_brain_modules": {
                    "config": {"n_train": 10, "n_test": 5, "seeds": [0]}
                }
            }
        },
        raise_on_error=False,
    )
    return result, warehouse


def test_integration_refuses_modules_that_were_not_promoted(tmp_path: Path) -> None:
    result, _ = _integrate(tmp_path, ["column"])
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "needs the promoted modules: bg is not promoted" in str(
        failure.event_specific_data.error.cause.message
    )


def test_integration_records_the_modules_and_its_gate_fails_on_one_seed(tmp_path: Path) -> None:
    result, warehouse = _integrate(tmp_path, ["column", "bg"])
    summary = json.loads(warehouse.file(INTEGRATED, "loop.json").read_text())
    assert summary["modules"] == {"column": "column" * 8, "bg": "bg" * 8}
    assert summary["scale"] == {"n_scaling": 0.01, "k_scaling": 0.1}  # the column entry's
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed  # one seed of ten trials: the gate asks for three
    assert warehouse.file(INTEGRATED, "bandit_learning.png").read_bytes().startswith(b"\x89PNG")
    page = warehouse.file(INTEGRATED, "report.html").read_text()
    assert "loop_learns_bandit" in page and "FAIL" in page and "data:image/png;base64," in page
