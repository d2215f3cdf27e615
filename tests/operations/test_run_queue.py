"""Pools and time limits, enforced by a real dagster-daemon with run monitoring.

A second step in the ``heavy`` pool (limit 1, set by ``brainstar pools apply``) waits while
the first runs; a run past its ``dagster/max_runtime`` is failed by run monitoring and its
heavy slot is freed for the next run.
"""

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from brainstar.cli.remote import RunTarget, trigger
from brainstar.core import cleanup
from tests.conftest import VENV_BIN, subprocess_env
from tests.operations.test_remote import dagster_env, graphql, webserver_url  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Using variable_values:DeprecationWarning"),
]

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
HEAVY_JOB = RunTarget(job_name="heavy_job")
# Measured 77 s from kill -9 to the next heavy step: the daemon restarts the code server it lost
# when it reloads its workspace (every 60 s), the dead-worker sensor (every second here) then fails
# the run (63 s), and run monitoring frees the slot free_slots_after_run_end_seconds (10) later.
RECOVERY_SECONDS = 120


def run_status(url: str, run_id: str) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    return graphql(url, query, {"id": run_id})["runOrError"]["status"]


def wait_for_end(url: str, run_ids: list[str], timeout: float = 120.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = {run_id: run_status(url, run_id) for run_id in run_ids}
        if set(statuses.values()) <= TERMINAL:
            return statuses
        time.sleep(1)
    raise TimeoutError(f"runs still going after {timeout:.0f} s: {statuses}")


@pytest.fixture(scope="module")
def heavy_pool_of_one(dagster_env: dict[str, str]) -> None:  # noqa: F811
    result = subprocess.run(
        [str(VENV_BIN / "brainstar"), "pools", "apply", "--gpus", "1"],
        env=subprocess_env({"DAGSTER_HOME": dagster_env["DAGSTER_HOME"]}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["heavy=1", "processing=2", "bids=4", "gpu=1"]


@dataclass(frozen=True)
class HeavyQueue:
    """The module's webserver and instance, with the heavy pool limited to one slot."""

    url: str
    home: str


@pytest.fixture
def heavy_queue(
    webserver_url: str,  # noqa: F811
    dagster_env: dict[str, str],  # noqa: F811
    heavy_pool_of_one: None,
) -> HeavyQueue:
    return HeavyQueue(url=webserver_url, home=dagster_env["DAGSTER_HOME"])


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def heavy_intervals(log: Path) -> list[tuple[float, float]]:
    lines = [line.split() for line in log.read_text().splitlines()]
    starts = sorted(float(t) for kind, t in lines if kind == "start")
    ends = sorted(float(t) for kind, t in lines if kind == "end")
    return list(zip(starts, ends, strict=True))


def test_second_heavy_step_waits_while_the_first_runs(heavy_queue: HeavyQueue, tmp_path: Path) -> None:
    log = tmp_path / "heavy.log"
    config = {"ops": {"heavy_step": {"config": {"log": str(log), "seconds": 3.0}}}}
    runs = [trigger(heavy_queue.url, HEAVY_JOB, run_config=config) for _ in range(2)]

    assert set(wait_for_end(heavy_queue.url, runs).values()) == {"SUCCESS"}
    (_, first_end), (second_start, _) = heavy_intervals(log)
    assert second_start >= first_end, "the second heavy step started while the first held the only slot"
    with dg.DagsterInstance.from_config(heavy_queue.home) as instance:
        assert instance.event_log_storage.get_concurrency_info("heavy").slot_count == 1


def test_hung_run_is_failed_at_its_time_limit_and_frees_its_slot(
    heavy_queue: HeavyQueue, tmp_path: Path
) -> None:
    started = time.monotonic()
    hung = trigger(
        heavy_queue.url, RunTarget(job_name="hanging_job")
    )  # dagster/max_runtime = 4 s; the op sleeps 600 s
    status = wait_for_end(heavy_queue.url, [hung], timeout=90)[hung]
    assert status in {"FAILURE", "CANCELED"}
    assert time.monotonic() - started < 90
    with dg.DagsterInstance.from_config(heavy_queue.home) as instance:
        messages = [entry.message for entry in instance.all_logs(hung)]
    assert any("maximum runtime" in message for message in messages), messages[-5:]

    # The hung step's heavy slot is free again: the next heavy run gets it and finishes.
    log = tmp_path / "after.log"
    config = {"ops": {"heavy_step": {"config": {"log": str(log), "seconds": 0.1}}}}
    after = trigger(heavy_queue.url, HEAVY_JOB, run_config=config)
    assert wait_for_end(heavy_queue.url, [after], timeout=90)[after] == "SUCCESS"


def test_a_run_killed_mid_step_is_failed_and_the_next_run_gets_its_slot(
    heavy_queue: HeavyQueue, tmp_path: Path
) -> None:
    """kill -9 of a run worker holding the only heavy slot, and of the code server that launched it
    (the out-of-memory killer taking the process group, a container restart): the run fails naming
    its dead worker, the next heavy run starts within RECOVERY_SECONDS, and the half-written file
    it left is a hidden temporary that the clean-up removes (never a file under the result's name).

    Dagster's code server fails a run whose worker alone was killed, itself, at once; with the
    server gone too nobody did, and the run stayed STARTED holding its slot for ever.
    """
    config = {"ops": {"write_then_wait": {"config": {"folder": str(tmp_path)}}}}
    killed = trigger(heavy_queue.url, RunTarget(job_name="killable_job"), run_config=config)
    pid_file = tmp_path / "worker.pid"
    deadline = time.monotonic() + 90
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the killable step never started"
        time.sleep(0.2)
    worker = int(pid_file.read_text())
    code_server = parent_pid(worker)
    os.kill(code_server, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    killed_at = time.time()

    log = tmp_path / "next.log"
    next_config = {"ops": {"heavy_step": {"config": {"log": str(log), "seconds": 0.1}}}}
    following = trigger(heavy_queue.url, HEAVY_JOB, run_config=next_config)
    statuses = wait_for_end(heavy_queue.url, [killed, following], timeout=120)
    assert statuses == {killed: "FAILURE", following: "SUCCESS"}
    [(next_start, _)] = heavy_intervals(log)
    with dg.DagsterInstance.from_config(heavy_queue.home) as instance:
        messages = [entry.message for entry in instance.all_logs(killed)]
    assert next_start - killed_at < RECOVERY_SECONDS
    assert any("run worker (pid" in message and "is gone" in message for message in messages), messages

    assert not (tmp_path / "result.bin").exists()
    [partial] = cleanup.stale_temporary_files(tmp_path, older_than_seconds=0, now=time.time() + 1)
    assert partial.name.startswith(".result.tmp-")
    cleanup.remove_stale_temporary_files(tmp_path, older_than_seconds=0, now=time.time() + 1)
    assert cleanup.stale_temporary_files(tmp_path, older_than_seconds=0, now=time.time() + 1) == []
