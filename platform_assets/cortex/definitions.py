"""The cortex domain's Definitions, merged at the root."""

import dagster as dg

from platform_assets.cortex import assets, checks
from platform_assets.specs import domain_assets

defs = dg.Definitions(assets=domain_assets("cortex", assets.ASSETS), asset_checks=checks.ALL_CHECKS)
