"""Right-sizing step pods from what steps actually used: p95 plus headroom, against the requests.

Each successful step records its process's peak resident memory, CPU seconds and wall seconds
(``platform_assets/operations/resource_usage.py``). Per step, the recommendation is the 95th
percentile of the recorded peaks times a headroom factor, rounded up to what a scheduler can
place (a quarter core, 256 MiB), never below a floor; GPU steps keep their GPUs. The saving is
what the recorded runs would have reserved less (core-hours and GiB-hours), so it weighs a
long step more than a short one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

DEFAULT_HEADROOM = 1.25
MIN_SAMPLES = 3  # fewer runs than this say too little about a step's p95
CPU_STEP = 0.25  # cores
MEMORY_STEP_MIB = 256
MIN_CPU = 0.25
MIN_MEMORY_MIB = 512  # the Python interpreter with numpy and Dagster already takes ~250 MiB

_CPU = re.compile(r"(\d+(?:\.\d+)?)(m?)")
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
_MIB_PER_UNIT = {
    None: 1 / 2**20,
    "Ki": 1 / 1024,
    "Mi": 1.0,
    "Gi": 1024.0,
    "Ti": 1024.0**2,
    "k": 1e3 / 2**20,
    "M": 1e6 / 2**20,
    "G": 1e9 / 2**20,
    "T": 1e12 / 2**20,
}


def parse_cpu(quantity: str) -> float:
    """Kubernetes CPU quantity -> cores (``"500m"`` -> 0.5, ``"2"`` -> 2.0)."""
    match = _CPU.fullmatch(quantity.strip())
    if match is None:
        raise ValueError(f"CPU quantity {quantity!r} is not like '2' or '500m'")
    value = float(match.group(1))
    return value / 1000 if match.group(2) else value


def parse_memory_mib(quantity: str) -> float:
    """Kubernetes memory quantity -> MiB (``"2Gi"`` -> 2048, ``"512Mi"`` -> 512)."""
    match = _MEMORY.fullmatch(quantity.strip())
    if match is None:
        raise ValueError(f"memory quantity {quantity!r} is not like '2Gi' or '512Mi'")
    return float(match.group(1)) * _MIB_PER_UNIT[match.group(2)]


def format_cpu(cores: float) -> str:
    return str(int(cores)) if float(cores).is_integer() else f"{round(cores * 1000)}m"


def format_memory(mib: float) -> str:
    return f"{int(mib // 1024)}Gi" if mib % 1024 == 0 else f"{int(mib)}Mi"


@dataclass(frozen=True)
class StepUsage:
    """What one successful run of a step used."""

    step: str
    peak_rss_mib: float
    cpu_seconds: float
    wall_seconds: float

    @property
    def cores(self) -> float:
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


@dataclass(frozen=True)
class Requests:
    cpu: float  # cores
    memory_mib: float
    gpus: int = 0

    def as_k8s(self) -> dict[str, str]:
        return {"cpu": format_cpu(self.cpu), "memory": format_memory(self.memory_mib)}


@dataclass(frozen=True)
class Recommendation:
    step: str
    n_runs: int
    p95_peak_rss_mib: float
    p95_cores: float
    current: Requests
    recommended: Requests | None  # None: too few runs to say
    core_hours_saved: float  # over the recorded runs; negative means the step needs more
    gib_hours_saved: float

    @property
    def under_requested(self) -> bool:
        """True when the step used more than it asked for: the scheduler may place it where it
        does not fit, and the out-of-memory killer takes it."""
        return self.p95_peak_rss_mib > self.current.memory_mib or self.p95_cores > self.current.cpu


def _round_up(value: float, step: float, floor: float) -> float:
    return max(floor, math.ceil(value / step - 1e-9) * step)


def recommend(
    usages: Iterable[StepUsage],
    current: Mapping[str, Requests],
    default: Requests,
    headroom: float = DEFAULT_HEADROOM,
    min_samples: int = MIN_SAMPLES,
) -> list[Recommendation]:
    """One recommendation per step seen in ``usages`` (by step name), largest saving first."""
    if headroom < 1:
        raise ValueError(f"headroom {headroom} would recommend less than the steps used")
    by_step: dict[str, list[StepUsage]] = {}
    for usage in usages:
        by_step.setdefault(usage.step, []).append(usage)
    out = []
    for step, runs in by_step.items():
        asked = current.get(step, default)
        rss = float(np.percentile([u.peak_rss_mib for u in runs], 95))
        cores = float(np.percentile([u.cores for u in runs], 95))
        hours = sum(u.wall_seconds for u in runs) / 3600
        if len(runs) < min_samples:
            out.append(Recommendation(step, len(runs), rss, cores, asked, None, 0.0, 0.0))
            continue
        suggested = Requests(
            cpu=_round_up(cores * headroom, CPU_STEP, MIN_CPU),
            memory_mib=_round_up(rss * headroom, MEMORY_STEP_MIB, MIN_MEMORY_MIB),
            gpus=asked.gpus,
        )
        core_hours = (asked.cpu - suggested.cpu) * hours
        gib_hours = (asked.memory_mib - suggested.memory_mib) / 1024 * hours
        out.append(Recommendation(step, len(runs), rss, cores, asked, suggested, core_hours, gib_hours))
    return sorted(
        out, key=lambda r: (r.recommended is None, -(r.gib_hours_saved + r.core_hours_saved), r.step)
    )


def per_step_k8s_config(recommendations: Iterable[Recommendation]) -> dict[str, dict[str, object]]:
    """``k8s_job_executor``'s ``per_step_k8s_config``: requests (and memory limit) per step."""
    config: dict[str, dict[str, object]] = {}
    for rec in recommendations:
        if rec.recommended is None:
            continue
        requests = rec.recommended.as_k8s()
        # A memory limit equal to the request: a step that outgrows it is killed and classified
        # out of memory, instead of pushing its node's other pods out.
        config[rec.step] = {
            "container_config": {
                "resources": {"requests": requests, "limits": {"memory": requests["memory"]}}
            }
        }
    return config
