"""The astro domain's Definitions, merged at the root."""

import dagster as dg

from platform_assets.astro import assets, checks
from sensors.astro_survey_files import astro_survey_files_sensor

defs = dg.Definitions(assets=assets.ASSETS, asset_checks=checks.CHECKS, sensors=[astro_survey_files_sensor])
