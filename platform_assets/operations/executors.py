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
    ``dagster_celery.celery_executor`` (``platform_assets/operations/celery.py``): each step
    goes to the Celery queue its ``dagster-celery/queue`` op tag names (its pool's).
"""

import os
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from brainstar.core import environments, settings
from platform_assets.operations.rightsizing import read_step_requests

# The variable names, for messages and tests; brainstar.core.settings reads them.
EXECUTOR_ENV = settings.EXECUTOR_VAR
K8S_MAX_CONCURRENT_ENV = settings.K8S_MAX_CONCURRENT_VAR
DEFAULT_EXECUTOR = settings.DEFAULT_EXECUTOR


def k8s_step_defaults(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What every step pod asks for: the BRAINSTAR_ENV profile's ``k8s_step_requests`` (dev's
    when unset), so the scheduler does not pack CPU steps onto one node; GPU steps raise it
    through their op tags (deep merge, op tag wins)."""
    source = os.environ if environ is None else environ
    name = source.get(environments.ENV_VAR) or environments.DEFAULT_ENV
    profile = environments.load()[name]
    return {"container_config": {"resources": {"requests": dict(profile.k8s_step_requests)}}}


def _multiprocess(environ: Mapping[str, str] | None) -> dg.ExecutorDefinition:
    # Dagster's default, unchanged, so local runs behave exactly as without this module.
    del environ  # nothing to configure: the default stays the default
    return dg.multi_or_in_process_executor


def k8s_executor_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``k8s_job_executor``'s configuration for this deployment."""
    return {
        "max_concurrent": settings.k8s_max_concurrent(environ),
        # Pools (brainstar/core/pools.py) already limit GPU, heavy, processing and BIDS steps across
        # all runs; a per-run tag limit on the same steps could only ever be looser or equal.
        "tag_concurrency_limits": [],
        "step_k8s_config": k8s_step_defaults(environ),
        # What `brainstar rightsize --apply` recommended per step, over the op tags.
        "per_step_k8s_config": read_step_requests(),
    }


def _k8s(environ: Mapping[str, str] | None) -> dg.ExecutorDefinition:
    # Imported here: the kubernetes client is only needed where the k8s executor is chosen.
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor.configured(k8s_executor_config(environ), name="brainstar_k8s")


def _celery(environ: Mapping[str, str] | None) -> dg.ExecutorDefinition:
    # Broker and backend are read when a run starts (in the run's process), not here.
    del environ
    from platform_assets.operations.celery import build_celery_executor

    return build_celery_executor()


EXECUTOR_FACTORIES: Mapping[str, Callable[[Mapping[str, str] | None], dg.ExecutorDefinition]] = {
    "multiprocess": _multiprocess,
    "k8s": _k8s,
    "celery": _celery,
}


def executor_from_env(environ: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """The executor ``BRAINSTAR_EXECUTOR`` names (default ``multiprocess``) in ``environ`` or os.environ."""
    name = settings.executor_name(environ)
    factory = EXECUTOR_FACTORIES.get(name)
    if factory is None:
        known = ", ".join(sorted(EXECUTOR_FACTORIES))
        raise ValueError(f"{EXECUTOR_ENV}={name!r} is not a known executor; use one of: {known}")
    return factory(environ)
