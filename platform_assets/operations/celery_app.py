"""The Celery side of scale-out; needs the extra ``brainstar[celery]``.

``celery -A platform_assets.operations.celery_app worker -Q heavy ...`` starts a worker
(``deploy/celery/README.md``). Workers and runs build their app from the same settings
(``celery_settings``) so that both talk to the same broker and result backend.
"""

import warnings
from typing import Any

from celery import Celery
from celery.exceptions import DuplicateTaskNameWarning
from celery.result import AsyncResult

# dagster-celery builds executors from these (no public equivalent); pinned by the extra's <0.30.
from dagster._core.execution.retries import RetryMode
from dagster_celery.core_execution_loop import core_celery_execution_loop
from dagster_celery.executor import CeleryExecutor, _submit_task
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from platform_assets.operations.celery import celery_settings, step_queue


def _submit_to_pool_queue(
    app: Celery,
    plan_context: Any,
    step: Any,
    queue: str,
    priority: int,
    known_state: Any,
) -> AsyncResult:
    """dagster-celery's submission, with the queue taken from the step's pool.

    dagster-celery picks the queue from the ``dagster-celery/queue`` tag only; deriving it
    here spares every asset a Celery tag beside the pool it already has.
    """
    routed = step_queue(step.tags, step.pool)
    if routed != queue:
        # dagster-celery has just logged the tag-derived queue; record where the step really goes.
        plan_context.for_step(step).log.info(
            f'Step "{step.key}" in pool "{step.pool}" submitted to Celery queue "{routed}".'
        )
    with warnings.catch_warnings():
        # dagster-celery re-registers the same task on the run's app for every step; harmless.
        warnings.simplefilter("ignore", DuplicateTaskNameWarning)
        return _submit_task(app, plan_context, step, routed, priority, known_state)


class PoolRoutedCeleryExecutor(CeleryExecutor):
    """``dagster_celery.celery_executor`` that routes every step to its pool's queue."""

    @classmethod
    def from_config(
        cls,
        *,
        broker: str,
        backend: str,
        include: list[str] | None,
        config_source: dict[str, Any] | None,
        retries: dict[str, Any],
    ) -> "PoolRoutedCeleryExecutor":
        return cls(
            retries=RetryMode.from_config(retries),
            broker=broker,
            backend=backend,
            include=include,
            config_source=config_source,
        )

    def execute(self, plan_context: Any, execution_plan: Any) -> Any:
        return core_celery_execution_loop(
            plan_context, execution_plan, step_execution_fn=_submit_to_pool_queue
        )


def make_worker_app() -> Celery:
    """The app workers run: dagster-celery's ``execute_plan`` task on the configured broker."""
    settings = celery_settings()
    worker_app = make_app(CeleryExecutor.for_cli(broker=settings.broker, backend=settings.backend).app_args())
    create_task(worker_app)
    return worker_app


app = make_worker_app()
