"""The real dagster-webserver serves this code location over GraphQL."""

from pathlib import Path

import pytest
import requests

from brainstar.core.processes import background_process
from tests.conftest import REPO_ROOT, VENV_BIN, free_port, subprocess_env

pytestmark = pytest.mark.slow

ASSETS_QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name location { name } } }
  }
  assetNodes { assetKey { path } groupName description }
}
"""


def test_webserver_answers_graphql_for_the_code_location(
    brainstar_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    command = [
        str(VENV_BIN / "dagster-webserver"),
        "-w",
        "workspace.yaml",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with background_process(
        command,
        env=subprocess_env(brainstar_env),
        cwd=REPO_ROOT,
        log_path=tmp_path / "webserver.log",
        ready_url=f"http://127.0.0.1:{port}/server_info",
    ):
        response = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": ASSETS_QUERY}, timeout=60)
    response.raise_for_status()
    data = response.json()["data"]
    locations = {node["location"]["name"] for node in data["repositoriesOrError"]["nodes"]}
    assert locations == {"brainstar"}
    groups = {"/".join(node["assetKey"]["path"]): node["groupName"] for node in data["assetNodes"]}
    assert groups["neuro/raw_session"] == "neuro"
    assert all(node["description"] for node in data["assetNodes"])
