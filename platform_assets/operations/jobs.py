"""Jobs shared by every domain: the master workflow and the daily cleanup."""

import time

import dagster as dg

from brainstar.core.cleanup import remove_stale_temporary_files
from platform_assets.operations.run_tags import (
    HOUR,
    MAINTENANCE_PRIORITY,
    WORKFLOW_PRIORITY,
    max_runtime,
    priority,
)
from resources import Warehouse

# The brain modules are partitioned by catalogue entry, and one job holds one partitions
# definition: they have a job of their own, outside the others. Their integration is not
# partitioned: it runs in the workflow.
MODULES = dg.AssetSelection.groups("brain_modules") - dg.AssetSelection.assets(
    ["brain_modules", "integrate_brain_modules"]
)

# Everything not partitioned by session: the cohort table, the cortical column and the
# astro pipeline. Per-session work is driven by the sessions sensor and the rescan.
workflow_job = dg.define_asset_job(
    name="brainstar_workflow",
    # Spec pipelines have their own jobs (and may be partitioned by session).
    selection=dg.AssetSelection.all().materializable() - dg.AssetSelection.groups("neuro", "specs") - MODULES
    | dg.AssetSelection.assets(["neuro", "cohort_table"]),
    description=(
        "The master workflow: cohort table, cortical column, astro models and the brain modules' "
        "integration, end to end."
    ),
    tags={**priority(WORKFLOW_PRIORITY), **max_runtime(6 * HOUR)},
)

STALE_AFTER_SECONDS = 24 * HOUR


@dg.op(description="Deletes temporary files that killed runs left in the warehouse (older than a day).")
def remove_stale_temporary_outputs(context: dg.OpExecutionContext, warehouse: Warehouse) -> dg.Output[int]:
    report = remove_stale_temporary_files(warehouse.path, STALE_AFTER_SECONDS, time.time())
    for path in report.removed:
        context.log.info(f"removed {path}")
    return dg.Output(
        len(report.removed),
        metadata={"files_removed": len(report.removed), "bytes_freed": report.bytes_freed},
    )


@dg.job(
    name="cleanup_job",
    description="Daily housekeeping: removes what killed runs left behind.",
    tags={**priority(MAINTENANCE_PRIORITY), **max_runtime(HOUR // 4)},
    # One light op: run it in the run's own process, not in a step subprocess that would import
    # Dagster and the code location again (~1 s on two cores) to list a few files.
    executor_def=dg.in_process_executor,
)
def cleanup_job() -> None:
    remove_stale_temporary_outputs()


# One named job per domain, and one holding every asset: `brainstar trigger --select` runs a
# selection in the smallest of these that holds it, so runs and their notifications carry a
# real job name (never Dagster's implicit asset job).
cortex_job = dg.define_asset_job(
    name="cortex_job",
    selection=dg.AssetSelection.groups("cortex").materializable(),
    description="The cortical column: configuration, network, training, validation and promotion.",
)
astro_job = dg.define_asset_job(
    name="astro_job",
    selection=dg.AssetSelection.groups("astro").materializable(),
    description="The astro pipeline: survey files, features and the three models.",
)
brain_modules_job = dg.define_asset_job(
    name="brain_modules_job",
    selection=MODULES.materializable(),
    description="Brain modules from the catalogue, one partition each: build, simulate, validate, promote.",
)
all_assets_job = dg.define_asset_job(
    name="all_assets_job",
    selection=dg.AssetSelection.all().materializable() - MODULES,
    description="Every asset but the brain modules (their own job); launches selections that span domains.",
)
