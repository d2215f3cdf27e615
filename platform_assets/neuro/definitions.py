"""The neuro domain's Definitions, merged at the root."""

import dagster as dg

from platform_assets.neuro import assets, checks, reports
from platform_assets.neuro.jobs import neuro_session_job
from platform_assets.specs import domain_assets
from sensors.neuro_sessions import neuro_rescan_sensor, neuro_sessions_sensor

defs = dg.Definitions(
    assets=domain_assets("neuro", [*assets.session_assets, reports.qc_report, assets.cohort_table]),
    asset_checks=[*checks.session_checks, checks.cohort_outliers],
    jobs=[neuro_session_job],
    sensors=[
        neuro_sessions_sensor,
        neuro_rescan_sensor,
        dg.AutomationConditionSensorDefinition(
            "neuro_automation_sensor",
            target=dg.AssetSelection.assets(["neuro", "cohort_table"]),
            description="Refreshes the cohort table when sessions finish (eager automation condition).",
        ),
    ],
)
