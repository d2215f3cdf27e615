"""A validated ``PipelineSpec`` -> Dagster assets, asset checks and a job.

Each step becomes one asset with the platform's conventions: its pool and Celery queue
(``runs_in``), the step's resource usage in its metadata (``record_resource_usage``), the
owner and domain tag of its group (``domain_assets``). Checks are declared on the step's
asset and evaluated on the metadata it returns, in the same step, so a blocking one stops
the steps downstream in that run and each partition is judged on its own values.
"""

# No `from __future__ import annotations`: Dagster reads the asset bodies' annotations as types.
import functools
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from platform_assets.operations.k8s import GPU_RESOURCE, K8S_CONFIG_TAG, gpu_op_tags
from platform_assets.operations.placement import runs_in
from platform_assets.operations.resource_usage import record_resource_usage
from platform_assets.operations.retries import fail_fast_unless_transient
from platform_assets.pipeline_specs import steps
from platform_assets.pipeline_specs.spec import Check, PipelineSpec, Step
from platform_assets.specs import domain_assets, quiet_partitioned_check_preview
from resources import LandingZone, Warehouse

OUTPUT_DIR_VAR = "BRAINSTAR_OUTPUT_DIR"
# How long a command gets to exit after SIGINT (a run cancelled, a timeout) before it is killed.
TERMINATION_GRACE_SECONDS = 10.0

AssetBody = Callable[..., dg.MaterializeResult]

quiet_partitioned_check_preview()


class StepTimeout(TimeoutError):
    """A step ran past its ``timeout_seconds``. A TimeoutError, so a step with retries tries again."""


def build_definitions(spec: PipelineSpec, folder: Path) -> dg.Definitions:
    """``folder`` holds the spec; commands run there."""
    partitions = spec.partitions.definition() if spec.partitions else None
    keys = {step.name: dg.AssetKey([spec.group, spec.name, step.name]) for step in spec.steps}
    assets = [_asset(spec, step, keys, partitions, folder) for step in spec.steps]
    job = dg.define_asset_job(
        spec.job_name,
        selection=dg.AssetSelection.assets(*keys.values()),
        description=spec.job.description or spec.description or f"Every step of the {spec.name} pipeline.",
    )
    return dg.Definitions(assets=domain_assets(spec.group, assets), jobs=[job])


def _asset(
    spec: PipelineSpec,
    step: Step,
    keys: Mapping[str, dg.AssetKey],
    partitions: dg.PartitionsDefinition | None,
    folder: Path,
) -> dg.AssetsDefinition:
    key = keys[step.name]
    checks = [check for check in spec.checks if check.step == step.name]
    placement = runs_in(step.pool)
    if step.resources is not None:
        placement["op_tags"] = {**placement["op_tags"], **_k8s_tags(step)}
    if step.function is not None:
        body = fail_fast_unless_transient(_function_body(step.function, step.params, step.timeout_seconds))
    else:
        body = _command_body(list(step.command or []), folder, step.timeout_seconds)
    decorate = dg.asset(
        key=key,
        deps=[keys[dep] for dep in step.deps],
        group_name=spec.group,
        kinds=set(step.kinds) or None,
        description=step.description or _default_description(step),
        partitions_def=partitions,
        retry_policy=_retry_policy(step),
        check_specs=[_check_spec(check, key, partitions) for check in checks],
        **placement,
    )
    return decorate(_with_checks(record_resource_usage(body), checks))


def _default_description(step: Step) -> str:
    if step.function is not None:
        doc = (steps.STEP_FUNCTIONS[step.function].__doc__ or "").strip()
        return doc.splitlines()[0] if doc else f"Runs {step.function}."
    return f"Runs `{' '.join(step.command or [])}` through Dagster Pipes."


