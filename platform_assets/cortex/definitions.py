"""The cortex domain's Definitions, merged at the root."""

import dagster as dg

from platform_assets.cortex import assets, checks

defs = dg.Definitions(
    assets=[
        assets.biological_config,
        assets.column_network,
        assets.trained_column,
        assets.column_activity,
        assets.validation_report,
        assets.promoted_column,
    ],
    asset_checks=checks.ALL_CHECKS,
)
