"""The real dagster-webserver serves this code location over GraphQL."""

from pathlib import Path

import pytest
import requests

from brainstar.cli.local_dagster import dagster_server
from tests.conftest import VENV_BIN, subprocess_env

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
    command = [str(VENV_BIN / "dagster-webserver"), "-w", "workspace.yaml"]
    with dagster_server(
        command, env=subprocess_env(brainstar_env), log_path=tmp_path / "webserver.log"
    ) as url:
        response = requests.post(f"{url}/graphql", json={"query": ASSETS_QUERY}, timeout=60)
    response.raise_for_status()
    data = response.json()["data"]
    locations = {node["location"]["name"] for node in data["repositoriesOrError"]["nodes"]}
    assert locations == {"brainstar"}
    groups = {"/".join(node["assetKey"]["path"]): node["groupName"] for node in data["assetNodes"]}
    assert groups["neuro/raw_session"] == "neuro"
    assert all(node["description"] for node in data["assetNodes"])
