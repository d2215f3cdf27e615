"""Schedules shared by every domain: the master workflow and the daily cleanup."""

import dagster as dg

from brainstar.core import settings
from platform_assets.operations.jobs import cleanup_job, workflow_job


def build_workflow_schedule() -> dg.ScheduleDefinition:
    """Built when the code location loads, so BRAINSTAR_WORKFLOW_CRON takes effect on reload."""
    return dg.ScheduleDefinition(
        name="workflow_schedule",
        job=workflow_job,
        cron_schedule=settings.workflow_cron(),
        execution_timezone="UTC",
        description=f"The master workflow on ${settings.WORKFLOW_CRON_VAR} (default: every 3rd day, 02:00).",
    )


cleanup_schedule = dg.ScheduleDefinition(
    name="cleanup_schedule",
    job=cleanup_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    description="Daily at 03:30: removes temporary files that killed runs left behind.",
)
