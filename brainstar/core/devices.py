"""Choosing the torch device: ``auto`` takes CUDA when torch sees it, else the CPU.

torch is imported inside the functions: importing it costs about two seconds, and most
commands and assets never need it.
"""

from __future__ import annotations

import os
import platform
from typing import Any

VALID_KINDS = ("auto", "cpu", "cuda", "mps")


def resolve_device(requested: str) -> Any:
    """Return a ``torch.device`` for ``requested`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    An explicit CUDA request on a machine without CUDA is an error rather than a silent
    CPU fallback: a GPU job that quietly runs on the CPU for hours is worse than a failure.
    """
    import torch

    kind = requested.split(":", 1)[0].strip().lower()
    if kind not in VALID_KINDS:
        raise ValueError(f"device {requested!r} is not one of {', '.join(VALID_KINDS)} (optionally cuda:N)")
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {requested!r} was requested but torch sees no CUDA device")
        device = torch.device(requested.strip().lower())
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {requested!r} was requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) exist"
            )
        return device
    return torch.device(kind)


def describe_device(device: Any) -> dict[str, Any]:
    """Name, memory and versions of ``device``, for run metadata and ``brainstar device``."""
    import torch

    info: dict[str, Any] = {"device": str(device), "torch_version": torch.__version__}
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        properties = torch.cuda.get_device_properties(index)
        info.update(
            name=properties.name,
            memory_total_bytes=int(properties.total_memory),
            cuda_version=torch.version.cuda,
            capability=f"{properties.major}.{properties.minor}",
        )
    else:
        info.update(
            name=platform.processor() or platform.machine(),
            memory_total_bytes=_host_memory_bytes(),
            cpu_threads=torch.get_num_threads(),
        )
    return info


def _host_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def numba_cuda_problem() -> str | None:
    """Why numba cannot run CUDA kernels here, or None when it can (a device, or its simulator
    under ``NUMBA_ENABLE_CUDASIM=1``). numba is imported here, not at module level: it is slow."""
    from numba import cuda

    if cuda.is_available():
        return None
    error = cuda.cuda_error()
    if error is None:
        return "the CUDA driver answered but numba found no NVVM (the gpu extra installs it)"
    return " ".join(str(error).split())


def describe_numba_cuda() -> dict[str, Any]:
    """What numba's CUDA target (the cortex engine 'cuda') sees: a device, the simulator or none."""
    import numba
    from numba import cuda

    info: dict[str, Any] = {
        "numba_version": numba.__version__,
        "numba_cuda_target": getattr(cuda, "implementation", "unknown"),
    }
    problem = numba_cuda_problem()
    if problem is not None:
        info.update(numba_cuda="none", numba_cuda_error=problem)
    elif numba.config.ENABLE_CUDASIM:
        info.update(numba_cuda="simulator (NUMBA_ENABLE_CUDASIM=1)")
    else:
        device = cuda.get_current_device()
        name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
        major, minor = device.compute_capability
        info.update(numba_cuda="device", numba_cuda_device=name, numba_cuda_capability=f"{major}.{minor}")
    return info
