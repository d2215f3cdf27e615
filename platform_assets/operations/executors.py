"""Which executor runs a job's steps, chosen per deployment by ``BRAINSTAR_EXECUTOR``.

The same code location runs on a laptop (``make run``), under ``dagster dev`` and on
Kubernetes; only the environment differs, so the choice is read from it at load time.

``multiprocess`` (default)
    Dagster's own default executor: steps in subprocesses, or in-process when the run
    config asks for it. On Kubernetes this runs every step inside the run pod, so GPU op
    tags are not applied (they only reach step pods).
``k8s``
    ``dagster_k8s.k8s_job_executor``: one Kubernetes Job per step, so GPU steps get their
    own pod with the ``nvidia.com/gpu`` limit from their op tags.
``celery``
    The extension point for ``platform_assets/operations/celery.py``; see ``_celery``.
"""

import os
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

EXECUTOR_ENV = "BRAINSTAR_EXECUTOR"
DEFAULT_EXECUTOR = "multiprocess"
# Pods one run may have at once. Pools cap GPU and heavy steps instance-wide; this caps how
# far a single wide run (a cohort backfill) can fan out before other runs get nodes.
K8S_MAX_CONCURRENT_ENV = "BRAINSTAR_K8S_MAX_CONCURRENT"
K8S_MAX_CONCURRENT_DEFAULT = 8

# Every step pod asks for at least this much, so the scheduler does not pack CPU steps
# onto one node; GPU steps raise it through their op tags (deep merge, op tag wins).
K8S_STEP_DEFAULTS: dict[str, Any] = {
    "container_config": {"resources": {"requests": {"cpu": "1", "memory": "2Gi"}}},
}


def _positive_int_from_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise ValueError(f"{name}={raw!r} must be at least 1")
    return value


def _multiprocess(env: Mapping[str, str]) -> dg.ExecutorDefinition:
    # Dagster's default, unchanged, so local runs behave exactly as without this module.
    del env  # nothing to configure: the default stays the default
    return dg.multi_or_in_process_executor


def _k8s(env: Mapping[str, str]) -> dg.ExecutorDefinition:
    # Imported here: the kubernetes client is only needed where the k8s executor is chosen.
    from dagster_k8s import k8s_job_executor

    config: dict[str, Any] = {
        "max_concurrent": _positive_int_from_env(env, K8S_MAX_CONCURRENT_ENV, K8S_MAX_CONCURRENT_DEFAULT),
        # Pools (brainstar/core/pools.py) already limit GPU, heavy, processing and BIDS steps across
        # all runs; a per-run tag limit on the same steps could only ever be looser or equal.
        "tag_concurrency_limits": [],
        "step_k8s_config": K8S_STEP_DEFAULTS,
    }
    return k8s_job_executor.configured(config, name="brainstar_k8s")


def _celery(env: Mapping[str, str]) -> dg.ExecutorDefinition:
    """Extension point: ``platform_assets.operations.celery`` exposes ``celery_executor``.

    That module belongs to the Celery work; it is imported only when asked for, so the other
    executors never need dagster-celery installed. Broker settings are that module's to read.
    """
    del env
    try:
        from platform_assets.operations.celery import celery_executor
    except ImportError as error:
        raise RuntimeError(
            f"{EXECUTOR_ENV}=celery needs platform_assets.operations.celery (exposing celery_executor) "
            f"and the celery extra (pip install -e '.[celery]'): {error}"
        ) from error
    return celery_executor


EXECUTOR_FACTORIES: Mapping[str, Callable[[Mapping[str, str]], dg.ExecutorDefinition]] = {
    "multiprocess": _multiprocess,
    "k8s": _k8s,
    "celery": _celery,
}


def executor_from_env(environ: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """The executor named by ``BRAINSTAR_EXECUTOR`` (default ``multiprocess``)."""
    env = os.environ if environ is None else environ
    name = env.get(EXECUTOR_ENV, "").strip().lower() or DEFAULT_EXECUTOR
    factory = EXECUTOR_FACTORIES.get(name)
    if factory is None:
        known = ", ".join(sorted(EXECUTOR_FACTORIES))
        raise ValueError(f"{EXECUTOR_ENV}={name!r} is not a known executor; use one of: {known}")
    return factory(env)
