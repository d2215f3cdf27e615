"""What each step used (peak memory, CPU, wall time), recorded as metadata of what it materialized.

Dagster records durations but not memory, and sizing a pod needs the peak. Under the default
(multiprocess) executor and on Kubernetes every step is its own process, so the process's peak
resident set (VmHWM) is the step's, imports included, which is what its pod must hold;
under the in-process executor it is the peak of the run so far, an upper bound. CPU seconds
count this process and the programs it waited for (dcm2niix). ``brainstar rightsize`` and the
``operations/resource_recommendations`` asset read these entries back.
"""

from __future__ import annotations

import contextlib
import functools
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg

F = TypeVar("F", bound=Callable[..., Any])

PEAK_RSS_KEY = "step_peak_rss_mib"
CPU_SECONDS_KEY = "step_cpu_seconds"
WALL_SECONDS_KEY = "step_wall_seconds"
GPU_PEAK_KEY = "step_gpu_peak_mib"
STATUS_FILE = Path("/proc/self/status")


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mib() -> float:
    """This process image's peak resident set, MiB.

    On Linux the kernel's VmHWM, which starts afresh when a process execs: ``ru_maxrss`` does
    not (it keeps the parent's peak across fork and exec), so a step process started by a run
    worker of 1.6 GB reported 1.6 GB whatever it used. Elsewhere ``ru_maxrss`` (KiB on Linux,
    bytes on macOS) is the best there is.
    """
    with contextlib.suppress(OSError):  # no /proc: not Linux
        for line in STATUS_FILE.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _cuda() -> Any:
    """torch.cuda when this process has already initialised it; never imports torch itself."""
    torch = sys.modules.get("torch")
    return torch.cuda if torch is not None and torch.cuda.is_initialized() else None


def usage_metadata(cpu_at_start: float, wall_at_start: float) -> dict[str, float]:
    metadata = {
        PEAK_RSS_KEY: round(_peak_rss_mib(), 1),
        CPU_SECONDS_KEY: round(_cpu_seconds() - cpu_at_start, 2),
        WALL_SECONDS_KEY: round(time.monotonic() - wall_at_start, 2),
    }
    cuda = _cuda()
    if cuda is not None:
        metadata[GPU_PEAK_KEY] = round(cuda.max_memory_allocated() / 2**20, 1)
    return metadata


def record_resource_usage(function: F) -> F:
    """Wrap an asset function returning ``MaterializeResult``: its metadata gains the step's usage."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cuda = _cuda()
        if cuda is not None:
            cuda.reset_peak_memory_stats()
        cpu, wall = _cpu_seconds(), time.monotonic()
        result = function(*args, **kwargs)
        if not isinstance(result, dg.MaterializeResult):
            return result
        return dg.MaterializeResult(
            asset_key=result.asset_key,
            metadata={**(result.metadata or {}), **usage_metadata(cpu, wall)},
            check_results=result.check_results,
            data_version=result.data_version,
            tags=result.tags,
        )

    return wrapper  # type: ignore[return-value]
