"""The Python functions a pipeline spec may name as ``function:``, registered by name.

A step function takes a ``StepContext`` first (the asset's context, the landing zone and the
warehouse) and its ``params`` as keyword arguments, writes its files under
``step.output_file(...)`` and returns a ``StepOutput``. Its keyword arguments are checked
against the spec's ``params`` when the definitions load, so a wrong or missing parameter is
reported at its line of the spec, not when a run reaches the step.

Domain modules are imported inside the functions, so loading the code location stays cheap.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import ConfigDict, ValidationError, create_model

from platform_assets.astro.layout import REPORT_FILE, TABLE_FILE
from platform_assets.pipeline_specs.errors import Loc, pydantic_message
from resources import LandingZone, Warehouse


@dataclass(frozen=True)
class StepContext:
    context: dg.AssetExecutionContext
    landing_zone: LandingZone
    warehouse: Warehouse

    @property
    def partition_key(self) -> str | None:
        return self.context.partition_key if self.context.has_partition_key else None

    @property
    def log(self) -> Any:
        return self.context.log

    def output_file(self, name: str) -> Path:
        """``<warehouse>/<asset key>/[<partition>/]<name>``: this step's own folder."""
        return self.warehouse.file(self.context.asset_key, name, self.partition_key)


@dataclass(frozen=True)
class StepOutput:
    metadata: Mapping[str, Any] = field(default_factory=dict)
    data_version: str | None = None


StepFunction = Callable[..., StepOutput]
STEP_FUNCTIONS: dict[str, StepFunction] = {}


def step_function(name: str) -> Callable[[StepFunction], StepFunction]:
    """Register the decorated function under ``name`` (``<domain>.<verb>``)."""

    def register(function: StepFunction) -> StepFunction:
        if name in STEP_FUNCTIONS:
            raise ValueError(f"step function {name!r} is registered twice")
        STEP_FUNCTIONS[name] = function
        return function

    return register


def _params_model(name: str) -> type:
    function = STEP_FUNCTIONS[name]
    hints = typing.get_type_hints(function)
    fields: dict[str, Any] = {
        p.name: (hints.get(p.name, Any), ... if p.default is inspect.Parameter.empty else p.default)
        for p in list(inspect.signature(function).parameters.values())[1:]  # after the StepContext
    }
    return create_model(f"{name}_params", __config__=ConfigDict(extra="forbid"), **fields)


def params_problems(name: str, params: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Each parameter of ``params`` the function ``name`` would refuse, with its path below ``params``."""
    try:
        _params_model(name).model_validate(params)  # type: ignore[attr-defined]
    except ValidationError as error:
        for problem in error.errors():
            yield tuple(problem["loc"]), f"{pydantic_message(problem)} (a parameter of {name})"


def call(name: str, step: StepContext, params: Mapping[str, Any]) -> StepOutput:
    validated = _params_model(name).model_validate(params)  # type: ignore[attr-defined]
    return STEP_FUNCTIONS[name](step, **dict(validated))


@step_function("astro.ingest_survey")
def ingest_survey(step: StepContext, *, survey: Literal["sdss", "kepler", "gaia"]) -> StepOutput:
    """Landed files of one survey, read into one Parquet table (incremental: unchanged files are reused)."""
    from platform_assets.astro.ingestion import ingest_landed_survey

    table = step.output_file(TABLE_FILE)
    report, metadata = ingest_landed_survey(
        survey, step.landing_zone, table, step.output_file(REPORT_FILE), step.log
    )
    return StepOutput(metadata=metadata, data_version=report["version"])


@step_function("neuro.inventory_session")
def inventory_session(step: StepContext) -> StepOutput:
    """Inventory and header validation of one landed diffusion session (partition: the session)."""
    from brainstar.core.atomic import write_json_atomic
    from brainstar.domain.neuro.inventory import inventory_session

    if step.partition_key is None:
        raise ValueError("neuro.inventory_session runs per session: give the pipeline `partitions`")
    found = inventory_session(step.landing_zone.session_dir(step.partition_key))
    path = write_json_atomic(step.output_file("inventory.json"), found.record)
    return StepOutput(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "input_format": found.record["format"],
            "header_issues": found.n_header_issues,
            **found.summary,
        }
    )
