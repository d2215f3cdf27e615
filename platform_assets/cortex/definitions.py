"""The cortex domain's Definitions, merged at the root."""

import dagster as dg

from platform_assets.cortex import assets, checks

defs = dg.Definitions(assets=assets.ASSETS, asset_checks=checks.ALL_CHECKS)
