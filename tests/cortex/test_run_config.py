"""One column configuration: the Dagster run config and the CLI options carry ColumnConfig's defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner

from brainstar.cli.cortex_command import cortex, simulate
from brainstar.domain.cortex import simulation
from brainstar.domain.cortex.config import ColumnConfig, ConfigError, config_from_settings, run_settings
from platform_assets.cortex import assets, layout
from platform_assets.cortex.run_config import ColumnSettings, read_config
from resources import Warehouse

CLI_SETTINGS = {
    "n_scaling",
    "k_scaling",
    "t_sim_ms",
    "warmup_ms",
    "seed",
    "threads",
    "poisson_input",
    "in_column",
}


def _column_defaults() -> dict[str, Any]:
    column = ColumnConfig()
    return {s.name: getattr(column.plasticity if s.section else column, s.name) for s in run_settings()}


def test_the_pipeline_defaults_are_the_column_defaults() -> None:
    column = ColumnConfig()
    assert (column.n_scaling, column.k_scaling, column.t_sim_ms, column.warmup_ms) == (
        0.02,
        0.1,
        10_000.0,
        500.0,
    )
    assert column.plasticity.stdp and column.plasticity.dopamine and column.plasticity.stdp_rule == "bipoo"


def test_dagster_config_defaults_equal_column_config_defaults() -> None:
    expected = _column_defaults()
    fields = ColumnSettings.model_fields
    assert {name: fields[name].default for name in expected} == expected
    assert set(fields) == {
        *expected,
        "training_seeds",
        "distal_reward_seconds",
        "digit_train_images",
        "digit_test_images",
    }
    assert ColumnSettings().column() == ColumnConfig()


def test_cli_defaults_equal_column_config_defaults() -> None:
    expected = _column_defaults()
    cli_defaults = {p.name: p.default for p in simulate.params if p.name in expected}
    assert set(cli_defaults) == CLI_SETTINGS
    assert cli_defaults == {name: expected[name] for name in CLI_SETTINGS}


def test_cli_option_names_are_kept() -> None:
    flags = {flag for p in simulate.params for flag in [*p.opts, *p.secondary_opts]}
    kept = {"--n-scaling", "--k-scaling", "--t-sim", "--warmup", "--seed", "--threads", "--dc-input"}
    assert kept | {"--engine", "--device", "--out"} <= flags


def test_cli_options_reach_the_simulated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[ColumnConfig] = []

    def fake_simulate(config: ColumnConfig, engine: str, device: str, trained: Path | None) -> dict[str, Any]:
        seen.append(config)
        return {"populations": {}, "plasticity": {}, "sim_wall_seconds": 1.0, "real_time_factor": 1.0}

    monkeypatch.setattr(simulation, "simulate", fake_simulate)
    out = tmp_path / "run.json"
    result = CliRunner().invoke(cortex, ["simulate", "--t-sim", "200", "--dc-input", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert seen == [ColumnConfig(t_sim_ms=200.0, poisson_input=False)]


def test_run_config_reaches_the_stored_config(tmp_path: Path) -> None:
    warehouse = Warehouse(root=str(tmp_path))
    run_config = {"n_scaling": 0.05, "stdp_rule": "song2000", "serotonin": 0.5, "training_seeds": [4]}
    result = dg.materialize(
        [assets.biological_config],
        resources={"warehouse": warehouse},
        run_config={"ops": {"cortex__biological_config": {"config": run_config}}},
    )
    assert result.success
    stored = read_config(warehouse)
    expected = config_from_settings({"n_scaling": 0.05, "stdp_rule": "song2000", "serotonin": 0.5})
    assert stored.column == expected
    assert stored.training_seeds == (4,) and stored.distal_reward_seconds == 3600
    assert layout.CONFIG.read_json(warehouse)["derived"]["populations"][0] == "L23E"


def test_unknown_settings_are_rejected_by_name() -> None:
    with pytest.raises(ConfigError, match="bogus"):
        config_from_settings({"bogus": 1})
