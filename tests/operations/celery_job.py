"""A job for the Celery scale-out test: independent steps that report where they ran.

Workers import this module by name (``tests.operations.celery_job``) to rebuild the job,
so it must stay importable from the repository root and define the job at module level.
"""

import os
import time
from typing import Any

import dagster as dg

from platform_assets.operations.celery import QUEUE_TAG, build_celery_executor, queue_op_tags

# Long enough that one solo worker cannot drain the shared queue before the other takes a task.
STEP_SECONDS = 1.5
SHARED_POOL = "bids"
SHARED_STEPS = tuple(f"shared_{index}" for index in range(4))


def _where() -> dict[str, Any]:
    from celery import current_task

    return {"pid": os.getpid(), "worker": current_task.request.hostname if current_task else None}


def _probe(name: str, *, pool: str, tags: dict[str, str] | None = None) -> dg.OpDefinition:
    # Tagged as brainstar's assets are: the pool's queue, unless the caller names another.
    @dg.op(name=name, pool=pool, tags={**queue_op_tags(pool), **(tags or {})})
    def probe(context: dg.OpExecutionContext) -> dict[str, Any]:
        time.sleep(STEP_SECONDS)
        where = _where()
        context.add_output_metadata({"pid": where["pid"], "celery_worker": str(where["worker"])})
        return where

    return probe


SHARED = [_probe(name, pool=SHARED_POOL) for name in SHARED_STEPS]
HEAVY = _probe("heavy_step", pool="heavy")
PROCESSING = _probe("processing_step", pool="processing")
# An explicit queue tag wins over the pool: this step is in pool bids but must go to heavy.
PINNED = _probe("pinned_step", pool=SHARED_POOL, tags={QUEUE_TAG: "heavy"})


@dg.job(executor_def=build_celery_executor())
def celery_probe_job() -> None:
    for op in [*SHARED, HEAVY, PROCESSING, PINNED]:
        op()
