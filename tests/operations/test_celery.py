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

from brainstar.cli.local_dagster import background_process
from brainstar.core import settings
from platform_assets.operations.celery import (
    DEFAULT_QUEUE,
    EXECUTOR_NAME,
    QUEUE_TAG,
    build_celery_executor,
    queue_for_pool,
    queue_op_tags,
    stock_executor_config,
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
        ("no-such-pool", DEFAULT_QUEUE),
    ],
)
def test_each_pool_has_its_queue(pool: str, queue: str) -> None:
    assert queue_for_pool(pool) == queue
    assert queue_op_tags(pool) == {QUEUE_TAG: queue}


def test_every_pooled_asset_is_tagged_with_its_pools_queue() -> None:
    """dagster-celery routes by the op tag only: an asset whose tag disagrees with its pool would
    run on a worker sized for another pool."""
    from platform_assets.definitions import defs

    asset_graph = defs.get_repository_def().asset_graph
    routed = {}
    for key in asset_graph.materializable_asset_keys:
        assets_def = asset_graph.get(key).assets_def
        pool = assets_def.op.pool
        if pool is not None:
            routed[key.to_user_string()] = (assets_def.op.tags.get(QUEUE_TAG), queue_for_pool(pool))
    assert routed, "no asset declares a pool"
    assert {key: tag for key, (tag, queue) in routed.items() if tag != queue} == {}


def test_broker_and_backend_default_to_the_local_redis_and_follow_the_environment() -> None:
    local = settings.DEFAULT_CELERY_BROKER
    assert settings.celery_broker({}) == settings.celery_broker({settings.CELERY_BROKER_VAR: ""}) == local
    assert settings.celery_backend({}) == local
    only_broker = {settings.CELERY_BROKER_VAR: "redis://broker:6379/1"}
    assert settings.celery_backend(only_broker) == "redis://broker:6379/1"
    both = {**only_broker, settings.CELERY_BACKEND_VAR: "redis://results:6379/2"}
    assert (settings.celery_broker(both), settings.celery_backend(both)) == (
        "redis://broker:6379/1",
        "redis://results:6379/2",
    )


def test_run_config_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.CELERY_BROKER_VAR, "redis://env:6379/1")
    monkeypatch.delenv(settings.CELERY_BACKEND_VAR, raising=False)
    from_env = stock_executor_config({"retries": {"enabled": {}}, "include": None})
    assert from_env == {
        "broker": "redis://env:6379/1",
        "backend": "redis://env:6379/1",
        "retries": {"enabled": {}},
    }
    given = stock_executor_config({"broker": "redis://run:6379/2", "backend": "redis://res:6379/3"})
    assert (given["broker"], given["backend"]) == ("redis://run:6379/2", "redis://res:6379/3")


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
        "import dagster as dg\n"
        "from platform_assets.operations import celery, executors\n"
        "assert executors.executor_from_env({}) is dg.multi_or_in_process_executor\n"
        "try:\n"
        "    executors.executor_from_env({'BRAINSTAR_EXECUTOR': 'celery'})\n"
        "except RuntimeError as error:\n"
        "    assert 'celery extra' in str(error), error\n"
        "else:\n"
        "    raise AssertionError('the celery executor was built without dagster-celery')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_executor_is_dagster_celerys_own() -> None:
    import dagster_celery.app

    executor_def = build_celery_executor()
    assert executor_def.name == EXECUTOR_NAME

    @dg.job(executor_def=executor_def)
    def probe() -> None:
        """No ops: only the executor's run config is resolved."""

    run_config = {"execution": {"config": {"broker": "redis://run:6379/2"}}}
    resolved = dg.validate_run_config(probe, run_config)["execution"][EXECUTOR_NAME]
    assert resolved["broker"] == "redis://run:6379/2" and resolved["retries"] == {"enabled": {}}
    # The app workers run is dagster-celery's own worker app, and it reads the same settings.
    from platform_assets.operations import celery_app

    assert celery_app.app is dagster_celery.app.app
    assert (celery_app.app.conf.broker_url, celery_app.app.conf.result_backend) == (
        settings.celery_broker(),
        settings.celery_backend(),
    )


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
        settings.CELERY_BROKER_VAR: celery_redis_url,
        settings.CELERY_BACKEND_VAR: celery_redis_url,
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
    # dagster-celery's own log line names the queue each step went to.
    assert 'Submitting celery task for step "heavy_step" to queue "heavy".' in messages


def _failure_report(result: dg.JobExecutionResult, logs: dict[str, Path]) -> str:
    failures = [str(event.event_specific_data) for event in result.all_events if event.is_failure]
    tails = "\n".join(f"--- {name}\n{log.read_text()[-3000:]}" for name, log in logs.items())
    return "\n".join([*failures, tails])
