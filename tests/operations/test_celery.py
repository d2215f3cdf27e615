"""Celery scale-out: pools become queues, and a run's steps execute on two real workers.

The end-to-end test needs the ``celery`` extra and the Redis named by
BRAINSTAR_TEST_REDIS_URL; it fails in CI (CI=true) when either is missing and is skipped
elsewhere. It uses a Redis database of its own and flushes it before and after.
"""

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import pytest

from brainstar.core.processes import background_process
from platform_assets.operations.celery import (
    BACKEND_ENV,
    BROKER_ENV,
    DEFAULT_QUEUE,
    LOCAL_REDIS,
    QUEUE_TAG,
    celery_settings,
    queue_for_pool,
    queue_op_tags,
    step_queue,
    worker_commands,
)
from tests.conftest import REPO_ROOT, subprocess_env

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Other tests share the server; this database is this module's alone.
CELERY_TEST_DB = 13
WORKER_READY_SECONDS = 60.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


# -- pools to queues (no broker needed) ----------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "queue"),
    [
        ("heavy", "heavy"),
        ("processing", "processing"),
        ("bids", "bids"),
        ("gpu", "gpu"),
        (None, DEFAULT_QUEUE),
    ],
)
def test_each_pool_has_its_queue(pool: str | None, queue: str) -> None:
    assert queue_for_pool(pool) == queue
    assert step_queue({}, pool) == queue


def test_unknown_pool_goes_to_the_default_queue_and_an_explicit_tag_wins() -> None:
    assert queue_for_pool("no-such-pool") == DEFAULT_QUEUE
    assert step_queue({QUEUE_TAG: "gpu"}, "heavy") == "gpu"
    assert queue_op_tags("heavy") == {QUEUE_TAG: "heavy"}


def test_settings_default_to_the_local_redis_and_follow_the_environment() -> None:
    assert celery_settings({}) == celery_settings({BROKER_ENV: ""})
    assert celery_settings({}).broker == LOCAL_REDIS == celery_settings({}).backend
    only_broker = celery_settings({BROKER_ENV: "redis://broker:6379/1"})
    assert only_broker.backend == "redis://broker:6379/1"
    both = celery_settings({BROKER_ENV: "redis://broker:6379/1", BACKEND_ENV: "redis://results:6379/2"})
    assert (both.broker, both.backend) == ("redis://broker:6379/1", "redis://results:6379/2")


def test_one_worker_per_pool_with_the_pool_limit_as_concurrency() -> None:
    by_name = {command.name: command for command in worker_commands(gpu_count=2)}
    assert {name: (cmd.queues, cmd.concurrency) for name, cmd in by_name.items()} == {
        "heavy": (("heavy",), 1),
        "processing": (("processing",), 2),
        "bids": (("bids",), 4),
        "gpu": (("gpu",), 2),
        DEFAULT_QUEUE: ((DEFAULT_QUEUE,), 2),
    }
    assert by_name["heavy"].shell() == (
        "celery -A platform_assets.operations.celery_app worker -Q heavy --concurrency 1"
        " -n heavy@%h --loglevel INFO"
    )


def test_procfile_lists_the_worker_commands() -> None:
    procfile = (REPO_ROOT / "deploy" / "celery" / "Procfile").read_text().splitlines()
    entries = [line for line in procfile if line and not line.startswith("#")]
    assert entries == [f"{command.name}: {command.shell()}" for command in worker_commands(gpu_count=1)]