def _function_body(name: str, params: Mapping[str, Any], timeout: float | None) -> AssetBody:
    def body(
        context: dg.AssetExecutionContext, landing_zone: LandingZone, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        with _time_limit(timeout, context):
            output = steps.call(name, steps.StepContext(context, landing_zone, warehouse), params)
        version = dg.DataVersion(output.data_version) if output.data_version else None
        return dg.MaterializeResult(metadata=dict(output.metadata), data_version=version)

    return body


def _command_body(command: list[str], folder: Path, timeout: float | None) -> AssetBody:
    """Runs ``command`` in a Pipes session; what it reports (metadata, checks) is the result.

    ``dg.PipesSubprocessClient`` has no timeout, so the process is started here, inside the
    same session it would open.
    """

    def body(
        context: dg.AssetExecutionContext, landing_zone: LandingZone, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        output_dir = warehouse.asset_dir(
            context.asset_key, context.partition_key if context.has_partition_key else None
        )
        output_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            # `python` in a command is the code location's interpreter, which has dagster-pipes.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "BRAINSTAR_LANDING_DIR": str(landing_zone.path),
            "BRAINSTAR_WAREHOUSE_DIR": str(warehouse.path),
            OUTPUT_DIR_VAR: str(output_dir),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.PreviewWarning)  # Dagster's own message reader uses one
            with dg.open_pipes_session(
                context=context,
                context_injector=dg.PipesTempFileContextInjector(),
                message_reader=dg.PipesTempFileMessageReader(),
            ) as session:
                try:
                    process = subprocess.Popen(
                        command, cwd=folder, env={**env, **session.get_bootstrap_env_vars()}
                    )
                except OSError as error:
                    raise dg.Failure(
                        f"{folder.name}: cannot start {command[0]!r}: {error}", allow_retries=False
                    ) from error
                _wait(process, command, timeout, context)
        return dg.PipesClientCompletedInvocation(session).get_materialize_result()

    return body


def _wait(
    process: subprocess.Popen[bytes],
    command: list[str],
    timeout: float | None,
    context: dg.AssetExecutionContext,
) -> None:
    try:
        returncode = process.wait(timeout=timeout)
    except (subprocess.TimeoutExpired, dg.DagsterExecutionInterruptedError) as error:
        context.log.info(f"stopping `{command[0]}` (pid {process.pid})")
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=TERMINATION_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if isinstance(error, subprocess.TimeoutExpired):
            raise StepTimeout(f"`{' '.join(command)}` ran past its timeout of {timeout:g} s") from None
        raise
    if returncode != 0:
        raise dg.Failure(f"`{' '.join(command)}` exited with code {returncode}")


@contextmanager
def _time_limit(seconds: float | None, context: dg.AssetExecutionContext) -> Iterator[None]:
    """Raise ``StepTimeout`` in the step after ``seconds``, at its next Python instruction.

    A function step runs in the executor's thread; a signal timer is the one way to interrupt it
    there, and signals reach only the main thread (where Dagster's executors run steps).
    """
    if seconds is None:
        yield
        return
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        context.log.warning(f"timeout of {seconds:g} s not enforced: the step is not in the main thread")
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise StepTimeout(f"{context.asset_key.to_user_string()} ran past its timeout of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _retry_policy(step: Step) -> dg.RetryPolicy | None:
    if step.retries is None:
        return None
    backoff = {"exponential": dg.Backoff.EXPONENTIAL, "linear": dg.Backoff.LINEAR, "none": None}
    return dg.RetryPolicy(
        max_retries=step.retries.max,
        delay=step.retries.delay_seconds,
        backoff=backoff[step.retries.backoff],
        jitter=dg.Jitter.PLUS_MINUS if step.retries.jitter else None,
    )


def _k8s_tags(step: Step) -> dict[str, Any]:
    """The pod's requests; a GPU step also gets the GPU node selector and toleration of ``gpu_op_tags``."""
    assert step.resources is not None
    gpus = step.resources.gpu
    config = gpu_op_tags(gpus)[K8S_CONFIG_TAG] if gpus else {"container_config": {"resources": {}}}
    resources = config["container_config"]["resources"]
    resources["requests"] = {"cpu": step.resources.cpu, "memory": step.resources.memory}
    if gpus:
        resources["limits"] = {GPU_RESOURCE: str(gpus)}
    return {K8S_CONFIG_TAG: config}


def _check_spec(
    check: Check, key: dg.AssetKey, partitions: dg.PartitionsDefinition | None
) -> dg.AssetCheckSpec:
    """Partitioned like its step, so each partition's result is its own."""
    bounds = " and ".join(
        text
        for text in (
            f">= {check.min:g}" if check.min is not None else "",
            f"<= {check.max:g}" if check.max is not None else "",
        )
        if text
    )
    return dg.AssetCheckSpec(
        check.check_name,
        asset=key,
        partitions_def=partitions,
        blocking=check.blocking,
        description=check.description or f"{check.metadata_key} {bounds}.",
    )


def _check_result(check: Check, metadata: Mapping[str, Any]) -> dg.AssetCheckResult:
    raw = metadata.get(check.metadata_key)
    value = raw.value if isinstance(raw, dg.MetadataValue) else raw
    severity = dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN
    if isinstance(value, bool) or not isinstance(value, int | float):
        return dg.AssetCheckResult(
            check_name=check.check_name,
            passed=False,
            severity=severity,
            description=f"the step reported no number {check.metadata_key!r} (got {value!r})",
        )
    low = check.min is None or value >= check.min
    high = check.max is None or value <= check.max
    return dg.AssetCheckResult(
        check_name=check.check_name,
        passed=low and high,
        severity=severity,
        description=f"{check.metadata_key} = {value:g}"
        + ("" if low else f" is below {check.min:g}")
        + ("" if high else f" is above {check.max:g}"),
        metadata={
            "value": float(value),
            **{k: v for k, v in (("min", check.min), ("max", check.max)) if v is not None},
        },
    )


def _with_checks(body: AssetBody, checks: list[Check]) -> AssetBody:
    if not checks:
        return body

    @functools.wraps(body)
    def wrapper(*args: Any, **kwargs: Any) -> dg.MaterializeResult:
        result = body(*args, **kwargs)
        metadata = result.metadata or {}
        return dg.MaterializeResult(
            metadata=metadata,
            check_results=[*(result.check_results or []), *(_check_result(c, metadata) for c in checks)],
            data_version=result.data_version,
            tags=result.tags,
        )

    return wrapper
