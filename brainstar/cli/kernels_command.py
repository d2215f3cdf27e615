"""``brainstar warm-kernels``: compile every cached numba kernel once, so no worker pays for it.

numba's ``cache=True`` writes compiled kernels to ``__pycache__`` beside the sources (or to
``$NUMBA_CACHE_DIR``), where every later process loads them instead of compiling. ``make install``
and the Docker image run this command; it is safe to run again (then it only loads).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import click


def _kernel_line(kernel: Any) -> str:
    """One kernel: how many type signatures were compiled here and how many loaded from the cache."""
    name = kernel.py_func.__qualname__
    if not kernel.signatures:
        return f"  {name:<22} only called from other kernels: cached inside them"
    compiled = sum(kernel.stats.cache_misses.values())
    loaded = sum(kernel.stats.cache_hits.values())
    return f"  {name:<22} {len(kernel.signatures)} signature(s): compiled {compiled}, loaded {loaded}"


def _warm(domain: str, warm: Callable[[], Sequence[Any]]) -> None:
    start = time.perf_counter()
    kernels = warm()
    seconds = time.perf_counter() - start
    click.echo(f"{domain}: {len(kernels)} kernels warm in {seconds:.1f} s")
    for kernel in kernels:
        click.echo(_kernel_line(kernel))
    for path in sorted({kernel.stats.cache_path for kernel in kernels}):
        click.echo(f"  cache: {path}")


@click.command("warm-kernels")
def warm_kernels() -> None:
    """Compile the numba kernels into their on-disk cache (run by make install and the image)."""
    from brainstar.domain.astro.kernels import warm_kernels as warm_astro
    from brainstar.domain.cortex.kernels import warm_kernels as warm_cortex

    _warm("cortex", warm_cortex)
    _warm("astro", warm_astro)
