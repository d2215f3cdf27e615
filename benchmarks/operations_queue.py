"""Operations: N small partition runs through the run queue and the daemon, with the pools in force.

A temporary DAGSTER_HOME with the local instance (deploy/local/dagster.yaml: QueuedRunCoordinator,
``max_concurrent_runs: 4``, op-granularity pools) and the pool limits of ``brainstar pools apply``.
A dagster-webserver and a dagster-daemon serve ``benchmarks/_queue_location.py``: one asset in
the ``processing`` pool (limit 2) with N dynamic partitions, whose step sleeps 0.1 s.

The N runs are enqueued through the webserver's GraphQL ``launchMultipleRuns`` (what the UI and
``brainstar trigger`` use; 100 runs a request), so each goes through the instance's run
coordinator into the queue, and the daemon launches them, one process per run, as in production.
A `dagster job launch` per run would cost an interpreter start each, and creating runs through
the Python API needs Dagster's private workspace classes.

Reference, in the same run: the same N partitions materialized one after the other with
``dg.materialize`` in this process, on the same instance (same SQLite storage, same pool
claims), with no queue, daemon or run process. Ratio = queue drain time / reference time.

A third path, when a Redis broker answers (``BRAINSTAR_BENCH_CELERY_BROKER``, default
``redis://127.0.0.1:6379/14``): the same queue and daemon, with dagster-celery's
``CeleryRunLauncher`` in the instance, so each run executes in an already running prefork Celery
worker (``celery -A dagster_celery.app worker``, concurrency 4) instead of a fresh interpreter that
imports Dagster (~1 s on this machine) and the code location first.

``BRAINSTAR_BENCH_QUEUE_RUNS`` sets N (default 1,000).
"""

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import requests

from benchmarks._queue_location import JOB_NAME, LOCATION_NAME, PARTITIONS, WORK_SECONDS, queue_item
from benchmarks.harness import Table
from brainstar.cli.local_dagster import background_process, dagster_server, prepare_local_instance
from brainstar.core.pools import PROCESSING, pool_limits

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
LOCATION_FILE = Path(__file__).with_name("_queue_location.py")
RUNS_ENV = "BRAINSTAR_BENCH_QUEUE_RUNS"
DEFAULT_RUNS = 1000
# The local config says 5 s (Dagster's default); at 1 s the queue, not the poll, sets the pace.
DEQUEUE_INTERVAL_SECONDS = 1
LAUNCH_BATCH = 100
REPOSITORY_NAME = "__repository__"  # what a Definitions object's repository is called
PARTITION_TAG = "dagster/partition"
TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")
CELERY_BROKER_ENV = "BRAINSTAR_BENCH_CELERY_BROKER"
DEFAULT_CELERY_BROKER = "redis://127.0.0.1:6379/14"  # a database of its own: the bench leaves others alone
RUN_QUEUE = "brainstar_runs"  # the Celery queue the run launcher sends runs to
CELERY_RUN_WORKERS = 4  # = max_concurrent_runs of the local instance
# The run processes' console logs go to their own files; the reference's would flood the table.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

_LAUNCH = """
mutation($params: [ExecutionParams!]!) {
  launchMultipleRuns(executionParamsList: $params) {
    __typename
    ... on LaunchMultipleRunsResult {
      launchMultipleRunsResult {
        __typename
        ... on LaunchRunSuccess { run { runId } }
        ... on Error { message }
      }
    }
    ... on PythonError { message }
  }
}"""


@dataclass(frozen=True)
class RunTimes:
    """Epoch seconds from one run's event log."""

    status: str
    launched: float  # RUN_STARTING: the daemon handed the run to the launcher
    step_start: float
    step_end: float
    end: float  # RUN_SUCCESS / RUN_FAILURE

    @property
    def step(self) -> float:
        return self.step_end - self.step_start

    @property
    def wall(self) -> float:
        return self.end - self.launched


@dataclass(frozen=True)
class QueueResult:
    enqueue_seconds: float
    drain_seconds: float  # first launch request -> last run terminal
    runs: list[RunTimes]
    peak_steps: int


@dataclass(frozen=True)
class ReferenceResult:
    total_seconds: float
    call_seconds: list[float]
    step_seconds: list[float]
    peak_steps: int


def run_count() -> int:
    count = int(os.environ.get(RUNS_ENV, DEFAULT_RUNS))
    if count < 1:
        raise ValueError(f"{RUNS_ENV} must be at least 1, not {count}")
    return count


