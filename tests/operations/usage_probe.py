"""A step run in a fresh process by test_rightsizing: light imports, so its peak is the step's."""

from __future__ import annotations

import multiprocessing
import resource
from pathlib import Path

import dagster as dg
import numpy as np

from platform_assets.operations.resource_usage import record_resource_usage


def allocate_and_report(megabytes: int, results: multiprocessing.Queue) -> None:
    @record_resource_usage
    def step() -> dg.MaterializeResult:
        block = np.ones(megabytes * 2**20 // 8)  # written, so resident
        return dg.MaterializeResult(metadata={"n": float(block.sum())})

    # Resident now (not the peak so far: memory freed since then is reused by the block).
    before_mib = int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20
    results.put({"before": before_mib, **{key: value for key, value in step().metadata.items()}})
