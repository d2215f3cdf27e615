"""Celery scale-out (optional extra ``brainstar[celery]``): the executor and one queue per pool.

A step goes to the Celery queue named after its pool (``heavy`` to ``heavy``, ``gpu`` to
``gpu``, ...), so the assets need no Celery tags: the pool they already declare for the
instance-wide limits also picks the workers that run them. An explicit
``dagster-celery/queue`` op tag still wins; steps without a pool go to dagster-celery's
default queue ``dagster``.

This module imports without the extra: ``dagster_celery`` is imported only when a run
starts with the executor (``celery_app``), so the code location loads everywhere and a
run asks for the extra only where it is used. Workers run ``celery_app`` (see
``deploy/celery/README.md`` and ``worker_commands``).
"""

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from brainstar.core.pools import pool_limits

BROKER_ENV = "BRAINSTAR_CELERY_BROKER"
BACKEND_ENV = "BRAINSTAR_CELERY_BACKEND"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"

# Repeated from dagster_celery (tags.py, defaults.py) so that this module needs no extra.
QUEUE_TAG = "dagster-celery/queue"
DEFAULT_QUEUE = "dagster"
# Steps outside any pool: as many as the instance's pools.default_limit (deploy/local/dagster.yaml).
DEFAULT_QUEUE_CONCURRENCY = 2

WORKER_APP = "platform_assets.operations.celery_app"
POOL_QUEUES: frozenset[str] = frozenset(pool_limits(gpu_count=0))


@dataclass(frozen=True)
class CelerySettings:
    broker: str
    backend: str


def celery_settings(environ: Mapping[str, str] | None = None) -> CelerySettings:
    """Broker and result backend from the environment; the local Redis when unset.

    The result backend must be shared by every worker and the run (``rpc://`` needs AMQP),
    so it defaults to the broker's Redis too.
    """
    env = os.environ if environ is None else environ
    broker = env.get(BROKER_ENV) or LOCAL_REDIS
    return CelerySettings(broker=broker, backend=env.get(BACKEND_ENV) or broker)


def queue_for_pool(pool: str | None) -> str:
    """The Celery queue for steps in ``pool``.

    A pool brainstar does not know (no worker listens on a queue of that name) goes to the
    default queue rather than waiting forever on a queue nobody reads; the instance's pool
    limit still applies to it.
    """
    return pool if pool in POOL_QUEUES else DEFAULT_QUEUE


def step_queue(tags: Mapping[str, str], pool: str | None) -> str:
    """The queue a step is sent to: its explicit queue tag, else its pool's queue."""
    return tags.get(QUEUE_TAG) or queue_for_pool(pool)


def queue_op_tags(pool: str) -> dict[str, str]:
    """Op tags that pin a step to its pool's queue under dagster-celery's own executor.

    Not needed with ``celery_executor`` below, which routes by pool; kept for jobs that use
    ``dagster_celery.celery_executor`` directly.
    """
    return {QUEUE_TAG: queue_for_pool(pool)}


@dataclass(frozen=True)
class WorkerCommand:
    name: str
    queues: tuple[str, ...]
    concurrency: int

    def argv(self, app: str = WORKER_APP) -> list[str]:
        return [
            "celery",
            "-A",
            app,
            "worker",
            "-Q",
            ",".join(self.queues),
            "--concurrency",
            str(self.concurrency),
            "-n",
            f"{self.name}@%h",
            "--loglevel",
            "INFO",
        ]

    def shell(self, app: str = WORKER_APP) -> str:
        return shlex.join(self.argv(app))


def worker_commands(gpu_count: int = 0) -> list[WorkerCommand]:
    """One worker per pool, as concurrent as the pool's limit, plus one for the default queue.

    The pool limit is also enforced by the instance across all runs; matching the worker's
    concurrency to it keeps a worker from holding tasks it may not start.
    """
    commands = [
        WorkerCommand(name=pool, queues=(pool,), concurrency=limit)
        for pool, limit in pool_limits(gpu_count).items()
    ]
    commands.append(
        WorkerCommand(name=DEFAULT_QUEUE, queues=(DEFAULT_QUEUE,), concurrency=DEFAULT_QUEUE_CONCURRENCY)
    )
    return commands


@dg.executor(
    name="celery",
    config_schema={
        "broker": dg.Field(
            dg.Noneable(dg.StringSource),
            is_required=False,
            description=f"Celery broker URL. Default: ${BROKER_ENV}, else {LOCAL_REDIS}.",
        ),
        "backend": dg.Field(
            dg.Noneable(dg.StringSource),
            is_required=False,
            description=f"Celery result backend URL. Default: ${BACKEND_ENV}, else the broker.",
        ),
        "include": dg.Field([str], is_required=False, description="Modules every worker should import."),
        "config_source": dg.Field(
            dg.Noneable(dg.Permissive()),
            is_required=False,
            description="Further settings for the Celery app (must match the workers').",
        ),
        "retries": dg.Field(
            dg.Selector({"enabled": {}, "disabled": {}}),
            default_value={"enabled": {}},
            description="Whether step retries are enabled.",
        ),
    },
    requirements=dg.multiple_process_executor_requirements(),
)
def celery_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """dagster-celery's executor, with broker/backend from the environment and queues from pools."""
    try:
        from platform_assets.operations.celery_app import PoolRoutedCeleryExecutor
    except ImportError as error:
        raise dg.DagsterInvariantViolationError(
            "the Celery executor needs the celery extra: pip install 'brainstar[celery]'"
        ) from error
    config = init_context.executor_config
    settings = celery_settings()
    return PoolRoutedCeleryExecutor.from_config(
        broker=config.get("broker") or settings.broker,
        backend=config.get("backend") or settings.backend,
        include=config.get("include"),
        config_source=config.get("config_source"),
        retries=config["retries"],
    )
