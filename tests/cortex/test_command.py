"""``brainstar cortex simulate``: JSON output and rejection of bad input before simulation."""

from __future__ import annotations

import json

import numpy as np
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


def test_plasticity_flag_lets_the_column_learn_and_reports_it(tmp_path) -> None:
    out = tmp_path / "run.json"
    args = ["simulate", "--n-scaling", "0.02", "--t-sim", "1000", "--warmup", "100", "--threads", "1"]
    result = CliRunner().invoke(cortex, [*args, "--plasticity", "--out", str(out)])
    assert result.exit_code == 0, result.output
    learned = json.loads(out.read_text())["plasticity"]
    assert set(learned) == {"L4E->L23E", "L23E->L23E"}
    change = learned["L4E->L23E"]
    assert change["n_synapses"] > 0 and change["mean_weight_end_pa"] != change["mean_weight_start_pa"]
    assert "L4E->L23E: mean weight" in result.output
    static = tmp_path / "static.json"
    CliRunner().invoke(cortex, [*args, "--out", str(static)])
    assert json.loads(static.read_text())["plasticity"] == {}


def test_trained_column_file_is_simulated_and_a_wrong_one_refused(tmp_path) -> None:
    from brainstar.domain.cortex.config import ColumnConfig
    from brainstar.domain.cortex.network import build_network, save_network
    from brainstar.domain.cortex.plastic_network import PlasticProjection, make_plastic
    from brainstar.domain.cortex.plasticity import STDP_RULES

    config = ColumnConfig(n_scaling=0.02)
    column = make_plastic(
        build_network(config), (PlasticProjection("L4E", "L23E", STDP_RULES["bipoo"].synapse),)
    )
    # "Learned": every L4E -> L2/3E weight at its bound, which must raise L2/3E's rate.
    saved = tmp_path / "trained.npz"
    save_network(
        str(saved), column, plastic_weights=np.full(column.plastic.n_synapses, column.plastic.table[0, 6])
    )
    args = ["simulate", "--n-scaling", "0.02", "--t-sim", "1000", "--warmup", "100", "--threads", "1"]
    runs = {}
    for name, extra in {"trained": ["--trained", str(saved)], "fresh": []}.items():
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(cortex, [*args, *extra, "--out", str(out)])
        assert result.exit_code == 0, result.output
        runs[name] = json.loads(out.read_text())["populations"]["L23E"]["rate_hz"]
    assert runs["trained"] > runs["fresh"]
    wrong = CliRunner().invoke(
        cortex,
        ["simulate", "--n-scaling", "0.05", "--trained", str(saved), "--out", str(tmp_path / "x.json")],
    )
    assert wrong.exit_code != 0 and "trained" in wrong.output and "column neurons" in wrong.output
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a column")
    bad = CliRunner().invoke(cortex, [*args, "--trained", str(junk), "--out", str(tmp_path / "y.json")])
    assert bad.exit_code != 0 and "is not a saved column" in bad.output
