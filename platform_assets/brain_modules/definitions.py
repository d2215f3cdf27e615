"""The brain-modules Definitions, merged at the root: the repository's catalogue's modules."""

from __future__ import annotations

import dagster as dg

from brainstar.core import settings
from brainstar.domain.brain_modules.catalogue import ModuleCatalogue, load_catalogue
from platform_assets.brain_modules.assets import GROUP, module_assets
from platform_assets.brain_modules.checks import module_checks
from platform_assets.brain_modules.integration import integration_assets
from platform_assets.specs import domain_assets

CATALOGUE = settings.module_catalogue()


def module_definitions(catalogue: ModuleCatalogue) -> dg.Definitions:
    modules, assets = module_assets(catalogue)
    integrate, loop_check = integration_assets(catalogue)
    return dg.Definitions(
        assets=domain_assets(GROUP, [*assets, integrate]), asset_checks=[*module_checks(modules), loop_check]
    )


defs = module_definitions(load_catalogue(CATALOGUE))
