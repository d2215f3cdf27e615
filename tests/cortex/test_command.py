"""``brainstar cortex simulate``: JSON output and rejection of bad input before simulation."""

from __future__ import annotations

import json

from click.testing import CliRunner

from brainstar.cli.cortex_command import cortex


def test_simulate_writes_the_summary_json(tmp_path) -> None:
    out = tmp_path / "run.json"
    args = ["simulate", "--n-scaling", "0.02", "--k-scaling", "0.1", "--t-sim", "200", "--warmup", "100"]
    result = CliRunner().invoke(cortex, [*args, "--seed", "3", "--engine", "numba", "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert set(payload["populations"]) == {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"}
    assert {"rate_hz", "cv_isi", "spike_count"} <= set(payload["populations"]["L4E"])
    assert payload["sim_wall_seconds"] > 0


def test_bad_input_is_rejected_naming_the_field(tmp_path) -> None:
    out = tmp_path / "run.json"
    result = CliRunner().invoke(cortex, ["simulate", "--n-scaling", "0.00001", "--out", str(out)])
    assert result.exit_code != 0
    assert "n_scaling" in result.output and "zero neurons" in result.output
    assert not out.exists()