def test_code_location_loads_without_the_extra() -> None:
    # None in sys.modules makes an import fail, as if the extra were not installed.
    script = (
        "import sys\n"
        "sys.modules.update(dagster_celery=None, celery=None)\n"
        "from platform_assets.operations.celery import celery_executor\n"
        "import dagster as dg\n"
        "from tests.operations.celery_job import celery_probe_job\n"
        "assert celery_probe_job.executor_def is celery_executor\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]


# -- two real workers ----------------------------------------------------------------------


@pytest.fixture
def celery_redis_url() -> Iterator[str]:
    """A Redis database of this module's own, empty before and after the test."""
    if importlib.util.find_spec("dagster_celery") is None:
        _unavailable("the celery extra is not installed (pip install -e '.[celery]')")
    import redis

    base = os.environ.get("BRAINSTAR_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    url = urlparse(base)._replace(path=f"/{CELERY_TEST_DB}").geturl()
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        _unavailable(f"no Redis at {base}: {error}")
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def _worker(name: str, queues: list[str]) -> list[str]:
    # --pool=solo runs each task in the worker process itself, so a step's PID is the worker's.
    # Gossip, mingle and heartbeats only slow start-up and stop of a throwaway worker.
    return [
        "celery",
        "-A",
        "platform_assets.operations.celery_app",
        "worker",
        "--pool=solo",
        "-Q",
        ",".join(queues),
        "-n",
        f"{name}@%h",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def _wait_for_workers(
    broker: str, names: set[str], workers: list[subprocess.Popen[bytes]], logs: list[Path]
) -> None:
    from celery import Celery

    probe = Celery(broker=broker)
    deadline = time.monotonic() + WORKER_READY_SECONDS
    answered: set[str] = set()
    while time.monotonic() < deadline:
        for worker, log in zip(workers, logs, strict=True):
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.returncode}:\n{log.read_text()[-4000:]}")
        for reply in probe.control.ping(timeout=1.0):
            answered.update(hostname.split("@", 1)[0] for hostname in reply)
        if names <= answered:
            probe.close()
            return
    probe.close()
    tails = "\n".join(log.read_text()[-2000:] for log in logs)
    raise TimeoutError(f"workers {sorted(names - answered)} did not answer a ping:\n{tails}")


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(150)
def test_steps_run_on_two_workers_and_follow_their_pools(
    celery_redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.operations.celery_job import SHARED_STEPS, celery_probe_job

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        "DAGSTER_HOME": str(home),
        BROKER_ENV: celery_redis_url,
        BACKEND_ENV: celery_redis_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    worker_env = subprocess_env({**env, "PYTHONPATH": str(REPO_ROOT)})

    # Both workers read the shared queue; each also reads one queue the other does not.
    queues = {"alpha": [DEFAULT_QUEUE, "bids", "heavy"], "beta": [DEFAULT_QUEUE, "bids", "processing"]}
    logs = {name: tmp_path / f"worker-{name}.log" for name in queues}
    with (
        background_process(
            _worker("alpha", queues["alpha"]), env=worker_env, cwd=REPO_ROOT, log_path=logs["alpha"]
        ) as alpha,
        background_process(
            _worker("beta", queues["beta"]), env=worker_env, cwd=REPO_ROOT, log_path=logs["beta"]
        ) as beta,
    ):
        _wait_for_workers(celery_redis_url, set(queues), [alpha, beta], list(logs.values()))
        pids = {alpha.pid: "alpha", beta.pid: "beta"}

        with (
            dg.DagsterInstance.get() as instance,
            dg.execute_job(dg.reconstructable(celery_probe_job), instance=instance) as result,
        ):
            assert result.success, _failure_report(result, logs)
            messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
            where: dict[str, dict[str, Any]] = {
                node: result.output_for_node(node)
                for node in [*SHARED_STEPS, "heavy_step", "processing_step", "pinned_step"]
            }

    ran_in = {node: pids.get(place["pid"]) for node, place in where.items()}
    assert None not in ran_in.values(), f"steps ran outside the two workers: {where} vs {pids}"
    # The worker name a step saw agrees with the process it ran in.
    for node, place in where.items():
        assert place["worker"].split("@", 1)[0] == ran_in[node], (node, place)

    # The shared queue was drained by both workers...
    assert {ran_in[node] for node in SHARED_STEPS} == {"alpha", "beta"}, ran_in
    # ...and each pool's step went to the only worker reading that pool's queue.
    assert ran_in["heavy_step"] == "alpha", ran_in
    assert ran_in["processing_step"] == "beta", ran_in
    # The explicit queue tag beat the step's pool (bids, which both workers read).
    assert ran_in["pinned_step"] == "alpha", ran_in
    # The run's log says where a pool sent a step (dagster-celery's own line names only the tag's queue).
    assert 'Step "heavy_step" in pool "heavy" submitted to Celery queue "heavy".' in messages


def _failure_report(result: dg.JobExecutionResult, logs: dict[str, Path]) -> str:
    failures = [str(event.event_specific_data) for event in result.all_events if event.is_failure]
    tails = "\n".join(f"--- {name}\n{log.read_text()[-3000:]}" for name, log in logs.items())
    return "\n".join([*failures, tails])
