"""The top-level dagster.yaml is the local instance (issue 15, point 4).

A `dagster` command run without DAGSTER_HOME builds a throwaway instance from the dagster.yaml
of its working directory. Before, the top-level file was the production (PostgreSQL) one, so
the README's `dagster asset materialize` from the repository root failed with
"BRAINSTAR_PG_HOST is not set"; now it is the local instance, every path of it naming
./.dagster_home, the folder `brainstar` commands use. Production is
deploy/production/dagster.yaml, used only through a DAGSTER_HOME holding it
(tests/test_postgres_instance.py runs a `dagster` command that way).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from brainstar.cli.instance import open_instance
from brainstar.core import settings
from tests.conftest import REPO_ROOT, VENV_BIN

ROOT_INSTANCE = REPO_ROOT / "dagster.yaml"
HOME_INSTANCE = REPO_ROOT / "deploy" / "local" / "dagster.yaml"
# Where the root file sends what a DAGSTER_HOME instance keeps under its home by default.
PATH_KEYS = ("storage", "local_artifact_storage", "compute_logs")

TINY_DEFINITIONS = """\
import dagster as dg


@dg.asset
def greeting() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"words": 2})


defs = dg.Definitions(assets=[greeting])
"""


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def test_root_dagster_yaml_keeps_everything_in_the_default_dagster_home() -> None:
    home = os.path.normpath(settings.DEFAULT_DAGSTER_HOME)
    root = _load(ROOT_INSTANCE)
    assert root["storage"] == {"sqlite": {"base_dir": home}}
    assert root["local_artifact_storage"]["config"] == {"base_dir": home}
    # A DAGSTER_HOME instance keeps its compute logs in <home>/storage.
    assert root["compute_logs"]["config"] == {"base_dir": os.path.join(home, "storage")}
    assert "postgres" not in ROOT_INSTANCE.read_text()


def test_root_dagster_yaml_has_the_local_homes_settings() -> None:
    """Run queue, pools, run monitoring, sensors: the same whichever way the instance is reached."""
    root = {key: value for key, value in _load(ROOT_INSTANCE).items() if key not in PATH_KEYS}
    assert root == _load(HOME_INSTANCE)
    assert root["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert root["run_monitoring"]["enabled"] is True


def root_copy(tmp_path: Path) -> Path:
    """A folder standing for the repository root: its dagster.yaml and a one-asset definitions file."""
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copy(ROOT_INSTANCE, root / "dagster.yaml")
    (root / "tiny_definitions.py").write_text(TINY_DEFINITIONS)
    return root


def materialize_greeting(root: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`dagster asset materialize` from ``root`` with no DAGSTER_HOME or BRAINSTAR_* but ``extra_env``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name != settings.DAGSTER_HOME_VAR and not name.startswith("BRAINSTAR_")
    }
    env.update(extra_env)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    command = [str(VENV_BIN / "dagster"), "asset", "materialize", "-f", "tiny_definitions.py"]
    return subprocess.run(
        [*command, "--select", "greeting"], env=env, cwd=root, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_dagster_command_without_dagster_home_persists_in_dot_dagster_home(tmp_path: Path) -> None:
    root = root_copy(tmp_path)
    result = materialize_greeting(root, {})
    assert result.returncode == 0, result.stderr[-3000:]

    # What `brainstar` commands open when DAGSTER_HOME is unset: they see the same run.
    with open_instance(root / ".dagster_home") as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("greeting"))
        assert event is not None
        run = instance.get_run_by_id(event.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    assert (root / ".dagster_home" / "storage" / event.run_id).is_dir(), "compute logs outside the home"
    assert not list(root.glob(".tmp_dagster_home_*")), "the throwaway home was left behind"
