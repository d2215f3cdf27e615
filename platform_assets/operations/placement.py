"""Where an asset's step runs: its concurrency pool, that pool's Celery queue, and a GPU node
for the GPU pool. One helper, so the three never disagree (tests/operations/test_celery.py and
test_k8s.py hold every asset to it)."""

from typing import Any

from brainstar.core import pools
from platform_assets.operations.celery import queue_op_tags
from platform_assets.operations.k8s import gpu_op_tags


def runs_in(pool: str) -> dict[str, Any]:
    """``pool`` and ``op_tags`` for an asset decorator: ``@dg.asset(..., **runs_in(pools.HEAVY))``.

    Only the GPU pool asks Kubernetes for a GPU; give it only to steps that use the torch device.
    """
    op_tags: dict[str, Any] = queue_op_tags(pool)
    if pool == pools.GPU:
        op_tags = {**gpu_op_tags(), **op_tags}
    return {"pool": pool, "op_tags": op_tags}
