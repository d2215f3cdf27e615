"""The astro domain's Definitions, merged at the root."""

import dagster as dg

from platform_assets.astro import assets, checks
from platform_assets.specs import domain_assets
from sensors.astro_survey_files import astro_survey_files_sensor

defs = dg.Definitions(
    assets=domain_assets("astro", assets.ASSETS),
    asset_checks=checks.CHECKS,
    sensors=[astro_survey_files_sensor],
)
