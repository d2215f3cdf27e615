"""Celery scale-out (optional extra ``brainstar[celery]``): dagster-celery's own executor, one queue per pool.

dagster-celery sends a step to the queue named by its ``dagster-celery/queue`` op tag
(default queue ``dagster``). brainstar gives every pooled asset that tag with
``queue_op_tags(pool)``, so a step in pool ``heavy`` goes to queue ``heavy``, ``gpu`` to
``gpu``, ...: the pool that sets the instance-wide limits also picks the workers. Steps
without a pool (asset checks, for example) go to ``dagster``.

This module imports without the extra: ``dagster_celery`` is imported only when the
executor is built (``BRAINSTAR_EXECUTOR=celery``), so the code location loads everywhere.
Workers run ``celery_app`` (see ``deploy/celery/README.md`` and ``worker_commands``).
"""

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from brainstar.core import settings
from brainstar.core.pools import pool_limits

# dagster-celery's documented tag and default queue, repeated so that this module needs no extra.
QUEUE_TAG = "dagster-celery/queue"
DEFAULT_QUEUE = "dagster"
# Steps outside any pool: as many as the instance's pools.default_limit (deploy/local/dagster.yaml).
DEFAULT_QUEUE_CONCURRENCY = 2
EXECUTOR_NAME = "brainstar_celery"

WORKER_APP = "platform_assets.operations.celery_app"
POOL_QUEUES: frozenset[str] = frozenset(pool_limits(gpu_count=0))


def queue_for_pool(pool: str | None) -> str:
    """The Celery queue for steps in ``pool``.

    A pool brainstar does not know (no worker listens on a queue of that name) goes to the
    default queue rather than waiting forever on a queue nobody reads; the instance's pool
    limit still applies to it.
    """
    return pool if pool in POOL_QUEUES else DEFAULT_QUEUE


def queue_op_tags(pool: str) -> dict[str, str]:
    """Op tags sending an asset's steps to its pool's queue; merge them into the asset's ``op_tags``."""
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


# dagster-celery's schema, with broker and backend optional: unset, they come from the environment.
CONFIG_SCHEMA: dict[str, dg.Field] = {
    "broker": dg.Field(
        dg.Noneable(dg.StringSource),
        is_required=False,
        description=f"Celery broker URL. Default: ${settings.CELERY_BROKER_VAR}, else the local Redis.",
    ),
    "backend": dg.Field(
        dg.Noneable(dg.StringSource),
        is_required=False,
        description=f"Celery result backend URL. Default: ${settings.CELERY_BACKEND_VAR}, else the broker.",
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
}


def stock_executor_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run's executor config with broker and backend filled in from the environment.

    Called when a run starts, in the run's own process, so a changed environment takes effect
    at the next run.
    """
    filled = {key: value for key, value in config.items() if value is not None}
    filled["broker"] = config.get("broker") or settings.celery_broker()
    filled["backend"] = config.get("backend") or settings.celery_backend()
    return filled


def build_celery_executor() -> dg.ExecutorDefinition:
    """``dagster_celery.celery_executor``, configured from the environment; needs the extra."""
    try:
        from dagster_celery import celery_executor
    except ImportError as error:
        raise RuntimeError(
            f"{settings.EXECUTOR_VAR}=celery needs the celery extra: pip install -e '.[celery]' ({error})"
        ) from error
    return celery_executor.configured(stock_executor_config, name=EXECUTOR_NAME, config_schema=CONFIG_SCHEMA)
