"""From a landed DICOM session to its connectome through the real `dagster` command line."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from platform_assets.neuro.layout import SessionOutputs
from resources import Warehouse
from tests.conftest import REPO_ROOT, VENV_BIN, dagster_asset_materialize, subprocess_env, tree_digest

pytestmark = pytest.mark.slow

STAGES = ("raw_session", "bids_session", "preprocessed_dwi", "dti_maps", "parcellation_stats", "connectome")
SESSION_ASSETS = ",".join(f"neuro/{name}" for name in STAGES)


def test_dicom_session_to_connectome_with_dagster_asset_materialize(
    brainstar_env: dict[str, str], tmp_path: Path
) -> None:
    landing = tmp_path / "landing_cli"
    env = subprocess_env({**brainstar_env, "BRAINSTAR_LANDING_DIR": str(landing)})
    for command in (
        [str(VENV_BIN / "brainstar"), "demo-data", "--domain", "neuro"],
        [str(VENV_BIN / "brainstar"), "sessions", "register"],
    ):
        subprocess.run(command, env=env, cwd=REPO_ROOT, check=True, capture_output=True, timeout=300)
    before = tree_digest(landing)

    result = dagster_asset_materialize(SESSION_ASSETS, "sub-02_ses-01", env)

    assert result.returncode == 0, result.stderr[-4000:]
    outputs = SessionOutputs(Warehouse(root=brainstar_env["BRAINSTAR_WAREHOUSE_DIR"]), "sub-02_ses-01")
    matrix = np.load(outputs.connectome(".npy"))
    assert matrix.sum() > 0
    assert outputs.bids.path(".json").is_file()
    assert tree_digest(landing) == before, "the landing zone must never be modified"