def run() -> Table:
    n = run_count()
    load_before = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="brainstar-queue-bench-"))
    broker = os.environ.get(CELERY_BROKER_ENV, DEFAULT_CELERY_BROKER)
    celery: QueueResult | str
    try:
        home, workspace = prepare_instance(root / "process", n)
        queue = measure_queue(root / "process", home, workspace, n)
        reference = measure_reference(home, n)
        celery = broker_problem(broker) or measure_celery_queue(root / "celery", n, broker)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return render(n, queue, reference, celery, load_before, os.getloadavg()[0])


def broker_problem(broker: str) -> str | None:
    """Why the Celery path cannot run (no Redis answering at ``broker``), or None."""
    import redis

    try:
        redis.Redis.from_url(broker, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"Celery run-launcher path not measured: no Redis at {broker} ({error})"
    return None


def measure_celery_queue(root: Path, n: int, broker: str) -> QueueResult:
    """The queue path with dagster-celery's CeleryRunLauncher and one warm prefork worker pool."""
    import yaml

    home, workspace = prepare_instance(root, n)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    config["run_launcher"] = {
        "module": "dagster_celery.launcher",
        "class": "CeleryRunLauncher",
        "config": {"default_queue": RUN_QUEUE, "broker": broker, "backend": broker},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    worker = [
        "celery", "-A", "dagster_celery.app", "-b", broker, "--result-backend", broker, "worker",
        "-Q", RUN_QUEUE, "--concurrency", str(CELERY_RUN_WORKERS), "--prefetch-multiplier=1",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    return measure_queue(root, home, workspace, n, worker)


def prepare_instance(root: Path, n: int) -> tuple[Path, Path]:
    home, workspace = prepare_local_instance(
        root, LOCATION_FILE, LOCATION_NAME, dequeue_interval_seconds=DEQUEUE_INTERVAL_SECONDS
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(PARTITIONS.name or "", partition_keys(n))
    applied = subprocess.run(
        [str(VENV_BIN / "brainstar"), "pools", "apply", "--gpus", "1"],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    expected = " ".join(f"{pool}={limit}" for pool, limit in pool_limits(1).items())
    if applied.returncode != 0 or applied.stdout.strip() != expected:
        raise RuntimeError(f"brainstar pools apply failed:\n{applied.stdout}\n{applied.stderr}")
    return home, workspace


def partition_keys(n: int) -> list[str]:
    return [f"p{index:05d}" for index in range(n)]


def measure_queue(
    root: Path, home: Path, workspace: Path, n: int, worker: Sequence[str] | None = None
) -> QueueResult:
    """Enqueue N runs through the webserver and wait for the daemon to drain them; ``worker`` is a
    command run beside them for the whole time (the Celery workers of the run-launcher path)."""
    env = _env(home)
    webserver = ["dagster-webserver", "-w", str(workspace)]
    daemon = ["dagster-daemon", "run", "-w", str(workspace)]
    workers = (
        background_process(worker, env=env, cwd=REPO_ROOT, log_path=root / "worker.log")
        if worker
        else contextlib.nullcontext()
    )
    with (
        workers,
        dagster_server(webserver, env=env, log_path=root / "webserver.log") as url,
        background_process(daemon, env=env, cwd=REPO_ROOT, log_path=root / "daemon.log") as daemon_process,
    ):
        _wait_until_ready(url, root / "webserver.log")
        started = time.time()
        run_ids = enqueue(url, partition_keys(n))
        enqueue_seconds = time.time() - started
        with dg.DagsterInstance.from_config(str(home)) as instance:
            _wait_for_terminal(instance, run_ids, daemon_process, root / "daemon.log")
            runs = [_run_times(instance, run_id) for run_id in run_ids]
    drain = max(r.end for r in runs) - started
    return QueueResult(enqueue_seconds, drain, runs, peak_overlap([(r.step_start, r.step_end) for r in runs]))


def enqueue(url: str, keys: Sequence[str]) -> list[str]:
    """Launch one run per partition key through the webserver; the run coordinator queues each."""
    selector = {
        "repositoryLocationName": LOCATION_NAME,
        "repositoryName": REPOSITORY_NAME,
        "jobName": JOB_NAME,
    }
    run_ids: list[str] = []
    for offset in range(0, len(keys), LAUNCH_BATCH):
        params = [
            {"selector": selector, "executionMetadata": {"tags": [{"key": PARTITION_TAG, "value": key}]}}
            for key in keys[offset : offset + LAUNCH_BATCH]
        ]
        reply = _graphql(url, _LAUNCH, {"params": params})["launchMultipleRuns"]
        if reply["__typename"] != "LaunchMultipleRunsResult":
            raise RuntimeError(f"launchMultipleRuns failed: {reply.get('message')}")
        for result in reply["launchMultipleRunsResult"]:
            if result["__typename"] != "LaunchRunSuccess":
                raise RuntimeError(f"a launch was refused ({result['__typename']}): {result.get('message')}")
            run_ids.append(result["run"]["runId"])
    return run_ids


def measure_reference(home: Path, n: int) -> ReferenceResult:
    call_seconds: list[float] = []
    run_ids: list[str] = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        started = time.perf_counter()
        for key in partition_keys(n):
            call_start = time.perf_counter()
            result = dg.materialize([queue_item], partition_key=key, instance=instance, run_config=_QUIET)
            call_seconds.append(time.perf_counter() - call_start)
            if not result.success:
                raise RuntimeError(f"reference materialization of {key} failed")
            run_ids.append(result.run_id)
        total = time.perf_counter() - started
        steps = [_step_interval(instance, run_id) for run_id in run_ids]
    return ReferenceResult(total, call_seconds, [end - start for start, end in steps], peak_overlap(steps))


def peak_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """Most intervals open at one instant; an interval ending when another starts does not overlap it."""
    # At equal times -1 sorts before +1, so a slot handed straight on is not counted twice.
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = current = 0
    for _, change in edges:
        current += change
        peak = max(peak, current)
    return peak


def _queue_row(table: Table, path: str, n: int, queue: QueueResult, reference: ReferenceResult) -> None:
    # Per run: the daemon's launch until the run's last event, less the step itself; this is what
    # the queue path adds (process start, imports, code load, run bookkeeping, dequeue handoff).
    table.add(
        path,
        f"{sum(r.status == 'SUCCESS' for r in queue.runs)}/{n}",
        queue.enqueue_seconds,
        queue.drain_seconds,
        n / queue.drain_seconds * 60,
        queue.peak_steps,
        statistics.mean(r.step for r in queue.runs) * 1e3,
        statistics.mean(r.wall - r.step for r in queue.runs) * 1e3,
        queue.drain_seconds / reference.total_seconds,
    )


def render(
    n: int,
    queue: QueueResult,
    reference: ReferenceResult,
    celery: QueueResult | str,
    load_before: float,
    load_after: float,
) -> Table:
    reference_overhead = statistics.mean(reference.call_seconds) - statistics.mean(reference.step_seconds)
    limit = pool_limits(1)[PROCESSING]
    table = Table(
        f"operations: {n:,} partition runs through the run queue vs one process",
        [
            "path",
            "runs ok",
            "enqueue (s)",
            "done (s)",
            "runs/min",
            f"peak steps in {PROCESSING} (limit {limit})",
            "mean step (ms)",
            "overhead / run (ms)",
            "time / reference",
        ],
    )
    _queue_row(
        table, "queue: webserver -> QueuedRunCoordinator -> daemon, 1 process/run", n, queue, reference
    )
    if isinstance(celery, QueueResult):
        _queue_row(table, "queue -> daemon -> CeleryRunLauncher -> warm prefork worker", n, celery, reference)
    table.add(
        "reference: dg.materialize per partition, one process, no queue",
        f"{n}/{n}",
        "-",
        reference.total_seconds,
        n / reference.total_seconds * 60,
        reference.peak_steps,
        statistics.mean(reference.step_seconds) * 1e3,
        reference_overhead * 1e3,
        1.0,
    )
    first_launch = min(r.launched for r in queue.runs)
    launches = sorted(r.launched - first_launch for r in queue.runs)
    walls = sorted(r.wall for r in queue.runs)
    # Runs in flight on average: below the pool limit means something other than the pool paces the queue.
    in_flight = sum(walls) / queue.drain_seconds
    throughput_cost = (queue.drain_seconds - reference.total_seconds) / n
    table.notes.extend(
        [
            f"N = {n:,} ({RUNS_ENV}); step = sleep {WORK_SECONDS} s; in-process executor; "
            "SQLite instance from deploy/local/dagster.yaml (max_concurrent_runs 4, pools granularity op) "
            f"with "
            f"dequeue_interval_seconds {DEQUEUE_INTERVAL_SECONDS} (local config: 5); pools from "
            "`brainstar pools apply --gpus 1`.",
            f"done = first launch request until the last run's RUN_SUCCESS (the daemon drains while "
            f"runs are still being enqueued, {LAUNCH_BATCH} per GraphQL launchMultipleRuns request).",
            "overhead / run: queue = mean(RUN_STARTING -> run end) - mean step; reference = mean "
            "materialize() call - mean step. Peak steps from STEP_START/STEP_SUCCESS in the event log.",
            f"queue: run wall (RUN_STARTING -> end) mean {statistics.mean(walls):.2f} s, p95 "
            f"{_percentile(walls, 0.95):.2f} s; {in_flight:.2f} runs in flight on average "
            f"(pool limit {limit}, max_concurrent_runs 4); one launch every "
            f"{launches[-1] / max(1, n - 1):.2f} s; wall time added per run against the reference "
            f"(done - reference) / N = {throughput_cost * 1e3:,.0f} ms.",
            celery
            if isinstance(celery, str)
            else f"CeleryRunLauncher: runs go to Celery queue {RUN_QUEUE} on the broker, "
            f"{CELERY_RUN_WORKERS} prefork worker processes (celery -A dagster_celery.app) execute them; "
            "the worker imports Dagster and the code location once, not per run.",
            f"Machine: {os.cpu_count()} cores, load average {load_before:.1f} before / "
            f"{load_after:.1f} after (shared with other work: the ratio, not the seconds, is the result).",
        ]
    )
    return table


def _wait_until_ready(url: str, log_path: Path, timeout: float = 120.0) -> None:
    """Wait for the code location in the webserver and a queue heartbeat from the daemon.

    Otherwise the daemon's start-up (its own code server) would be counted as queue time.
    """
    query = """{
      repositoriesOrError { ... on RepositoryConnection { nodes { name } } }
      instance { daemonHealth { daemonStatus(daemonType: "QUEUED_RUN_COORDINATOR") { healthy } } }
    }"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = _graphql(url, query)
        if (
            data["repositoriesOrError"].get("nodes")
            and data["instance"]["daemonHealth"]["daemonStatus"]["healthy"]
        ):
            return
        time.sleep(0.5)
    raise TimeoutError(f"code location or daemon not ready after {timeout:.0f} s:\n{_tail(log_path)}")


def _wait_for_terminal(
    instance: dg.DagsterInstance, run_ids: Sequence[str], daemon: subprocess.Popen[bytes], daemon_log: Path
) -> None:
    # Generous: several seconds per run on a loaded two-core machine, never unbounded.
    deadline = time.monotonic() + 300 + 10 * len(run_ids)
    terminal = [dg.DagsterRunStatus[status] for status in TERMINAL]
    while time.monotonic() < deadline:
        done = instance.get_runs_count(dg.RunsFilter(run_ids=list(run_ids), statuses=terminal))
        if done == len(run_ids):
            return
        if daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited with {daemon.returncode}:\n{_tail(daemon_log)}")
        time.sleep(1)
    raise TimeoutError(f"{len(run_ids) - done} of {len(run_ids)} runs not finished:\n{_tail(daemon_log)}")


def _run_times(instance: dg.DagsterInstance, run_id: str) -> RunTimes:
    kinds = {
        dg.DagsterEventType.RUN_STARTING,
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.RUN_SUCCESS,
        dg.DagsterEventType.RUN_FAILURE,
    }
    times = {entry.dagster_event_type: entry.timestamp for entry in instance.all_logs(run_id, of_type=kinds)}
    run = instance.get_run_by_id(run_id)
    step_end = times.get(dg.DagsterEventType.STEP_SUCCESS, times.get(dg.DagsterEventType.STEP_FAILURE))
    end = times.get(dg.DagsterEventType.RUN_SUCCESS, times.get(dg.DagsterEventType.RUN_FAILURE))
    launched = times.get(dg.DagsterEventType.RUN_STARTING)
    step_start = times.get(dg.DagsterEventType.STEP_START)
    if None in (step_end, end, launched, step_start):
        raise RuntimeError(f"run {run_id} ({run.status.value}) is missing events: {sorted(times)}")
    return RunTimes(run.status.value, launched, step_start, step_end, end)  # type: ignore[arg-type]


def _step_interval(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    times = {entry.dagster_event_type: entry.timestamp for entry in instance.all_logs(run_id, of_type=kinds)}
    return times[dg.DagsterEventType.STEP_START], times[dg.DagsterEventType.STEP_SUCCESS]


def _graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=300
    )
    response.raise_for_status()
    body = response.json()
    if "errors" in body:
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return dict(body["data"])


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"
