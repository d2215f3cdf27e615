"""`brainstar trigger` and `brainstar watch` against a real dagster-webserver and dagster-daemon.

One webserver and one daemon serve the whole module (starting them is most of its time); they
share a temporary DAGSTER_HOME with the QueuedRunCoordinator, so every launched run goes
through the daemon's queue exactly as in `make dev`.
"""

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from brainstar.cli.local_dagster import background_process, dagster_server, free_port, prepare_local_instance
from brainstar.cli.remote_command import main as remote_cli
from brainstar.core import settings
from tests.conftest import REPO_ROOT, subprocess_env

pytestmark = [
    pytest.mark.slow,
    # Raised inside dagster-graphql's own client by the gql version installed with it.
    pytest.mark.filterwarnings("ignore:Using variable_values:DeprecationWarning"),
]

CODE_LOCATION = Path(__file__).with_name("remote_defs.py")
RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
WATCH_TIMEOUT = "90"
WATCH_ARGS = ("--watch", "--poll-interval", "0.3", "--timeout", WATCH_TIMEOUT)


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return dict(body["data"])


def wait_for_code_location(url: str, log_path: Path, timeout: float = 90.0) -> None:
    """/server_info answers before the code location has loaded; runs can only be launched after."""
    import time

    query = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if graphql(url, query)["repositoriesOrError"].get("nodes"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"code location not loaded after {timeout:.0f} s:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def dagster_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("remote")
    # The daemon looks at the queue every second, and run monitoring checks max_runtime every
    # second: with the local file's 5 s and 30 s this module would take minutes longer.
    home, workspace = prepare_local_instance(
        root, CODE_LOCATION, "remote_test", dequeue_interval_seconds=1, run_monitoring_poll_seconds=1
    )
    return {"DAGSTER_HOME": str(home), "WORKSPACE": str(workspace), "ROOT": str(root)}


@pytest.fixture(scope="module")
def webserver_url(dagster_env: dict[str, str]) -> Iterator[str]:
    root = Path(dagster_env["ROOT"])
    env = subprocess_env({"DAGSTER_HOME": dagster_env["DAGSTER_HOME"]})
    workspace = dagster_env["WORKSPACE"]
    webserver = ["dagster-webserver", "-w", workspace]
    daemon = ["dagster-daemon", "run", "-w", workspace]
    with (
        dagster_server(webserver, env=env, log_path=root / "webserver.log") as url,
        background_process(daemon, env=env, cwd=REPO_ROOT, log_path=root / "daemon.log") as daemon_process,
    ):
        wait_for_code_location(url, root / "webserver.log")
        yield url
        assert daemon_process.poll() is None, (root / "daemon.log").read_text()[-4000:]


def run_module(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The commands as a user's shell runs them (the module form, until `brainstar` registers them)."""
    return subprocess.run(
        [sys.executable, "-m", "brainstar.cli.remote_command", *args],
        env=subprocess_env({"BRAINSTAR_UI_URL": url}),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def invoke(url: str, *args: str) -> tuple[int, str]:
    """In process, for the cases where only the exit code and the text matter (saves an import)."""
    result = CliRunner().invoke(remote_cli, [*args], env={"BRAINSTAR_UI_URL": url})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def event_lines(output: str, event_type: str) -> list[str]:
    return [line for line in output.splitlines() if line.split()[1:2] == [event_type]]


def run_tags(url: str, run_id: str) -> dict[str, str]:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }"
    return {tag["key"]: tag["value"] for tag in graphql(url, query, {"id": run_id})["runOrError"]["tags"]}


def test_trigger_job_with_config_then_watch_until_success(webserver_url: str, tmp_path: Path) -> None:
    config_file = tmp_path / "run_config.yaml"
    config_file.write_text("ops:\n  make_greeting:\n    config:\n      name: ada\n      fail: true\n")
    triggered = run_module(
        webserver_url,
        "trigger",
        "--job",
        "greeting_job",
        "--config",
        str(config_file),
        # Deep-merged over the file: only `fail` changes, `name` still comes from the file.
        "--config-json",
        json.dumps({"ops": {"make_greeting": {"config": {"fail": False}}}}),
        "--tag",
        "team=ops",
    )
    assert triggered.returncode == 0, triggered.stderr
    run_id = triggered.stdout.strip()
    assert RUN_ID.match(run_id), triggered.stdout
    assert f"{webserver_url}/runs/{run_id}" in triggered.stderr
    assert run_tags(webserver_url, run_id)["team"] == "ops"

    watched = run_module(webserver_url, "watch", run_id, "--poll-interval", "0.3", "--timeout", WATCH_TIMEOUT)
    assert watched.returncode == 0, f"{watched.stdout}\n{watched.stderr}"
    out = watched.stdout
    assert [line.split()[2] for line in event_lines(out, "STEP_START")] == ["make_greeting", "shout"]
    assert [line.split()[2] for line in event_lines(out, "STEP_SUCCESS")] == ["make_greeting", "shout"]
    assert "greeting: hello ada" in out and "shouted: HELLO ADA" in out
    # Events arrive in order and the stream ends with the run's last event, then the status.
    lines = out.splitlines()
    assert lines[0].split()[1] == "RUN_ENQUEUED"
    assert event_lines(out, "RUN_SUCCESS")
    assert lines[-1] == f"run {run_id} SUCCESS"


def test_failing_op_exits_with_1_and_shows_the_error(webserver_url: str) -> None:
    config = {"ops": {"make_greeting": {"config": {"name": "bob", "fail": True}}}}
    code, out = invoke(
        webserver_url,
        "trigger",
        "--job",
        "greeting_job",
        "--config-json",
        json.dumps(config),
        *WATCH_ARGS,
    )
    assert code == 1, out
    [failure] = event_lines(out, "STEP_FAILURE")
    assert "make_greeting" in failure and "ValueError: refusing to greet bob" in failure
    assert event_lines(out, "RUN_FAILURE")
    assert out.splitlines()[-1].endswith(" FAILURE")


def trigger_and_watch(url: str, selection: str, *args: str) -> tuple[str, str]:
    """Launch ``selection`` and follow it to success; (run id, output)."""
    code, out = invoke(url, "trigger", "--select", selection, *args, *WATCH_ARGS)
    assert code == 0, out
    return out.splitlines()[0], out


def run_job_name(url: str, run_id: str) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { jobName } } }"
    return str(graphql(url, query, {"id": run_id})["runOrError"]["jobName"])


