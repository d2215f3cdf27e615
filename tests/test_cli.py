"""The two commands' building blocks through the real command lines, as users run them."""

import json
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from brainstar.cli.materialize_all import materialize_all
from brainstar.demo.landing import DEMO_SESSIONS
from brainstar.domain.brain_modules.catalogue import load_catalogue
from platform_assets.brain_modules.definitions import CATALOGUE
from tests.conftest import (
    REPO_ROOT,
    VENV_BIN,
    DemoRun,
    dagster_asset_materialize,
    subprocess_env,
    tree_digest,
)
from tests.operations.test_notifications import unreadable_file

pytestmark = pytest.mark.slow


def run(command: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, env=subprocess_env(env), cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_demo_data_register_and_dagster_asset_materialize(
    brainstar_env: dict[str, str], tmp_path: Path
) -> None:
    landing = tmp_path / "fresh_landing"
    env = {**brainstar_env, "BRAINSTAR_LANDING_DIR": str(landing)}
    run([str(VENV_BIN / "brainstar"), "demo-data", "--seed", "3", "--domain", "neuro"], env)
    truth = json.loads((landing / "ground_truth.json").read_text())
    assert truth["seed"] == 3 and set(truth["neuro"]) == {
        f"sub-{d.subject}_ses-{d.session}" for d in DEMO_SESSIONS
    }
    before = tree_digest(landing)

    registered = run([str(VENV_BIN / "brainstar"), "sessions", "register"], env)
    assert f"added {len(DEMO_SESSIONS)} session(s)" in registered.stdout
    run([str(VENV_BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], env)
    materialized = dagster_asset_materialize("neuro/raw_session", "sub-01_ses-01", env)
    assert materialized.returncode == 0, materialized.stderr[-3000:]
    inventory = Path(env["BRAINSTAR_WAREHOUSE_DIR"]) / "neuro/raw_session/sub-01_ses-01/inventory.json"
    assert json.loads(inventory.read_text())["headers"]["issues"] == []
    assert tree_digest(landing) == before


def test_brainstar_run_materializes_everything_and_prints_the_table(demo_run: DemoRun) -> None:
    assert "landing zone was empty: writing demo data" in demo_run.stdout
    rows = [
        line.split()[:3]
        for line in demo_run.stdout.splitlines()
        if line.startswith(("neuro/", "cortex/", "astro/", "brain_modules/"))
    ]
    statuses = {(asset, partition): status for asset, partition, status in rows}
    assert statuses[("neuro/connectome", "sub-01_ses-01")] == "materialized"
    assert statuses[("neuro/connectome", "sub-02_ses-01")] == "materialized"
    assert statuses[("neuro/raw_session", "sub-03_ses-01")] == "failed"
    # Later stages of the broken session are not attempted on inputs that do not exist.
    assert statuses[("neuro/connectome", "sub-03_ses-01")] == "not"  # "not run"
    broken_bids = [line for line in demo_run.stdout.splitlines() if line.startswith("neuro/bids_session")]
    assert any("sub-03_ses-01" in line and "upstream neuro/raw_session" in line for line in broken_bids)
    # Rows further down name the root failure, not their parent, and the step said it in one line.
    broken_connectome = next(
        line
        for line in demo_run.stdout.splitlines()
        if line.startswith("neuro/connectome") and "sub-03_ses-01" in line
    )
    assert "upstream neuro/raw_session [sub-03_ses-01] failed: " in broken_connectome
    assert any(
        "FAILED neuro/raw_session [sub-03_ses-01]: " in line
        and line.endswith("dwi.bvec: 31 b-vectors for 33 volumes in dwi.nii.gz")
        for line in demo_run.stdout.splitlines()
    )
    assert statuses[("neuro/cohort_table", "-")] == "materialized"
    # Every module of the catalogue passes its gates and is promoted.
    for module in load_catalogue(CATALOGUE).names:
        assert statuses[("brain_modules/promoted_module", module)] == "materialized"
    assert statuses[("brain_modules/integrate_brain_modules", "-")] == "materialized"
    # The column does not learn the digits to its gate yet (README, "Cortex"): promotion stops there.
    promoted = ("cortex/promoted_column", "-")
    assert statuses[promoted] == "not"
    assert any(
        line.startswith("cortex/promoted_column") and "failed blocking check column_learns_digits" in line
        for line in demo_run.stdout.splitlines()
    )
    unexpected = [
        key
        for key, status in statuses.items()
        if status != "materialized" and key[1] != "sub-03_ses-01" and key != promoted
    ]
    assert unexpected == []
    assert "expected: demo partition sub-03_ses-01 is broken on purpose" in demo_run.stdout


@dg.asset(deps=[unreadable_file])
def after_unreadable_file() -> None:
    """Never runs: its input failed."""


def test_run_table_shows_the_assets_own_error_and_what_did_not_run() -> None:
    defs = dg.Definitions(assets=[unreadable_file, after_unreadable_file])
    with dg.DagsterInstance.ephemeral() as instance:
        outcomes = materialize_all(defs, instance)
    # The error the asset raised, not dg.Failure around it nor the OSError it was raised from.
    error = "DetectorFileError: scan_07.dcm: not a readable DICOM file"
    assert [(o.asset, o.partition, o.status, o.detail) for o in outcomes] == [
        ("unreadable_file", None, "failed", error),
        ("after_unreadable_file", None, "not run", f"upstream unreadable_file failed: {error}"),
    ]
