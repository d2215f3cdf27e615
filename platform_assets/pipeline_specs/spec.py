"""The pipeline spec: the ``attributes`` of a ``defs.yaml`` whose type is ``PipelineSpecComponent``.

Field-level rules live on the models, so that pydantic reports them at the field's own line
of the YAML file; rules that relate fields to each other (a dependency on a step that does
not exist, a cycle, bounds the wrong way round) are in ``problems``, which returns each with
the path of the field it is about, for the same kind of message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from graphlib import CycleError, TopologicalSorter
from typing import Any, Literal

import dagster as dg
from pydantic import BaseModel, ConfigDict, Field, field_validator

from brainstar.core import pools
from brainstar.core.rightsizing import parse_cpu, parse_memory_mib
from platform_assets.pipeline_specs import steps
from platform_assets.pipeline_specs.errors import Loc

# Becomes part of an asset key, a job name and a warehouse folder.
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# What a partition key must look like to be used as a warehouse folder (resources.warehouse).
PARTITION_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
DEFAULT_GROUP = "specs"
KNOWN_POOLS = tuple(sorted(pools.pool_limits(gpu_count=0)))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimePartitions(_Strict):
    start: str = Field(description="First partition, e.g. '2024-01-01' (ISO date or date-time).")
    cron: str = Field(default="0 0 * * *", description="One partition per tick of this cron schedule.")
    timezone: str | None = Field(default=None, description="IANA timezone of the schedule; UTC when unset.")
    end: str | None = Field(
        default=None, description="No partitions from this date on; open-ended when unset."
    )


class Partitions(_Strict):
    """Exactly one of ``static``, ``dynamic`` or ``time``."""

    static: list[str] | None = Field(default=None, description="A fixed list of partition keys.")
    dynamic: str | None = Field(
        default=None,
        description="Name of the instance's dynamic partitions (e.g. neuro_sessions, which the "
        "neuro_sessions_sensor fills as sessions land).",
    )
    time: TimePartitions | None = Field(default=None, description="One partition per tick of a schedule.")

    def definition(self) -> dg.PartitionsDefinition:
        if self.static is not None:
            return dg.StaticPartitionsDefinition(self.static)
        if self.dynamic is not None:
            return dg.DynamicPartitionsDefinition(name=self.dynamic)
        if self.time is None:
            raise ValueError("give exactly one of static, dynamic or time")
        fields = self.time.cron.split()
        if len(fields) != 5:
            raise ValueError(f"{self.time.cron!r} is not a cron schedule (five fields)")
        minute, hour = fields[:2]
        # At most one tick a day: the date alone names a partition. Keys become folder names, so no ':'.
        fmt = "%Y-%m-%d" if minute.isdigit() and hour.isdigit() else "%Y-%m-%d-%H%M"
        return dg.TimeWindowPartitionsDefinition(
            # Parsed here, so that the dates need not be written in the keys' format.
            start=datetime.fromisoformat(self.time.start),
            end=datetime.fromisoformat(self.time.end) if self.time.end else None,
            cron_schedule=self.time.cron,
            fmt=fmt,
            timezone=self.time.timezone,
        )


class Retries(_Strict):
    max: int = Field(ge=1, le=10, description="Retries after the first attempt.")
    delay_seconds: float = Field(default=5.0, ge=0, description="Wait before the first retry.")
    backoff: Literal["exponential", "linear", "none"] = Field(
        default="exponential", description="How the wait grows from one retry to the next."
    )
    jitter: bool = Field(default=True, description="Add +/- delay_seconds of random jitter to each wait.")


class Resources(_Strict):
    """What the step's Kubernetes pod requests (op tag ``dagster-k8s/config``)."""

    cpu: str = Field(description="Kubernetes CPU quantity, e.g. '2' or '500m'.")
    memory: str = Field(description="Kubernetes memory quantity, e.g. '4Gi' or '512Mi'.")
    gpu: int = Field(default=0, ge=0, description="GPUs (nvidia.com/gpu); only in the gpu pool.")

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu(cls, value: Any) -> str:
        text = str(value)
        parse_cpu(text)
        return text

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        parse_memory_mib(value)
        return value


