"""Concurrency pools: which class of work may run how many steps at once, instance-wide.

Dagster keeps per-pool limits in the instance's storage, not in dagster.yaml (which only
holds ``pools.default_limit``), so these limits are applied to an instance by
``brainstar pools apply`` (run by ``make dagster-home`` and by the Helm chart's values).
"""

from __future__ import annotations

HEAVY = "heavy"  # whole-volume preprocessing: memory-bound, one at a time
PROCESSING = "processing"  # per-session reconstruction and statistics
BIDS = "bids"  # file conversion and copying: I/O-bound
GPU = "gpu"  # torch training and simulation: one step per GPU

CPU_POOL_LIMITS: dict[str, int] = {HEAVY: 1, PROCESSING: 2, BIDS: 4}


def pool_limits(gpu_count: int) -> dict[str, int]:
    """Every pool's limit; the GPU pool gets one slot per GPU (one when there is none: CPU fallback)."""
    return {**CPU_POOL_LIMITS, GPU: max(1, gpu_count)}
