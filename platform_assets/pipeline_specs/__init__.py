"""Pipelines as specs: ``defs.yaml`` files of ``PipelineSpecComponent`` become assets, checks and a job.

README, "Pipelines as specs". ``spec`` is the format, ``steps`` the registered step functions,
``build`` the Dagster objects a spec becomes, ``component`` the component and the loader,
``scaffold`` what ``brainstar new pipeline`` writes.
"""

from platform_assets.pipeline_specs.component import (
    PIPELINES_DIR_VAR,
    PipelineSpecComponent,
    load_pipeline_specs,
    pipelines_dir,
)
from platform_assets.pipeline_specs.errors import PipelineSpecError
from platform_assets.pipeline_specs.spec import PipelineSpec

__all__ = [
    "PIPELINES_DIR_VAR",
    "PipelineSpec",
    "PipelineSpecComponent",
    "PipelineSpecError",
    "load_pipeline_specs",
    "pipelines_dir",
]
