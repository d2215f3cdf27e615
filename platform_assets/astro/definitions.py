"""The astro domain's Definitions, merged at the root."""

import dagster as dg

from platform_assets.astro import assets, checks

defs = dg.Definitions(assets=assets.ASSETS, asset_checks=checks.CHECKS)
