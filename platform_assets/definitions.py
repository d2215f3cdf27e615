"""The single entry point of the brainstar code location.

Each domain exports its own ``Definitions``; this module merges them and adds what is
shared: the resources every domain uses. Domain modules are imported, not their
``defs`` objects, because Dagster's loader refuses two Definitions at module scope.
"""

import dagster as dg

from platform_assets.astro import definitions as astro
from platform_assets.brain_modules import definitions as brain_modules
from platform_assets.cortex import definitions as cortex
from platform_assets.neuro import definitions as neuro
from platform_assets.operations import definitions as operations
from platform_assets.operations.assets import build_resource_recommendations
from platform_assets.operations.executors import executor_from_env
from platform_assets.pipeline_specs import load_pipeline_specs
from platform_assets.specs import domain_assets
from resources import Notifier, default_resources
from sensors.failure_triage import failure_triage
from sensors.run_notifications import run_failure_notifier, run_success_summary
from sensors.run_workers import dead_run_worker_sensor

# A list, not a merged Definitions: Dagster's loader refuses two Definitions at module scope.
_PIPELINES = [
    neuro.defs,
    cortex.defs,
    astro.defs,
    brain_modules.defs,
    operations.defs,
    # The pipelines declared as YAML specs (README, "Pipelines as specs"), in the specs group.
    load_pipeline_specs(),
]


def _pipeline_assets() -> list[object]:
    return [asset for pipeline in _PIPELINES for asset in pipeline.assets or []]


defs = dg.Definitions.merge(
    *_PIPELINES,
    dg.Definitions(
        # Reads every other asset's recorded usage and requests, so it is given their graph here.
        assets=domain_assets("operations", [build_resource_recommendations(_pipeline_assets)]),
        sensors=[run_failure_notifier, run_success_summary, dead_run_worker_sensor, failure_triage],
        # Notifier reads BRAINSTAR_SLACK_* / BRAINSTAR_SMTP_* when it sends, so no secret shows in the UI.
        resources={**default_resources(), "notifier": Notifier()},
        executor=executor_from_env(),
    ),
)