class Step(_Strict):
    """One asset: a registered Python function or a command run through Dagster Pipes."""

    name: str = Field(pattern=NAME_PATTERN, description="The asset's last key part, unique in the pipeline.")
    description: str | None = Field(
        default=None, description="Shown in the UI; the function's docstring or the command when unset."
    )
    function: str | None = Field(
        default=None,
        description="Name of a registered step function (platform_assets/pipeline_specs/steps.py).",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments of the function.")
    command: list[str] | None = Field(
        default=None,
        description="Program and arguments, run in the pipeline's folder through Dagster Pipes; "
        "`python` is the code location's interpreter.",
    )
    deps: list[str] = Field(default_factory=list, description="Steps of this pipeline that run first.")
    pool: str = Field(
        default=pools.PROCESSING, description=f"Concurrency pool, one of {', '.join(KNOWN_POOLS)}."
    )
    retries: Retries | None = Field(default=None, description="Retry policy; no retries when unset.")
    timeout_seconds: float | None = Field(default=None, gt=0, description="Fail the step after this long.")
    resources: Resources | None = Field(default=None, description="Pod requests on Kubernetes.")
    kinds: list[str] = Field(default_factory=list, max_length=3, description="Icons in the UI, e.g. parquet.")

    @field_validator("pool")
    @classmethod
    def _pool(cls, value: str) -> str:
        if value not in KNOWN_POOLS:
            raise ValueError(f"{value!r} is not a pool: use one of {', '.join(KNOWN_POOLS)}")
        return value

    @field_validator("function")
    @classmethod
    def _function(cls, value: str | None) -> str | None:
        if value is not None and value not in steps.STEP_FUNCTIONS:
            raise ValueError(
                f"{value!r} is not a registered step function: {', '.join(steps.STEP_FUNCTIONS)}"
            )
        return value


class Check(_Strict):
    """Bounds on one metadata value of a step's materialization."""

    step: str = Field(description="The step whose metadata is checked.")
    metadata_key: str = Field(description="The metadata entry, e.g. n_rows or step_wall_seconds.")
    min: float | None = Field(default=None, description="Lowest passing value (inclusive).")
    max: float | None = Field(default=None, description="Highest passing value (inclusive).")
    blocking: bool = Field(
        default=True, description="true: a failure stops the steps downstream; false: a warning only."
    )
    name: str | None = Field(
        default=None, pattern=NAME_PATTERN, description="Default: <metadata_key>_in_bounds."
    )
    description: str | None = None

    @property
    def check_name(self) -> str:
        return self.name or f"{re.sub(r'[^a-z0-9_]', '_', self.metadata_key.lower())}_in_bounds"


class Job(_Strict):
    name: str | None = Field(default=None, pattern=NAME_PATTERN, description="Default: <pipeline name>_job.")
    description: str | None = None


class PipelineSpec(_Strict):
    """A pipeline: its steps become assets keyed <group>/<name>/<step>, its checks asset checks."""

    name: str = Field(pattern=NAME_PATTERN, description="The pipeline's name, the middle part of its keys.")
    description: str | None = None
    group: str = Field(
        default=DEFAULT_GROUP, pattern=NAME_PATTERN, description="Asset group, first key part and owner team."
    )
    partitions: Partitions | None = Field(default=None, description="Every step shares these partitions.")
    steps: list[Step] = Field(min_length=1)
    checks: list[Check] = Field(default_factory=list)
    job: Job = Field(default_factory=Job, description="The job that runs every step.")

    @property
    def job_name(self) -> str:
        return self.job.name or f"{self.name}_job"


def problems(spec: PipelineSpec) -> list[tuple[Loc, str]]:
    """What is wrong across fields, each with the path of the field to fix (empty when all is well)."""
    return [*_step_problems(spec), *_check_problems(spec), *_partition_problems(spec)]


def _step_problems(spec: PipelineSpec) -> Iterator[tuple[Loc, str]]:
    names = [step.name for step in spec.steps]
    for i, step in enumerate(spec.steps):
        where: Loc = ("steps", i)
        if names.index(step.name) != i:
            yield (*where, "name"), f"step {step.name!r} is defined twice"
        if (step.function is None) == (step.command is None):
            yield where, "give a step either `function` or `command`, not both or neither"
        if step.command is not None and not step.command:
            yield (*where, "command"), "the command is empty"
        if step.params and step.function is None:
            yield (*where, "params"), "`params` are the arguments of a `function` step"
        if step.function is not None:
            for loc, message in steps.params_problems(step.function, step.params):
                yield (*where, "params", *loc), message
        for j, dep in enumerate(step.deps):
            if dep not in names:
                yield (*where, "deps", j), f"no step named {dep!r} in this pipeline"
        if step.resources is not None and step.resources.gpu and step.pool != pools.GPU:
            yield (*where, "resources", "gpu"), f"GPU steps run in the {pools.GPU!r} pool: set `pool: gpu`"
    try:
        TopologicalSorter({step.name: [d for d in step.deps if d in names] for step in spec.steps}).prepare()
    except CycleError as error:
        cycle = error.args[1]
        yield (
            ("steps", names.index(cycle[0]), "deps"),
            f"steps depend on each other in a cycle: {' -> '.join(cycle)}",
        )


def _check_problems(spec: PipelineSpec) -> Iterator[tuple[Loc, str]]:
    names = {step.name for step in spec.steps}
    seen: set[tuple[str, str]] = set()
    for k, check in enumerate(spec.checks):
        if check.step not in names:
            yield ("checks", k, "step"), f"no step named {check.step!r} in this pipeline"
        if check.min is None and check.max is None:
            yield ("checks", k), "give `min`, `max` or both"
        if check.min is not None and check.max is not None and check.min > check.max:
            yield ("checks", k, "max"), f"max {check.max:g} is below min {check.min:g}"
        if (check.step, check.check_name) in seen:
            yield ("checks", k), f"step {check.step!r} has two checks named {check.check_name!r}: set `name`"
        seen.add((check.step, check.check_name))


def _partition_problems(spec: PipelineSpec) -> Iterator[tuple[Loc, str]]:
    if spec.partitions is None:
        return
    given = [kind for kind in ("static", "dynamic", "time") if getattr(spec.partitions, kind) is not None]
    if len(given) != 1:
        yield (
            ("partitions",),
            f"give exactly one of static, dynamic or time (got {', '.join(given) or 'none'})",
        )
        return
    for i, key in enumerate(spec.partitions.static or []):
        if not PARTITION_KEY.fullmatch(key):
            yield ("partitions", "static", i), f"{key!r} is not a safe folder name (letters, digits, - and _)"
    try:
        spec.partitions.definition()
    except Exception as error:  # Dagster's own validation of the cron, dates and timezone
        yield ("partitions", given[0]), str(error).splitlines()[0]