def latest_materializations(url: str, key: str, fields: str, limit: int) -> list[dict[str, Any]]:
    query = f"""
    query($key: AssetKeyInput!, $limit: Int) {{
      assetOrError(assetKey: $key) {{
        ... on Asset {{ assetMaterializations(limit: $limit) {{ {fields} }} }}
      }}
    }}"""
    data = graphql(url, query, {"key": {"path": key.split("/")}, "limit": limit})
    return list(data["assetOrError"]["assetMaterializations"])


def test_asset_selection_materializes_the_assets(webserver_url: str) -> None:
    run_id, out = trigger_and_watch(webserver_url, "ops_demo/numbers, ops_demo/total")
    materialized = {line.split()[2] for line in event_lines(out, "ASSET_MATERIALIZATION")}
    assert materialized == {"ops_demo__numbers", "ops_demo__total"}
    assert "total of [1, 2, 3] is 6" in out
    assert latest_materializations(webserver_url, "ops_demo/total", "runId", 1) == [{"runId": run_id}]
    # The smallest named job holding both assets ran them, not Dagster's implicit asset job.
    assert run_job_name(webserver_url, run_id) == "totals_job"


def test_partition_goes_to_the_run_as_the_partition_tag(webserver_url: str) -> None:
    run_id, out = trigger_and_watch(webserver_url, "ops_demo/letter", "--partition", "b")
    assert run_tags(webserver_url, run_id)["dagster/partition"] == "b"
    assert "letter partition b" in out
    assert latest_materializations(webserver_url, "ops_demo/letter", "partition", 5) == [{"partition": "b"}]
    assert run_job_name(webserver_url, run_id) == "ops_demo_job"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--job", "no_such_job"), "no job 'no_such_job'"),
        (
            ("--job", "greeting_job", "--config-json", '{"ops": {"make_greeting": {"config": {"name": 3}}}}'),
            "invalid run config for greeting_job:\n  Invalid scalar at path root:ops:make_greeting:config",
        ),
        (("--job", "greeting_job"), 'Missing required config entry "ops"'),
        (("--select", "ops_demo/numbers,ops_demo/nope"), "no asset ops_demo/nope on"),
        (("--select", "ops_demo/letter"), "ops_demo/letter is partitioned: give a partition key"),
        (
            ("--select", "ops_demo/letter", "--partition", "z"),
            "ops_demo/letter has no partition 'z'; known partitions: a, b",
        ),
        (("--select", "loose/orphan"), "no job on http://127.0.0.1:"),
    ],
)
def test_server_errors_become_clear_messages(webserver_url: str, args: tuple[str, ...], message: str) -> None:
    runs_before = graphql(webserver_url, "{ runsOrError { ... on Runs { count } } }")
    code, out = invoke(webserver_url, "trigger", *args)
    assert code == 1
    assert message in out
    assert "Traceback" not in out
    # A refused launch leaves no run behind.
    assert graphql(webserver_url, "{ runsOrError { ... on Runs { count } } }") == runs_before


def test_unreachable_webserver_and_unknown_run(webserver_url: str) -> None:
    code, out = invoke(f"http://127.0.0.1:{free_port()}", "watch", "some-run")
    assert code == 1 and "no Dagster webserver answers at" in out
    code, out = invoke(webserver_url, "watch", "00000000-0000-0000-0000-000000000000")
    assert code == 1 and "RunNotFoundError" in out


def test_ui_url_is_the_setting_and_webserver_url_its_deprecated_alias(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(settings.UI_URL_VAR, raising=False)
    monkeypatch.setenv(settings.WEBSERVER_URL_VAR, "http://old:3000/")
    assert settings.ui_url() == "http://old:3000"
    monkeypatch.setenv(settings.UI_URL_VAR, "http://new:3000")
    assert settings.ui_url() == "http://new:3000"
    assert settings.run_url("http://new:3000/", "abc") == "http://new:3000/runs/abc"
