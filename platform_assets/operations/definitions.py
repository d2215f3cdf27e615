"""Operations' Definitions, merged at the root: shared jobs and schedules."""

import dagster as dg

from platform_assets.operations.jobs import (
    all_assets_job,
    astro_job,
    brain_modules_job,
    cleanup_job,
    cortex_job,
    workflow_job,
)
from platform_assets.operations.schedules import build_workflow_schedule, cleanup_schedule

defs = dg.Definitions(
    jobs=[workflow_job, cleanup_job, cortex_job, astro_job, brain_modules_job, all_assets_job],
    schedules=[build_workflow_schedule(), cleanup_schedule],
)
